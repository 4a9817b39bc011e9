//! Partitions as verifiable records carry them. A record's partition is a value of the field
//! [`PARTITION_FIELD`] of its document (the owner's, sealed with it) and a keyed token of that
//! value on the service, whether the rest of the metadata is private or not; the owner's digest
//! counts the field per value, so that a search over P partitions is checked complete for each.
//! The partitions' centroids and the owner's recall estimate ([`Partitioning`]) travel only
//! inside the sealed digest.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::metadata::string_token;
use super::{Document, RecordKeys};
use crate::error::{Error, Result};
use crate::partitions::PartitionModel;

/// The metadata field holding a record's partition: ours, beside the user's `tag1`–`tag5` and
/// `facets`, which stay entirely theirs.
pub const PARTITION_FIELD: &str = crate::meta_filter::PARTITION_FIELD;

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
}

/// The value of [`PARTITION_FIELD`] for `partition`, as documents and the digest hold it.
///
/// ```
/// assert_eq!(paillier_gpu::verifiable::partition_value(17), "17");
/// ```
pub fn partition_value(partition: u32) -> String {
    partition.to_string()
}

/// The owner's filter that selects whole partitions (tokenised by
/// [`RecordCodec::filter`](super::RecordCodec::filter) before it is sent; the digest covers it
/// whole, see [`covered_tally`](super::covered_tally)).
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

/// `meta_data` with its partition, if it holds one, as the service must get it: a token.
pub(super) fn tokenise_partition(
    keys: &RecordKeys,
    meta_data: &mut Map<String, Value>,
) -> Result<()> {
    if let Some(value) = meta_data.get_mut(PARTITION_FIELD) {
        *value = string_token(keys, PARTITION_FIELD, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DataKey;

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
}
