//! The owner's digest of each knowledge base of verifiable records
//! ([`paillier_gpu::verifiable::OwnerDigest`]), kept on the service sealed and versioned, and by
//! this owner as the highest version it has seen: read and checked before a verified search
//! (an older one is a rollback), and written with every change to the records in one
//! transaction (`POST /v1/records`), compare-and-set on its version.

mod rebuild;
mod reseal;
mod seal_vectors;

pub use rebuild::DigestSummary;
pub use seal_vectors::SealReport;

use std::sync::Arc;

pub use paillier_gpu::owner::{Current, SeenDigest, StateDir};
use paillier_gpu::owner::{DigestRead, OwnerState};
use paillier_gpu::verifiable::RecordCodec;

use super::Client;
use crate::error::{Error, Result};

impl Client {
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
        self.state = Some(Arc::new(OwnerState::in_folder(state)));
        self
    }

    /// The same client keeping the digest versions it sees in its memory only. What that loses:
    /// a service that serves an older digest (a rollback) to a later run or another process
    /// of this owner, behind a version only this client saw, is not caught; within this
    /// client's life it is.
    pub fn with_state_in_memory(mut self) -> Self {
        self.state = Some(Arc::new(OwnerState::in_memory()));
        self
    }

    /// The owner's state chosen; the error when nothing was chosen.
    pub(crate) fn owner_state(&self) -> Result<Arc<OwnerState>> {
        self.state.clone().ok_or(Error::NoOwnerState)
    }

    /// The owner's digest of `codec`'s knowledge base: the service's sealed copy, opened and
    /// refused (rolled back, forked, or not matching) when it is older than one this owner has
    /// seen, later but not extending it through the service's links, not the one seen at its
    /// version, or does not open ([`DigestRead`]).
    pub(crate) fn current_digest(&self, codec: &Arc<RecordCodec>) -> Result<Current> {
        self.drive(DigestRead::new(Arc::clone(codec), self.owner_state()?))
    }

    /// The owner's digest of `kb_id` as the service holds it, checked as a verified search
    /// checks it (not older than this owner has seen, the one it wrote, opening under its key).
    pub fn digest_summary(
        &self,
        kb_id: &str,
        context: &paillier_gpu::context::ExecutionContext,
        options: paillier_gpu::verifiable::RecordOptions,
    ) -> Result<DigestSummary> {
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        Ok(DigestSummary::of(&self.current_digest(&codec)?.digest))
    }
}
