//! Filters over private metadata: the same filter with every value its token, so the service
//! answers it unchanged. Operators that compare order, prefixes or substrings of a tag cannot be
//! answered on tokens and are refused, as is any field the service only holds sealed.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::meta_filter::PARTITION_FIELD;
use crate::verifiable::metadata::tokens::{string_token, PRIVATE_FIELDS};
use crate::verifiable::RecordKeys;

/// `filter` (the manual's metadata filter, with `$and` and `$or`) with its values tokenised.
///
/// ```
/// use paillier_gpu::context::DataKey;
/// use paillier_gpu::verifiable::{metadata_token, tokenise_filter, RecordKeys};
/// use serde_json::json;
/// let keys = RecordKeys::derive(&DataKey::new([1; 32]));
/// let sent = tokenise_filter(&keys, &json!({"tag1": {"$in": ["a", "b"]}})).unwrap();
/// assert_eq!(sent["tag1"]["$in"][0], metadata_token(&keys, "tag1", "a"));
/// assert!(tokenise_filter(&keys, &json!({"tag1": {"$gt": "2024"}})).is_err());
/// ```
pub fn tokenise_filter(keys: &RecordKeys, filter: &Value) -> Result<Value> {
    let Value::Object(map) = filter else {
        return Err(Error::PrivateMetadata(
            "a metadata filter is a JSON object".into(),
        ));
    };
    let mut sent = Map::new();
    for (key, condition) in map {
        let tokenised = match key.as_str() {
            "$and" | "$or" => {
                let Value::Array(parts) = condition else {
                    return Err(Error::PrivateMetadata(format!(
                        "{key} takes a list of filters"
                    )));
                };
                Value::Array(
                    parts
                        .iter()
                        .map(|part| tokenise_filter(keys, part))
                        .collect::<Result<_>>()?,
                )
            }
            "facets" => facet_condition(keys, condition)?,
            field if PRIVATE_FIELDS.contains(&field) || field == PARTITION_FIELD => {
                tag_condition(keys, field, condition)?
            }
            other => {
                return Err(Error::PrivateMetadata(format!(
                    "a filter on {other:?}: with private metadata the service holds only the \
                     tokens of tag1–tag5 and facets"
                )))
            }
        };
        sent.insert(key.clone(), tokenised);
    }
    Ok(Value::Object(sent))
}

/// `filter` with only its partition condition tokenised (at the top level, where a search over
/// partitions puts it): the filter of records whose other metadata is not private.
pub(in crate::verifiable) fn tokenise_partition_condition(
    keys: &RecordKeys,
    filter: &Value,
) -> Result<Value> {
    let mut sent = filter.clone();
    if let Some(condition) = sent.get_mut(PARTITION_FIELD) {
        *condition = tag_condition(keys, PARTITION_FIELD, condition)?;
    }
    Ok(sent)
}

fn refused(field: &str, operator: &str, what: &str) -> Error {
    Error::PrivateMetadata(format!(
        "{operator} on {field} is refused: it compares {what} of the values, and the service \
         holds only their tokens, which keep equality and nothing else (private metadata \
         answers $eq, $ne, $in, $nin and $exists on tags)"
    ))
}

fn tag_condition(keys: &RecordKeys, field: &str, condition: &Value) -> Result<Value> {
    let Value::Object(operators) = condition else {
        return string_token(keys, field, condition);
    };
    let mut sent = Map::new();
    for (operator, operand) in operators {
        let tokenised = match operator.as_str() {
            "$eq" | "$ne" => string_token(keys, field, operand)?,
            "$in" | "$nin" => token_list(keys, field, operator, operand)?,
            "$exists" => operand.clone(),
            "$gt" | "$gte" | "$lt" | "$lte" => return Err(refused(field, operator, "the order")),
            "$begins_with" => return Err(refused(field, operator, "a prefix")),
            "$contains" => return Err(refused(field, operator, "a substring")),
            other => {
                return Err(Error::PrivateMetadata(format!(
                    "unknown operator {other} on {field}"
                )))
            }
        };
        sent.insert(operator.clone(), tokenised);
    }
    Ok(Value::Object(sent))
}

fn facet_condition(keys: &RecordKeys, condition: &Value) -> Result<Value> {
    let Value::Object(operators) = condition else {
        return string_token(keys, "facets", condition);
    };
    let mut sent = Map::new();
    for (operator, operand) in operators {
        let tokenised = match operator.as_str() {
            "$contains" => string_token(keys, "facets", operand)?,
            "$any" | "$all" | "$subset" | "$none" => token_list(keys, "facets", operator, operand)?,
            "$size" | "$exists" => operand.clone(),
            other => {
                return Err(Error::PrivateMetadata(format!(
                    "{other} on facets is refused: private metadata answers a bare value, \
                     $contains, $any, $all, $subset, $none, $size and $exists on facets"
                )))
            }
        };
        sent.insert(operator.clone(), tokenised);
    }
    Ok(Value::Object(sent))
}

fn token_list(keys: &RecordKeys, field: &str, operator: &str, operand: &Value) -> Result<Value> {
    let Value::Array(values) = operand else {
        return Err(Error::PrivateMetadata(format!(
            "{operator} on {field} takes a list of strings"
        )));
    };
    Ok(Value::Array(
        values
            .iter()
            .map(|v| string_token(keys, field, v))
            .collect::<Result<_>>()?,
    ))
}
