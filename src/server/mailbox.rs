//! Where the core's decisions wait for the tasks that act on them: a pending request's
//! outcome, and a WebSocket's next batch or close.
//!
//! Both live in the server's state, under the lock that the core's outputs are routed under,
//! and hold one thing at a time: the core decides once per request step (`ReadBody`, then an
//! answer), and hands a socket one batch at a time (the next waits for `handle_ws_written`).
//! So a slot and a waker do what a channel per request or per socket did, without its
//! allocations (the channel itself, and a node per message) or its atomics; the task takes
//! what is there under the lock it takes anyway.

use std::task::{Poll, Waker};

use engineio_core::http::StoredRequest;
use engineio_core::id_map::IdMap;
use engineio_core::{Frames, RequestId, Response, Transmit};

/// What the core decided about a pending HTTP request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Write this response; the request is done.
    Respond(Response),
    /// Read the body and feed it to the core.
    ReadBody,
    /// Complete the WebSocket handshake; the socket's [`SocketMailbox`] is in place.
    Accept,
    /// The core does not know the request (it cannot happen while the request's future is
    /// alive; answered with a 500 rather than a hang if it does).
    Lost,
}

impl Outcome {
    /// True for the answers that end a request (a response, an accepted upgrade).
    pub(crate) fn is_final(&self) -> bool {
        matches!(self, Self::Respond(_) | Self::Accept)
    }
}

/// Where the core's decision about a pending request waits for the request's future.
#[derive(Debug)]
pub(crate) enum OutcomeSlot {
    /// Nothing decided yet; the future to wake when something is.
    Waiting(Option<Waker>),
    /// Decided, not yet taken.
    Ready(Outcome),
}

impl Default for OutcomeSlot {
    fn default() -> Self {
        Self::Waiting(None)
    }
}

impl OutcomeSlot {
    /// Leaves `outcome` for the request's future and wakes it. A response or an accepted
    /// upgrade replaces a `ReadBody` the future has not taken yet (the core answered before
    /// the body was needed); the core makes no other decision before one is taken.
    pub(crate) fn decide(&mut self, outcome: Outcome) {
        if let Self::Waiting(Some(waker)) = std::mem::replace(self, Self::Ready(outcome)) {
            waker.wake();
        }
    }

    /// Takes the decision if there is one; otherwise keeps `waker` (when given) to be woken.
    pub(crate) fn take(&mut self, waker: Option<&Waker>) -> Option<Outcome> {
        match self {
            Self::Waiting(kept) => {
                if let Some(waker) = waker {
                    remember(kept, waker);
                }
                None
            }
            Self::Ready(_) => match std::mem::take(self) {
                Self::Ready(outcome) => Some(outcome),
                Self::Waiting(_) => None,
            },
        }
    }

    /// True if a final answer is waiting to be taken.
    pub(crate) fn holds_final(&self) -> bool {
        matches!(self, Self::Ready(outcome) if outcome.is_final())
    }

    /// True if an accepted upgrade is waiting to be taken.
    pub(crate) fn holds_accept(&self) -> bool {
        matches!(self, Self::Ready(Outcome::Accept))
    }
}

/// What the writer of one WebSocket must do.
#[derive(Debug)]
pub(crate) enum WsCommand {
    /// Write these frames, flush, then report `handle_ws_written`.
    Send(Frames),
    /// Send a close frame with this code and stop.
    Close(u16),
}

/// What waits for one WebSocket's writer: the batch the core handed out, the close it asked
/// for, and whether the socket has ended. The socket's task forgets it when the task ends.
#[derive(Debug, Default)]
pub(crate) struct SocketMailbox {
    frames: Option<Frames>,
    close: Option<u16>,
    ended: bool,
    waker: Option<Waker>,
}

impl SocketMailbox {
    /// Leaves a batch for the writer (after any not taken yet, which flow control makes
    /// rare: the core hands out the next batch only once the last is written).
    pub(crate) fn send(&mut self, frames: Frames) {
        match &mut self.frames {
            Some(waiting) => waiting.extend(frames),
            None => self.frames = Some(frames),
        }
        self.wake();
    }

    /// Asks the writer to send a close frame with `code` after what is waiting, and stop.
    pub(crate) fn close(&mut self, code: u16) {
        self.close = Some(code);
        self.wake();
    }

    /// Tells the writer that the socket has ended: once it has taken what is waiting, it
    /// gets nothing more.
    pub(crate) fn end(&mut self) {
        self.ended = true;
        self.wake();
    }

