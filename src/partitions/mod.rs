//! Partitions of a corpus of binary vectors, as FAISS's `IndexBinaryIVF` makes them: a query
//! then searches only the `P` partitions whose centroids are nearest to it.
//!
//! Everything here runs on the data owner's machine and is pure computation: no I/O, and no
//! knowledge of who stores the partitions or searches them.
//!
//! * [`PartitionModel::train`] runs k-means on a random sample of the corpus as FAISS does
//!   (greedy k-means++ seeds; Lloyd iterations on the members' means, which are then rounded to
//!   bits and compared in Hamming distance), assigns every
//!   record with a balance bound (no partition above `ceil(balance · records / k)`), and
//!   estimates the recall of a search of the `P` nearest partitions for `P` = 1, 2, 4 … `k`,
//!   from which it picks the [default probe](PartitionModel::default_probe).
//! * [`PartitionModel::assign`] places a record added later (nearest centroid);
//!   [`PartitionModel::assign_balanced`] places a whole corpus again (a rebuild);
//!   [`PartitionModel::nearest`] names the partitions a query probes.
//!
//! # The recall estimate
//!
//! It is the owner's own, made at training: [`held_out`](TrainOptions::held_out) records drawn from
//! the corpus serve as queries: they stay in the corpus, but out of the k-means training sample,
//! since centroids fit the records they were trained on and a later query was not one. Each query's
//! ground truth is the exhaustive top [`top_k`](TrainOptions::top_k) over the whole corpus *except
//! the query's own record*, which mimics a search for a vector that is near the stored ones but not
//! one of them. A search of `P` partitions returns the top k of the records in the query's `P`
//! nearest partitions (again without its own record); a returned record is a hit when its distance
//! is at most the exhaustive k-th distance, so a tie at that distance never counts against the
//! search. The recall at `P` is the hits over k averaged over the queries; it never falls as `P`
//! grows and is 1 at `P = k`. [`RecallPoint::share`] is the fraction of the corpus the probed
//! partitions hold, averaged the same way: the search's cost relative to an exhaustive one.
//! [`RecallPoint::error`] is the recall's standard error over the queries: how sure the
//! estimate is. A corpus of a single record has no other record to find: its table reads 1.
//!
//! Vectors are `&[u8]` of 0 and 1, one byte a dimension, as elsewhere in the crate; any other
//! length or value is an error ([`Error::VectorLength`](crate::Error::VectorLength),
//! [`Error::NonBinaryValue`](crate::Error::NonBinaryValue)), as are options out of range
//! ([`Error::InvalidParameter`](crate::Error::InvalidParameter)). Training is deterministic
//! given [`TrainOptions::seed`], whatever the number of threads.

mod balance;
mod bits;
mod kmeans;
mod means;
mod model;
mod options;
mod recall;
mod sample;
mod seeding;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub use model::PartitionModel;
pub use options::{
    TrainOptions, MAX_PARTITIONS, RECALL_TARGET, SAMPLE_PER_PARTITION, SEALED_RECALL_TARGET,
};
pub use recall::RecallPoint;

/// A partition count for `records` records: `round(√records)`, at least 1 (1,000 for a million)
/// and at most [`MAX_PARTITIONS`].
pub fn auto_partitions(records: usize) -> usize {
    ((records as f64).sqrt().round() as usize).clamp(1, MAX_PARTITIONS)
}
