//! A tiny Engine.IO server for the client's tests: one session, speaking just enough of the
//! protocol (polling handshake, held GETs, POSTs, WebSocket fresh or probed and upgraded).
//!
//! It encodes and decodes with the core's packet codecs; everything else is written out here
//! so that the client is tested against a server it does not share a state machine with.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{pending, poll_fn};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use bytes::{Bytes, BytesMut};
use engineio_core::packet::{payload, Frame, OpenPacket, Packet};
use engineio_core::runtime::{Runtime, Stream};
use engineio_core::Message;
use futures_channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures_util::future::{select, Either};
use futures_util::lock::Mutex as AsyncMutex;
use futures_util::StreamExt;
use http::header::{
    HeaderMap, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SET_COOKIE,
    UPGRADE,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tungstenite::protocol::Role;
use tungstenite::Message as WsMessage;

use crate::io::HyperIo;
use crate::runtime::TokioRuntime;
use crate::server::hyper_rt::FuturesIo;

/// The session id the fake server hands out.
pub(super) const SID: &str = "fake-sid";

/// How the fake server behaves.
#[derive(Debug, Clone)]
pub(super) struct Options {
    /// Offer the upgrade to WebSocket in the polling handshake.
    pub(super) upgrades: bool,
    /// Answer the handshake with this status and body instead.
    pub(super) reject: Option<(u16, &'static str)>,
    /// Never answer the handshake.
    pub(super) hang: bool,
    /// Send every message back to the client.
    pub(super) echo: bool,
    pub(super) ping_interval: u64,
    pub(super) ping_timeout: u64,
    pub(super) max_payload: u64,
    /// Serve TLS with this configuration.
    #[cfg(feature = "tls")]
    pub(super) tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            upgrades: false,
            reject: None,
            hang: false,
            echo: true,
            ping_interval: 25_000,
            ping_timeout: 20_000,
            max_payload: 1_000_000,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// What the fake server saw.
#[derive(Debug)]
pub(super) enum Seen {
    /// An HTTP request (polling, or a WebSocket handshake).
    Request {
        method: Method,
        target: String,
        headers: HeaderMap,
    },
    /// A packet from the client (probe and upgrade packets excluded).
    Packet(Packet),
    /// The client sent `5` on the probe WebSocket.
    Upgraded,
}

struct State {
    options: Options,
    /// Packets for the client, taken by whichever transport is active.
    outgoing: UnboundedSender<Packet>,
    outgoing_queue: AsyncMutex<UnboundedReceiver<Packet>>,
    seen: UnboundedSender<Seen>,
    /// TCP connections accepted.
    connections: AtomicUsize,
    /// Between `2probe` and `5`: every GET is answered with a noop at once.
    upgrading: AtomicBool,
}

/// A running fake server.
pub(super) struct FakeServer {
    /// `http://127.0.0.1:<port>` (or `https://localhost:<port>` with TLS).
    pub(super) url: String,
    pub(super) port: u16,
    state: Arc<State>,
    seen: UnboundedReceiver<Seen>,
    backlog: Vec<Seen>,
}

impl FakeServer {
    /// Starts a server on a free loopback port, on the current tokio runtime.
    pub(super) fn start(options: Options) -> Self {
        let runtime = TokioRuntime::current();
        let listener = runtime
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        #[cfg(feature = "tls")]
        let secure = options.tls.is_some();
        #[cfg(not(feature = "tls"))]
        let secure = false;
        let url = if secure {
            format!("https://localhost:{port}")
        } else {
            format!("http://127.0.0.1:{port}")
        };
        let (outgoing, queue) = mpsc::unbounded();
        let (seen_sender, seen) = mpsc::unbounded();
        let state = Arc::new(State {
            options,
            outgoing,
            outgoing_queue: AsyncMutex::new(queue),
            seen: seen_sender,
            connections: AtomicUsize::new(0),
            upgrading: AtomicBool::new(false),
        });
        let accept_state = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = poll_fn(|cx| listener.poll_accept(cx)).await else {
                    continue;
                };
                accept_state.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve_connection(accept_state.clone(), stream));
            }
        });
        Self {
            url,
            port,
            state,
            seen,
            backlog: Vec::new(),
        }
    }

    /// Sends a packet to the client on the active transport.
    pub(super) fn push(&self, packet: Packet) {
        self.state.outgoing.unbounded_send(packet).unwrap();
    }

    /// How many TCP connections the server accepted so far.
    pub(super) fn connections(&self) -> usize {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Sends a text message to the client.
    pub(super) fn send(&self, text: &str) {
        self.push(Packet::Message(Message::from(text.to_owned())));
    }

    /// Waits (5 s at most) for the first thing seen that `pick` accepts; what it does not
    /// accept is kept for later calls.
    pub(super) async fn expect<T>(&mut self, mut pick: impl FnMut(&Seen) -> Option<T>) -> T {
        if let Some(index) = self.backlog.iter().position(|seen| pick(seen).is_some()) {
            let seen = self.backlog.remove(index);
            return pick(&seen).expect("picked before");
        }
        let wait = async {
            while let Some(seen) = self.seen.next().await {
                match pick(&seen) {
                    Some(found) => return found,
                    None => self.backlog.push(seen),
                }
            }
            panic!("the fake server stopped");
        };
        match tokio::time::timeout(Duration::from_secs(5), wait).await {
            Ok(found) => found,
            Err(_) => panic!(
                "the fake server did not see what the test expected; it saw {:#?}",
                self.backlog
            ),
        }
    }

    /// How many long-poll GETs (GETs with a sid) the server has seen so far, without waiting;
    /// what is seen is kept for later `expect` calls.
    pub(super) fn polls_seen(&mut self) -> usize {
        while let Ok(seen) = self.seen.try_recv() {
            self.backlog.push(seen);
        }
        self.backlog
            .iter()
            .filter(|seen| {
                matches!(seen, Seen::Request { method, target, .. }
                    if *method == Method::GET && target.contains("sid="))
            })
            .count()
    }

    /// Waits for the next packet from the client.
    pub(super) async fn expect_packet(&mut self) -> Packet {
        self.expect(|seen| match seen {
            Seen::Packet(packet) => Some(packet.clone()),
            _ => None,
        })
        .await
    }
}

