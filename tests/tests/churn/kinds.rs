//! The ways a churn session is opened and abandoned, each a raw client run to a point drawn
//! from the session's generator and then gone.
//!
//! A client late by more than the server's ping interval plus ping timeout (a worker thread
//! descheduled that long on a loaded machine) finds its session rightly reaped: that is
//! [`Outcome::Late`], not a failure, unless the server let a read time out (it must always
//! answer or close). The test counts late sessions and bounds them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use engineio_tests::load::Rng;
use engineio_tests::raw::{
    exchange, get, handshake, polling_query, post, text_frame, upgrade_101, ws_session, ws_upgrade,
    RawConn, PATH,
};

/// How a session is abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// TCP connect, then gone before the request is whole.
    MidHandshake,
    /// A polling handshake, then gone.
    HandshakeVanish,
    /// A held GET, then a reset.
    HeldGetReset,
    /// An upgrade started, never finished.
    HalfUpgrade,
    /// A WebSocket session that never answers pings.
    SilentWebSocket,
    /// A polling session that posts a message, then is gone.
    PostVanish,
    /// A clean close (`1`).
    CleanClose,
}

/// The kinds and their weights in the mix.
pub(crate) const KINDS: [(Kind, u32); 7] = [
    (Kind::MidHandshake, 15),
    (Kind::HandshakeVanish, 15),
    (Kind::HeldGetReset, 15),
    (Kind::HalfUpgrade, 15),
    (Kind::SilentWebSocket, 10),
    (Kind::PostVanish, 15),
    (Kind::CleanClose, 15),
];

/// What became of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No session was opened (mid-handshake).
    NoSession,
    /// A session was opened and run as planned: the server must report it ended.
    Opened,
    /// A session was opened, but the client came back to it after the server had rightly
    /// reaped it: the server must report it ended, by its heartbeat.
    Late,
}

/// Where a session stands: when its handshake was sent, once it has succeeded.
struct Session {
    addr: SocketAddr,
    io: Duration,
    /// Set once a handshake has succeeded: when it was sent (the session is at most this old).
    opened: Option<Instant>,
}

impl Session {
    /// A polling handshake; returns the sid.
    fn handshake(&mut self) -> Result<String, String> {
        let sent = Instant::now();
        let sid = handshake(self.addr, self.io)?;
        self.opened = Some(sent);
        Ok(sid)
    }

    /// A WebSocket-only handshake; returns the connection.
    fn ws_session(&mut self) -> Result<RawConn, String> {
        let sent = Instant::now();
        let (conn, _sid) = ws_session(self.addr, self.io)?;
        self.opened = Some(sent);
        Ok(conn)
    }
}

/// Runs one session of `kind` against the server at `addr`; `lifetime` is how long the
/// server keeps a session that never answers pings (ping interval plus ping timeout).
pub(crate) fn run_session(
    kind: Kind,
    rng: &mut Rng,
    addr: SocketAddr,
    io: Duration,
    lifetime: Duration,
) -> Result<Outcome, String> {
    let mut session = Session {
        addr,
        io,
        opened: None,
    };
    let s = &mut session;
    let result = match kind {
        Kind::MidHandshake => mid_handshake(rng, addr, io),
        Kind::HandshakeVanish => s.handshake().map(drop),
        Kind::HeldGetReset => held_get_reset(rng, s),
        Kind::HalfUpgrade => half_upgrade(rng, s),
        Kind::SilentWebSocket => silent_websocket(s),
        Kind::PostVanish => post_vanish(rng, s),
        Kind::CleanClose => clean_close(rng, s),
    };
    match (result, session.opened) {
        (Ok(()), None) => Ok(Outcome::NoSession),
        (Ok(()), Some(_)) => Ok(Outcome::Opened),
        (Err(e), Some(sent))
            if sent.elapsed() >= lifetime
                && !e.contains("WouldBlock")
                && !e.contains("TimedOut") =>
        {
            Ok(Outcome::Late)
        }
        (Err(e), opened) => Err(format!(
            "{kind:?}: {e}{}",
            opened
                .map(|sent| format!(" ({:?} after the handshake was sent)", sent.elapsed()))
                .unwrap_or_default()
        )),
    }
}

/// Gone with a FIN or a reset, as the generator says.
fn vanish(rng: &mut Rng, conn: RawConn) {
    if rng.below(2) == 0 {
        conn.close();
    } else {
        conn.reset();
    }
}

fn mid_handshake(rng: &mut Rng, addr: SocketAddr, io: Duration) -> Result<(), String> {
    let line = format!("GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\n");
    let half = &line.as_bytes()[..line.len() / 2];
    let mut conn = RawConn::connect(addr, io)?;
    match rng.below(3) {
        0 => vanish(rng, conn),
        1 => {
            conn.write(half)?;
            vanish(rng, conn);
        }
        _ => {
            // Half a request line, then silence: the header deadline must cut it.
            conn.write(half)?;
            conn.await_http_end()
                .map_err(|e| format!("half a request line left hanging: {e}"))?;
        }
    }
    Ok(())
}

