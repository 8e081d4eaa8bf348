//! Deferring the core's drains while handlers run on a socket's task (see [`DrainScope`]).

use std::cell::Cell;
use std::sync::Arc;

use super::engine::Shared;

thread_local! {
    /// The server whose handlers run in a [`DrainScope`] on this thread, by address, and
    /// whether an input in the scope left outputs in its core.
    static DEFERRED_DRAIN: Cell<Option<(*const Shared, bool)>> = const { Cell::new(None) };
}

/// While handlers run one after another on a socket's task (see
/// [`run_jobs_here`](super::handlers::run_jobs_here)), the inputs they make (typically a
/// `send` per message) leave the core's outputs in place, and the scope drains them once when
/// it ends, instead of once per input: a burst of 16 echoes costs one drain, not 16.
///
/// Nothing waits on the deferred outputs: a handler that runs in the scope gets its results
/// from the core at once (`send` is queued or refused on the spot), and the scope ends, with
/// its drain, before the task yields to the runtime. The scope is per thread and per server:
/// another server's inputs, or those of another thread, drain as usual.
pub(crate) struct DrainScope {
    shared: Arc<Shared>,
    outer: Option<(*const Shared, bool)>,
    /// Set once [`end`](Self::end) has handed the owed drain to its caller.
    ended: bool,
}

impl DrainScope {
    /// Starts deferring `shared`'s drains on this thread until the scope is dropped.
    pub(crate) fn enter(shared: &Arc<Shared>) -> Self {
        let outer = DEFERRED_DRAIN.replace(Some((Arc::as_ptr(shared), false)));
        Self {
            shared: Arc::clone(shared),
            outer,
            ended: false,
        }
    }

    /// True, and the drain noted as owed, when `shared`'s drains are deferred on this thread.
    pub(super) fn defers(shared: &Shared) -> bool {
        DEFERRED_DRAIN.with(|slot| match slot.get() {
            Some((server, _)) if std::ptr::eq(server, shared) => {
                slot.set(Some((server, true)));
                true
            }
            _ => false,
        })
    }

    /// Ends the scope and returns true if the caller owes the drain: for a caller that holds
    /// the state's lock anyway and drains under it, rather than taking it once more on drop.
    pub(crate) fn end(mut self) -> bool {
        self.ended = true;
        self.restore()
    }

    /// Puts back the scope this one replaced; returns true if a drain is owed here (an
    /// enclosing scope of the same server takes it over instead).
    fn restore(&self) -> bool {
        let owed = DEFERRED_DRAIN
            .replace(self.outer)
            .is_some_and(|(_, owed)| owed);
        match self.outer {
            Some((server, _)) if owed && std::ptr::eq(server, Arc::as_ptr(&self.shared)) => {
                DEFERRED_DRAIN.set(Some((server, true)));
                false
            }
            _ => owed,
        }
    }
}

impl Drop for DrainScope {
    fn drop(&mut self) {
        if !self.ended && self.restore() {
            // Runs even while a handler's panic unwinds: what it queued still goes out.
            self.shared.with_state(|_, _| ());
        }
    }
}