async fn serve_connection(state: Arc<State>, stream: Box<dyn Stream>) {
    #[cfg(feature = "tls")]
    let stream: Box<dyn Stream> = match &state.options.tls {
        Some(config) => match futures_rustls::TlsAcceptor::from(config.clone())
            .accept(stream)
            .await
        {
            Ok(tls) => Box::new(tls),
            Err(_) => return,
        },
        None => stream,
    };
    let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(HyperIo::new(stream), service)
        .with_upgrades()
        .await;
}

fn respond(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
}

fn open_packet(options: &Options, upgrades: bool) -> Packet {
    Packet::Open(OpenPacket {
        sid: SID.to_owned(),
        upgrades: if upgrades {
            vec!["websocket".to_owned()]
        } else {
            vec![]
        },
        ping_interval: options.ping_interval,
        ping_timeout: options.ping_timeout,
        max_payload: options.max_payload,
    })
}

fn encode(packets: &[Packet]) -> Bytes {
    let mut body = BytesMut::new();
    payload::encode(packets, &mut body);
    body.freeze()
}

async fn handle(
    state: Arc<State>,
    mut request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = request.uri().to_string();
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let _ = state.seen.unbounded_send(Seen::Request {
        method: request.method().clone(),
        target,
        headers: request.headers().clone(),
    });
    let sid = query.get("sid").cloned();
    if query.get("EIO").map(String::as_str) != Some("4") {
        return Ok(respond(400, "bad EIO"));
    }
    if query.get("transport").map(String::as_str) == Some("websocket") {
        return Ok(upgrade(state, &mut request, sid.is_none()));
    }
    let options = &state.options;
    let response = match (request.method().clone(), sid) {
        (Method::GET, None) => {
            if let Some((status, body)) = options.reject {
                return Ok(respond(status, body));
            }
            if options.hang {
                pending::<()>().await;
            }
            let mut response = respond(200, encode(&[open_packet(options, options.upgrades)]));
            response.headers_mut().insert(
                SET_COOKIE,
                HeaderValue::from_static("io=cookie-1; Path=/; HttpOnly"),
            );
            response
        }
        (Method::GET, Some(_)) if state.upgrading.load(Ordering::SeqCst) => {
            respond(200, encode(&[Packet::Noop]))
        }
        (Method::GET, Some(_)) => {
            let mut queue = state.outgoing_queue.lock().await;
            let Some(first) = queue.next().await else {
                return Ok(respond(400, "closed"));
            };
            let mut packets = vec![first];
            while let Ok(packet) = queue.try_recv() {
                packets.push(packet);
            }
            respond(200, encode(&packets))
        }
        (Method::POST, Some(_)) => {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            for packet in payload::decode(body, 10_000) {
                received(&state, packet.expect("the client sent a valid payload"));
            }
            respond(200, "ok")
        }
        _ => respond(400, "unexpected request"),
    };
    Ok(response)
}

