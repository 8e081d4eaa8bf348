//! Choosing the async runtime.
//!
//! The `engineio` crate is written once against [`Runtime`]; each runtime crate implements it.
//! Cargo features choose which runtimes are compiled in (`tokio` by default); when a server or
//! client is built without an explicit runtime, [`default_runtime`] picks one, in the order
//! tokio, smol, async-std. Any [`Runtime`] can be passed explicitly instead, including one of
//! your own.

use std::sync::Arc;

pub use engineio_core::runtime::{sleep_until, BoxFuture, Listener, Runtime, Sleep, Stream, Timer};
#[cfg(feature = "async-std")]
pub use engineio_runtime_async_std::AsyncStdRuntime;
#[cfg(feature = "smol")]
pub use engineio_runtime_smol::SmolRuntime;
#[cfg(feature = "tokio")]
pub use engineio_runtime_tokio::TokioRuntime;

/// Returns the runtime to use when none was given, by feature, in the order tokio, smol,
/// async-std: tokio when the caller runs inside a tokio runtime, otherwise smol (its global
/// executor), otherwise async-std. `None` if no compiled-in runtime can be used from here
/// (only `tokio` is enabled and the caller is outside a tokio runtime).
pub fn default_runtime() -> Option<Arc<dyn Runtime>> {
    #[cfg(feature = "tokio")]
    if let Some(runtime) = TokioRuntime::try_current() {
        return Some(Arc::new(runtime));
    }
    cfg_if::cfg_if! {
        if #[cfg(feature = "smol")] {
            Some(Arc::new(SmolRuntime::new()))
        } else if #[cfg(feature = "async-std")] {
            Some(Arc::new(AsyncStdRuntime::new()))
        } else {
            None
        }
    }
}

/// The runtime given, or the default one; panics with a clear message when there is none.
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) fn resolve(runtime: Option<Arc<dyn Runtime>>) -> Arc<dyn Runtime> {
    runtime.or_else(default_runtime).expect(
        "no async runtime: call this from inside a tokio runtime, or pass one with `.runtime(…)`",
    )
}
