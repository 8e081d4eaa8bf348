//! Per-session storage (python-engineio's `get_session`, `save_session` and `session()`).
//!
//! Each session holds a typed map: one value per type. Values are cloned in and out, so no
//! lock is held while the application works on them; a [`SessionGuard`] saves its value back
//! when dropped.

use std::ops::{Deref, DerefMut};

use engineio_core::{SendError, Sid};

use super::Server;

impl Server {
    /// Returns a copy of the session's value of type `T`, if one was saved.
    pub fn get_session<T>(&self, sid: &Sid) -> Option<T>
    where
        T: Clone + Send + Sync + 'static,
    {
        self.shared
            .with_entry(sid, |entry| entry.storage.get::<T>().cloned())
            .flatten()
    }

    /// Saves the session's value of type `T`, replacing any earlier one.
    pub fn save_session<T>(&self, sid: &Sid, value: T) -> Result<(), SendError>
    where
        T: Clone + Send + Sync + 'static,
    {
        self.shared
            .with_entry(sid, |entry| {
                entry.storage.insert(value);
            })
            .ok_or(SendError::UnknownSession)
    }

    /// Returns the session's value of type `T` (or `T::default()`) in a guard that saves it
    /// back when dropped; `None` if there is no such session.
    ///
    /// ```no_run
    /// # fn demo(server: engineio_runtime_threads::Server, sid: engineio_runtime_threads::Sid) {
    /// #[derive(Clone, Default)]
    /// struct Visits(u32);
    ///
    /// let mut visits = server.session::<Visits>(&sid).expect("connected");
    /// visits.0 += 1;
    /// // saved here, when `visits` is dropped
    /// # }
    /// ```
    pub fn session<T>(&self, sid: &Sid) -> Option<SessionGuard<T>>
    where
        T: Clone + Default + Send + Sync + 'static,
    {
        let value = self.shared.with_entry(sid, |entry| {
            entry.storage.get::<T>().cloned().unwrap_or_default()
        })?;
        Some(SessionGuard {
            server: self.clone(),
            sid: *sid,
            value: Some(value),
        })
    }
}

/// A session value that is saved back when the guard is dropped; see [`Server::session`].
#[derive(Debug)]
pub struct SessionGuard<T: Clone + Send + Sync + 'static> {
    server: Server,
    sid: Sid,
    value: Option<T>,
}

impl<T: Clone + Send + Sync + 'static> Deref for SessionGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
            .as_ref()
            .expect("the value is present until drop")
    }
}

impl<T: Clone + Send + Sync + 'static> DerefMut for SessionGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
            .as_mut()
            .expect("the value is present until drop")
    }
}

impl<T: Clone + Send + Sync + 'static> Drop for SessionGuard<T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            // The session may have ended meanwhile; then there is nothing to save into.
            let _ = self.server.save_session(&self.sid, value);
        }
    }
}
