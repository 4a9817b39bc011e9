//! The owner's digest of each knowledge base of verifiable records
//! ([`paillier_gpu::verifiable::OwnerDigest`]), kept on the service sealed and versioned, and by
//! this owner as the highest version it has seen: read and checked before a verified search
//! (an older one is a rollback), and written with every change to the records in one
//! transaction (`POST /v1/records`), compare-and-set on its version.

mod rebuild;
mod reseal;
mod state;
mod writes;

pub(crate) use rebuild::counted_value;
pub use rebuild::DigestSummary;
pub use state::{SeenDigest, StateDir};
pub(crate) use writes::Planned;

use paillier_gpu::verifiable::{
    AnswerFailure, AnswerRejection, DigestLink, FailureKind, OwnerDigest, RecordCodec,
};
use paillier_gpu::Error as LibraryError;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::{Client, OwnerState};
use crate::api;
use crate::error::{Error, Result};

/// The digest of a knowledge base as the service holds it, opened and checked.
#[derive(Clone, Debug)]
pub(crate) struct Current {
    /// The digest (version 0 and empty: none stored).
    pub digest: OwnerDigest,
    /// The id the knowledge base's next inserted chunk gets.
    pub next_chunk_id: i64,
    /// How many chunks the service says it holds.
    pub chunks: u64,
}

impl Client {
    /// A fresh query of zeros in `codec`'s layout and the service's answer to it over every
    /// record of the knowledge base: what a digest rebuild and a reseal read the records from.
    pub(crate) fn zero_query_answer(
        &self,
        codec: &RecordCodec,
    ) -> Result<(
        paillier_gpu::verifiable::VerifiableQuery,
        crate::HammingAnswer,
    )> {
        let context = codec.context();
        let query = codec.encrypt_query(&vec![0u8; context.embed_len()])?;
        let answer = self.compute_hamming(
            codec.kb(),
            context.id(),
            &context.public_context(),
            query.encrypted(),
            None,
            None,
        )?;
        Ok((query, answer))
    }

    /// The same client keeping the highest digest version it sees of each knowledge base under
    /// `state` (one folder per owner machine), so that a rollback is caught across runs, not
    /// only within this client's life.
    ///
    /// ```no_run
    /// use paillier_gpu_client::{Client, StateDir};
    /// let client = Client::new("http://127.0.0.1:8742", "org-id", "3f9c...")?
    ///     .with_state_dir(StateDir::new("/var/lib/owner/paillier-gpu-state"));
    /// # Ok::<(), paillier_gpu_client::Error>(())
    /// ```
    pub fn with_state_dir(mut self, state: StateDir) -> Self {
        self.state = Some(OwnerState::Folder(state));
        self
    }

    /// The same client keeping the digest versions it sees in its memory only. What that loses:
    /// a service that serves an older digest (a rollback) to a later run or another process
    /// of this owner, behind a version only this client saw, is not caught; within this
    /// client's life it is.
    pub fn with_state_in_memory(mut self) -> Self {
        self.state = Some(OwnerState::InMemory);
        self
    }

    /// The state folder chosen, or none (in memory); the error when nothing was chosen.
    pub(crate) fn state_folder(&self) -> Result<Option<&StateDir>> {
        match &self.state {
            Some(OwnerState::Folder(state)) => Ok(Some(state)),
            Some(OwnerState::InMemory) => Ok(None),
            None => Err(Error::NoOwnerState),
        }
    }

    /// The owner's digest of `codec`'s knowledge base: the service's sealed copy, opened and
    /// refused ([`FailureKind::RolledBack`], [`FailureKind::Forked`],
    /// [`FailureKind::DigestMismatch`]) when it is older than one this owner has seen, later
    /// but not extending it through the service's links, not the one seen at its version, or
    /// does not open.
    pub(crate) fn current_digest(&self, codec: &RecordCodec) -> Result<Current> {
        let (kb, context_id) = (codec.kb(), codec.context().id());
        self.state_folder()?;
        let seen = self.seen_digest(context_id, kb)?;
        let read = match &seen {
            Some(seen) => self.owner_digest_since(kb, context_id, seen.version),
            None => self.owner_digest(kb, context_id),
        };
        let stored = match read {
            Err(Error::Remote {
                status: 404,
                message,
            }) => {
                return Err(Error::Remote {
                    status: 404,
                    message: format!(
                        "{message} (the owner's digest of knowledge base {kb}: a service \
                         without the digest routes, such as XTrace's hosted one, cannot keep \
                         verifiable records, whose searches, finds and writes all read it)"
                    ),
                })
            }
            other => other?,
        };
        let seen_pair = seen.as_ref().map(|s| (s.version, s.sealed.as_str()));
        let digest = codec
            .open_digest_holding(
                stored.version,
                stored.sealed.as_deref(),
                seen_pair,
                stored.chunks,
                &links_of(&stored.links),
            )
            .map_err(|e| self.noting_rollback(context_id, kb, e))?;
        if let (Some(sealed), true) = (&stored.sealed, stored.version > 0) {
            let seen = SeenDigest {
                version: stored.version,
                sealed: sealed.clone(),
            };
            self.keep_seen(context_id, kb, &seen)?;
        }
        Ok(Current {
            digest,
            next_chunk_id: stored.next_chunk_id,
            chunks: stored.chunks,
        })
    }

