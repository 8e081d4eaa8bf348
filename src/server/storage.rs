//! Per-session storage (python-engineio's `get_session`, `save_session` and `session()`):
//! the logic is `engineio_core::http::storage`; this file says where the sessions keep their
//! typed maps.

use engineio_core::http::storage::{self, SessionStorage};
use engineio_core::{SendError, Sid};

use super::Server;

/// A session value that is saved back when the guard is dropped; see [`Server::session`].
pub type SessionGuard<T> = storage::SessionGuard<Server, T>;

impl SessionStorage for Server {
    fn with_storage<R>(
        &self,
        sid: &Sid,
        act: impl FnOnce(&mut http::Extensions) -> R,
    ) -> Option<R> {
        self.shared.with_entry(sid, |entry| act(&mut entry.storage))
    }
}

impl Server {
    /// Returns a copy of the session's value of type `T`, if one was saved.
    pub fn get_session<T: Clone + Send + Sync + 'static>(&self, sid: &Sid) -> Option<T> {
        storage::get_session(self, sid)
    }

    /// Saves the session's value of type `T`, replacing any earlier one.
    pub fn save_session<T: Clone + Send + Sync + 'static>(
        &self,
        sid: &Sid,
        value: T,
    ) -> Result<(), SendError> {
        storage::save_session(self, sid, value)
    }

    /// Returns the session's value of type `T` (or `T::default()`) in a guard that saves it
    /// back when dropped; `None` if there is no such session.
    ///
    /// ```no_run
    /// # fn demo(server: engineio::server::Server, sid: engineio::Sid) {
    /// #[derive(Clone, Default)]
    /// struct Visits(u32);
    ///
    /// let mut visits = server.session::<Visits>(&sid).expect("connected");
    /// visits.0 += 1;
    /// // saved here, when `visits` is dropped
    /// # }
    /// ```
    pub fn session<T: Clone + Default + Send + Sync + 'static>(
        &self,
        sid: &Sid,
    ) -> Option<SessionGuard<T>> {
        storage::session(self, sid)
    }
}
