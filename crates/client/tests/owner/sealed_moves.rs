//! Knowledge bases of sealed vectors counted and moved: the owner's digest rebuilt from their
//! pages (before and after a record deleted behind the owner's back), and a knowledge base of
//! Paillier records moved to sealed vectors, cut short and resumed, its searches the same.

use paillier_gpu::verifiable::LayoutKind;
use paillier_gpu_client::{Error, Probe};
use paillier_gpu_testing::data::{near, BOTH};

use super::lying_service::owner_of;
use super::sealed_vectors::{deleted_behind, its_partition, options, uploaded, RECORDS};

#[test]
fn a_digest_of_sealed_vectors_is_counted_again_from_their_pages() {
    let sealed = uploaded("sealed-rebuilt", Some(LayoutKind::Sealed), true);
    let before = sealed
        .client
        .digest_summary(&sealed.kb, &sealed.ctx, BOTH)
        .unwrap();
    let rebuilt = sealed
        .client
        .rebuild_digest(&sealed.kb, &sealed.ctx, BOTH, None, false)
        .unwrap();
    assert_eq!(rebuilt.layout, LayoutKind::Sealed);
    assert_eq!(
        (rebuilt.records, &rebuilt.counted),
        (RECORDS as u64, &before.counted)
    );
    assert!(rebuilt.version > before.version);
    // A page's records deleted behind the owner's back: refused until the owner, having
    // looked, counts what is left.
    let page = its_partition(&sealed, 7);
    deleted_behind(&sealed, &page).unwrap();
    let kept = (0..RECORDS).find(|r| !page.contains(r)).unwrap();
    let query = near(&sealed.stored[kept]);
    assert!(sealed
        .client
        .search_records(&sealed.kb, &sealed.ctx, &query, &options(Probe::All))
        .is_err());
    let recounted = sealed
        .client
        .rebuild_digest(&sealed.kb, &sealed.ctx, BOTH, None, false)
        .unwrap();
    assert_eq!(recounted.records, (RECORDS - page.len()) as u64);
    let hits = sealed
        .client
        .search_records(&sealed.kb, &sealed.ctx, &query, &options(Probe::All))
        .unwrap();
    assert_eq!(hits[0].chunk_id, sealed.ids[kept]);
}

#[test]
fn a_knowledge_base_of_paillier_records_moves_to_sealed_vectors_and_resumes() {
    let mut paillier = uploaded("moved", None, true);
    let query = near(&paillier.stored[30]);
    let before = paillier
        .client
        .search_records(&paillier.kb, &paillier.ctx, &query, &options(Probe::All))
        .unwrap();
    // A move of 100 records a write cut short after its first (the proxy refuses the rest):
    // searches are refused in between, and the move run again finishes it.
    let proxy = paillier_gpu_testing::tamper::TamperProxy::start(&paillier.server.url);
    let state = paillier._state.path().to_owned();
    let through_proxy = owner_of(&proxy.url, &paillier.server, &paillier.key, &state);
    proxy.set(serde_json::json!({"kind": "refuse_writes", "after": 1}));
    let cut = through_proxy.seal_vectors_batched(&paillier.kb, &paillier.ctx, BOTH, 100);
    assert!(
        matches!(cut, Err(Error::Remote { status: 503, .. })),
        "{cut:?}"
    );
    proxy.honest();
    assert!(paillier
        .client
        .search_records(&paillier.kb, &paillier.ctx, &query, &options(Probe::All))
        .is_err());
    let report = paillier
        .client
        .seal_vectors_batched(&paillier.kb, &paillier.ctx, BOTH, 100)
        .unwrap();
    assert_eq!(
        (report.records, report.moved, report.resumed),
        (RECORDS, RECORDS - 100, true)
    );
    let summary = paillier
        .client
        .digest_summary(&paillier.kb, &paillier.ctx, BOTH)
        .unwrap();
    assert_eq!(
        (summary.layout, summary.records),
        (LayoutKind::Sealed, RECORDS as u64)
    );
    // The same hits, documents and all, now from sealed vectors; nothing left to move.
    let (after, cost) = paillier
        .client
        .search_records_measured(&paillier.kb, &paillier.ctx, &query, &options(Probe::All))
        .unwrap();
    let ids = |hits: &[paillier_gpu_client::Hit]| -> Vec<(i64, u32)> {
        hits.iter().map(|h| (h.chunk_id, h.distance)).collect()
    };
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(after[0].document, before[0].document);
    assert!(cost.times.opening_ms.is_some() && cost.times.ranking_ms.is_some());
    let again = paillier
        .client
        .seal_vectors(&paillier.kb, &paillier.ctx, BOTH)
        .unwrap();
    assert_eq!((again.records, again.moved), (RECORDS, 0));
    let _ = &mut paillier;
}
