//! A knowledge base of Paillier records moved to sealed vectors: the library's [`SealVectors`]
//! driver, carried by this client.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
pub use paillier_gpu::owner::SealReport;
use paillier_gpu::owner::SealVectors;
use paillier_gpu::verifiable::{RecordCodec, RecordOptions};

use crate::api::SEALED_UPLOAD_BATCH;
use crate::error::Result;
use crate::Client;

impl Client {
    /// Moves the verifiable records of `kb_id` from Paillier ciphertexts to sealed vectors:
    /// each read and verified once (all of them against the owner's digest), then written back
    /// a batch a transaction, its vector sealed in a page of its partition, its document sealed
    /// anew to its new nonce and its Paillier index emptied, the digest advanced as for any
    /// write; the last batch makes the digest name the layout sealed vectors. Nothing to do for
    /// a knowledge base of sealed vectors already. Run again after an interruption, it
    /// finishes what is left.
    ///
    /// ```no_run
    /// # use paillier_gpu_client::{Client, RecordOptions};
    /// # fn run(client: &Client, ctx: &paillier_gpu::ExecutionContext) -> paillier_gpu_client::Result<()> {
    /// let both = RecordOptions { verifiable: true, private_meta: true };
    /// let report = client.seal_vectors("kb-id", ctx, both)?;
    /// println!("{} of {} records sealed", report.moved, report.records);
    /// # Ok(()) }
    /// ```
    pub fn seal_vectors(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
    ) -> Result<SealReport> {
        self.seal_vectors_batched(kb_id, context, options, SEALED_UPLOAD_BATCH)
    }

    /// [`seal_vectors`](Self::seal_vectors), `records` a write.
    pub fn seal_vectors_batched(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
        records: usize,
    ) -> Result<SealReport> {
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        let run = SealVectors::new(codec, self.owner_state()?)?.with_batch(records);
        self.drive(run)
    }
}
