//! Sealed pages against every change a service could make to one.

use super::*;
use crate::context::DataKey;

const BYTES: usize = 8;

fn keys() -> RecordKeys {
    RecordKeys::for_knowledge_base(&DataKey::new([9; 32]), "fp", "kb")
}

fn vectors(count: usize) -> Vec<[u8; BYTES]> {
    (0..count).map(|i| [i as u8 ^ 0x5a; BYTES]).collect()
}

fn page(ids: &[i64], partition: Option<u32>) -> SealedPage {
    let vectors = vectors(ids.len());
    let records: Vec<(i64, &[u8])> = ids
        .iter()
        .zip(&vectors)
        .map(|(&id, v)| (id, &v[..]))
        .collect();
    SealedPage::seal(&keys(), "kb", partition, &records).unwrap()
}

fn refused_over(result: Result<OpenedPage>, ids: &[i64]) {
    match result {
        Err(Error::AnswerRejected(rejection)) => {
            assert_eq!(rejection.failures[0].kind, FailureKind::InvalidRecord);
            assert_eq!(rejection.failures[0].chunk_ids, ids);
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_page_opens_to_its_records_and_reads_back_from_a_stream_of_pages() {
    let (a, b) = (page(&[4, 9, 2], Some(7)), page(&[11], None));
    let mut stream = a.to_bytes();
    stream.extend_from_slice(&b.to_bytes());
    let (first, used) = SealedPage::from_bytes(&stream, BYTES).unwrap();
    let (second, rest) = SealedPage::from_bytes(&stream[used..], BYTES).unwrap();
    assert_eq!(
        (first, second.clone(), used + rest),
        (a.clone(), b, stream.len())
    );
    let opened = a.open(&keys(), "kb", BYTES).unwrap();
    assert_eq!(
        (opened.partition(), opened.ids()),
        (Some(7), &[4, 9, 2][..])
    );
    for (i, vector) in vectors(3).iter().enumerate() {
        assert_eq!(opened.vector(i), vector);
        assert_eq!(opened.nonces()[i], a.record_nonce(i));
    }
    assert_eq!(second.open(&keys(), "kb", BYTES).unwrap().partition(), None);
}

#[test]
fn every_seal_takes_a_fresh_nonce_and_every_record_a_nonce_of_its_own() {
    let (a, b) = (page(&[1, 2], Some(0)), page(&[1, 2], Some(0)));
    assert_ne!(a.to_bytes(), b.to_bytes());
    let nonces: std::collections::HashSet<RecordNonce> = (0..2)
        .flat_map(|i| [a.record_nonce(i), b.record_nonce(i)])
        .collect();
    assert_eq!(nonces.len(), 4);
    assert!(nonces.iter().all(|n| n.0 != 0));
}

#[test]
fn a_changed_page_does_not_open() {
    let ids = [4, 9, 2];
    let honest = page(&ids, Some(7));
    let bytes = honest.to_bytes();
    let reread = |bytes: &[u8]| SealedPage::from_bytes(bytes, BYTES).unwrap().0;
    // A bit of the ciphertext, of the tag, of the nonce.
    for at in [bytes.len() - 20, bytes.len() - 1, 6] {
        let mut altered = bytes.clone();
        altered[at] ^= 1;
        let altered = reread(&altered);
        refused_over(altered.open(&keys(), "kb", BYTES), altered.ids());
    }
    // Another partition, an id changed, two ids swapped.
    let mut moved = honest.clone();
    moved.partition = Some(8);
    refused_over(moved.open(&keys(), "kb", BYTES), &ids);
    let mut relabelled = honest.clone();
    relabelled.ids[1] = 10;
    refused_over(relabelled.open(&keys(), "kb", BYTES), &[4, 10, 2]);
    let mut swapped = honest.clone();
    swapped.ids.swap(0, 2);
    refused_over(swapped.open(&keys(), "kb", BYTES), &[2, 9, 4]);
    // A record dropped with its bytes: the tag no longer covers the rest.
    let mut dropped = honest.clone();
    dropped.ids.pop();
    dropped.sealed.drain(2 * BYTES..3 * BYTES);
    refused_over(dropped.open(&keys(), "kb", BYTES), &[4, 9]);
    // Another knowledge base's name, or its keys; the wrong vector size.
    refused_over(honest.open(&keys(), "kb2", BYTES), &ids);
    let theirs = RecordKeys::for_knowledge_base(&DataKey::new([9; 32]), "fp", "kb2");
    refused_over(honest.open(&theirs, "kb", BYTES), &ids);
    refused_over(honest.open(&keys(), "kb", BYTES + 1), &ids);
    assert!(honest.open(&keys(), "kb", BYTES).is_ok());
}

#[test]
fn bytes_that_are_not_a_page_are_refused() {
    let bytes = page(&[1, 2], Some(3)).to_bytes();
    let refused = |bytes: &[u8]| match SealedPage::from_bytes(bytes, BYTES) {
        Err(Error::AnswerRejected(rejection)) => rejection.to_string(),
        other => panic!("read: {other:?}"),
    };
    assert!(refused(&bytes[..10]).contains("short of a header"));
    assert!(refused(&bytes[..bytes.len() - 1]).contains("take"));
    let mut newer = bytes.clone();
    newer[0] = 2;
    assert!(refused(&newer).contains("newer"));
    for count in [0u32, PAGE_RECORDS as u32 + 1, u32::MAX] {
        let mut counted = bytes.clone();
        counted[HEADER_LEN - 4..HEADER_LEN].copy_from_slice(&count.to_be_bytes());
        assert!(refused(&counted).contains("records (1 to"), "{count}");
    }
}

#[test]
fn a_page_is_sealed_only_of_records_of_one_size() {
    let keys = keys();
    let (short, long) = ([1u8; 4], [1u8; 8]);
    let seal =
        |records: &[(i64, &[u8])], partition| SealedPage::seal(&keys, "kb", partition, records);
    assert!(seal(&[], None).is_err());
    assert!(seal(&[(1, &short), (2, &long)], None).is_err());
    assert!(seal(&[(1, &[])], None).is_err());
    assert!(seal(&[(1, &long)], Some(u32::MAX)).is_err());
    let many: Vec<(i64, &[u8])> = (0..=PAGE_RECORDS as i64).map(|i| (i, &long[..])).collect();
    assert!(seal(&many, None).is_err());
    assert!(seal(&many[..PAGE_RECORDS], None).is_ok());
}
