//! The floors answer like the real thing: WebSocket frames come back identical and in order
//! (per message and per burst), and the polling floor keeps one last body per client.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use engineio::io::HyperIo;
use engineio_core::runtime::{Runtime, Stream};
use engineio_runtime_tokio::TokioRuntime;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};

/// Starts a server on a free port of this (current-thread) runtime, returns its port.
fn start<F, Fut>(serve: F) -> u16
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener));
    port
}

async fn connect(port: u16) -> Box<dyn Stream> {
    TokioRuntime::current()
        .connect("127.0.0.1".into(), port)
        .await
        .unwrap()
}

async fn websocket(port: u16) -> WebSocketStream<Box<dyn Stream>> {
    let url = format!("ws://127.0.0.1:{port}/engine.io/");
    let (socket, response) = async_tungstenite::client_async(url, connect(port).await)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    socket
}

async fn next_data(socket: &mut WebSocketStream<Box<dyn Stream>>) -> Message {
    loop {
        let message = socket.next().await.expect("socket ended").unwrap();
        if message.is_text() || message.is_binary() {
            return message;
        }
    }
}

async fn echoes_text_and_binary(burst: bool) {
    let port = start(|listener| engineio_floors::serve_ws(listener, burst));
    let mut socket = websocket(port).await;
    let text = Message::text("hello, floor ✓");
    let binary = Message::binary(vec![0u8, 1, 2, 255, 254]);
    // Larger than the read buffer: several reads make one frame.
    let large = Message::binary(vec![7u8; 3 * engineio_floors::WS_READ_BUFFER + 5]);
    for message in [text, binary, large] {
        socket.send(message.clone()).await.unwrap();
        assert_eq!(next_data(&mut socket).await, message);
    }
    socket.close(None).await.unwrap();
    // The floor answers the close handshake, then the stream ends.
    while let Some(frame) = socket.next().await {
        if frame.is_err() {
            break;
        }
    }
}

#[tokio::test]
async fn ws_echoes_text_and_binary_per_message() {
    echoes_text_and_binary(false).await;
}

#[tokio::test]
async fn ws_echoes_text_and_binary_per_burst() {
    echoes_text_and_binary(true).await;
}

async fn pipelined_frames_come_back_in_order(burst: bool) {
    let port = start(|listener| engineio_floors::serve_ws(listener, burst));
    let mut socket = websocket(port).await;
    let sent: Vec<Message> = (0..64)
        .map(|i| {
            if i % 3 == 0 {
                Message::binary(vec![i as u8; i + 1])
            } else {
                Message::text(format!("message {i}"))
            }
        })
        .collect();
    // All frames leave in one write, so the server reads them as one burst.
    for message in &sent {
        socket.feed(message.clone()).await.unwrap();
    }
    socket.flush().await.unwrap();
    for expected in &sent {
        assert_eq!(&next_data(&mut socket).await, expected);
    }
    // And the socket still serves after the burst.
    socket.send(Message::text("after")).await.unwrap();
    assert_eq!(next_data(&mut socket).await, Message::text("after"));
}

#[tokio::test]
async fn ws_pipelined_frames_come_back_in_order_per_burst() {
    pipelined_frames_come_back_in_order(true).await;
}

#[tokio::test]
async fn ws_pipelined_frames_come_back_in_order_per_message() {
    pipelined_frames_come_back_in_order(false).await;
}

#[tokio::test]
async fn ws_floor_refuses_a_plain_request() {
    let port = start(|listener| engineio_floors::serve_ws(listener, false));
    let mut http = Http::connect(port).await;
    let (status, _) = http.request("GET", "/engine.io/", Bytes::new()).await;
    assert_eq!(status, 400);
}

/// One keep-alive HTTP/1.1 connection, as a polling client holds.
struct Http {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Http {
    async fn connect(port: u16) -> Self {
        let (sender, connection) =
            hyper::client::conn::http1::handshake(HyperIo::new(connect(port).await))
                .await
                .unwrap();
        tokio::spawn(connection);
        Self { sender }
    }

    async fn request(&mut self, method: &str, path: &str, body: Bytes) -> (u16, Bytes) {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .body(Full::new(body))
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    }
}

#[tokio::test]
async fn polling_get_returns_the_last_body_each_client_posted() {
    let port = start(engineio_floors::serve_polling);
    let mut one = Http::connect(port).await;
    let mut two = Http::connect(port).await;
    let path = |c: u32| format!("/engine.io/?EIO=4&c={c}&transport=polling");

    // Nothing posted yet: an empty answer, at once.
    assert_eq!(
        one.request("GET", &path(1), Bytes::new()).await,
        (200, Bytes::new())
    );

    let ok = (200, Bytes::from_static(b"ok"));
    assert_eq!(
        one.request("POST", &path(1), Bytes::from_static(b"4first"))
            .await,
        ok
    );
    assert_eq!(
        two.request("POST", &path(2), Bytes::from_static(b"4second"))
            .await,
        ok
    );
    assert_eq!(
        one.request("GET", &path(1), Bytes::new()).await,
        (200, Bytes::from_static(b"4first"))
    );
    assert_eq!(
        two.request("GET", &path(2), Bytes::new()).await,
        (200, Bytes::from_static(b"4second"))
    );

    // A later post replaces the body; other clients keep theirs. Any connection may ask.
    let body = Bytes::from(vec![b'x'; 100_000]);
    assert_eq!(one.request("POST", &path(1), body.clone()).await, ok);
    assert_eq!(
        two.request("GET", &path(1), Bytes::new()).await,
        (200, body)
    );
    assert_eq!(
        one.request("GET", &path(2), Bytes::new()).await,
        (200, Bytes::from_static(b"4second"))
    );
}

#[tokio::test]
async fn polling_refuses_a_request_without_a_client_number() {
    let port = start(engineio_floors::serve_polling);
    let mut http = Http::connect(port).await;
    let (status, _) = http.request("GET", "/engine.io/?EIO=4", Bytes::new()).await;
    assert_eq!(status, 400);
    let (status, _) = http
        .request("POST", "/engine.io/?c=abc", Bytes::new())
        .await;
    assert_eq!(status, 400);
}
