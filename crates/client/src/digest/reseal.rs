//! Records written under the earlier key derivation sealed again under keys bound to their
//! context and knowledge base: the library's [`ResealRecords`] driver, carried by this client.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::owner::ResealRecords;
use paillier_gpu::verifiable::{RecordCodec, RecordOptions};

use super::DigestSummary;
use crate::error::Result;
use crate::Client;

impl Client {
    /// Seals the records of `kb_id` written under the earlier key derivation again under the
    /// current keys, a batch a transaction with the owner's digest; the digest after it.
    /// Verifiable records only; a record that verifies under neither derivation stops it, with
    /// nothing of its batch written. Run again after an interruption, it finishes what is left.
    pub fn reseal_records(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
    ) -> Result<DigestSummary> {
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        let reseal = ResealRecords::new(codec, self.owner_state()?)?;
        Ok(DigestSummary::of(&self.drive(reseal)?))
    }
}
