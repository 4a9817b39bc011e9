//! A partitions rebuild: the library's [`PartitionsRebuildRun`] driver (every record read and
//! verified, then each write [`PartitionsRebuild`](paillier_gpu::verifiable::PartitionsRebuild)
//! plans sent with the owner's digest), carried by this client.

use std::sync::Arc;

use paillier_gpu::owner::PartitionsRebuildRun;
use paillier_gpu::partitions::TrainOptions;
use paillier_gpu::verifiable::{RebuildReport, RecordCodec, RecordOptions};
use paillier_gpu::ExecutionContext;

use super::checked_options;
use crate::error::Result;
use crate::Client;

impl Client {
    /// Trains `kb_id`'s partitions afresh over all its records (`partitions` of them, about
    /// √records when none; `train` says the rest) and moves each record whose partition
    /// changes, resuming a rebuild cut short instead when one is under way. Every record is
    /// verified on the way and all of them against the owner's digest. Another writer in
    /// between stops it with [`paillier_gpu::Error::ConcurrentWrite`] (nothing is lost: run it
    /// again to resume). `decoys` is sealed as the fewest decoys every search of the knowledge
    /// base takes from then on (a knowledge base's sealed decoys never go down).
    pub fn rebuild_partitions(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
        partitions: Option<usize>,
        train: &TrainOptions,
        decoys: usize,
    ) -> Result<RebuildReport> {
        let codec = Arc::new(RecordCodec::new(context, kb_id, checked_options(options)?));
        let state = self.owner_state()?;
        let run = PartitionsRebuildRun::new(codec, state, partitions, train.clone(), decoys);
        self.drive(run)
    }
}
