//! What [`PartitionModel::train`](super::PartitionModel::train) is asked for, and the checks on it.

use crate::error::{Error, Result};

/// The training sample per partition when [`TrainOptions::max_train_sample`] is 0 (FAISS's
/// default: 256 vectors per centroid).
pub const SAMPLE_PER_PARTITION: usize = 256;

/// The most partitions a knowledge base takes: every centroid and a tally per partition live in
/// the owner's sealed digest, which a service keeps up to
/// [`OwnerDigest::MAX_SEALED_BYTES`](crate::verifiable::OwnerDigest::MAX_SEALED_BYTES): about
/// 100 bytes a partition and 64 to 128 bytes a centroid at 512 dimensions, so some 1.9 MiB for
/// 4,096 partitions with a rebuild's second model beside them. Wider vectors may still pass the
/// limit below the cap: the seal refuses that digest before anything is sent.
pub const MAX_PARTITIONS: usize = 4096;

/// The recall@10 the default probe reaches by default ([`TrainOptions::new`]'s): a verified
/// search of Paillier records pays a decryption a probed record.
pub const RECALL_TARGET: f64 = 0.9;

/// The recall@10 the default probe of a knowledge base of sealed vectors reaches by default: a
/// probed record costs an AEAD open and 72 bytes there, so the default can aim higher (at
/// 1,000,000 records, about 5 % probed: within 4 MiB and 50 ms a query; BENCHMARKS.md).
pub const SEALED_RECALL_TARGET: f64 = 0.95;

/// Options of [`PartitionModel::train`](super::PartitionModel::train).
///
/// [`TrainOptions::new`] sets the partition count and leaves the rest at their defaults:
/// balance 1.5, recall@10 with a 0.9 target estimated on 10,000 held-out queries, 10 k-means
/// iterations on at most 256 vectors per partition, seed 0.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// `k`, the number of partitions: 1 to the number of records
    /// ([`auto_partitions`](super::auto_partitions) suggests one).
    pub partitions: usize,
    /// No partition holds more than `ceil(balance · records / partitions)` records; at least 1.
    pub balance: f64,
    /// The recall the default probe must reach (0 to 1).
    pub recall_target: f64,
    /// The `k` of the recall@k estimate; at least 1.
    pub top_k: usize,
    /// k-means runs on a random sample of at most this many vectors, at least `partitions`;
    /// 0 (the default) means 256 per partition.
    pub max_train_sample: usize,
    /// How many records serve as queries of the recall estimate, kept out of the k-means
    /// training sample (at least 1; at most a tenth of the corpus). 10,000 by default: on
    /// 100,000 synthetic records the recall's standard error at the default probe is then
    /// about 0.0013 (0.003 with 2,000), and the default probe's recall over new queries landed
    /// 0.005 to 0.007 above a 0.9 target for each of five seeds (BENCHMARKS.md, "The recall
    /// estimate"). Each query scans the whole corpus once: the estimate costs `held_out` times
    /// the records in distances.
    pub held_out: usize,
    /// Lloyd iterations of k-means at most (0: the k-means++ seeds themselves).
    pub iterations: usize,
    /// Seeds the training sample, the k-means++ seeds and the held-out queries: the same
    /// vectors, options and seed give the same model and assignment.
    pub seed: u64,
}

impl TrainOptions {
    /// The defaults with `partitions` partitions.
    pub fn new(partitions: usize) -> Self {
        TrainOptions {
            partitions,
            balance: 1.5,
            recall_target: RECALL_TARGET,
            top_k: 10,
            max_train_sample: 0,
            held_out: 10_000,
            iterations: 10,
            seed: 0,
        }
    }

    /// The training sample's size bound: [`max_train_sample`](Self::max_train_sample), or 256
    /// per partition when it is 0.
    pub fn train_sample(&self) -> usize {
        match self.max_train_sample {
            0 => self.partitions.saturating_mul(SAMPLE_PER_PARTITION),
            bound => bound,
        }
    }

    /// Checks the options for a corpus of `records` vectors.
    pub fn validate(&self, records: usize) -> Result<()> {
        let bad = |detail: String| Err(Error::InvalidParameter(detail));
        if self.partitions == 0 || self.partitions > records {
            return bad(format!(
                "{} partitions for {records} records: \
                 partitions must be 1 to the number of records",
                self.partitions
            ));
        }
        if self.partitions > MAX_PARTITIONS {
            return bad(format!(
                "{} partitions: at most {MAX_PARTITIONS}, since the owner's digest seals every \
                 centroid and a tally per partition in at most 4 MiB",
                self.partitions
            ));
        }
        if records > u32::MAX as usize {
            return bad(format!(
                "{records} records: partitioning handles at most {} records",
                u32::MAX
            ));
        }
        if !(self.balance.is_finite() && self.balance >= 1.0) {
            return bad(format!(
                "balance {}: it must be a number of at least 1 (1 means equal partitions)",
                self.balance
            ));
        }
        if !(0.0..=1.0).contains(&self.recall_target) {
            return bad(format!(
                "recall target {}: it must lie between 0 and 1",
                self.recall_target
            ));
        }
        if self.top_k == 0 {
            return bad("top_k 0: the recall estimate needs top_k of at least 1".into());
        }
        if self.held_out == 0 {
            return bad("held_out 0: the recall estimate needs at least one query".into());
        }
        if self.train_sample() < self.partitions {
            return bad(format!(
                "max_train_sample {} is below the {} partitions: \
                 k-means needs a vector per partition",
                self.max_train_sample, self.partitions
            ));
        }
        Ok(())
    }
}

/// [`TrainOptions::new`] with a single partition: set [`partitions`](TrainOptions::partitions).
impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions::new(1)
    }
}
