//! Knowledge bases of sealed vectors (`LayoutKind::Sealed`): uploaded in pages, searched by
//! opening them, the same top k as Paillier records of the same vectors and exact Hamming
//! distances; `compute_hamming` over them refused; a record the service dropped, a store put
//! back and the tampering proxy's lies about pages refused. Their digest rebuilt and a move to
//! them are in sealed_moves.rs.

use paillier_gpu::partitions::{PartitionModel, TrainOptions};
use paillier_gpu::verifiable::{FailureKind, LayoutKind};
use paillier_gpu_client::{Client, Error, Placement, Probe, RecordOptions, Result, SearchOptions};
use paillier_gpu_testing::data::{clustered, document, hamming, near, small_context, BOTH};
use paillier_gpu_testing::TestServer;

use super::lying_service::{owner_of, EMBED};

pub(crate) const RECORDS: usize = 240;

/// A server and an owner with `RECORDS` clustered records in 16 partitions, uploaded as
/// `layout` (none: the preferred Paillier layout) into knowledge base `name`.
pub(crate) struct Uploaded {
    pub(crate) server: TestServer,
    pub(crate) _state: tempfile::TempDir,
    pub(crate) client: Client,
    pub(crate) kb: String,
    pub(crate) key: String,
    pub(crate) ctx: paillier_gpu::ExecutionContext,
    pub(crate) stored: Vec<Vec<u8>>,
    pub(crate) ids: Vec<i64>,
}

pub(crate) fn uploaded(name: &str, layout: Option<LayoutKind>, partitioned: bool) -> Uploaded {
    uploaded_to(TestServer::start(), name, layout, partitioned)
}

/// [`uploaded`] to `server`.
fn uploaded_to(
    server: TestServer,
    name: &str,
    layout: Option<LayoutKind>,
    partitioned: bool,
) -> Uploaded {
    let (kb, key) = server.kb_and_key(name);
    let state = tempfile::tempdir().unwrap();
    let client = owner_of(&server.url, &server, &key, state.path());
    let ctx = small_context(EMBED);
    client.push_context(&ctx).unwrap();
    let stored = clustered(EMBED, RECORDS, 16, 41);
    let documents: Vec<_> = (0..RECORDS)
        .map(|i| document(i, &format!("d{i}")))
        .collect();
    let trained =
        partitioned.then(|| PartitionModel::train(&stored, &TrainOptions::new(16)).unwrap());
    let placement = match &trained {
        Some((model, partitions)) => Placement::Trained {
            model,
            partitions,
            decoys: 0,
        },
        None => Placement::Follow,
    };
    let ids = client
        .upload_records_in(&kb, &ctx, &stored, &documents, BOTH, placement, layout)
        .unwrap()
        .iter()
        .map(|u| u.chunk_id)
        .collect();
    Uploaded {
        server,
        _state: state,
        client,
        kb,
        key,
        ctx,
        stored,
        ids,
    }
}

/// The records of `record`'s partition (the upload's training, done again): one page, as an
/// upload sends each partition's records together.
pub(crate) fn its_partition(uploaded: &Uploaded, record: usize) -> Vec<usize> {
    let (_, partitions) = PartitionModel::train(&uploaded.stored, &TrainOptions::new(16)).unwrap();
    (0..RECORDS)
        .filter(|&r| partitions[r] == partitions[record])
        .collect()
}

/// The SDK's delete of `records` (no digest: behind the owner's back).
pub(crate) fn deleted_behind(uploaded: &Uploaded, records: &[usize]) -> Result<u64> {
    let sdk = Client::new(&uploaded.server.url, &uploaded.server.org, &uploaded.key)
        .unwrap()
        .with_state_in_memory();
    let ids: Vec<i64> = records.iter().map(|&r| uploaded.ids[r]).collect();
    sdk.delete_chunks(&uploaded.kb, &ids)
}

pub(crate) fn options(probe: Probe) -> SearchOptions {
    SearchOptions {
        top_k: 5,
        records: BOTH,
        probe,
        with_content: true,
        ..SearchOptions::default()
    }
}