fn held_get_reset(rng: &mut Rng, s: &mut Session) -> Result<(), String> {
    let (addr, io) = (s.addr, s.io);
    let sid = s.handshake()?;
    let mut conn = RawConn::connect(addr, io)?;
    conn.write(&get(&polling_query(&sid)))?;
    if rng.below(2) == 1 {
        // The first poll is held until the server's ping; the second is then held in turn.
        let response = conn.read_response()?;
        if (response.status, response.text().as_str()) != (200, "2") {
            return Err(format!(
                "first poll: {} {:?}, expected the ping",
                response.status,
                response.text()
            ));
        }
        conn = RawConn::connect(addr, io)?;
        conn.write(&get(&polling_query(&sid)))?;
    }
    conn.reset();
    Ok(())
}

fn half_upgrade(rng: &mut Rng, s: &mut Session) -> Result<(), String> {
    let (addr, io) = (s.addr, s.io);
    let sid = s.handshake()?;
    match rng.below(4) {
        0 => {
            // The upgrade request, the 101 unread.
            let mut conn = RawConn::connect(addr, io)?;
            conn.write(&ws_upgrade(&format!("EIO=4&transport=websocket&sid={sid}")))?;
            vanish(rng, conn);
        }
        1 => {
            // The probe sent, its answer unread.
            let mut conn = upgrade_101(addr, io, &sid)?;
            conn.write(&text_frame("2probe"))?;
            vanish(rng, conn);
        }
        variant => {
            let mut conn = upgrade_101(addr, io, &sid)?;
            conn.write(&text_frame("2probe"))?;
            let answer = conn.read_text()?;
            if answer != "3probe" {
                return Err(format!("probe answered {answer:?}"));
            }
            if variant == 2 {
                // `3probe` read, no `5`: gone.
                vanish(rng, conn);
            } else {
                // No `5`, the probe socket held open: the server must close it (the upgrade
                // deadline, or the end of the session).
                conn.await_end()
                    .map_err(|e| format!("probe socket held without `5`: {e}"))?;
            }
        }
    }
    Ok(())
}

fn silent_websocket(s: &mut Session) -> Result<(), String> {
    let mut conn = s.ws_session()?;
    let first = conn.read_text()?;
    if first != "2" {
        return Err(format!("expected the server's ping, got {first:?}"));
    }
    // Never answered: the server must end the session and close the socket.
    conn.await_end()
        .map_err(|e| format!("WebSocket that never answers pings: {e}"))?;
    Ok(())
}

fn post_vanish(rng: &mut Rng, s: &mut Session) -> Result<(), String> {
    let (addr, io) = (s.addr, s.io);
    let sid = s.handshake()?;
    let query = polling_query(&sid);
    let response = exchange(addr, io, &post(&query, b"4hello"))?;
    if (response.status, response.text().as_str()) != (200, "ok") {
        return Err(format!("POST: {} {:?}", response.status, response.text()));
    }
    if rng.below(2) == 1 {
        // Poll for the echo (pings may come first), then gone.
        for _ in 0..3 {
            let response = exchange(addr, io, &get(&query))?;
            let text = response.text();
            let packets: Vec<&str> = text.split('\u{1e}').collect();
            if response.status != 200 || packets.iter().any(|p| *p != "2" && *p != "4hello") {
                return Err(format!("poll for the echo: {} {text:?}", response.status));
            }
            if packets.contains(&"4hello") {
                return Ok(());
            }
        }
        return Err("no echo in three polls".to_owned());
    }
    Ok(())
}

fn clean_close(rng: &mut Rng, s: &mut Session) -> Result<(), String> {
    let (addr, io) = (s.addr, s.io);
    if rng.below(2) == 0 {
        let sid = s.handshake()?;
        let response = exchange(addr, io, &post(&polling_query(&sid), b"1"))?;
        if (response.status, response.text().as_str()) != (200, "ok") {
            return Err(format!("POST 1: {} {:?}", response.status, response.text()));
        }
    } else {
        let mut conn = s.ws_session()?;
        conn.write(&text_frame("4bye"))?;
        loop {
            match conn.read_text()?.as_str() {
                "4bye" => break,
                "2" => continue,
                other => return Err(format!("expected the echo, got {other:?}")),
            }
        }
        conn.write(&text_frame("1"))?;
        conn.await_end()
            .map_err(|e| format!("WebSocket closed with `1`: {e}"))?;
    }
    Ok(())
}
