//! The async-std runtime for Engine.IO.
//!
//! **async-std is discontinued upstream** (RUSTSEC-2025-0052); prefer tokio or smol for new
//! code. This crate is kept for applications that already run on async-std, and is
//! deliberately thin: async-std sits on the same async-io reactor as smol, so timers, listeners
//! and connections are `engineio-runtime-smol`'s adapters, and only spawning goes through
//! `async_std::task::spawn`.
//!
//! ```
//! use engineio_core::runtime::Runtime;
//! use engineio_runtime_async_std::AsyncStdRuntime;
//!
//! async_std::task::block_on(async {
//!     let runtime = AsyncStdRuntime::new();
//!     let listener = runtime.bind("127.0.0.1:0".parse().unwrap()).unwrap();
//!     assert!(listener.local_addr().unwrap().port() > 0);
//! });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::time::Instant;

use engineio_core::runtime::{BoxFuture, Listener, Runtime, Stream, Timer};
use engineio_runtime_smol as io_adapters;

/// The async-std runtime: async-std's executor, async-io's reactor.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStdRuntime;

impl AsyncStdRuntime {
    /// The async-std runtime (it is global; there is nothing to configure).
    pub fn new() -> Self {
        Self
    }
}

impl Runtime for AsyncStdRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn spawn(&self, future: BoxFuture<'static, ()>) {
        async_std::task::spawn(future);
    }

    fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>> {
        io_adapters::new_timer(deadline)
    }

    fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Listener>> {
        io_adapters::wrap_listener(TcpListener::bind(addr)?)
    }

    fn wrap_listener(&self, listener: TcpListener) -> io::Result<Box<dyn Listener>> {
        io_adapters::wrap_listener(listener)
    }

    fn connect(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Stream>>> {
        io_adapters::connect(host, port)
    }
}
