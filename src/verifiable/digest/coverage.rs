//! Which searches the owner's digest covers whole: the knowledge base with no filter and no
//! range, or whole values of the counted field. An answer to one of these must hold exactly the
//! records the digest counts; any other search selects part of them, and only its records'
//! own checks (and a count, when the caller knows one) apply.

use serde_json::Value;

use crate::verifiable::{OwnerDigest, Tally};

/// The tally an answer to a search with `filter` (the owner's own, not its tokens) and `range`
/// must match exactly, if the digest covers the search.
///
/// ```
/// use paillier_gpu::verifiable::{covered_tally, OwnerDigest};
/// use serde_json::json;
/// let digest = OwnerDigest::new(Some("tag1"));
/// assert!(covered_tally(&digest, None, None).is_some());
/// assert!(covered_tally(&digest, Some(&json!({"tag1": {"$in": ["a", "b"]}})), None).is_some());
/// assert!(covered_tally(&digest, Some(&json!({"tag2": "a"})), None).is_none());
/// assert!(covered_tally(&digest, None, Some((1, 9))).is_none());
/// ```
pub fn covered_tally(
    digest: &OwnerDigest,
    filter: Option<&Value>,
    range: Option<(i64, i64)>,
) -> Option<Tally> {
    if range.is_some() {
        return None;
    }
    let Some(filter) = filter.filter(|f| !selects_all(f)) else {
        return Some(digest.records);
    };
    let field = digest.counted_field.as_deref()?;
    let values = counted_values(filter, field)?;
    Some(digest.values_tally(values.iter().map(String::as_str)))
}

/// Whether the digest counts exactly what `filter` selects (whole values of its counted field,
/// or everything), so that a selection the service lists for it can be checked complete. Where
/// it does not, a client that must know every record a filter selects (a verifiable delete by
/// metadata) reads the whole knowledge base, which the digest covers, and selects with
/// [`filter_selects`](crate::verifiable::filter_selects) itself.
///
/// ```
/// use paillier_gpu::verifiable::{covers_filter, OwnerDigest};
/// use serde_json::json;
/// let digest = OwnerDigest::new(Some("tag1"));
/// assert!(covers_filter(&digest, &json!({"tag1": "a"})));
/// assert!(covers_filter(&digest, &json!({})));
/// assert!(!covers_filter(&digest, &json!({"tag2": "a"})));
/// ```
pub fn covers_filter(digest: &OwnerDigest, filter: &Value) -> bool {
    covered_tally(digest, Some(filter), None).is_some()
}

/// Whether `filter` tests nothing, so selects every record as no filter does: `{}`, or `$and`
/// of such filters only (`{"$and": []}` included).
fn selects_all(filter: &Value) -> bool {
    let Some(object) = filter.as_object() else {
        return false;
    };
    object
        .iter()
        .all(|(key, value)| match (key.as_str(), value) {
            ("$and", Value::Array(parts)) => parts.iter().all(selects_all),
            _ => false,
        })
}

/// The values of `field` a filter selects, if it selects whole values of that field and
/// nothing else: `{field: v}`, `{field: {"$eq": v}}` or `{field: {"$in": [v, …]}}`.
fn counted_values(filter: &Value, field: &str) -> Option<Vec<String>> {
    let object = filter.as_object()?;
    if object.len() != 1 {
        return None;
    }
    let condition = object.get(field)?;
    // A value compares as the service's filter compares it: a number or a boolean as its text.
    let scalar = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    };
    match condition {
        Value::Object(operator) if operator.len() == 1 => match operator.iter().next()? {
            (op, value) if op == "$eq" => Some(vec![scalar(value)?]),
            (op, Value::Array(values)) if op == "$in" => values.iter().map(scalar).collect(),
            _ => None,
        },
        Value::Object(_) => None,
        value => Some(vec![scalar(value)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_whole_counted_values_are_covered() {
        for (filter, covered) in [
            (json!({"tag1": "a"}), Some(vec!["a"])),
            (json!({"tag1": {"$eq": "a"}}), Some(vec!["a"])),
            (json!({"tag1": {"$in": ["a", "b"]}}), Some(vec!["a", "b"])),
            (json!({"tag1": {"$ne": "a"}}), None),
            (json!({"tag1": {"$in": ["a", 1]}}), Some(vec!["a", "1"])),
            (json!({"tag1": {"$in": ["a", [1]]}}), None),
            (json!({"tag1": null}), None),
            (json!({"tag1": "a", "tag2": "b"}), None),
            (json!({"$or": [{"tag1": "a"}]}), None),
            (json!({"tag2": "a"}), None),
            (json!({"tag1": 5}), Some(vec!["5"])),
            (json!({"tag1": true}), Some(vec!["true"])),
        ] {
            let expected = covered.map(|v: Vec<&str>| v.into_iter().map(String::from).collect());
            assert_eq!(counted_values(&filter, "tag1"), expected, "{filter}");
        }
        assert!(
            covered_tally(&OwnerDigest::new(None), Some(&json!({"tag1": "a"})), None).is_none()
        );
        // A filter that tests nothing is the whole knowledge base, counted or not.
        for filter in [
            json!({}),
            json!({"$and": []}),
            json!({"$and": [{}, {"$and": []}]}),
        ] {
            let whole = covered_tally(&OwnerDigest::new(None), Some(&filter), None);
            assert_eq!(whole, Some(Tally::default()), "{filter}");
        }
        assert!(covered_tally(&OwnerDigest::new(None), Some(&json!({"$or": []})), None).is_none());
    }
}
