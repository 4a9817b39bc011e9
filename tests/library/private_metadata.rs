//! Private metadata through the public API: tokens keep equality per field and nothing else,
//! filters are tokenised operator by operator, and what tokens cannot answer is refused.

use paillier_gpu::context::DataKey;
use paillier_gpu::verifiable::{
    check_private_sort, metadata_token, tokenise_filter, tokenise_metadata, RecordKeys,
};
use paillier_gpu::Error;
use serde_json::{json, Value};

fn keys() -> RecordKeys {
    RecordKeys::derive(&DataKey::new([9; 32]))
}

#[test]
fn tokens_keep_equality_within_a_field_and_hide_the_value() {
    let keys = keys();
    let token = metadata_token(&keys, "tag1", "2024-01-01");
    assert_eq!(token.len(), 32);
    assert!(!token.contains("2024"));
    assert_eq!(token, metadata_token(&keys, "tag1", "2024-01-01"));
    assert_ne!(token, metadata_token(&keys, "tag2", "2024-01-01"));
    assert_ne!(
        token,
        metadata_token(
            &RecordKeys::derive(&DataKey::new([8; 32])),
            "tag1",
            "2024-01-01"
        )
    );
    assert_eq!(metadata_token(&keys, "tag3", ""), "");
}

#[test]
fn metadata_keeps_only_the_tokens_of_the_filtered_fields() {
    let keys = keys();
    let meta = json!({"tag1": "a", "tag5": "", "facets": ["x", "", "y"], "author": "me"});
    let sent = Value::Object(tokenise_metadata(&keys, meta.as_object().unwrap()).unwrap());
    assert_eq!(sent["tag1"], metadata_token(&keys, "tag1", "a"));
    assert_eq!(sent["tag5"], "");
    assert_eq!(
        sent["facets"],
        json!([
            metadata_token(&keys, "facets", "x"),
            "",
            metadata_token(&keys, "facets", "y")
        ])
    );
    assert!(sent.get("author").is_none());
    let text = sent.to_string();
    assert!(!text.contains("\"a\"") && !text.contains("me"));
    for bad in [
        json!({"tag1": 5}),
        json!({"facets": "x"}),
        json!({"facets": [1]}),
    ] {
        let error = tokenise_metadata(&keys, bad.as_object().unwrap()).unwrap_err();
        assert!(matches!(error, Error::PrivateMetadata(_)), "{error}");
    }
}

#[test]
fn every_supported_operator_is_tokenised() {
    let keys = keys();
    let t = |field: &str, value: &str| Value::String(metadata_token(&keys, field, value));
    let cases = [
        (json!({"tag1": "a"}), json!({"tag1": t("tag1", "a")})),
        (
            json!({"tag2": {"$eq": "a", "$ne": "b"}}),
            json!({"tag2": {"$eq": t("tag2", "a"), "$ne": t("tag2", "b")}}),
        ),
        (
            json!({"tag3": {"$in": ["a", ""], "$nin": ["b"]}}),
            json!({"tag3": {"$in": [t("tag3", "a"), ""], "$nin": [t("tag3", "b")]}}),
        ),
        (
            json!({"tag4": {"$exists": true}}),
            json!({"tag4": {"$exists": true}}),
        ),
        (json!({"facets": "x"}), json!({"facets": t("facets", "x")})),
        (
            json!({"facets": {"$contains": "x", "$size": 2}}),
            json!({"facets": {"$contains": t("facets", "x"), "$size": 2}}),
        ),
        (
            json!({"facets": {"$any": ["x"], "$all": ["y"], "$subset": ["z"], "$none": ["w"]}}),
            json!({"facets": {"$any": [t("facets", "x")], "$all": [t("facets", "y")], "$subset": [t("facets", "z")], "$none": [t("facets", "w")]}}),
        ),
        (
            json!({"facets": {"$exists": false}}),
            json!({"facets": {"$exists": false}}),
        ),
        (
            json!({"$or": [{"tag1": "a"}, {"$and": [{"tag2": "b"}]}]}),
            json!({"$or": [{"tag1": t("tag1", "a")}, {"$and": [{"tag2": t("tag2", "b")}]}]}),
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            tokenise_filter(&keys, &filter).unwrap(),
            expected,
            "{filter}"
        );
    }
}

