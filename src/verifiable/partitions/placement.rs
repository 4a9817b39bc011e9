//! Where an upload's records go. Decided once from the knowledge base's digest before the
//! upload ([`OwnerDigest::upload_partitions`]: follow the stored partitions, or train them over
//! the first upload to an empty knowledge base), then checked against the digest as the service
//! holds it at each write ([`OwnerDigest::check_placement`]), since another writer may have
//! partitioned the knowledge base in between. Both clients and the CLI ask these rules.

use crate::error::{Error, Result};
use crate::partitions::{auto_partitions, PartitionModel};
use crate::verifiable::{OwnerDigest, Partitioning};

/// How many partitions an upload or a rebuild asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionCount {
    /// About the square root of the records, as FAISS's IVF advises.
    Auto,
    /// Exactly this many.
    Exactly(usize),
}

impl PartitionCount {
    /// The count for `records` records.
    ///
    /// ```
    /// use paillier_gpu::verifiable::PartitionCount;
    /// assert_eq!(PartitionCount::Auto.resolve(10_000), 100);
    /// assert_eq!(PartitionCount::Exactly(7).resolve(10_000), 7);
    /// ```
    pub fn resolve(self, records: usize) -> usize {
        match self {
            Self::Auto => auto_partitions(records),
            Self::Exactly(count) => count,
        }
    }
}

/// What an upload does with partitions, decided before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadPartitions {
    /// The records go where the knowledge base's partitions put them (none where it has none);
    /// `note` says why another number asked for is not trained.
    Follow {
        /// A note for the owner, when the upload asked for another number of partitions.
        note: Option<String>,
    },
    /// An empty knowledge base: train this many partitions over the upload's vectors (where
    /// it has any; [`PartitionCount::resolve`] over their count); its first write stores the
    /// model with the owner's digest.
    Train {
        /// How many partitions to train.
        partitions: PartitionCount,
    },
}

/// Which write of records a placement check is for (its message says how to go on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlacedWrite {
    /// An upload of new records (its earlier batches stay written).
    Upload,
    /// Records replaced in place.
    Update,
}

impl OwnerDigest {
    /// What an upload asking for `asked` partitions (none: it asks for none) does to knowledge
    /// base `kb`, whose digest this is. Refuses partitions for a knowledge base that holds
    /// records without them (a partitions rebuild partitions those).
    pub fn upload_partitions(
        &self,
        kb: &str,
        asked: Option<PartitionCount>,
    ) -> Result<UploadPartitions> {
        let model = self.partitions.as_ref().and_then(|p| p.model.as_ref());
        match (asked, model) {
            (None, _) => Ok(UploadPartitions::Follow { note: None }),
            (Some(asked), Some(model)) => Ok(UploadPartitions::Follow {
                note: match asked {
                    PartitionCount::Exactly(n) if n != model.partitions() => Some(format!(
                        "knowledge base {kb} already has {} partitions: the records go to the \
                         nearest (a partitions rebuild with {n} partitions trains another \
                         number: `paillier-gpu remote partitions rebuild --partitions {n}`, \
                         `Client.rebuild_partitions` in Python)",
                        model.partitions()
                    )),
                    _ => None,
                },
            }),
            (Some(_), None) if self.records.count > 0 => Err(Error::InvalidParameter(format!(
                "knowledge base {kb} holds {} records without partitions: partition them with a \
                 partitions rebuild (`paillier-gpu remote partitions rebuild`, \
                 `Client.rebuild_partitions` in Python), then upload",
                self.records.count
            ))),
            (Some(asked), None) => {
                self.check_partitions_counted()?;
                if self.partitions.is_some() {
                    return Err(self.changed_meanwhile(PlacedWrite::Upload));
                }
                Ok(UploadPartitions::Train { partitions: asked })
            }
        }
    }

    /// Checks that the partitions a write placed its records by are still the knowledge base's
    /// in this digest, the service's now: `model` (none: not partitioned), `trained` when it was
    /// just trained over an upload to an empty knowledge base. The partitioning the write then
    /// installs: the trained model, for the first write of a trained upload. Refused as
    /// [`Error::ConcurrentWrite`] when another writer changed the partitions in between.
    pub fn check_placement(
        &self,
        model: Option<&PartitionModel>,
        trained: bool,
        write: PlacedWrite,
    ) -> Result<Option<Partitioning>> {
        let now = self.partitions.as_ref().and_then(|p| p.model.as_ref());
        let same = match (now, model) {
            (Some(now), Some(model)) => now.same_as(model),
            (None, None) => true,
            _ => false,
        };
        if !trained || same {
            return match same {
                true => Ok(None),
                false => Err(self.changed_meanwhile(write)),
            };
        }
        match model {
            Some(model)
                if now.is_none() && self.records.count == 0 && self.partitions.is_none() =>
            {
                self.check_partitions_counted()?;
                Ok(Some(Partitioning {
                    model: Some(model.clone()),
                    next: None,
                    ..Partitioning::default()
                }))
            }
            _ => Err(self.changed_meanwhile(write)),
        }
    }

    fn changed_meanwhile(&self, write: PlacedWrite) -> Error {
        let other = match self.partitions.as_ref().and_then(|p| p.model.as_ref()) {
            Some(_) => " under another partition model",
            None => "",
        };
        let (what, again) = match write {
            PlacedWrite::Upload => ("upload", "nothing more was written; upload the rest again"),
            PlacedWrite::Update => ("update", "nothing was written; update the records again"),
        };
        Error::ConcurrentWrite(format!(
            "the knowledge base's partitions changed while this {what} was planned (its digest \
             now counts {} records{other}): {again}, and they follow the stored partitions",
            self.records.count
        ))
    }
}

#[cfg(test)]
#[path = "placement_tests.rs"]
mod tests;
