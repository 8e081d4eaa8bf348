//! Per-session storage for the server front ends (python-engineio's `get_session`,
//! `save_session` and `session()`).
//!
//! Each session holds a typed map (`http::Extensions`): one value per type. Values are cloned
//! in and out, so no lock is held while the application works on them; a [`SessionGuard`]
//! saves its value back when dropped. A front end implements [`SessionStorage`] (where its
//! sessions keep their map) and gets the rest from here.

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::{SendError, Sid};

/// Where a server keeps each session's typed map.
pub trait SessionStorage: Clone {
    /// Runs `act` on the map of a live session; `None` if there is no such session.
    fn with_storage<R>(&self, sid: &Sid, act: impl FnOnce(&mut http::Extensions) -> R)
        -> Option<R>;
}

/// Returns a copy of the session's value of type `T`, if one was saved.
pub fn get_session<S, T>(storage: &S, sid: &Sid) -> Option<T>
where
    S: SessionStorage,
    T: Clone + Send + Sync + 'static,
{
    storage
        .with_storage(sid, |map| map.get::<T>().cloned())
        .flatten()
}

/// Saves the session's value of type `T`, replacing any earlier one.
pub fn save_session<S, T>(storage: &S, sid: &Sid, value: T) -> Result<(), SendError>
where
    S: SessionStorage,
    T: Clone + Send + Sync + 'static,
{
    storage
        .with_storage(sid, |map| {
            map.insert(value);
        })
        .ok_or(SendError::UnknownSession)
}

/// Returns the session's value of type `T` (or `T::default()`) in a guard that saves it back
/// when dropped; `None` if there is no such session.
pub fn session<S, T>(storage: &S, sid: &Sid) -> Option<SessionGuard<S, T>>
where
    S: SessionStorage,
    T: Clone + Default + Send + Sync + 'static,
{
    let value = storage.with_storage(sid, |map| map.get::<T>().cloned().unwrap_or_default())?;
    Some(SessionGuard {
        storage: storage.clone(),
        sid: *sid,
        value: Some(value),
    })
}

/// A session value that is saved back when the guard is dropped.
pub struct SessionGuard<S: SessionStorage, T: Clone + Send + Sync + 'static> {
    storage: S,
    sid: Sid,
    value: Option<T>,
}

impl<S: SessionStorage, T: Clone + Send + Sync + 'static + fmt::Debug> fmt::Debug
    for SessionGuard<S, T>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionGuard")
            .field("sid", &self.sid)
            .field("value", &self.value)
            .finish()
    }
}

impl<S: SessionStorage, T: Clone + Send + Sync + 'static> Deref for SessionGuard<S, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
            .as_ref()
            .expect("the value is present until drop")
    }
}

impl<S: SessionStorage, T: Clone + Send + Sync + 'static> DerefMut for SessionGuard<S, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
            .as_mut()
            .expect("the value is present until drop")
    }
}

impl<S: SessionStorage, T: Clone + Send + Sync + 'static> Drop for SessionGuard<S, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            // The session may have ended meanwhile; then there is nothing to save into.
            let _ = save_session(&self.storage, &self.sid, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Store(Arc<Mutex<HashMap<Sid, http::Extensions>>>);

    impl SessionStorage for Store {
        fn with_storage<R>(
            &self,
            sid: &Sid,
            act: impl FnOnce(&mut http::Extensions) -> R,
        ) -> Option<R> {
            self.0.lock().unwrap().get_mut(sid).map(act)
        }
    }

    #[test]
    fn values_round_trip_and_the_guard_saves_on_drop() {
        let sid = Sid::parse("AAAAAAAAAAAAAAAAAAAA").unwrap();
        let store = Store::default();
        assert_eq!(
            save_session(&store, &sid, 1u32),
            Err(SendError::UnknownSession)
        );
        store.0.lock().unwrap().insert(sid, http::Extensions::new());
        assert_eq!(get_session::<_, u32>(&store, &sid), None);
        save_session(&store, &sid, 1u32).unwrap();
        {
            let mut value = session::<_, u32>(&store, &sid).unwrap();
            *value += 41;
        }
        assert_eq!(get_session::<_, u32>(&store, &sid), Some(42));
    }
}