#[test]
fn sealed_vectors_rank_as_paillier_records_of_the_same_vectors() {
    let sealed = uploaded("sealed", Some(LayoutKind::Sealed), true);
    let paillier = uploaded("paillier", None, true);
    for (q, probe) in [
        (3, Probe::All),
        (77, Probe::Partitions(2)),
        (150, Probe::Recommended),
    ] {
        let query = near(&sealed.stored[q]);
        let (hits, cost) = sealed
            .client
            .search_records_measured(&sealed.kb, &sealed.ctx, &query, &options(probe))
            .unwrap();
        let (expected, paillier_cost) = paillier
            .client
            .search_records_measured(&paillier.kb, &paillier.ctx, &query, &options(probe))
            .unwrap();
        // Sealed vectors go partition by partition, so their chunk ids differ, and so may the
        // order of ties: the distances are the same.
        let found: Vec<u32> = hits.iter().map(|h| h.distance).collect();
        let wanted: Vec<u32> = expected.iter().map(|h| h.distance).collect();
        assert_eq!(found, wanted, "query {q}, {probe:?}");
        assert_eq!(
            (cost.records, cost.partitions),
            (paillier_cost.records, paillier_cost.partitions)
        );
        assert!(
            cost.answer_bytes * 4 < paillier_cost.answer_bytes,
            "{cost:?} {paillier_cost:?}"
        );
        for hit in &hits {
            let record = sealed
                .ids
                .iter()
                .position(|&id| id == hit.chunk_id)
                .unwrap();
            assert_eq!(hit.distance, hamming(&query, &sealed.stored[record]));
            let document = hit.document.as_ref().unwrap();
            assert_eq!(document.content, format!("d{record}"));
            assert!(hit.nonce.is_some());
        }
        assert_eq!((hits[0].chunk_id, hits[0].distance), (sealed.ids[q], 2));
    }
    // Partition by partition: each record's id as returned, in the records' own order.
    let mut sorted = sealed.ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=RECORDS as i64).collect::<Vec<_>>());
    assert_ne!(sorted, sealed.ids);
    // Every record, without partitions too.
    let flat = uploaded("flat", Some(LayoutKind::Sealed), false);
    let query = near(&flat.stored[200]);
    let (hits, cost) = flat
        .client
        .search_records_measured(&flat.kb, &flat.ctx, &query, &options(Probe::Recommended))
        .unwrap();
    assert_eq!((hits[0].chunk_id, hits[0].distance), (flat.ids[200], 2));
    assert_eq!((cost.records, cost.partitions), (RECORDS, None));
}

