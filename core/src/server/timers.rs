//! One timer queue for all sessions and pending handshakes.
//!
//! Each session owns its deadlines (ping, pong, upgrade, close…) and reports the earliest; the
//! queue holds at most one live entry per owner. An entry whose deadline was moved later is left
//! in the heap and recognised as stale when it pops: that costs one harmless early wake-up and
//! saves a search. Heartbeats are thus timer entries, never tasks.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::id_map::IdMap;
use crate::sid::Sid;
use crate::types::RequestId;

/// Who a deadline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerOwner {
    Session(Sid),
    Handshake(RequestId),
}

/// Heaps up to this many entries are never rebuilt (see [`Timers::remove`]).
const COMPACT_ABOVE: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, TimerOwner)>>,
    /// The earliest deadline currently in the heap for each owner.
    scheduled: IdMap<TimerOwner, Instant>,
}

impl Timers {
    /// Makes sure `owner` is woken at or before `deadline` (`None`: the owner has no deadline).
    pub(crate) fn schedule(&mut self, owner: TimerOwner, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            self.scheduled.remove(&owner);
            return;
        };
        match self.scheduled.get(&owner) {
            Some(&current) if current <= deadline => {}
            _ => {
                self.scheduled.insert(owner, deadline);
                self.heap.push(Reverse((deadline, owner)));
            }
        }
    }

    /// Forgets an owner; its heap entries become stale.
    ///
    /// Stale entries deep in the heap would otherwise stay until their deadlines pass: under
    /// session churn that is every closed session for a whole ping interval. Once they are
    /// most of the heap, it is rebuilt from the live entries (linear, and at most once per
    /// as many removals as there are live entries, so constant per removal on average).
    pub(crate) fn remove(&mut self, owner: TimerOwner) {
        self.scheduled.remove(&owner);
        crate::id_map::shrink_when_sparse(&mut self.scheduled);
        if self.heap.len() > COMPACT_ABOVE && self.heap.len() > 2 * self.scheduled.len() {
            self.heap = self
                .scheduled
                .iter()
                .map(|(&owner, &deadline)| Reverse((deadline, owner)))
                .collect();
        }
    }

    /// Pops the next owner whose live entry is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<TimerOwner> {
        while let Some(&Reverse((deadline, owner))) = self.heap.peek() {
            if deadline > now {
                return None;
            }
            self.heap.pop();
            if self.scheduled.get(&owner) == Some(&deadline) {
                self.scheduled.remove(&owner);
                return Some(owner);
            }
        }
        None
    }

    /// The earliest entry in the heap (possibly stale, which only wakes the caller early).
    #[inline]
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((deadline, _))| *deadline)
    }

    /// Drops stale entries from the top of the heap so that `next_deadline` is tight, and
    /// gives the heap's memory back once it is mostly empty.
    pub(crate) fn prune(&mut self) {
        while let Some(&Reverse((deadline, owner))) = self.heap.peek() {
            if self.scheduled.get(&owner) == Some(&deadline) {
                break;
            }
            self.heap.pop();
        }
        if self.heap.capacity() > 64 && self.heap.len() < self.heap.capacity() / 4 {
            self.heap.shrink_to(self.heap.len() * 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn only_live_entries_fire() {
        let start = Instant::now();
        let owner = TimerOwner::Handshake(RequestId(1));
        let mut timers = Timers::default();
        timers.schedule(owner, Some(start + Duration::from_secs(5)));
        timers.schedule(owner, Some(start + Duration::from_secs(2)));
        timers.schedule(owner, Some(start + Duration::from_secs(9)));
        assert_eq!(timers.next_deadline(), Some(start + Duration::from_secs(2)));
        assert_eq!(timers.pop_due(start + Duration::from_secs(1)), None);
        assert_eq!(timers.pop_due(start + Duration::from_secs(3)), Some(owner));
        assert_eq!(
            timers.pop_due(start + Duration::from_secs(6)),
            None,
            "5 s entry is stale"
        );
        timers.remove(owner);
        timers.prune();
        assert_eq!(timers.next_deadline(), None);
    }

    /// Churn: owners come and go far faster than their deadlines pass. The heap stays within
    /// twice the live owners (plus the floor), and the live deadlines still fire in order.
    #[test]
    #[allow(clippy::disallowed_methods)]
    fn stale_entries_do_not_pile_up() {
        let start = Instant::now();
        let mut timers = Timers::default();
        let live = 10;
        for i in 0..10_000u64 {
            let owner = TimerOwner::Handshake(RequestId(i));
            timers.schedule(owner, Some(start + Duration::from_secs(25 + i % 7)));
            if i >= live {
                timers.remove(TimerOwner::Handshake(RequestId(i - live)));
                timers.prune();
            }
            assert!(
                timers.heap.len() <= COMPACT_ABOVE.max(2 * timers.scheduled.len()) + 1,
                "{} entries for {} owners",
                timers.heap.len(),
                timers.scheduled.len()
            );
        }
        let mut fired = Vec::new();
        while let Some(owner) = timers.pop_due(start + Duration::from_secs(60)) {
            fired.push(owner);
        }
        let mut expected: Vec<TimerOwner> = (10_000 - live..10_000)
            .map(|i| TimerOwner::Handshake(RequestId(i)))
            .collect();
        expected.sort_by_key(|owner| match owner {
            TimerOwner::Handshake(RequestId(i)) => (25 + i % 7, *i),
            TimerOwner::Session(_) => unreachable!(),
        });
        assert_eq!(fired, expected);
    }
}
