//! Records read back by id from their pages: each asked once, in the order asked, their page
//! mates beside them, and every lie a service could tell of such a read refused.

use super::*;
use crate::verifiable::records::sealed_page::SealedPage;
use crate::verifiable::test_codec;

/// Records 100..110 of 8 dimensions (record i's bits are i's), in partitions i % 2.
fn sealed(codec: &RecordCodec) -> Vec<SealedPage> {
    let records: Vec<(i64, Vec<u8>, Option<u32>)> = (0..10u32)
        .map(|i| {
            let bits = (0..8).map(|b| ((i >> (7 - b)) & 1) as u8).collect();
            (100 + i64::from(i), bits, Some(i % 2))
        })
        .collect();
    let borrowed: Vec<(i64, &[u8], Option<u32>)> =
        records.iter().map(|(id, v, p)| (*id, &v[..], *p)).collect();
    codec.seal_pages(&borrowed).unwrap()
}

fn wire(pages: &[&SealedPage]) -> Vec<u8> {
    pages.iter().flat_map(|p| p.to_bytes()).collect()
}

fn refused_as(result: Result<PagedRecords>) -> FailureKind {
    match result {
        Err(Error::AnswerRejected(rejection)) => rejection.failures[0].kind,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn asked_records_come_in_the_order_asked_with_their_page_mates() {
    let codec = test_codec();
    let pages = sealed(&codec);
    let even = pages.iter().find(|p| p.partition() == Some(0)).unwrap();
    let read = codec
        .stored_sealed(&wire(&[even]), &[108, 102], &Expectation::default())
        .unwrap();
    let asked: Vec<i64> = read.asked.iter().map(|r| r.chunk_id).collect();
    assert_eq!(asked, [108, 102]);
    assert_eq!(read.asked[0].bits[..], [0, 0, 0, 0, 1, 0, 0, 0]);
    let mates: Vec<i64> = read.mates.iter().map(|r| r.chunk_id).collect();
    assert_eq!(mates, [100, 104, 106]);
    assert!(read.mates.iter().all(|r| r.partition == Some(0)));
}

#[test]
fn a_missing_doubled_stray_or_altered_page_is_refused() {
    let codec = test_codec();
    let pages = sealed(&codec);
    let (even, odd) = match pages[0].partition() {
        Some(0) => (&pages[0], &pages[1]),
        _ => (&pages[1], &pages[0]),
    };
    let none = Expectation::default();
    let read = |bytes: &[u8], ids: &[i64]| codec.stored_sealed(bytes, ids, &none);
    assert_eq!(
        refused_as(read(&wire(&[even]), &[102, 103])),
        FailureKind::Missing
    );
    assert_eq!(
        refused_as(read(&wire(&[even, even]), &[102])),
        FailureKind::DuplicatedId
    );
    assert_eq!(
        refused_as(read(&wire(&[even, odd]), &[102])),
        FailureKind::Unexpected
    );
    let mut altered = wire(&[even]);
    let last = altered.len() - 20;
    altered[last] ^= 1;
    assert!(matches!(
        read(&altered, &[102]),
        Err(Error::AnswerRejected(_))
    ));
    // Another knowledge base's page of the same ids does not open.
    let other = RecordCodec::new(codec.context(), "another", codec.options());
    let foreign = sealed(&other);
    assert!(read(&wire(&[&foreign[0]]), &[100]).is_err());
    assert!(matches!(
        read(&wire(&[even]), &[102, 102]),
        Err(Error::InvalidParameter(_))
    ));
}

#[test]
fn the_digest_tally_catches_a_stale_page() {
    let codec = test_codec();
    let stale = sealed(&codec);
    let fresh = sealed(&codec);
    let page_of = |pages: &[SealedPage]| {
        let page = pages.iter().find(|p| p.partition() == Some(1)).unwrap();
        wire(&[page])
    };
    let ids = [101, 103, 105, 107, 109];
    let now = codec
        .stored_sealed(&page_of(&fresh), &ids, &Expectation::default())
        .unwrap();
    let nonces: Vec<_> = now.asked.iter().map(|r| r.nonce).collect();
    let expectation = Expectation {
        digest: Some(codec.tally(&ids, &nonces).unwrap()),
        ..Expectation::default()
    };
    assert!(codec
        .stored_sealed(&page_of(&fresh), &ids, &expectation)
        .is_ok());
    assert_eq!(
        refused_as(codec.stored_sealed(&page_of(&stale), &ids, &expectation)),
        FailureKind::DigestMismatch
    );
}
