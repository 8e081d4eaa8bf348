//! Polling echo: POST one message, then GET until its echo arrives; one round trip is one op.
//!
//! Each client is one polling session on one keep-alive connection, used for both the POST and
//! the GET (in turn, as they never overlap here). Pings that arrive in a GET are answered with a
//! POST of `3` before the next request. Binary messages travel as `b<base64>` records.
//!
//! With `--raw` (the hyper polling floor) there is no session: `POST <url>?c=<client>` with the
//! payload, then `GET <url>?c=<client>` returns the body that client posted last.

use std::rc::Rc;
use std::time::Instant;

use super::Ctx;
use crate::eio::{self, Packet};
use crate::payload::PayloadGen;
use crate::polling::{HttpConn, Method};
use crate::Error;

/// One session: handshake, round trips until the window closes, close.
pub async fn session(ctx: Rc<Ctx>, index: usize) -> Result<(), Error> {
    let config = &ctx.config;
    let mut http = HttpConn::new(Rc::clone(&ctx.target));
    let path = if config.raw {
        ctx.target.with_query(&format!("c={index}"))
    } else {
        let handshake = ctx.target.with_query(eio::POLLING_HANDSHAKE_QUERY);
        let status = http.request(Method::Get, &handshake, b"").await?;
        expect_ok("handshake GET", status, http.body())?;
        let open = eio::parse_polling_handshake(http.body())?;
        ctx.target.with_query(&eio::polling_query(&open.sid))
    };
    let gen = PayloadGen::new(config.size, config.binary);
    let mut body = Vec::with_capacity(config.size * 2 + 8);
    let mut decoded = Vec::new();
    for seq in 0u64.. {
        if ctx.stats.is_done() {
            break;
        }
        body.clear();
        if config.raw {
            gen.write(seq, &mut body);
        } else {
            let payload = gen.make(seq);
            if config.binary {
                eio::encode_binary_polling(&mut body, &payload);
            } else {
                eio::encode_text(&mut body, &payload);
            }
        }
        let started = Instant::now();
        let status = http.request(Method::Post, &path, &body).await?;
        expect_ok("POST", status, http.body())?;
        if config.raw {
            let status = http.request(Method::Get, &path, b"").await?;
            expect_ok("GET", status, http.body())?;
            if !gen.matches(seq, http.body()) {
                return Err(Error(format!("wrong echo for message {seq}")));
            }
        } else {
            let mut echoed = false;
            while !echoed {
                let status = http.request(Method::Get, &path, b"").await?;
                expect_ok("GET", status, http.body())?;
                let scan = eio::scan_poll(http.body(), |packet| {
                    let data = match packet {
                        Packet::Message(text) if !config.binary => text,
                        Packet::Binary(encoded) if config.binary => {
                            eio::decode_binary_polling(encoded, &mut decoded)?;
                            &decoded
                        }
                        other => {
                            return Err(eio::BadPacket(format!("unexpected message {other:?}")))
                        }
                    };
                    if echoed || !gen.matches(seq, data) {
                        return Err(eio::BadPacket(format!(
                            "echo out of order or corrupted (expected message {seq})"
                        )));
                    }
                    echoed = true;
                    Ok(())
                })?;
                if scan.closed {
                    return Err(Error("server closed the session".into()));
                }
                for _ in 0..scan.pings {
                    let status = http.request(Method::Post, &path, eio::PONG).await?;
                    expect_ok("pong POST", status, http.body())?;
                }
            }
        }
        ctx.stats.record_op(started.elapsed());
    }
    if !config.raw {
        // Best effort: the window is over and errors no longer count.
        let _ = http.request(Method::Post, &path, eio::CLOSE).await;
    }
    Ok(())
}

/// A status other than 200 is an error, with the start of the body for context.
pub fn expect_ok(what: &str, status: u16, body: &[u8]) -> Result<(), Error> {
    if status == 200 {
        Ok(())
    } else {
        Err(Error(format!(
            "{what} answered {status}: {:?}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        )))
    }
}
