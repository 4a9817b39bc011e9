//! Finds, updates, patches and deletes of sealed vectors against a real server: each record
//! read back by id from its page, the page sealed again whole with its other records (which
//! keep their vectors, documents and partitions under fresh nonces), the digest traded in the
//! same write; a partitions rebuild moving whole pages; and a service that lies about the pages
//! read back, refused with nothing written.

use paillier_gpu::partitions::TrainOptions;
use paillier_gpu::verifiable::LayoutKind;
use paillier_gpu_client::{Error, Placement, Probe, SearchOptions};
use paillier_gpu_testing::data::{clustered, document, hamming, near, small_context, BOTH};
use paillier_gpu_testing::TestServer;
use serde_json::json;

use super::lying_service::{owner_of, EMBED};
use super::sealed_vectors::{its_partition, options, uploaded, Uploaded, RECORDS};

/// The record `uploaded` holds nearest `query`, by a verified search of every partition (which
/// also checks the count of every record against the digest): its chunk id and distance.
fn nearest(uploaded: &Uploaded, query: &[u8]) -> (i64, u32) {
    let options = SearchOptions {
        top_k: 1,
        ..options(Probe::All)
    };
    let hits = uploaded
        .client
        .search_records(&uploaded.kb, &uploaded.ctx, query, &options)
        .unwrap();
    (hits[0].chunk_id, hits[0].distance)
}

/// The contents of the records `filter` finds, sorted.
fn found(uploaded: &Uploaded, filter: serde_json::Value) -> Vec<String> {
    let found = uploaded
        .client
        .find_records(&uploaded.kb, &uploaded.ctx, &filter, BOTH)
        .unwrap();
    let mut contents: Vec<String> = found.into_iter().map(|f| f.document.content).collect();
    contents.sort_unstable();
    contents
}

fn contents(records: impl Iterator<Item = usize>) -> Vec<String> {
    let mut contents: Vec<String> = records.map(|i| format!("d{i}")).collect();
    contents.sort_unstable();
    contents
}

#[test]
fn finds_updates_patches_and_deletes_of_sealed_vectors_keep_their_page_mates() {
    let u = uploaded("sealed-edits", Some(LayoutKind::Sealed), true);
    let (kb, ctx) = (&u.kb, &u.ctx);
    assert_eq!(
        found(&u, json!({"tag1": "t1"})),
        contents((0..RECORDS).filter(|i| i % 4 == 1))
    );

    // A delete by id of one record of a page: its page's others stay, found by their vectors.
    let page = its_partition(&u, 7);
    let (mate, other) = (page[1], page[2]);
    assert!(page.len() > 3 && page[0] == 7, "{page:?}");
    assert_eq!(
        u.client.delete_records(kb, ctx, &[u.ids[7]], BOTH).unwrap(),
        1
    );
    assert_ne!(nearest(&u, &u.stored[7]).0, u.ids[7]);
    assert_eq!(nearest(&u, &u.stored[mate]), (u.ids[mate], 0));

    // An update by id: the record moves to its new vector's partition, its mates stay.
    let moved = near(&u.stored[200]);
    let updated = u
        .client
        .update_records(
            kb,
            ctx,
            &[u.ids[other]],
            std::slice::from_ref(&moved),
            &[document(other, "updated")],
            BOTH,
        )
        .unwrap();
    assert!(updated[0].nonce.is_some());
    assert_eq!(nearest(&u, &moved), (u.ids[other], 0));
    assert_eq!(nearest(&u, &u.stored[mate]), (u.ids[mate], 0));
    let hits = u
        .client
        .search_records(kb, ctx, &moved, &options(Probe::Recommended))
        .unwrap();
    let document = hits[0].document.as_ref().unwrap();
    assert_eq!(document.content, "updated");

    // A patch by metadata: the documents patched, the vectors where they were.
    let patched = u
        .client
        .patch_by_meta(kb, ctx, &json!({"tag1": "t2"}), &patch(), BOTH)
        .unwrap();
    assert_eq!(patched.len(), RECORDS / 4);
    let t2 = |i: &usize| i % 4 == 2 && *i != other;
    let mut expected = contents((0..RECORDS).filter(t2));
    if other % 4 == 2 {
        expected.push("updated".into());
        expected.sort_unstable();
    }
    assert_eq!(found(&u, json!({"tag3": "p"})), expected);
    let record = (0..RECORDS).find(|i| t2(i) && !page.contains(i)).unwrap();
    assert_eq!(nearest(&u, &u.stored[record]), (u.ids[record], 0));

    // A delete by metadata: every record of the value, the others kept.
    let deleted = u
        .client
        .delete_by_meta(kb, ctx, &json!({"tag1": "t3"}), BOTH, false)
        .unwrap();
    assert_eq!(deleted, (RECORDS / 4 - 1) as u64);
    assert!(found(&u, json!({"tag1": "t3"})).is_empty());
    for &kept in page.iter().filter(|&&i| i % 4 != 3 && i != other) {
        assert_eq!(nearest(&u, &u.stored[kept]), (u.ids[kept], 0));
    }
    // Sealed vectors were never under the earlier keys: a reseal finds nothing to do.
    let summary = u.client.reseal_records(kb, ctx, BOTH).unwrap();
    assert_eq!(summary.records, (RECORDS - RECORDS / 4) as u64);
    assert_eq!(u.client.reseal_records(kb, ctx, BOTH).unwrap(), summary);
}