    /// The writer's next command: `Ready(None)` once the socket has ended and nothing waits;
    /// otherwise keeps `waker` (when given) to be woken.
    pub(crate) fn poll_take(&mut self, waker: Option<&Waker>) -> Poll<Option<WsCommand>> {
        if let Some(frames) = self.frames.take() {
            return Poll::Ready(Some(WsCommand::Send(frames)));
        }
        if let Some(code) = self.close.take() {
            return Poll::Ready(Some(WsCommand::Close(code)));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(waker) = waker {
            remember(&mut self.waker, waker);
        }
        Poll::Pending
    }

    /// Drops the writer's waker: for the writer's own task, which polls the mailbox before it
    /// waits again (see [`Shared::with_socket_input`](super::engine::Shared::with_socket_input)).
    pub(crate) fn forget_waker(&mut self) {
        self.waker = None;
    }

    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// Keeps `waker` in `slot`, unless the one there already wakes the same task.
fn remember(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(kept) if kept.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// A request waiting for the core.
pub(super) struct Pending {
    /// The core's latest decision about the request, until its future takes it.
    pub(super) outcome: OutcomeSlot,
    /// A handshake's request, packed; the session keeps it, and handlers get it rebuilt.
    pub(super) info: Option<StoredRequest>,
}

/// Takes request `id`'s outcome if one is ready ([`Outcome::Lost`] for an unknown request),
/// and forgets the request once the outcome is final; otherwise keeps `waker` to be woken.
pub(super) fn take_outcome(
    pending: &mut IdMap<RequestId, Pending>,
    id: RequestId,
    waker: Option<&Waker>,
) -> Option<Outcome> {
    let Some(entry) = pending.get_mut(&id) else {
        return Some(Outcome::Lost);
    };
    let outcome = entry.outcome.take(waker)?;
    if outcome.is_final() {
        pending.remove(&id);
    }
    Some(outcome)
}

/// Leaves what the core decided for a request or a socket in its slot or mailbox, and wakes
/// the task that waits on it.
pub(super) fn route_transmit(
    pending: &mut IdMap<RequestId, Pending>,
    sockets: &mut IdMap<RequestId, SocketMailbox>,
    transmit: Transmit,
) {
    match transmit {
        Transmit::Respond { request, response } => {
            if let Some(pending) = pending.get_mut(&request) {
                pending.outcome.decide(Outcome::Respond(response));
            }
        }
        Transmit::ReadBody { request } => {
            if let Some(pending) = pending.get_mut(&request) {
                pending.outcome.decide(Outcome::ReadBody);
            }
        }
        Transmit::AcceptWebSocket { request } => {
            if let Some(pending) = pending.get_mut(&request) {
                sockets.insert(request, SocketMailbox::default());
                pending.outcome.decide(Outcome::Accept);
            }
        }
        Transmit::WsSend { socket, frames } => {
            if let Some(mailbox) = sockets.get_mut(&socket) {
                mailbox.send(frames);
            }
        }
        Transmit::WsClose { socket, code } => {
            if let Some(mailbox) = sockets.get_mut(&socket) {
                mailbox.close(code);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn waker() -> (Arc<CountingWaker>, Waker) {
        let count = Arc::new(CountingWaker::default());
        (Arc::clone(&count), Waker::from(count))
    }

    #[test]
    fn an_outcome_wakes_its_request_and_is_taken_once() {
        let (count, waker) = waker();
        let mut slot = OutcomeSlot::default();
        assert!(slot.take(Some(&waker)).is_none());
        slot.decide(Outcome::ReadBody);
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        assert!(matches!(slot.take(None), Some(Outcome::ReadBody)));
        assert!(slot.take(None).is_none());
        // A response decided before the future took `ReadBody` replaces it.
        slot.decide(Outcome::ReadBody);
        slot.decide(Outcome::Accept);
        assert!(slot.holds_final() && slot.holds_accept());
        assert!(matches!(slot.take(None), Some(Outcome::Accept)));
    }

    #[test]
    fn a_socket_gets_its_frames_then_its_close_then_its_end() {
        let (count, waker) = waker();
        let mut mailbox = SocketMailbox::default();
        assert!(mailbox.poll_take(Some(&waker)).is_pending());
        mailbox.send(engineio_core::Frame::Text("4a".into()).into());
        mailbox.send(engineio_core::Frame::Text("4b".into()).into());
        mailbox.close(1002);
        mailbox.end();
        assert_eq!(
            count.0.load(Ordering::Relaxed),
            1,
            "woken once, then not kept"
        );
        match mailbox.poll_take(None) {
            Poll::Ready(Some(WsCommand::Send(frames))) => assert_eq!(frames.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            mailbox.poll_take(None),
            Poll::Ready(Some(WsCommand::Close(1002)))
        ));
        assert!(matches!(mailbox.poll_take(None), Poll::Ready(None)));
    }
}