/// Handles one packet from the client: records it, and echoes messages.
fn received(state: &State, packet: Packet) {
    if let (Packet::Message(message), true) = (&packet, state.options.echo) {
        let _ = state
            .outgoing
            .unbounded_send(Packet::Message(message.clone()));
    }
    let _ = state.seen.unbounded_send(Seen::Packet(packet));
}

fn upgrade(
    state: Arc<State>,
    request: &mut Request<Incoming>,
    fresh: bool,
) -> Response<Full<Bytes>> {
    let Some(key) = request.headers().get(SEC_WEBSOCKET_KEY) else {
        return respond(400, "not a websocket handshake");
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws =
            WebSocketStream::from_raw_socket(FuturesIo::new(upgraded), Role::Server, None).await;
        serve_websocket(state, ws, fresh).await;
    });
    let mut response = respond(101, Bytes::new());
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, HeaderValue::try_from(accept).unwrap());
    response
}

fn to_ws(packet: &Packet) -> WsMessage {
    match packet.to_frame(false) {
        Frame::Text(text) => WsMessage::text(text.to_string()),
        Frame::Binary(bytes) => WsMessage::Binary(bytes),
    }
}

fn from_ws(message: WsMessage) -> Option<Packet> {
    let frame = match message {
        WsMessage::Text(text) => Frame::Text(text.as_str().into()),
        WsMessage::Binary(bytes) => Frame::Binary(bytes),
        _ => return None,
    };
    Some(Packet::from_frame(frame).expect("the client sent a valid frame"))
}

async fn serve_websocket<S>(state: Arc<State>, ws: WebSocketStream<S>, fresh: bool)
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    if fresh {
        let open = open_packet(&state.options, false);
        if sink.send(to_ws(&open)).await.is_err() {
            return;
        }
    } else {
        // The probe: 2probe → 3probe, release the held GET, then wait for 5.
        match stream.next().await.and_then(Result::ok).and_then(from_ws) {
            Some(Packet::PingProbe) => {}
            _ => return,
        }
        if sink.send(to_ws(&Packet::PongProbe)).await.is_err() {
            return;
        }
        // Every GET gets a noop until `5`: the held one now, the later ones at once.
        state.upgrading.store(true, Ordering::SeqCst);
        let _ = state.outgoing.unbounded_send(Packet::Noop);
        let upgraded = stream.next().await.and_then(Result::ok).and_then(from_ws);
        state.upgrading.store(false, Ordering::SeqCst);
        if upgraded != Some(Packet::Upgrade) {
            return;
        }
        let _ = state.seen.unbounded_send(Seen::Upgraded);
    }
    let writer = async {
        let mut queue = state.outgoing_queue.lock().await;
        while let Some(packet) = queue.next().await {
            if sink.send(to_ws(&packet)).await.is_err() || packet == Packet::Close {
                break;
            }
        }
    };
    let reader = async {
        while let Some(Ok(message)) = stream.next().await {
            if let Some(packet) = from_ws(message) {
                received(&state, packet);
            }
        }
    };
    let (writer, reader) = (std::pin::pin!(writer), std::pin::pin!(reader));
    if let Either::Left(((), reader)) = select(writer, reader).await {
        let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
    }
}
