//! A knowledge base's partitions as its owner uses them: which partition each new record goes
//! to, which partitions a search probes, what the owner knows of them, and their rebuild. The
//! model ([`paillier_gpu::partitions::PartitionModel`]) lives in the owner's sealed digest; the
//! service sees a token per record and the tokens each query names, nothing else.

mod rebuild;

pub use paillier_gpu::verifiable::RebuildReport;

use paillier_gpu::partitions::{PartitionModel, RecallPoint};
use paillier_gpu::verifiable::{
    OwnerDigest, PartitionCount, RecordCodec, RecordOptions, UploadPartitions,
};
use paillier_gpu::ExecutionContext;

use super::Client;
use crate::error::{Error, Result};

pub use paillier_gpu::verifiable::Probe;

/// Where an upload's records go.
#[derive(Clone, Copy, Debug, Default)]
pub enum Placement<'a> {
    /// Where the knowledge base's partitions put them (its nearest partition), or nowhere when
    /// it is not partitioned.
    #[default]
    Follow,
    /// Into `partitions` (one per record) of `model`, just trained on the first upload to an
    /// empty knowledge base: the first batch stores the model with the owner's digest.
    Trained {
        /// The model trained.
        model: &'a PartitionModel,
        /// Each record's partition, from the training's balanced assignment.
        partitions: &'a [u32],
        /// The fewest decoys every search of the knowledge base takes, sealed with the model
        /// (as [`Client::rebuild_partitions`](crate::Client::rebuild_partitions)'s).
        decoys: usize,
    },
    /// Where `partitions` trained over the upload's vectors put them when the knowledge base
    /// is empty (the first batch stores the model with the owner's digest), else where its
    /// partitions put them.
    Asked {
        /// How many partitions to train.
        partitions: PartitionCount,
        /// The training's other options.
        train: &'a paillier_gpu::partitions::TrainOptions,
        /// The fewest decoys every search takes, sealed with the model when one is trained (a
        /// knowledge base already partitioned keeps its own).
        decoys: usize,
    },
}

/// What the owner knows of a knowledge base's partitions (read from its own sealed digest).
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionSummary {
    /// How many records the digest counts.
    pub records: u64,
    /// How many partitions the model has.
    pub partitions: usize,
    /// Each partition's records, as the digest counts them.
    pub sizes: Vec<u64>,
    /// The probe a search uses by default.
    pub recommended_probe: usize,
    /// The balance the partitions were trained to: none larger than this times the mean.
    pub balance: f64,
    /// The owner's recall estimate at training, per probe.
    pub recall: Vec<RecallPoint>,
    /// Whether a rebuild is under way (`remote partitions rebuild` resumes it).
    pub rebuilding: bool,
    /// The fewest decoys every search takes, sealed with the partitions.
    pub decoys: usize,
}

impl PartitionSummary {
    fn of(digest: &OwnerDigest) -> Option<Self> {
        let model = digest.partition_model()?;
        Some(Self {
            records: digest.count(),
            partitions: model.partitions(),
            sizes: digest.partition_sizes(),
            recommended_probe: model.default_probe(),
            balance: model.balance(),
            recall: model.recall().to_vec(),
            rebuilding: digest.next_partition_model().is_some(),
            decoys: digest.sealed_decoys(),
        })
    }
}

impl Client {
    /// The partitions of `kb_id` as its owner's digest holds them (checked as a verified search
    /// checks the digest); none when it is not partitioned.
    pub fn partition_summary(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
    ) -> Result<Option<PartitionSummary>> {
        let codec =
            std::sync::Arc::new(RecordCodec::new(context, kb_id, checked_options(options)?));
        Ok(PartitionSummary::of(&self.current_digest(&codec)?.digest))
    }

    /// The partition model of `kb_id` (none: not partitioned), and how many records its
    /// digest counts: what an upload with `--partitions` decides by.
    pub fn partition_model(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
    ) -> Result<(Option<PartitionModel>, u64)> {
        let codec =
            std::sync::Arc::new(RecordCodec::new(context, kb_id, checked_options(options)?));
        let digest = self.current_digest(&codec)?.digest;
        Ok((model_of(&digest).cloned(), digest.count()))
    }
}

impl Client {
    /// What an upload to `kb_id` asking for `asked` partitions does (the library's
    /// [`OwnerDigest::upload_partitions`] over the digest as the service holds it): follow the
    /// stored partitions, or train them over the upload's vectors when the knowledge base is
    /// empty (then pass [`Placement::Trained`] to
    /// [`upload_records_placed`](Client::upload_records_placed)).
    pub fn upload_partitions(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
        asked: Option<PartitionCount>,
    ) -> Result<UploadPartitions> {
        let codec =
            std::sync::Arc::new(RecordCodec::new(context, kb_id, checked_options(options)?));
        let digest = self.current_digest(&codec)?.digest;
        Ok(digest.upload_partitions(kb_id, asked)?)
    }
}

/// Partitions need the owner's digest, so verifiable records.
fn checked_options(options: RecordOptions) -> Result<RecordOptions> {
    match options.verifiable {
        true => Ok(options),
        false => Err(Error::InvalidSetting(
            "partitions are counted by the owner's digest: they need verifiable records \
             (--verifiable)"
                .into(),
        )),
    }
}

/// The model a knowledge base's searches and new records use.
pub(crate) fn model_of(digest: &OwnerDigest) -> Option<&PartitionModel> {
    digest.partition_model()
}
