//! An answer of sealed pages ranked and checked whole, against a brute-force ranking and every
//! lie a service could tell with pages.

use super::*;
use crate::verifiable::{test_codec, Tally};

/// 20 records of 8 dimensions: record i's bits are i's, in partitions i % 3.
fn records() -> Vec<(i64, Vec<u8>, Option<u32>)> {
    (0..20)
        .map(|i| {
            let bits = (0..8).map(|b| ((i >> (7 - b)) & 1) as u8).collect();
            (100 + i as i64, bits, Some(i % 3))
        })
        .collect()
}

fn sealed(codec: &RecordCodec) -> Vec<SealedPage> {
    let records = records();
    let borrowed: Vec<(i64, &[u8], Option<u32>)> =
        records.iter().map(|(id, v, p)| (*id, &v[..], *p)).collect();
    codec.seal_pages(&borrowed).unwrap()
}

fn wire(pages: &[&SealedPage]) -> Vec<u8> {
    pages.iter().flat_map(|p| p.to_bytes()).collect()
}

/// The digest's tally of the pages' records.
fn tally(codec: &RecordCodec, pages: &[&SealedPage]) -> Tally {
    let keys = codec.keys().unwrap();
    let mut pairs = Vec::new();
    for page in pages {
        let opened = page.open(keys, codec.kb(), 1).unwrap();
        pairs.extend(
            opened
                .ids()
                .iter()
                .copied()
                .zip(opened.nonces().iter().copied()),
        );
    }
    Tally::of(keys, codec.kb(), &pairs)
}

fn kind(result: Result<Vec<Ranked>>) -> FailureKind {
    match result {
        Err(Error::AnswerRejected(rejection)) => rejection.failures[0].kind,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn pages_rank_as_a_brute_force_search_of_their_partitions() {
    let codec = test_codec();
    let pages = sealed(&codec);
    assert_eq!(pages.len(), 3);
    let query = [1u8, 0, 1, 1, 0, 0, 1, 0];
    let probed = [pages[0].partition().unwrap(), pages[2].partition().unwrap()];
    let chosen = [&pages[0], &pages[2]];
    let expectation = Expectation {
        digest: Some(tally(&codec, &chosen)),
        ..Expectation::default()
    };
    let ranked = codec
        .rank_sealed(&wire(&chosen), &query, Some(&probed), &expectation, 5)
        .unwrap();
    let mut expected: Vec<(u32, i64)> = records()
        .iter()
        .filter(|(_, _, p)| probed.contains(&p.unwrap()))
        .map(|(id, bits, _)| {
            let distance = bits.iter().zip(&query).filter(|(a, b)| a != b).count() as u32;
            (distance, *id)
        })
        .collect();
    expected.sort_unstable();
    let found: Vec<(u32, i64)> = ranked.iter().map(|r| (r.distance, r.chunk_id)).collect();
    assert_eq!(found, expected[..5]);
}

#[test]
fn every_lie_about_pages_refuses_the_whole_answer() {
    let codec = test_codec();
    let pages = sealed(&codec);
    let query = [0u8; 8];
    let all: Vec<&SealedPage> = pages.iter().collect();
    let partitions: Vec<u32> = pages.iter().map(|p| p.partition().unwrap()).collect();
    let expectation = Expectation {
        digest: Some(tally(&codec, &all)),
        ..Expectation::default()
    };
    let rank = |bytes: &[u8], probed: &[u32]| {
        codec.rank_sealed(bytes, &query, Some(probed), &expectation, 3)
    };
    assert!(rank(&wire(&all), &partitions).is_ok());
    // A page dropped, a page twice, a page of a partition not probed.
    assert_eq!(
        kind(rank(&wire(&all[..2]), &partitions)),
        FailureKind::DigestMismatch
    );
    let twice = [all[0], all[1], all[2], all[0]];
    assert_eq!(
        kind(rank(&wire(&twice), &partitions)),
        FailureKind::DuplicatedId
    );
    assert_eq!(
        kind(rank(&wire(&all), &partitions[..2])),
        FailureKind::DigestMismatch
    );
    // A page sealed again (a stale copy: other nonces) in place of the one counted.
    let stale = sealed(&codec);
    let replayed = [all[0], all[1], &stale[2]];
    assert_eq!(
        kind(rank(&wire(&replayed), &partitions)),
        FailureKind::DigestMismatch
    );
    // Another knowledge base's page, a byte changed, bytes cut short.
    let other = crate::verifiable::RecordCodec::new(codec.context(), "another", codec.options());
    let foreign = sealed(&other);
    let mixed = [all[0], all[1], &foreign[2]];
    assert_eq!(
        kind(rank(&wire(&mixed), &partitions)),
        FailureKind::InvalidRecord
    );
    let mut altered = wire(&all);
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert_eq!(
        kind(rank(&altered, &partitions)),
        FailureKind::InvalidRecord
    );
    let whole = wire(&all);
    assert_eq!(
        kind(rank(&whole[..whole.len() - 3], &partitions)),
        FailureKind::InvalidRecord
    );
}

#[test]
fn vectors_that_are_not_the_contexts_bits_are_refused() {
    let codec = test_codec();
    assert!(codec.seal_pages(&[(1, &[0, 1], None)]).is_err());
    assert!(codec
        .seal_pages(&[(1, &[2, 0, 0, 0, 0, 0, 0, 0], None)])
        .is_err());
    let expectation = Expectation::default();
    assert!(codec
        .rank_sealed(&[], &[0; 7], None, &expectation, 1)
        .is_err());
    assert_eq!(
        codec
            .rank_sealed(&[], &[0; 8], None, &expectation, 1)
            .unwrap(),
        vec![]
    );
}

#[test]
fn a_probed_search_without_the_digests_tally_is_refused_and_pages_of_no_partition_outside_it() {
    let codec = test_codec();
    let pages = sealed(&codec);
    let all: Vec<&SealedPage> = pages.iter().collect();
    let partitions: Vec<u32> = pages.iter().map(|p| p.partition().unwrap()).collect();
    let untallied = Expectation::default();
    let refused = codec.rank_sealed(&wire(&all), &[0; 8], Some(&partitions), &untallied, 3);
    assert!(
        matches!(refused, Err(Error::InvalidParameter(_))),
        "{refused:?}"
    );
    // A page in no partition, in a search of probed partitions.
    let records = records();
    let loose: Vec<(i64, &[u8], Option<u32>)> = vec![(500, &records[0].1[..], None)];
    let unplaced = codec.seal_pages(&loose).unwrap();
    let mixed = [all[0], all[1], all[2], &unplaced[0]];
    let expectation = Expectation {
        digest: Some(tally(&codec, &mixed)),
        ..Expectation::default()
    };
    let outside = codec.rank_sealed(&wire(&mixed), &[0; 8], Some(&partitions), &expectation, 3);
    assert_eq!(kind(outside), FailureKind::DigestMismatch);
    // Not partitioned: no probe, the whole knowledge base's tally.
    let whole = codec.rank_sealed(&wire(&mixed), &[0; 8], None, &expectation, 30);
    assert_eq!(whole.unwrap().len(), 21);
}
