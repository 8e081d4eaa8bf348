//! The accept loop both floors share: the runtime-tokio listener, one task per connection,
//! hyper's http1 server with upgrades enabled (as the engineio server serves connections, minus
//! its header-read timer).

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::net::TcpListener;
use std::time::Duration;

use bytes::Bytes;
use engineio_core::runtime::Runtime;
use engineio_runtime_tokio::TokioRuntime;
use http_body_util::Full;
use hyper::body::Incoming;

use engineio::io::HyperIo;

/// A request in, a complete response out.
pub(crate) type Response = http::Response<Full<Bytes>>;

/// Serves every connection `listener` accepts with `handler`, until accepting fails for good.
pub(crate) async fn serve<H, Fut>(listener: TcpListener, handler: H) -> std::io::Result<()>
where
    H: Fn(http::Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let listener = TokioRuntime::current().wrap_listener(listener)?;
    loop {
        let Ok((stream, _peer)) = poll_fn(|cx| listener.poll_accept(cx)).await else {
            // Out of descriptors and the like: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = handler(request);
                async move { Ok::<_, Infallible>(response.await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(HyperIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// A response with a status and a body.
pub(crate) fn respond(status: u16, body: Bytes) -> Response {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    response
}