#[test]
fn a_partitions_rebuild_moves_sealed_vectors_a_page_at_a_time() {
    for partitioned in [true, false] {
        let name = format!("sealed-rebuild-{partitioned}");
        let u = uploaded(&name, Some(LayoutKind::Sealed), partitioned);
        let report = u
            .client
            .rebuild_partitions(&u.kb, &u.ctx, BOTH, Some(6), &TrainOptions::new(6), 0)
            .unwrap();
        assert_eq!((report.partitions, report.records), (6, RECORDS));
        assert!(report.moved > 0, "{report:?}");
        for record in [0, 77, 151, 239] {
            assert_eq!(nearest(&u, &u.stored[record]), (u.ids[record], 0));
            let hits = u
                .client
                .search_records(
                    &u.kb,
                    &u.ctx,
                    &near(&u.stored[record]),
                    &options(Probe::Partitions(2)),
                )
                .unwrap();
            assert_eq!((hits[0].chunk_id, hits[0].distance), (u.ids[record], 2));
            assert_eq!(
                hits[0].document.as_ref().unwrap().content,
                format!("d{record}")
            );
        }
    }
}

#[test]
fn filtered_and_range_searches_of_sealed_vectors_rank_what_they_select() {
    let u = uploaded("sealed-filtered", Some(LayoutKind::Sealed), true);
    let mut sorted = u.ids.clone();
    sorted.sort_unstable();
    let (first, last) = (sorted[30], sorted[150]);
    let query = near(&u.stored[5]);
    for (filter, range) in [
        (Some(json!({"tag1": "t1"})), None),
        (None, Some((first, last))),
        (Some(json!({"tag1": "t2"})), Some((first, last))),
    ] {
        let search = SearchOptions {
            filter: filter.clone(),
            range,
            top_k: 7,
            ..options(Probe::Recommended)
        };
        let hits = u
            .client
            .search_records(&u.kb, &u.ctx, &query, &search)
            .unwrap();
        // A brute force over what the filter and range select.
        let tag = filter
            .as_ref()
            .map(|f| f["tag1"].as_str().unwrap().to_owned());
        let mut expected: Vec<(u32, i64)> = (0..RECORDS)
            .filter(|i| tag.as_ref().is_none_or(|t| *t == format!("t{}", i % 4)))
            .filter(|&i| range.is_none_or(|(a, b)| (a..=b).contains(&u.ids[i])))
            .map(|i| (hamming(&query, &u.stored[i]), u.ids[i]))
            .collect();
        expected.sort_unstable();
        let found: Vec<u32> = hits.iter().map(|h| h.distance).collect();
        let wanted: Vec<u32> = expected.iter().take(7).map(|e| e.0).collect();
        assert_eq!(found, wanted, "{filter:?} {range:?}");
        for hit in &hits {
            let i = u.ids.iter().position(|&id| id == hit.chunk_id).unwrap();
            assert_eq!(hit.distance, hamming(&query, &u.stored[i]));
            assert!(range.is_none_or(|(a, b)| (a..=b).contains(&hit.chunk_id)));
            let meta = &hit.document.as_ref().unwrap().meta_data;
            assert!(tag.as_ref().is_none_or(|t| meta["tag1"] == *t), "{meta:?}");
        }
    }
}