#[test]
fn compute_hamming_and_paillier_reads_of_sealed_vectors_are_refused_clearly() {
    let sealed = uploaded("sealed-refusals", Some(LayoutKind::Sealed), false);
    let query = near(&sealed.stored[0]);
    // A search without verification asks compute_hamming: the service says why not.
    let plain = SearchOptions {
        records: RecordOptions {
            verifiable: false,
            private_meta: true,
        },
        ..options(Probe::All)
    };
    match sealed
        .client
        .search_records(&sealed.kb, &sealed.ctx, &query, &plain)
    {
        Err(Error::Remote {
            status: 400,
            message,
            ..
        }) => {
            assert!(message.contains("sealed vectors"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // An upload asking Paillier records of it is refused: its digest fixed sealed vectors,
    // which an upload asking nothing follows.
    let refused = sealed
        .client
        .upload_records_in(
            &sealed.kb,
            &sealed.ctx,
            &sealed.stored[..2],
            &[],
            BOTH,
            Placement::Follow,
            Some(LayoutKind::OneBit),
        )
        .unwrap_err()
        .to_string();
    assert!(refused.contains("sealed-vectors"), "{refused}");
    let followed = sealed
        .client
        .upload_records(
            &sealed.kb,
            &sealed.ctx,
            std::slice::from_ref(&query),
            &[],
            BOTH,
        )
        .unwrap();
    let hits = sealed
        .client
        .search_records(&sealed.kb, &sealed.ctx, &query, &options(Probe::All))
        .unwrap();
    assert_eq!(
        (hits[0].chunk_id, hits[0].distance),
        (followed[0].chunk_id, 0)
    );
}

#[test]
fn a_sealed_record_dropped_or_a_store_put_back_is_refused() {
    // A store put back is SQLite's files copied.
    let server = TestServer::start_sqlite(|_| {});
    let mut sealed = uploaded_to(server, "sealed-lies", Some(LayoutKind::Sealed), true);
    let dir = tempfile::tempdir().unwrap();
    let earlier = dir.path().join("earlier");
    sealed.server.keep_store(&earlier);
    sealed
        .client
        .upload_records_in(
            &sealed.kb,
            &sealed.ctx,
            &sealed.stored[..20],
            &[],
            BOTH,
            Placement::Follow,
            None,
        )
        .unwrap();
    let query = near(&sealed.stored[10]);
    sealed
        .client
        .search_records(&sealed.kb, &sealed.ctx, &query, &options(Probe::All))
        .unwrap();
    // The store as it was before the second upload: its pages are gone.
    sealed.server.put_back_store(&earlier);
    let rolled_back =
        sealed
            .client
            .search_records(&sealed.kb, &sealed.ctx, &query, &options(Probe::All));
    assert!(
        matches!(&rolled_back, Err(Error::Library(paillier_gpu::Error::AnswerRejected(r))) if r.has(FailureKind::RolledBack)),
        "{rolled_back:?}"
    );
    // Records deleted behind the owner's back (the SDK's delete, no digest). One alone would
    // take its page's others with it: the service refuses. A whole page's: the digest's tally
    // of its partition misses them.
    let fresh = uploaded("sealed-dropped", Some(LayoutKind::Sealed), true);
    match deleted_behind(&fresh, &[7]) {
        Err(Error::Remote { status: 409, .. }) => {}
        other => panic!("{other:?}"),
    }
    let page = its_partition(&fresh, 7);
    assert!(page.len() > 1 && !page.contains(&100), "{page:?}");
    deleted_behind(&fresh, &page).unwrap();
    let query = near(&fresh.stored[100]);
    let dropped = fresh
        .client
        .search_records(&fresh.kb, &fresh.ctx, &query, &options(Probe::All));
    assert!(
        matches!(
            &dropped,
            Err(Error::Library(paillier_gpu::Error::AnswerRejected(r))) if r.has(FailureKind::DigestMismatch)
        ),
        "{dropped:?}"
    );
}

#[test]
fn each_lie_about_sealed_pages_is_refused() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("sealed-proxied");
    let proxy = paillier_gpu_testing::tamper::TamperProxy::start(&server.url);
    let state = tempfile::tempdir().unwrap();
    let client = owner_of(&proxy.url, &server, &key, state.path());
    let ctx = small_context(EMBED);
    client.push_context(&ctx).unwrap();
    let stored = clustered(EMBED, RECORDS, 16, 43);
    let (model, partitions) = PartitionModel::train(&stored, &TrainOptions::new(8)).unwrap();
    let placement = Placement::Trained {
        model: &model,
        partitions: &partitions,
        decoys: 0,
    };
    let sealed = Some(LayoutKind::Sealed);
    let ids = client
        .upload_records_in(&kb, &ctx, &stored, &[], BOTH, placement, sealed)
        .unwrap();
    let query = near(&stored[5]);
    let search = |probe| {
        let options = SearchOptions {
            top_k: 3,
            ..options(probe)
        };
        client.search_records(&kb, &ctx, &query, &options)
    };
    assert_eq!(
        search(Probe::Partitions(2)).unwrap()[0].chunk_id,
        ids[5].chunk_id
    );
    let vector_bytes = EMBED / 8;
    for kind in [
        "page_drop",
        "page_twice",
        "page_flip",
        "page_ids",
        "page_partition",
        "drop_partition",
        "swap_partition",
        "other_tokens",
    ] {
        proxy.set(serde_json::json!({"kind": kind, "vector_bytes": vector_bytes}));
        let lied = search(Probe::Partitions(3));
        assert!(
            matches!(
                &lied,
                Err(Error::Library(paillier_gpu::Error::AnswerRejected(_)))
            ),
            "{kind}: {lied:?}"
        );
    }
    // Another query's partitions answered for this one's.
    proxy.honest();
    let elsewhere = near(&stored[200]);
    client
        .search_records(&kb, &ctx, &elsewhere, &options(Probe::Partitions(2)))
        .unwrap();
    proxy.set(serde_json::json!({"kind": "page_replay", "vector_bytes": vector_bytes}));
    assert!(search(Probe::Partitions(2)).is_err());
    proxy.honest();
    assert_eq!(
        search(Probe::Partitions(2)).unwrap()[0].chunk_id,
        ids[5].chunk_id
    );
}
