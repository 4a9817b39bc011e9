//! Metadata the service cannot read: each value of `tag1`–`tag5` and of `facets` becomes a keyed
//! token, HMAC-SHA256 under the token key over the field's name and the value, so equal values
//! (of one field) give equal tokens and the service's equality, membership, existence and size
//! filters work unchanged. An empty string stays empty, so `$exists` keeps its meaning. Every
//! other metadata key, and the name, travel only in the record's sealed copy.

use hmac::Mac;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::meta_filter::PARTITION_FIELD;
use crate::verifiable::keys::hmac_sha256;
use crate::verifiable::RecordKeys;

const TOKEN_DOMAIN: &[u8] = b"paillier-gpu/metadata-token/1";

/// The fields the service filters on, which private metadata tokenises.
pub const PRIVATE_FIELDS: [&str; 6] = ["tag1", "tag2", "tag3", "tag4", "tag5", "facets"];

/// The token of `value` in `field`: 32 hexadecimal digits, or empty for an empty value.
///
/// ```
/// use paillier_gpu::context::DataKey;
/// use paillier_gpu::verifiable::{metadata_token, RecordKeys};
/// let keys = RecordKeys::derive(&DataKey::new([1; 32]));
/// assert_eq!(metadata_token(&keys, "tag1", ""), "");
/// assert_eq!(metadata_token(&keys, "tag1", "x"), metadata_token(&keys, "tag1", "x"));
/// assert_ne!(metadata_token(&keys, "tag1", "x"), metadata_token(&keys, "tag2", "x"));
/// ```
pub fn metadata_token(keys: &RecordKeys, field: &str, value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let mut mac = hmac_sha256(&keys.token);
    mac.update(TOKEN_DOMAIN);
    mac.update(&(field.len() as u64).to_be_bytes());
    mac.update(field.as_bytes());
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` of `field` as a token, if it is a string.
pub(in crate::verifiable) fn string_token(
    keys: &RecordKeys,
    field: &str,
    value: &Value,
) -> Result<Value> {
    match value {
        Value::String(text) => Ok(Value::String(metadata_token(keys, field, text))),
        other => Err(Error::PrivateMetadata(format!(
            "{field} holds {other}, not a string: private metadata tokenises strings (write \
             numbers and dates as the manual says, zero-padded strings)"
        ))),
    }
}

/// The metadata the service stores for `meta_data`: its private fields (and its partition) as
/// tokens, nothing else.
///
/// ```
/// use paillier_gpu::context::DataKey;
/// use paillier_gpu::verifiable::{tokenise_metadata, RecordKeys};
/// let keys = RecordKeys::derive(&DataKey::new([1; 32]));
/// let meta = serde_json::json!({"tag1": "2024", "tag2": "", "facets": ["a"], "owner": "me"});
/// let sent = tokenise_metadata(&keys, meta.as_object().unwrap()).unwrap();
/// assert_eq!(sent["tag2"], "");
/// assert_ne!(sent["tag1"], "2024");
/// assert!(sent.get("owner").is_none()); // only in the sealed copy
/// ```
pub fn tokenise_metadata(
    keys: &RecordKeys,
    meta_data: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut sent = Map::new();
    for (field, value) in meta_data {
        match field.as_str() {
            "facets" => {
                let Value::Array(values) = value else {
                    return Err(Error::PrivateMetadata(format!(
                        "facets holds {value}, not a list of strings"
                    )));
                };
                let tokens = values
                    .iter()
                    .map(|v| string_token(keys, "facets", v))
                    .collect::<Result<Vec<_>>>()?;
                sent.insert(field.clone(), Value::Array(tokens));
            }
            name if PRIVATE_FIELDS.contains(&name) || name == PARTITION_FIELD => {
                sent.insert(field.clone(), string_token(keys, name, value)?);
            }
            _ => {}
        }
    }
    Ok(sent)
}

/// Refuses sorting a page by a private field: tokens do not keep the values' order.
pub fn check_private_sort(sort_by: Option<&str>) -> Result<()> {
    match sort_by {
        Some(field) if PRIVATE_FIELDS.contains(&field) => Err(Error::PrivateMetadata(format!(
            "sorting by {field} is refused: its values are tokens on the service, which keep \
             equality but not order; sort the page here after opening the records"
        ))),
        _ => Ok(()),
    }
}

/// `meta_data` with its partition, if it holds one, as the service must get it: a token.
pub(in crate::verifiable) fn tokenise_partition(
    keys: &RecordKeys,
    meta_data: &mut Map<String, Value>,
) -> Result<()> {
    if let Some(value) = meta_data.get_mut(PARTITION_FIELD) {
        *value = string_token(keys, PARTITION_FIELD, value)?;
    }
    Ok(())
}
