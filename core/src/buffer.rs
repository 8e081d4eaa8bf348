//! The bounded outgoing queue of one session (server) or connection (client).
//!
//! Two queues: control packets (ping, pong, noop, probe answers) that are few, never refused and
//! always written first, and messages, bounded by [`BufferLimits`]. A flush takes control
//! packets first, then messages in order, so a full message queue never holds the heartbeat back.

use std::collections::VecDeque;

use crate::packet::{message_polling_len, Message, Packet};
use crate::types::{BufferLimits, OverflowPolicy};

/// What a refused push asks the owner to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// Tell the caller the buffer is full.
    Reject,
    /// Close the session.
    Close,
}

#[derive(Debug, Default)]
pub(crate) struct OutBuffer {
    control: VecDeque<Packet>,
    messages: VecDeque<Packet>,
    message_bytes: usize,
}

impl OutBuffer {
    /// Queues a control packet; never refused (the owner keeps at most a handful).
    pub(crate) fn push_control(&mut self, packet: Packet) {
        self.control.push_back(packet);
    }

    /// Queues a message within `limits`, applying the overflow policy.
    pub(crate) fn push_message(
        &mut self,
        message: Message,
        limits: &BufferLimits,
    ) -> Result<(), Overflow> {
        let packet = Packet::Message(message);
        let size = packet.polling_len();
        if !self.fits(size, limits) {
            match limits.overflow {
                OverflowPolicy::Reject => return Err(Overflow::Reject),
                OverflowPolicy::Close => return Err(Overflow::Close),
                OverflowPolicy::DropOldest => {
                    while !self.fits(size, limits) {
                        let Some(dropped) = self.messages.pop_front() else {
                            // The message alone is larger than the byte bound.
                            return Err(Overflow::Reject);
                        };
                        self.message_bytes -= dropped.polling_len();
                    }
                }
            }
        }
        self.message_bytes += size;
        self.messages.push_back(packet);
        Ok(())
    }

    /// True if `message` would be accepted by an empty buffer: the owner may then hand it
    /// straight to an idle transport instead of queueing it (the limits hold the same).
    pub(crate) fn admits_alone(message: &Message, limits: &BufferLimits) -> bool {
        limits.max_packets > 0 && message_polling_len(message) <= limits.max_bytes
    }

    /// True if a message of `size` encoded bytes fits beside what is queued.
    fn fits(&self, size: usize, limits: &BufferLimits) -> bool {
        self.messages.len() < limits.max_packets && self.message_bytes + size <= limits.max_bytes
    }

    /// Returns true if nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.control.is_empty() && self.messages.is_empty()
    }

    /// Number of queued messages.
    pub(crate) fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// Everything queued, in the order [`take_all`](Self::take_all) gives it; for a caller
    /// that encodes the packets in place and then [`clear`](Self::clear)s.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Packet> + Clone {
        self.control.iter().chain(self.messages.iter())
    }

    /// Takes everything: control packets first, then messages.
    pub(crate) fn take_all(&mut self) -> Vec<Packet> {
        let mut out = Vec::with_capacity(self.control.len() + self.messages.len());
        out.extend(self.control.drain(..));
        out.extend(self.messages.drain(..));
        self.message_bytes = 0;
        out
    }

    /// Takes control packets, then messages in order while the encoded payload stays within
    /// `max_bytes` and `max_packets`; the first packet is always taken so that progress is
    /// guaranteed.
    pub(crate) fn take_batch(&mut self, max_bytes: usize, max_packets: usize) -> Vec<Packet> {
        let mut out = Vec::new();
        let mut used = 0usize;
        let mut admit = |packet: &Packet, out: &Vec<Packet>| {
            let cost = packet.polling_len() + usize::from(!out.is_empty());
            if !out.is_empty() && (used + cost > max_bytes || out.len() >= max_packets) {
                return false;
            }
            used += cost;
            true
        };
        while let Some(packet) = self.control.front() {
            if !admit(packet, &out) {
                return out;
            }
            out.extend(self.control.pop_front());
        }
        while let Some(packet) = self.messages.front() {
            if !admit(packet, &out) {
                break;
            }
            let packet = self.messages.pop_front().expect("front exists");
            self.message_bytes -= packet.polling_len();
            out.push(packet);
        }
        out
    }

    /// Drops everything queued.
    pub(crate) fn clear(&mut self) {
        self.control.clear();
        self.messages.clear();
        self.message_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_packets: usize, overflow: OverflowPolicy) -> BufferLimits {
        BufferLimits {
            max_packets,
            max_bytes: 1000,
            overflow,
        }
    }

    #[test]
    fn control_goes_first_and_is_never_refused() {
        let mut buffer = OutBuffer::default();
        let limits = limits(1, OverflowPolicy::Reject);
        buffer.push_message("a".into(), &limits).unwrap();
        assert_eq!(
            buffer.push_message("b".into(), &limits),
            Err(Overflow::Reject)
        );
        buffer.push_control(Packet::Ping);
        assert_eq!(
            buffer.take_all(),
            vec![Packet::Ping, Packet::Message("a".into())]
        );
    }

    #[test]
    fn drop_oldest_makes_room() {
        let mut buffer = OutBuffer::default();
        let limits = limits(2, OverflowPolicy::DropOldest);
        for text in ["a", "b", "c"] {
            buffer.push_message(text.into(), &limits).unwrap();
        }
        assert_eq!(
            buffer.take_all(),
            vec![Packet::Message("b".into()), Packet::Message("c".into())]
        );
    }

    #[test]
    fn batches_stay_under_the_limit() {
        let mut buffer = OutBuffer::default();
        let limits = limits(10, OverflowPolicy::Reject);
        for text in ["aaaa", "bbbb", "cccc"] {
            buffer.push_message(text.into(), &limits).unwrap();
        }
        // "4aaaa" (5) + sep + "4bbbb" (5) = 11 bytes.
        assert_eq!(buffer.take_batch(11, 10).len(), 2);
        assert_eq!(buffer.take_batch(1, 10).len(), 1, "one packet always goes");
        for text in ["a", "b", "c"] {
            buffer.push_message(text.into(), &limits).unwrap();
        }
        assert_eq!(
            buffer.take_batch(1000, 2).len(),
            2,
            "the packet cap holds too"
        );
        assert_eq!(buffer.take_batch(1000, 2).len(), 1);
        assert!(buffer.is_empty());
    }
}
