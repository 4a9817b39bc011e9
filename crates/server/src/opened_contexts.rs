//! Contexts opened from their stored JSON, kept so that each write does not parse the key and
//! check the lookup tables again (over a millisecond for an SDK context, a quarter of a
//! 500-chunk insert). An entry is used only while the stored text is byte for byte the one it
//! was opened from, so a context deleted and stored again under its id is opened afresh.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::Result;
use paillier_gpu::context::PublicContext;

/// The stored text the cache may hold in all; a larger context is opened each time.
const MAX_CACHED_BYTES: usize = 64 << 20;
/// Contexts the cache holds at most (each also holds its key's constants).
const MAX_ENTRIES: usize = 256;

/// Opened contexts by organisation and id, bounded by the bytes of their stored text.
#[derive(Default)]
pub struct OpenedContexts {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_id: HashMap<(String, String), (String, PublicContext)>,
    bytes: usize,
}

impl OpenedContexts {
    /// The context stored as `data` under `(org_id, id)`: the one opened before from the same
    /// text, or `open(data)`, kept for next time.
    pub fn get_or_open(
        &self,
        org_id: &str,
        id: &str,
        data: &str,
        open: impl FnOnce(&str) -> Result<PublicContext>,
    ) -> Result<PublicContext> {
        let key = (org_id.to_owned(), id.to_owned());
        if let Some((text, context)) = self.lock().by_id.get(&key) {
            if text == data {
                return Ok(context.clone());
            }
        }
        let context = open(data)?;
        if data.len() <= MAX_CACHED_BYTES / 16 {
            let mut entries = self.lock();
            entries.remove(&key);
            while entries.bytes + data.len() > MAX_CACHED_BYTES
                || entries.by_id.len() >= MAX_ENTRIES
            {
                let Some(victim) = entries.by_id.keys().next().cloned() else {
                    break;
                };
                entries.remove(&victim);
            }
            entries.bytes += data.len();
            entries
                .by_id
                .insert(key, (data.to_owned(), context.clone()));
        }
        Ok(context)
    }

    /// Forgets context `id` of `org_id` (it was deleted).
    pub fn forget(&self, org_id: &str, id: &str) {
        self.lock().remove(&(org_id.to_owned(), id.to_owned()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Entries {
    fn remove(&mut self, key: &(String, String)) {
        if let Some((text, _)) = self.by_id.remove(key) {
            self.bytes -= text.len();
        }
    }
}
