//! The polling floor: bare hyper, no Engine.IO. `POST ?c=N` stores the body for client N and
//! answers 200 `ok`; `GET ?c=N` answers at once with the last body client N posted (empty if
//! none). It is the least an HTTP long-polling round trip costs on hyper: two requests, two
//! responses, one body read.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::http_server::{self, respond, Response};

/// The last body each client posted, by client number.
type Bodies = Arc<Mutex<HashMap<u64, Bytes>>>;

/// Serves the polling echo on every connection `listener` accepts.
///
/// # Errors
///
/// When the listener cannot be registered with the runtime.
pub async fn serve_polling(listener: TcpListener) -> std::io::Result<()> {
    let bodies = Bodies::default();
    http_server::serve(listener, move |request| {
        let bodies = Arc::clone(&bodies);
        async move { handle(&bodies, request).await }
    })
    .await
}

async fn handle(bodies: &Bodies, request: http::Request<Incoming>) -> Response {
    let Some(client) = client_number(request.uri().query()) else {
        return respond(400, Bytes::from_static(b"missing ?c=<client number>"));
    };
    match *request.method() {
        Method::POST => {
            let Ok(body) = request.into_body().collect().await else {
                return respond(400, Bytes::from_static(b"body read failed"));
            };
            lock(bodies).insert(client, body.to_bytes());
            respond(200, Bytes::from_static(b"ok"))
        }
        Method::GET => {
            let body = lock(bodies).get(&client).cloned().unwrap_or_default();
            respond(200, body)
        }
        _ => respond(405, Bytes::from_static(b"GET or POST")),
    }
}

fn lock(bodies: &Bodies) -> std::sync::MutexGuard<'_, HashMap<u64, Bytes>> {
    bodies.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `c` parameter of a query string, as a number.
fn client_number(query: Option<&str>) -> Option<u64> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("c="))
        .and_then(|value| value.parse().ok())
}