fn patch() -> serde_json::Map<String, serde_json::Value> {
    json!({"tag3": "p"}).as_object().cloned().unwrap()
}

#[test]
fn lies_about_the_pages_an_edit_reads_are_refused_with_nothing_written() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("sealed-edit-lies");
    let proxy = paillier_gpu_testing::tamper::TamperProxy::start(&server.url);
    let state = tempfile::tempdir().unwrap();
    let client = owner_of(&proxy.url, &server, &key, state.path());
    let ctx = small_context(EMBED);
    client.push_context(&ctx).unwrap();
    let stored = clustered(EMBED, 60, 4, 47);
    let documents: Vec<_> = (0..60).map(|i| document(i, &format!("d{i}"))).collect();
    let ids: Vec<i64> = client
        .upload_records_in(
            &kb,
            &ctx,
            &stored,
            &documents,
            BOTH,
            Placement::Follow,
            Some(LayoutKind::Sealed),
        )
        .unwrap()
        .iter()
        .map(|u| u.chunk_id)
        .collect();
    let vector_bytes = EMBED / 8;
    for kind in ["page_drop", "page_twice", "page_flip", "page_ids"] {
        proxy.set(json!({"kind": kind, "vector_bytes": vector_bytes}));
        let lied = client.delete_records(&kb, &ctx, &ids[3..5], BOTH);
        assert!(
            matches!(
                &lied,
                Err(Error::Library(paillier_gpu::Error::AnswerRejected(_)))
            ),
            "{kind}: {lied:?}"
        );
        let lied = client.find_records(&kb, &ctx, &json!({"tag1": "t1"}), BOTH);
        assert!(lied.is_err(), "{kind}: {lied:?}");
        let filtered = SearchOptions {
            filter: Some(json!({"tag1": "t1"})),
            ..options(Probe::All)
        };
        let lied = client.search_records(&kb, &ctx, &stored[5], &filtered);
        assert!(
            matches!(
                &lied,
                Err(Error::Library(paillier_gpu::Error::AnswerRejected(_)))
            ),
            "{kind}: {lied:?}"
        );
    }
    // Nothing was written: every record is there, checked against the digest.
    proxy.honest();
    let options = SearchOptions {
        top_k: 1,
        ..options(Probe::All)
    };
    for record in [3, 4, 5] {
        let hits = client
            .search_records(&kb, &ctx, &stored[record], &options)
            .unwrap();
        assert_eq!((hits[0].chunk_id, hits[0].distance), (ids[record], 0));
    }
    // An answer a read of the patch got, given for a later read.
    client
        .patch_by_meta(&kb, &ctx, &json!({"tag1": "t1"}), &patch(), BOTH)
        .unwrap();
    proxy.set(json!({"kind": "page_replay", "vector_bytes": vector_bytes}));
    let stale = client.find_records(&kb, &ctx, &json!({"tag1": "t0"}), BOTH);
    assert!(
        matches!(
            &stale,
            Err(Error::Library(paillier_gpu::Error::AnswerRejected(_)))
        ),
        "{stale:?}"
    );
    proxy.honest();
    assert_eq!(
        client
            .find_records(&kb, &ctx, &json!({"tag3": "p"}), BOTH)
            .unwrap()
            .len(),
        15
    );
}