#[test]
fn what_tokens_cannot_answer_is_refused_with_the_reason() {
    let keys = keys();
    for (filter, reason) in [
        (json!({"tag1": {"$gt": "a"}}), "order"),
        (json!({"tag1": {"$lte": "a"}}), "order"),
        (json!({"tag1": {"$begins_with": "a"}}), "prefix"),
        (json!({"tag1": {"$contains": "a"}}), "substring"),
        (json!({"facets": {"$gt": "a"}}), "facets"),
        (json!({"name": "report"}), "tokens of tag1"),
        (json!({"tag1": {"$regex": "a"}}), "unknown operator"),
        (json!({"$or": {"tag1": "a"}}), "list of filters"),
        (json!({"tag1": 3}), "not a string"),
    ] {
        let error = tokenise_filter(&keys, &filter).unwrap_err();
        assert!(matches!(error, Error::PrivateMetadata(_)));
        assert!(error.to_string().contains(reason), "{filter}: {error}");
    }
    assert!(check_private_sort(Some("tag2"))
        .unwrap_err()
        .to_string()
        .contains("order"));
    assert!(check_private_sort(Some("chunk_id")).is_ok());
    assert!(check_private_sort(None).is_ok());
}

/// Two contexts of the SDK's era under one passphrase share their data key (the SDK's fixed
/// salt); the record keys, bound to each context's public key and to the knowledge base, are
/// still their own: no token links across them, and nothing sealed under one opens under the
/// other or under another knowledge base.
#[test]
fn contexts_sharing_a_data_key_share_no_record_key() {
    use paillier_gpu::context::{PassphraseKeyProvider, SDK_DEFAULT_SALT};
    use paillier_gpu::verifiable::{open_document, seal_document, OwnerDigest, RecordNonce};
    use std::sync::Arc;
    let sdk_era = || {
        let provider = PassphraseKeyProvider::with_salt("one passphrase", SDK_DEFAULT_SALT);
        let options = crate::common::small_options(paillier_gpu::Scheme::Paillier, 8);
        paillier_gpu::ExecutionContext::create(&options, Arc::new(provider)).unwrap()
    };
    let (a, b) = (sdk_era(), sdk_era());
    assert_eq!(
        a.key_provider().data_key().unwrap().as_bytes(),
        b.key_provider().data_key().unwrap().as_bytes()
    );
    let (keys_a, keys_b) = (a.record_keys("kb").unwrap(), b.record_keys("kb").unwrap());
    let other_kb = a.record_keys("kb-2").unwrap();
    let token = metadata_token(&keys_a, "tag1", "2024");
    assert_ne!(token, metadata_token(&keys_b, "tag1", "2024"));
    assert_ne!(token, metadata_token(&other_kb, "tag1", "2024"));
    let nonce = RecordNonce::random();
    let document = paillier_gpu::verifiable::Document {
        content: "secret".into(),
        ..Default::default()
    };
    let sealed = seal_document(&keys_a, "kb", Some(nonce), &document).unwrap();
    assert!(open_document(&keys_a, "kb", Some(nonce), &sealed).is_ok());
    assert!(open_document(&keys_b, "kb", Some(nonce), &sealed).is_err());
    let mut digest = OwnerDigest::new(None);
    digest.add(&keys_a, "kb", (1, nonce), None);
    let sealed = digest.seal(&keys_a, "kb").unwrap();
    assert_eq!(
        OwnerDigest::open(&keys_a, "kb", 0, &sealed).unwrap(),
        digest
    );
    assert!(OwnerDigest::open(&keys_b, "kb", 0, &sealed).is_err());
    assert_ne!(
        paillier_gpu::verifiable::Tally::of(&keys_a, "kb", &[(1, nonce)]),
        paillier_gpu::verifiable::Tally::of(&keys_b, "kb", &[(1, nonce)])
    );
}
