//! The partitions of a knowledge base as its owner's digest keeps them, sealed with it: the
//! service never sees the centroids or the owner's recall estimate.

use serde::{Deserialize, Serialize};

use crate::partitions::PartitionModel;

/// A knowledge base's partitions as its owner's digest keeps them: the model searches probe
/// and, while a rebuild moves records between partitions, the model it moves them to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Partitioning {
    /// The model new records are assigned by and searches probe (none until the first rebuild
    /// of a knowledge base that was not partitioned has finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PartitionModel>,
    /// The model a rebuild under way moves records to (it replaces `model` when done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<PartitionModel>,
    /// The decoys every search that probes partitions takes at least, sealed with the
    /// knowledge base rather than asked per query: its decoy group (`decoys + 1` rounded up
    /// to a power of two) is what one query's tokens narrow down to, whatever it asks. A
    /// partitions rebuild sets it; no write lowers it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub decoys: usize,
}

fn is_zero(decoys: &usize) -> bool {
    *decoys == 0
}

/// The value of [`PARTITION_FIELD`](crate::verifiable::PARTITION_FIELD) for `partition`, as documents and the digest hold it.
///
/// ```
/// assert_eq!(paillier_gpu::verifiable::partition_value(17), "17");
/// ```
pub fn partition_value(partition: u32) -> String {
    partition.to_string()
}
