//! What the owner knows of each knowledge base between requests: the highest digest version it
//! has seen and whether it found the knowledge base rolled back or forked, in a state folder
//! ([`StateDir`], across runs and processes) and in memory (this client's life). Both clients
//! keep it through this one type.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::state_dir::{SeenDigest, StateDir};
use crate::error::{Error, Result};

/// The owner's state: a state folder or none (memory only), and what this client saw.
///
/// ```
/// use paillier_gpu::owner::{OwnerState, SeenDigest};
/// let state = OwnerState::in_memory();
/// let seen = SeenDigest { version: 3, sealed: "c2VhbGVk".into() };
/// state.keep("ctx", "kb", &seen)?;
/// assert_eq!(state.seen("ctx", "kb")?, Some(seen));
/// # Ok::<(), paillier_gpu::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct OwnerState {
    folder: Option<StateDir>,
    seen: Mutex<HashMap<(String, String), SeenDigest>>,
    rollbacks: Mutex<HashSet<(String, String)>>,
}

impl OwnerState {
    /// State kept in `folder` (one per owner machine) and in memory.
    pub fn in_folder(folder: StateDir) -> Self {
        Self {
            folder: Some(folder),
            ..Self::default()
        }
    }

    /// State kept in this client's memory only: a rollback behind a version only an earlier run
    /// or another process saw goes unseen.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// The state folder, if any.
    pub fn folder(&self) -> Option<&StateDir> {
        self.folder.as_ref()
    }

    /// The highest digest this owner has seen of `kb` under `context_id`.
    pub fn seen(&self, context_id: &str, kb: &str) -> Result<Option<SeenDigest>> {
        let on_disk = match &self.folder {
            Some(folder) => folder.read(context_id, kb)?,
            None => None,
        };
        let in_memory = lock(&self.seen).get(&key(context_id, kb)).cloned();
        Ok(match (on_disk, in_memory) {
            (Some(a), Some(b)) => Some(if a.version >= b.version { a } else { b }),
            (a, b) => a.or(b),
        })
    }

    /// Keeps `seen` as the highest digest seen, if it is.
    pub fn keep(&self, context_id: &str, kb: &str, seen: &SeenDigest) -> Result<()> {
        if let Some(folder) = &self.folder {
            folder.keep(context_id, kb, seen)?;
        }
        let mut memory = lock(&self.seen);
        let entry = memory
            .entry(key(context_id, kb))
            .or_insert_with(|| seen.clone());
        if entry.version < seen.version {
            *entry = seen.clone();
        }
        Ok(())
    }

    /// Forgets what was seen of `kb` (a rollback noted included) and keeps `seen` instead,
    /// lower or not: only after the owner rebuilt the digest from the records it looked at.
    pub fn replace(&self, context_id: &str, kb: &str, seen: &SeenDigest) -> Result<()> {
        if let Some(folder) = &self.folder {
            folder.replace(context_id, kb, seen)?;
        }
        lock(&self.seen).insert(key(context_id, kb), seen.clone());
        lock(&self.rollbacks).remove(&key(context_id, kb));
        Ok(())
    }

    /// Whether this owner found `kb` rolled back or forked and has not rebuilt its digest since.
    pub fn rollback_noted(&self, context_id: &str, kb: &str) -> Result<bool> {
        let on_disk = match &self.folder {
            Some(folder) => folder.rollback_noted(context_id, kb)?,
            None => false,
        };
        Ok(on_disk || lock(&self.rollbacks).contains(&key(context_id, kb)))
    }

    /// `error`, having kept that `kb` was found rolled back or forked where it says so
    /// ([`Error::shows_rollback`]); an error keeping the mark is returned instead, since the
    /// mark must not be lost.
    pub fn noting_rollback(&self, context_id: &str, kb: &str, error: Error) -> Error {
        if !error.shows_rollback() {
            return error;
        }
        lock(&self.rollbacks).insert(key(context_id, kb));
        if let Some(folder) = &self.folder {
            if let Err(kept) = folder.note_rollback(context_id, kb) {
                return kept;
            }
        }
        error
    }
}

fn key(context_id: &str, kb: &str) -> (String, String) {
    (context_id.to_owned(), kb.to_owned())
}

/// A panic while holding the lock leaves maps that are still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
