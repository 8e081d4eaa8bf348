//! Putting the server on the network: a standalone `serve` (Engine.IO, then static files, then
//! 404), and a tower [`Service`] that an axum or hyper application mounts, with everything that
//! is not Engine.IO (or a static file) forwarded to the application's own service.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use engineio_core::runtime::{Listener, Stream};
use futures_util::future::{select, Either};
use http_body_util::{Either as EitherBody, Full};
use tower_service::Service;

use super::engine::Shared;
use super::http::{self, plain, Handling, HttpResponse};
use super::Server;
use crate::head_deadline::{HeadDeadline, Requests, Tracked};
use crate::io::HyperIo;
use engineio_core::http::static_files;

impl Server {
    /// Binds `addr` and serves until [`shutdown`](Self::shutdown): the Engine.IO path, then
    /// the configured static files, then 404.
    pub async fn serve(&self, addr: SocketAddr) -> io::Result<()> {
        let listener = self.shared.runtime.bind(addr)?;
        accept_loop(Arc::clone(&self.shared), listener).await
    }

    /// Serves on a listener the caller bound (and may have configured), e.g. on port 0 to
    /// learn the port first.
    pub async fn serve_listener(&self, listener: std::net::TcpListener) -> io::Result<()> {
        let listener = self.shared.runtime.wrap_listener(listener)?;
        accept_loop(Arc::clone(&self.shared), listener).await
    }

    /// Serves one HTTP/1.1 connection the caller accepted (for custom accept loops).
    pub async fn serve_connection(&self, stream: Box<dyn Stream>, remote_addr: Option<SocketAddr>) {
        serve_connection(Arc::clone(&self.shared), stream, remote_addr).await;
    }

    /// A tower `Service` answering the Engine.IO path and the static files, and 404 for
    /// anything else.
    pub fn service(&self) -> EngineIoService<NotFound> {
        self.service_with(NotFound)
    }

    /// A tower `Service` answering the Engine.IO path and the static files, forwarding
    /// everything else to `inner` (an axum `Router`, a hyper service, …).
    pub fn service_with<S>(&self, inner: S) -> EngineIoService<S> {
        EngineIoService {
            server: self.clone(),
            inner,
        }
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: Box<dyn Listener>) -> io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, path = %shared.options.http.path, "engine.io server listening");
    }
    loop {
        if shared.stopped.load(Ordering::Acquire) {
            return Ok(());
        }
        let accept = poll_fn(|cx| listener.poll_accept(cx));
        let stop = std::pin::pin!(shared.stop_accepting.notified());
        match select(std::pin::pin!(accept), stop).await {
            Either::Left((Ok((stream, peer)), _)) => {
                let connection = serve_connection(Arc::clone(&shared), stream, Some(peer));
                shared.runtime.spawn(Box::pin(connection));
            }
            Either::Left((Err(error), _)) => {
                // Out of descriptors and the like: log, and keep serving the live sessions.
                tracing::warn!(%error, "accept failed");
                let pause = shared.runtime.now() + std::time::Duration::from_millis(50);
                engineio_core::runtime::sleep_until(&*shared.runtime, pause).await;
            }
            Either::Right(_) => return Ok(()),
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: Box<dyn Stream>, peer: Option<SocketAddr>) {
    // The head deadline is kept beside hyper (see `head_deadline`): the service counts the
    // requests in flight, the connection's I/O keeps the time.
    let requests = Arc::new(Requests::default());
    let deadline = HeadDeadline::new(
        Arc::clone(&shared.runtime),
        shared.options.header_read_timeout,
        Arc::clone(&requests),
    );
    let io = HyperIo::lingering(stream, Arc::clone(&shared.runtime))
        .holding_switch()
        .with_head_deadline(deadline);
    let service = hyper::service::service_fn(move |request| {
        let handling = match known(&shared, &request) {
            Some(known) => serve_known(Arc::clone(&shared), request, peer, known),
            None => Handling::answered(plain(404, "Not Found")),
        };
        Tracked::new(handling, requests.enter())
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .serve_connection(io, service)
        .with_upgrades();
    if let Err(error) = connection.await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// What the server itself serves: the Engine.IO path, or a static file.
enum Known {
    EngineIo,
    File(static_files::ResolvedFile),
}

/// Engine.IO, then static files; `None` when the request is for neither (the caller's
/// fallback: 404, or the application's own service).
fn known<B>(shared: &Shared, request: &::http::Request<B>) -> Option<Known> {
    let path = request.uri().path();
    if shared.options.http.is_engine_path(path) {
        return Some(Known::EngineIo);
    }
    let is_read = matches!(
        *request.method(),
        ::http::Method::GET | ::http::Method::HEAD
    );
    if !is_read {
        return None;
    }
    static_files::resolve(&shared.options.http.static_files, path).map(Known::File)
}

/// Serves a request [`known`] found to be the server's own.
///
/// Its future is built in place and handed to hyper as it is: hyper moves it once, into the
/// connection's slot for the request in flight, and each wrapper (`map`, `unwrap_or_else`)
/// around it would copy it again.
fn serve_known<B>(
    shared: Arc<Shared>,
    request: ::http::Request<B>,
    peer: Option<SocketAddr>,
    known: Known,
) -> Handling<impl Future<Output = HttpResponse> + Send>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    match known {
        Known::EngineIo => http::handle(shared, request, peer, false),
        Known::File(file) => Handling::answered(static_files::respond(&file).map(Full::new)),
    }
}

/// The Engine.IO server as a tower `Service`; see [`Server::service_with`].
#[derive(Debug, Clone)]
pub struct EngineIoService<S> {
    server: Server,
    inner: S,
}

impl<S, B, ResBody> Service<::http::Request<B>> for EngineIoService<S>
where
    S: Service<::http::Request<B>, Response = ::http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    type Response = ::http::Response<EitherBody<Full<Bytes>, ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness of the inner service is awaited in `call`, for the requests it gets.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ::http::Request<B>) -> Self::Future {
        let shared = Arc::clone(&self.server.shared);
        let mut inner = self.inner.clone();
        let peer = request.extensions().get::<SocketAddr>().copied();
        Box::pin(async move {
            match known(&shared, &request) {
                Some(known) => {
                    let Ok(response) = serve_known(shared, request, peer, known).await;
                    Ok(response.map(EitherBody::Left))
                }
                None => {
                    poll_fn(|cx| inner.poll_ready(cx)).await?;
                    let response = inner.call(request).await?;
                    Ok(response.map(EitherBody::Right))
                }
            }
        })
    }
}

/// The fallback of [`Server::service`]: 404 for everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> Service<::http::Request<B>> for NotFound {
    type Response = ::http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: ::http::Request<B>) -> Self::Future {
        std::future::ready(Ok(plain(404, "Not Found")))
    }
}
