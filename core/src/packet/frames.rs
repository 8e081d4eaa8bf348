//! [`Frames`]: the frames of one WebSocket write, kept inline when there is one.
//!
//! Most writes carry one frame: the reply to a message, a pong, a ping. A `Vec` per write
//! cost an allocation and a free per message in a profile of the echo; a batch of one is held
//! in place instead, and only a real batch (a burst, the rest of a buffer) uses a vector.

use std::ops::Deref;

use super::Frame;

/// The frames of one WebSocket write, in order (what a `WsSend` transmit carries).
///
/// It dereferences to a slice of [`Frame`]s, so `len`, `iter` and indexing work as on a
/// `Vec`; iterating it by value hands the frames over.
///
/// ```
/// use engineio_core::{Frame, Frames};
///
/// let mut frames = Frames::from(Frame::Text("4hello".into()));
/// frames.push(Frame::Text("2".into()));
/// assert_eq!(frames.len(), 2);
/// let texts: Vec<Frame> = frames.into_iter().collect();
/// assert_eq!(texts[1], Frame::Text("2".into()));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Frames(Inner);

#[derive(Debug, Clone, Default)]
enum Inner {
    #[default]
    Empty,
    One(Frame),
    Many(Vec<Frame>),
}

impl Frames {
    /// No frames.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a frame; the second one moves the frames into a vector.
    pub fn push(&mut self, frame: Frame) {
        self.0 = match std::mem::take(&mut self.0) {
            Inner::Empty => Inner::One(frame),
            Inner::One(first) => Inner::Many(vec![first, frame]),
            Inner::Many(mut frames) => {
                frames.push(frame);
                Inner::Many(frames)
            }
        };
    }

    /// The frames as a slice.
    pub fn as_slice(&self) -> &[Frame] {
        match &self.0 {
            Inner::Empty => &[],
            Inner::One(frame) => std::slice::from_ref(frame),
            Inner::Many(frames) => frames,
        }
    }
}

impl Deref for Frames {
    type Target = [Frame];

    fn deref(&self) -> &[Frame] {
        self.as_slice()
    }
}

impl From<Frame> for Frames {
    fn from(frame: Frame) -> Self {
        Self(Inner::One(frame))
    }
}

impl From<Vec<Frame>> for Frames {
    fn from(frames: Vec<Frame>) -> Self {
        Self(Inner::Many(frames))
    }
}

impl From<Frames> for Vec<Frame> {
    fn from(frames: Frames) -> Self {
        match frames.0 {
            Inner::Empty => Self::new(),
            Inner::One(frame) => vec![frame],
            Inner::Many(frames) => frames,
        }
    }
}

impl Extend<Frame> for Frames {
    fn extend<I: IntoIterator<Item = Frame>>(&mut self, frames: I) {
        let mut frames = frames.into_iter();
        if let Inner::Many(vec) = &mut self.0 {
            return vec.extend(frames);
        }
        // At most one frame is held: push until it becomes a vector, then extend that.
        while !matches!(self.0, Inner::Many(_)) {
            let Some(frame) = frames.next() else { return };
            self.push(frame);
        }
        if let Inner::Many(vec) = &mut self.0 {
            vec.extend(frames);
        }
    }
}

impl FromIterator<Frame> for Frames {
    fn from_iter<I: IntoIterator<Item = Frame>>(frames: I) -> Self {
        let mut out = Self::new();
        out.extend(frames);
        out
    }
}

// Equality is the frames', whichever way they are held.
impl PartialEq for Frames {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Frames {}

impl std::hash::Hash for Frames {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialEq<Vec<Frame>> for Frames {
    fn eq(&self, other: &Vec<Frame>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl IntoIterator for Frames {
    type Item = Frame;
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter(match self.0 {
            Inner::Empty => IterInner::One(None),
            Inner::One(frame) => IterInner::One(Some(frame)),
            Inner::Many(frames) => IterInner::Many(frames.into_iter()),
        })
    }
}

impl<'a> IntoIterator for &'a Frames {
    type Item = &'a Frame;
    type IntoIter = std::slice::Iter<'a, Frame>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// The frames of a [`Frames`], by value, in order.
#[derive(Debug)]
pub struct IntoIter(IterInner);

#[derive(Debug)]
enum IterInner {
    One(Option<Frame>),
    Many(std::vec::IntoIter<Frame>),
}

impl Iterator for IntoIter {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        match &mut self.0 {
            IterInner::One(frame) => frame.take(),
            IterInner::Many(frames) => frames.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match &self.0 {
            IterInner::One(frame) => usize::from(frame.is_some()),
            IterInner::Many(frames) => frames.len(),
        };
        (len, Some(len))
    }
}

impl ExactSizeIterator for IntoIter {}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Frame {
        Frame::Text(s.into())
    }

    #[test]
    fn pushes_grow_from_none_to_one_to_many() {
        let mut frames = Frames::new();
        assert!(frames.is_empty());
        frames.push(text("a"));
        assert_eq!(frames, vec![text("a")]);
        frames.push(text("b"));
        frames.push(text("c"));
        assert_eq!(frames, vec![text("a"), text("b"), text("c")]);
        // Held inline or in a vector, the same frames are equal.
        assert_eq!(Frames::from(text("a")), Frames::from(vec![text("a")]));
        assert_ne!(Frames::from(text("a")), Frames::new());
    }

    #[test]
    fn extend_keeps_the_order_from_every_shape() {
        for start in 0..3 {
            let held: Vec<Frame> = ["x", "y"][..start].iter().map(|&s| text(s)).collect();
            let mut frames: Frames = held.iter().cloned().collect();
            frames.extend([text("1"), text("2"), text("3")]);
            let mut want = held;
            want.extend([text("1"), text("2"), text("3")]);
            assert_eq!(frames, want);
            assert_eq!(Vec::from(frames), want);
        }
    }

    #[test]
    fn iterates_by_value_with_an_exact_length() {
        for n in 0..4 {
            let frames: Frames = (0..n).map(|_| text("z")).collect();
            let mut iter = frames.clone().into_iter();
            assert_eq!(iter.len(), n);
            let mut seen = 0;
            while iter.next().is_some() {
                seen += 1;
                assert_eq!(iter.len(), n - seen);
            }
            assert_eq!(seen, n);
            assert_eq!((&frames).into_iter().count(), n);
        }
    }
}