    /// The owner's digest of `kb_id` as the service holds it, checked as a verified search
    /// checks it (not older than this owner has seen, the one it wrote, opening under its key).
    pub fn digest_summary(
        &self,
        kb_id: &str,
        context: &paillier_gpu::context::ExecutionContext,
        options: paillier_gpu::verifiable::RecordOptions,
    ) -> Result<DigestSummary> {
        let codec = RecordCodec::new(context, kb_id, options);
        Ok(DigestSummary::of(&self.current_digest(&codec)?.digest))
    }

    /// The highest digest this owner has seen of `kb` under `context_id`: in its state folder,
    /// or in this client's life.
    fn seen_digest(&self, context_id: &str, kb: &str) -> Result<Option<SeenDigest>> {
        let on_disk = match self.state_folder()? {
            Some(state) => state.read(context_id, kb)?,
            None => None,
        };
        let in_memory = self.seen_lock().get(&key(context_id, kb)).cloned();
        Ok(match (on_disk, in_memory) {
            (Some(a), Some(b)) => Some(if a.version >= b.version { a } else { b }),
            (a, b) => a.or(b),
        })
    }

    /// Keeps `seen` as the highest digest seen, if it is.
    pub(crate) fn keep_seen(&self, context_id: &str, kb: &str, seen: &SeenDigest) -> Result<()> {
        if let Some(state) = self.state_folder()? {
            state.keep(context_id, kb, seen)?;
        }
        let mut memory = self.seen_lock();
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
    pub(crate) fn replace_seen(&self, context_id: &str, kb: &str, seen: &SeenDigest) -> Result<()> {
        if let Some(state) = self.state_folder()? {
            state.replace(context_id, kb, seen)?;
        }
        self.seen_lock().insert(key(context_id, kb), seen.clone());
        self.rollbacks_lock().remove(&key(context_id, kb));
        Ok(())
    }

    /// `error`, having kept in the owner's state that `kb` was found rolled back or forked
    /// where it says so (an error keeping it is returned instead: the mark must not be lost).
    pub(crate) fn noting_rollback(&self, context_id: &str, kb: &str, error: LibraryError) -> Error {
        if !error.shows_rollback() {
            return error.into();
        }
        self.rollbacks_lock().insert(key(context_id, kb));
        if let Ok(Some(state)) = self.state_folder() {
            if let Err(kept) = state.note_rollback(context_id, kb) {
                return kept;
            }
        }
        error.into()
    }

    /// Whether this owner found `kb` rolled back or forked and has not rebuilt its digest since:
    /// in its state folder, or in this client's life.
    pub(crate) fn rollback_noted(&self, context_id: &str, kb: &str) -> Result<bool> {
        let on_disk = match self.state_folder()? {
            Some(state) => state.rollback_noted(context_id, kb)?,
            None => false,
        };
        Ok(on_disk || self.rollbacks_lock().contains(&key(context_id, kb)))
    }

    fn rollbacks_lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.rollbacks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn seen_lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, SeenDigest>> {
        // A panic while holding it leaves a map of versions that is still consistent.
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The service's links as the library reads them; one that does not read (not 32 bytes of
/// standard base64) is left out, and the check then finds it missing.
pub(crate) fn links_of(links: &[api::DigestLink]) -> Vec<DigestLink> {
    links
        .iter()
        .filter_map(|l| {
            let link = BASE64.decode(&l.link).ok()?.try_into().ok()?;
            Some(DigestLink {
                version: l.version,
                prev: l.prev,
                link,
            })
        })
        .collect()
}

/// The wire form of `digest`'s link, sent with the write that stores it.
pub(crate) fn wire_link(digest: &OwnerDigest) -> Option<api::DigestLink> {
    digest.link().map(|l| api::DigestLink {
        version: l.version,
        prev: l.prev,
        link: BASE64.encode(l.link),
    })
}

fn key(context_id: &str, kb: &str) -> String {
    format!("{context_id}\u{0}{kb}")
}

/// `error` with, where it says that the records and the owner's digest disagree, the command
/// that reconciles them, for after the owner has looked: a write cut short by another client
/// (or by one written before digests) is reconciled so, and a service that lies is not, which
/// is why the owner looks first.
pub(crate) fn with_rebuild_hint(error: LibraryError) -> LibraryError {
    let LibraryError::AnswerRejected(mut rejection) = error else {
        return error;
    };
    for failure in &mut rejection.failures {
        if failure.kind == FailureKind::DigestMismatch {
            let detail = failure.detail.take().unwrap_or_default();
            failure.detail = Some(format!(
                "{detail}{}if you trust which records the service holds after looking at \
                 them, `paillier-gpu remote digest rebuild` counts them afresh",
                if detail.is_empty() { "" } else { "; " }
            ));
        }
    }
    LibraryError::AnswerRejected(rejection)
}

/// An answer refused for `kind`, with `detail`.
pub(crate) fn refused(kind: FailureKind, detail: String) -> crate::Error {
    LibraryError::AnswerRejected(AnswerRejection {
        failures: vec![AnswerFailure {
            kind,
            chunk_ids: Vec::new(),
            detail: Some(detail),
        }],
    })
    .into()
}
