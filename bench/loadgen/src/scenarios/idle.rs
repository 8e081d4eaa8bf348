//! Idle sessions: memory per session, and whether it is given back.
//!
//! Opens `--sessions` WebSocket sessions, at most [`OPEN_CONCURRENCY`] at a time so the open
//! phase does not turn into a connection storm, then holds them for `duration` answering every
//! ping (the server's CPU over the hold is its cost of idle sessions). RSS is read before the
//! first session, at the end of the hold, and after all sessions closed once it stops falling.
//! Bytes per session = (RSS with sessions − RSS before) / sessions held.
//!
//! The latency percentiles of the report are session open times; `ops` is the number of
//! sessions still alive at the end of the hold.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Semaphore};

use super::Ctx;
use crate::eio::{self, Packet};
use crate::measure::{Phase, Window};
use crate::proc_stats;
use crate::report::{IdleMemory, Report};
use crate::ws::{self, Ws};
use crate::Error;

/// Sessions being opened at the same time.
pub const OPEN_CONCURRENCY: usize = 200;
/// RSS sampling period while it settles after the close.
const SETTLE_STEP: Duration = Duration::from_millis(250);
/// RSS counts as settled when it has not fallen for this long…
const SETTLE_QUIET: Duration = Duration::from_secs(1);
/// …and the wait never exceeds this.
const SETTLE_MAX: Duration = Duration::from_secs(10);
/// How long closing all sessions may take.
const CLOSE_ALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs the idle scenario.
pub async fn run(ctx: &Rc<Ctx>) -> Report {
    let config = &ctx.config;
    let pid = config.server_pid;
    let rss = || pid.and_then(|p| proc_stats::sample(Some(p)).ok()?.rss_kb);
    let rss_kb_before = rss();
    // Open times are recorded as latencies: measure from the start.
    ctx.stats.set_phase(Phase::Measure);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel::<bool>();
    let permits = Rc::new(Semaphore::new(OPEN_CONCURRENCY));
    let alive = Rc::new(Cell::new(0usize));
    let pings = Rc::new(Cell::new(0u64));
    let url = Rc::new(ctx.target.ws_with_query(eio::WS_QUERY));
    let holders: Vec<_> = (0..config.sessions)
        .map(|_| {
            let ctx = Rc::clone(ctx);
            let (permits, alive, pings, url) =
                (permits.clone(), alive.clone(), pings.clone(), url.clone());
            let (opened_tx, shutdown_rx) = (opened_tx.clone(), shutdown_rx.clone());
            tokio::task::spawn_local(async move {
                let permit = permits.acquire().await;
                let started = Instant::now();
                let opened = ws::open_session(&ctx.target, &url, ws::IDLE_READ_BUFFER).await;
                drop(permit);
                let mut socket = match opened {
                    Ok((socket, _open)) => socket,
                    Err(e) => {
                        ctx.stats.record_error(e);
                        let _ = opened_tx.send(false);
                        return;
                    }
                };
                ctx.stats.record_op(started.elapsed());
                alive.set(alive.get() + 1);
                let _ = opened_tx.send(true);
                let held = hold(&mut socket, shutdown_rx, &pings).await;
                alive.set(alive.get() - 1);
                match held {
                    Ok(()) => {
                        let _ = ws::close(&mut socket, true).await;
                    }
                    Err(e) => ctx.stats.record_error(e),
                }
            })
        })
        .collect();
    drop(opened_tx);
    // Every holder reports once (opened or failed) and then keeps its sender: count answers
    // rather than wait for the channel to close.
    let mut opened = 0usize;
    for _ in 0..config.sessions {
        match opened_rx.recv().await {
            Some(ok) => opened += usize::from(ok),
            None => break,
        }
    }
    let window = Window::open(pid);
    tokio::time::sleep(config.duration).await;
    let held = alive.get();
    let window = window.close();
    let rss_kb_with_sessions = window.server_rss_kb_end;
    ctx.stats.set_phase(Phase::Done);
    let _ = shutdown_tx.send(true);
    let deadline = tokio::time::Instant::now() + CLOSE_ALL_TIMEOUT;
    for mut holder in holders {
        if tokio::time::timeout_at(deadline, &mut holder)
            .await
            .is_err()
        {
            holder.abort();
        }
    }
    let rss_kb_after_close = settle(rss).await;
    let bytes_per_session = rss_kb_before
        .zip(rss_kb_with_sessions)
        .filter(|_| held > 0)
        .map(|(before, with)| (with as f64 - before as f64) * 1024.0 / held as f64);
    let idle = IdleMemory {
        sessions: config.sessions as u64,
        rss_kb_before,
        rss_kb_with_sessions,
        rss_kb_after_close,
        bytes_per_session,
    };
    let mut report = Report::build(config, &ctx.stats, &window, held as u64, Some(idle));
    report.notes.push(format!(
        "{opened} sessions opened, {held} alive at the end of the hold, {} pings answered",
        pings.get()
    ));
    report
}

/// Holds one session: answers pings until shutdown; the session ending first is an error.
async fn hold(
    socket: &mut Ws,
    mut shutdown: watch::Receiver<bool>,
    pings: &Cell<u64>,
) -> Result<(), Error> {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            message = ws::next_message(socket) => {
                let message = message?;
                let text = message.to_text().map_err(|_| Error("binary frame on an idle session".into()))?;
                match eio::parse_packet(text.as_bytes())? {
                    Packet::Ping => {
                        socket.send(ws::pong_frame()).await?;
                        pings.set(pings.get() + 1);
                    }
                    Packet::Noop | Packet::Pong => {}
                    Packet::Close => return Err(Error("server closed an idle session".into())),
                    other => return Err(Error(format!("unexpected packet on an idle session: {other:?}"))),
                }
            }
        }
    }
}

/// Samples RSS until it has not fallen for [`SETTLE_QUIET`] (at most [`SETTLE_MAX`]); returns
/// the last sample.
async fn settle(rss: impl Fn() -> Option<u64>) -> Option<u64> {
    let started = Instant::now();
    let mut lowest = rss()?;
    let mut last = lowest;
    let mut lowest_at = Instant::now();
    while started.elapsed() < SETTLE_MAX && lowest_at.elapsed() < SETTLE_QUIET {
        tokio::time::sleep(SETTLE_STEP).await;
        last = rss()?;
        if last < lowest {
            lowest = last;
            lowest_at = Instant::now();
        }
    }
    Some(last)
}
