//! Telling from what a service returned that a knowledge base's records were written with other
//! options than a reader gave (`--verifiable`, `--private-meta`), so that the reader is told
//! which to pass rather than that the content does not decrypt or that the service lied. Pure
//! functions over the answer: no key, no I/O.
//!
//! Private metadata's values reach the service as tokens: 32 lowercase hexadecimal digits
//! ([`metadata_token`](super::metadata_token)), or empty. A record whose private fields hold
//! nothing else, and at least one token, was written with private metadata; a value a person
//! wrote is that shape by chance only where it is itself 32 hexadecimal digits.

use serde_json::{Map, Value};

use super::{RecordOptions, PRIVATE_FIELDS};
use crate::error::Error;

/// Whether `value` has a metadata token's shape: 32 lowercase hexadecimal digits.
pub fn is_token(value: &str) -> bool {
    value.len() == 32
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `meta_data`, as the service holds it, is private metadata's: its private fields hold
/// tokens (at least one) and empty strings, nothing else.
pub fn holds_tokens(meta_data: &Map<String, Value>) -> bool {
    let mut tokens = 0usize;
    for field in PRIVATE_FIELDS {
        let values: Vec<&Value> = match meta_data.get(field) {
            None => continue,
            Some(Value::Array(items)) => items.iter().collect(),
            Some(value) => vec![value],
        };
        for value in values {
            match value.as_str() {
                Some("") => {}
                Some(text) if is_token(text) => tokens += 1,
                _ => return false,
            }
        }
    }
    tokens > 0
}

/// Whether `filter` compares a private field's values (anything but `$exists`): such a filter
/// sent in plain words to a knowledge base of tokens selects nothing, or, negated, everything.
pub fn compares_private_values(filter: &Value) -> bool {
    let Some(map) = filter.as_object() else {
        return false;
    };
    map.iter().any(|(key, condition)| match key.as_str() {
        "$and" | "$or" => condition
            .as_array()
            .is_some_and(|parts| parts.iter().any(compares_private_values)),
        field if PRIVATE_FIELDS.contains(&field) => match condition.as_object() {
            Some(operators) => operators.keys().any(|op| op != "$exists"),
            None => true,
        },
        _ => false,
    })
}

/// `error`, what reading records with `options` failed with, told as the options the records
/// were written with where what the service returned for them shows it (`meta_data`: each
/// record's metadata as the service holds it). Any other error is returned as it was.
pub fn explain_failure<'a>(
    options: RecordOptions,
    error: Error,
    meta_data: impl IntoIterator<Item = &'a Map<String, Value>>,
) -> Error {
    // Contents that do not open, and (verifiable records) documents outside the filter: what a
    // reader in the wrong mode meets first.
    if !matches!(
        error,
        Error::ContentAuthentication | Error::AnswerRejected(_)
    ) {
        return error;
    }
    let tokens = meta_data.into_iter().any(holds_tokens);
    match (tokens && !options.private_meta, options.sealed()) {
        (true, true) => Error::PrivateMetadata(
            "this knowledge base's records were written with --private-meta (private_meta=True): \
             pass it"
                .into(),
        ),
        (true, false) => Error::PrivateMetadata(
            "this knowledge base's records were written with --private-meta (and --verifiable, \
             if they were uploaded with it; private_meta=True, verifiable=True): pass the same"
                .into(),
        ),
        (false, false) if matches!(error, Error::ContentAuthentication) => Error::InvalidParameter(
            "the records' contents are not the SDK's: this knowledge base's records were \
                 written with --verifiable and/or --private-meta (verifiable=True, \
                 private_meta=True): pass the flags they were uploaded with (or they were \
                 written under another context)"
                .into(),
        ),
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn tokens_are_told_from_values() {
        let token = "0123456789abcdef0123456789abcdef";
        assert!(holds_tokens(&meta(
            json!({"tag1": token, "tag2": "", "facets": [token]})
        )));
        assert!(!holds_tokens(&meta(json!({"tag1": token, "tag2": "news"}))));
        assert!(!holds_tokens(&meta(json!({"tag1": "", "owner": token}))));
        assert!(!holds_tokens(&meta(json!({"tag1": token.to_uppercase()}))));
    }

    #[test]
    fn filters_on_private_values_are_told_from_existence() {
        assert!(compares_private_values(&json!({"tag1": "news"})));
        assert!(compares_private_values(
            &json!({"$or": [{"x": 1}, {"facets": {"$any": ["a"]}}]})
        ));
        assert!(!compares_private_values(
            &json!({"tag1": {"$exists": true}})
        ));
        assert!(!compares_private_values(&json!({"owner": "me"})));
    }

    #[test]
    fn a_wrong_mode_is_named_and_other_errors_kept() {
        let tokens = meta(json!({"tag1": "0123456789abcdef0123456789abcdef"}));
        let plain = RecordOptions::default();
        let verifiable = RecordOptions {
            verifiable: true,
            private_meta: false,
        };
        let told = explain_failure(plain, Error::ContentAuthentication, [&tokens]);
        assert!(told.to_string().contains("--private-meta"), "{told}");
        let told = explain_failure(verifiable, Error::ContentAuthentication, [&tokens]);
        assert!(
            told.to_string()
                .contains("with --private-meta (private_meta=True)"),
            "{told}"
        );
        let told = explain_failure(plain, Error::ContentAuthentication, []);
        assert!(told.to_string().contains("--verifiable"), "{told}");
        let kept = explain_failure(plain, Error::WrongKey, [&tokens]);
        assert!(matches!(kept, Error::WrongKey));
    }
}
