//! The scenarios, and the driver shared by the timed ones.
//!
//! A timed scenario is `clients` independent loops spawned on the local task set. Each loop
//! runs sessions until the window closes; a failed session is counted as an error and replaced
//! after a short pause, so the offered load stays the same. When the window closes, clients get
//! a grace period to finish their current step and close cleanly, then the rest are aborted.

pub mod handshake;
pub mod idle;
pub mod polling_echo;
pub mod ws_echo;

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use crate::measure::{self, Stats};
use crate::report::Report;
use crate::{Config, Error, Scenario, Target};

/// Pause before a failed session is replaced, so a refusing server is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(10);
/// How long clients may take to wind down after the window.
const GRACE: Duration = Duration::from_secs(3);

/// What every client of a run shares.
#[derive(Debug)]
pub struct Ctx {
    /// The run's parameters.
    pub config: Config,
    /// The server.
    pub target: Rc<Target>,
    /// The shared counters.
    pub stats: Rc<Stats>,
}

/// Runs the configured scenario and reports.
pub async fn run(config: &Config, target: Target) -> Report {
    let ctx = Rc::new(Ctx {
        config: config.clone(),
        target: Rc::new(target),
        stats: Stats::new(),
    });
    match config.scenario {
        Scenario::WsEcho => timed(&ctx, ws_echo::session).await,
        Scenario::PollingEcho => timed(&ctx, polling_echo::session).await,
        Scenario::HandshakePolling => timed(&ctx, handshake::polling_sessions).await,
        Scenario::HandshakeWs => timed(&ctx, handshake::ws_sessions).await,
        Scenario::Idle => idle::run(&ctx).await,
    }
}

/// Spawns `clients` loops of `session(ctx, client index)`, runs the window, winds down.
async fn timed<F, Fut>(ctx: &Rc<Ctx>, session: F) -> Report
where
    F: Fn(Rc<Ctx>, usize) -> Fut + Copy + 'static,
    Fut: Future<Output = Result<(), Error>> + 'static,
{
    let mut clients: Vec<_> = (0..ctx.config.clients)
        .map(|index| {
            let ctx = Rc::clone(ctx);
            tokio::task::spawn_local(async move {
                while !ctx.stats.is_done() {
                    if let Err(e) = session(Rc::clone(&ctx), index).await {
                        ctx.stats.record_error(e);
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                }
            })
        })
        .collect();
    let config = &ctx.config;
    let window = measure::timed_window(
        &ctx.stats,
        config.server_pid,
        config.warmup,
        config.duration,
    )
    .await;
    let deadline = tokio::time::Instant::now() + GRACE;
    for client in &mut clients {
        if tokio::time::timeout_at(deadline, &mut *client)
            .await
            .is_err()
        {
            client.abort();
        }
    }
    Report::build(config, &ctx.stats, &window, ctx.stats.ops(), None)
}
