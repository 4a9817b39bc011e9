//! Partitions as verifiable records carry them. A record's partition is a value of the field
//! [`PARTITION_FIELD`] of its document (the owner's, sealed with it) and a keyed token of that
//! value on the service, whether the rest of the metadata is private or not; the owner's digest
//! counts the field per value, so that a search over P partitions is checked complete for each.
//! The partitions' centroids and the owner's recall estimate ([`Partitioning`](crate::verifiable::Partitioning)) travel only
//! inside the sealed digest.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::partitions::PartitionModel;
use crate::verifiable::{partition_value, Document, OwnerDigest};

/// The metadata field holding a record's partition: ours, beside the user's `tag1`–`tag5` and
/// `facets`, which stay entirely theirs.
pub const PARTITION_FIELD: &str = crate::meta_filter::PARTITION_FIELD;

/// The owner's filter that selects whole partitions (tokenised by
/// [`RecordCodec::filter`](crate::verifiable::RecordCodec::filter) before it is sent; the digest covers it
/// whole, see [`covered_tally`](crate::verifiable::covered_tally)).
///
/// ```
/// let filter = paillier_gpu::verifiable::partitions_filter(&[3, 17]);
/// assert_eq!(filter, serde_json::json!({"partition": {"$in": ["3", "17"]}}));
/// ```
pub fn partitions_filter(partitions: &[u32]) -> Value {
    let values: Vec<String> = partitions.iter().map(|&p| partition_value(p)).collect();
    json!({ PARTITION_FIELD: { "$in": values } })
}

/// The partition `document` is in, if it names one.
pub fn document_partition(document: &Document) -> Option<u32> {
    document
        .meta_data
        .get(PARTITION_FIELD)?
        .as_str()?
        .parse()
        .ok()
}

/// `document` placed in `partition`: the user's metadata may not name a partition of its own.
pub fn in_partition(document: Option<&Document>, partition: u32) -> Result<Document> {
    let mut document = document.cloned().unwrap_or_default();
    check_unreserved(&document.meta_data)?;
    document.meta_data.insert(
        PARTITION_FIELD.to_owned(),
        Value::String(partition_value(partition)),
    );
    Ok(document)
}

/// Refuses metadata that sets [`PARTITION_FIELD`] itself: the partitions set it.
pub fn check_unreserved(meta_data: &Map<String, Value>) -> Result<()> {
    match meta_data.contains_key(PARTITION_FIELD) {
        true => Err(Error::PrivateMetadata(format!(
            "the metadata field {PARTITION_FIELD:?} is the partitions' own: name the user's \
             field otherwise"
        ))),
        false => Ok(()),
    }
}

impl OwnerDigest {
    /// Why a partitions rebuild of knowledge base `kb` cannot take its next step over this
    /// digest, the service's: it is not at `expected_version` (the rebuild's own last) or, where
    /// `moving_to` is given, not moving records to that model; another writer came between.
    /// `None` when it can. Nothing is lost: running the rebuild again resumes it.
    pub fn rebuild_step_conflict(
        &self,
        kb: &str,
        expected_version: i64,
        moving_to: Option<&PartitionModel>,
    ) -> Option<String> {
        let under_way = self.partitions.as_ref().and_then(|p| p.next.as_ref());
        let same_target = match (under_way, moving_to) {
            (Some(under_way), Some(moving_to)) => under_way.same_as(moving_to),
            (_, None) => true,
            (None, Some(_)) => false,
        };
        (self.version != expected_version || !same_target).then(|| {
            format!(
                "knowledge base {kb} was written by another client during the rebuild (its \
                 digest is at version {}, the rebuild left it at {expected_version}): nothing \
                 more was moved; run the rebuild again to resume (`paillier-gpu remote \
                 partitions rebuild`, `Client.rebuild_partitions` in Python)",
                self.version
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DataKey;
    use crate::verifiable::metadata::tokens::tokenise_partition;
    use crate::verifiable::{Partitioning, RecordKeys};

    #[test]
    fn a_partition_travels_as_a_token_and_the_user_cannot_set_one() {
        let keys = RecordKeys::derive(&DataKey::new([3; 32]));
        let placed = in_partition(None, 5).unwrap();
        assert_eq!(document_partition(&placed), Some(5));
        let mut sent = placed.meta_data.clone();
        tokenise_partition(&keys, &mut sent).unwrap();
        assert_ne!(sent[PARTITION_FIELD], "5");
        assert_eq!(sent[PARTITION_FIELD].as_str().map(str::len), Some(32));
        assert!(in_partition(Some(&placed), 6).is_err());
        let numbered = Document {
            meta_data: json!({"partition": 7})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..Document::default()
        };
        assert_eq!(document_partition(&numbered), None);
        let mut bad = numbered.meta_data.clone();
        assert!(tokenise_partition(&keys, &mut bad).is_err());
    }

    #[test]
    fn a_rebuild_step_needs_its_own_last_version_and_target() {
        let vectors: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i & 1, (i >> 1) & 1, 1, 0]).collect();
        let rows: Vec<&[u8]> = vectors.iter().map(Vec::as_slice).collect();
        let train = |partitions| {
            let options = crate::partitions::TrainOptions {
                partitions,
                ..Default::default()
            };
            PartitionModel::train(&rows, &options).unwrap().0
        };
        let (target, other) = (train(2), train(3));
        let mut digest = OwnerDigest::new(None);
        digest.version = 4;
        digest.partitions = Some(Partitioning {
            model: None,
            next: Some(target.clone()),
            ..Partitioning::default()
        });
        assert_eq!(digest.rebuild_step_conflict("kb", 4, Some(&target)), None);
        assert_eq!(digest.rebuild_step_conflict("kb", 4, None), None);
        let stale = digest
            .rebuild_step_conflict("kb", 3, Some(&target))
            .unwrap();
        assert!(
            stale.contains("at version 4, the rebuild left it at 3"),
            "{stale}"
        );
        assert!(digest
            .rebuild_step_conflict("kb", 4, Some(&other))
            .is_some());
        digest.partitions = None;
        assert!(digest
            .rebuild_step_conflict("kb", 4, Some(&target))
            .is_some());
    }
}
