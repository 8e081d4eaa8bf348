//! Session set-up rates: each worker opens and closes sessions back to back.
//!
//! Polling: `GET ?EIO=4&transport=polling` (open), then `POST 1` (close) with the new sid, both
//! on the worker's keep-alive connection; the server's cost is two HTTP requests and a session
//! created and torn down. WebSocket: a new TCP connection per session, the upgrade, the open
//! packet, then `1` plus a close frame (the JS server ignores `1` on WebSocket, so the close
//! frame is what ends the session there), waiting for the server's side of the close.
//!
//! One op is one session completed; its latency is the whole open-to-closed time.

use std::rc::Rc;
use std::time::Instant;

use super::polling_echo::expect_ok;
use super::Ctx;
use crate::eio;
use crate::polling::{HttpConn, Method};
use crate::ws;
use crate::Error;

/// Polling sessions, one after the other, until the window closes.
pub async fn polling_sessions(ctx: Rc<Ctx>, _index: usize) -> Result<(), Error> {
    let mut http = HttpConn::new(Rc::clone(&ctx.target));
    let handshake = ctx.target.with_query(eio::POLLING_HANDSHAKE_QUERY);
    while !ctx.stats.is_done() {
        let started = Instant::now();
        let status = http.request(Method::Get, &handshake, b"").await?;
        expect_ok("handshake GET", status, http.body())?;
        let open = eio::parse_polling_handshake(http.body())?;
        let path = ctx.target.with_query(&eio::polling_query(&open.sid));
        let status = http.request(Method::Post, &path, eio::CLOSE).await?;
        expect_ok("close POST", status, http.body())?;
        ctx.stats.record_op(started.elapsed());
    }
    Ok(())
}

/// WebSocket sessions, one after the other, until the window closes.
pub async fn ws_sessions(ctx: Rc<Ctx>, _index: usize) -> Result<(), Error> {
    let url = ctx.target.ws_with_query(eio::WS_QUERY);
    while !ctx.stats.is_done() {
        let started = Instant::now();
        let (mut socket, _open) = ws::open_session(&ctx.target, &url, ws::IDLE_READ_BUFFER).await?;
        ws::close(&mut socket, true).await?;
        ctx.stats.record_op(started.elapsed());
    }
    Ok(())
}
