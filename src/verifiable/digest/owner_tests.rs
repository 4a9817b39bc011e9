use super::*;
use crate::context::DataKey;
use crate::error::FailureKind;

fn keys() -> RecordKeys {
    RecordKeys::for_knowledge_base(&DataKey::new([5; 32]), "fp", "kb")
}

#[test]
fn a_tally_is_the_set_it_counts_in_any_order() {
    let keys = keys();
    let (a, b, c) = (RecordNonce(1), RecordNonce(2), RecordNonce(3));
    let mut tally = Tally::default();
    tally.add(&keys, "kb", 1, a);
    tally.add(&keys, "kb", 2, b);
    tally.add(&keys, "kb", 3, c);
    tally.remove(&keys, "kb", 2, b);
    assert_eq!(tally, Tally::of(&keys, "kb", &[(3, c), (1, a)]));
    assert!(tally
        .check(&Tally::of(&keys, "kb", &[(1, a), (3, c)]))
        .is_ok());
    // Relabelled ids, a stale nonce, one missing, one more: each refused.
    for wrong in [
        vec![(3, a), (1, c)],
        vec![(1, a), (3, RecordNonce(4))],
        vec![(1, a)],
        vec![(1, a), (3, c), (2, b)],
    ] {
        let answered = Tally::of(&keys, "kb", &wrong);
        let Err(Error::AnswerRejected(rejection)) = tally.check(&answered) else {
            panic!("{wrong:?} passed")
        };
        assert_eq!(rejection.failures[0].kind, FailureKind::DigestMismatch);
    }
    // Another knowledge base's pairs are other elements.
    assert_ne!(tally, Tally::of(&keys, "kb2", &[(1, a), (3, c)]));
}

#[test]
fn sums_wrap_modulo_two_to_the_256() {
    let keys = keys();
    let mut tally = Tally::default();
    tally.remove(&keys, "kb", 9, RecordNonce(9));
    tally.add(&keys, "kb", 9, RecordNonce(9));
    assert_eq!(tally, Tally::default());
}

#[test]
fn counted_values_follow_their_records() {
    let keys = keys();
    let mut digest = OwnerDigest::new(Some("tag1"));
    digest.add(&keys, "kb", (1, RecordNonce(1)), Some("x"));
    digest.add(&keys, "kb", (2, RecordNonce(2)), Some("y"));
    digest.add(&keys, "kb", (3, RecordNonce(3)), Some("x"));
    let x = Tally::of(&keys, "kb", &[(1, RecordNonce(1)), (3, RecordNonce(3))]);
    assert_eq!(digest.values_tally(["x"]), x);
    assert_eq!(digest.values_tally(["x", "y"]), digest.records);
    digest.remove(&keys, "kb", (2, RecordNonce(2)), Some("y"));
    assert!(!digest.values.contains_key("y"));
    assert_eq!(digest.values_tally(["y"]), Tally::default());
}

#[test]
fn a_write_placing_records_counts_them_by_partition() {
    let digest = OwnerDigest::new(Some("tag1"));
    assert_eq!(digest.write_counted_field(false), Some("tag1"));
    assert_eq!(
        digest.write_counted_field(true),
        Some(crate::verifiable::PARTITION_FIELD)
    );
    assert_eq!(OwnerDigest::new(None).write_counted_field(false), None);
}

#[test]
fn a_sealed_digest_opens_only_for_its_knowledge_base_and_version() {
    let keys = keys();
    let mut digest = OwnerDigest::new(Some("tag1"));
    digest.add(&keys, "kb", (1, RecordNonce(1)), Some("x"));
    digest.version = 7;
    let sealed = digest.seal(&keys, "kb").unwrap();
    assert_eq!(OwnerDigest::open(&keys, "kb", 7, &sealed).unwrap(), digest);
    for (kb, version) in [("kb", 6), ("kb", 8), ("kb2", 7)] {
        assert!(OwnerDigest::open(&keys, kb, version, &sealed).is_err());
    }
    let other = RecordKeys::for_knowledge_base(&DataKey::new([5; 32]), "fp2", "kb");
    assert!(OwnerDigest::open(&other, "kb", 7, &sealed).is_err());
    assert!(OwnerDigest::open(&keys, "kb", 7, "not base64").is_err());
}

#[test]
fn a_digest_past_what_a_service_keeps_is_refused_before_it_is_sent() {
    let keys = keys();
    let mut digest = OwnerDigest::new(Some("tag1"));
    // Each value's tally seals to about 100 bytes: 60,000 values pass 4 MiB.
    for value in 0..60_000u32 {
        digest.add(
            &keys,
            "kb",
            (i64::from(value), RecordNonce(1)),
            Some(&format!("v{value}")),
        );
    }
    let error = digest.seal(&keys, "kb").unwrap_err().to_string();
    assert!(error.contains("more than the 4194304"), "{error}");
    digest.values.clear();
    assert!(digest.seal(&keys, "kb").is_ok());
}

#[test]
fn a_digest_a_newer_version_wrote_says_so() {
    let keys = keys();
    let digest = OwnerDigest {
        version: 4,
        ..OwnerDigest::default()
    };
    let sealed = digest.seal(&keys, "kb").unwrap();
    assert_eq!(OwnerDigest::open(&keys, "kb", 4, &sealed).unwrap(), digest);
    let plaintext = aes::decrypt_with_aad(&keys.seal, &sealed, &associated_data("kb", 4)).unwrap();
    let written: serde_json::Value = serde_json::from_slice(&plaintext).unwrap();
    // A layout, and a format, this version does not know: authentic, so the owner's own.
    let mut layout = written.clone();
    layout["digest"]["layout"] = "three-bit".into();
    let mut format = written;
    format["format"] = (FORMAT + 1).into();
    for newer in [layout, format] {
        let text = serde_json::to_vec(&newer).unwrap();
        let resealed = aes::encrypt_with_aad(&keys.seal, &text, &associated_data("kb", 4)).unwrap();
        let refused = OwnerDigest::open(&keys, "kb", 4, &resealed).unwrap_err();
        assert!(matches!(refused, Error::NewerFormat(_)), "{refused:?}");
        assert!(refused.to_string().contains("newer version"), "{refused}");
    }
    // What the owner's key does not authenticate is no newer version's.
    let other = RecordKeys::for_knowledge_base(&DataKey::new([6; 32]), "fp", "kb");
    assert!(matches!(
        OwnerDigest::open(&other, "kb", 4, &sealed),
        Err(Error::ContentAuthentication)
    ));
}
