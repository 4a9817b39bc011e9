//! Partitioned knowledge bases through a real server and the Rust client: the first upload
//! trains, later ones follow; a search probes the nearest partitions and its answer is exactly
//! their records, verified against the owner's digest; updates and deletes keep partitions and
//! digest consistent; a rebuild moves records and keeps them searchable; bad requests are
//! refused with a reason.

use std::collections::BTreeMap;

use paillier_gpu::partitions::{PartitionModel, TrainOptions};
use paillier_gpu_client::{Client, Error, Placement, Probe, SearchOptions, StateDir};
use paillier_gpu_testing::data::{clustered, hamming, small_context, BOTH};
use paillier_gpu_testing::TestServer;

const EMBED: usize = 48;

/// The owner's copy: each record's vector and partition, by chunk id.
type Written = BTreeMap<i64, (Vec<u8>, u32)>;

/// The top `k` of the records of `written` in `partitions` (all when none), nearest first,
/// ties by id.
fn expected(
    written: &Written,
    query: &[u8],
    partitions: Option<&[u32]>,
    k: usize,
) -> Vec<(i64, u32)> {
    let mut all: Vec<(i64, u32)> = written
        .iter()
        .filter(|(_, (_, p))| partitions.is_none_or(|ps| ps.contains(p)))
        .map(|(&id, (vector, _))| (id, hamming(vector, query)))
        .collect();
    all.sort_by_key(|&(id, distance)| (distance, id));
    all.truncate(k);
    all
}

fn options(probe: Probe) -> SearchOptions {
    SearchOptions {
        top_k: 10,
        records: BOTH,
        probe,
        ..SearchOptions::default()
    }
}

/// Every search of `queries`, at every probe, against the owner's copy.
fn check_searches(
    client: &Client,
    kb: &str,
    ctx: &paillier_gpu::ExecutionContext,
    model: &PartitionModel,
    written: &Written,
    queries: &[Vec<u8>],
) {
    for query in queries {
        let (hits, cost) = client
            .search_records_measured(kb, ctx, query, &options(Probe::All))
            .unwrap();
        let found: Vec<(i64, u32)> = hits.iter().map(|h| (h.chunk_id, h.distance)).collect();
        assert_eq!(found, expected(written, query, None, 10));
        assert_eq!((cost.records, cost.partitions), (written.len(), None));
        for probe in [1, 2, model.partitions()] {
            let (hits, cost) = client
                .search_records_measured(kb, ctx, query, &options(Probe::Partitions(probe)))
                .unwrap();
            let nearest = model.nearest(query, probe).unwrap();
            let found: Vec<(i64, u32)> = hits.iter().map(|h| (h.chunk_id, h.distance)).collect();
            assert_eq!(
                found,
                expected(written, query, Some(&nearest), 10),
                "probe {probe}"
            );
            let selected = written
                .values()
                .filter(|(_, p)| nearest.contains(p))
                .count();
            assert_eq!(cost.records, selected, "probe {probe}");
            assert_eq!(cost.partitions, Some(nearest.len()));
        }
    }
}

#[test]
fn a_partitioned_knowledge_base_is_searched_by_partitions_and_verified_whole() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("partitioned");
    let ctx = small_context(EMBED);
    let state = tempfile::tempdir().unwrap();
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_dir(StateDir::new(state.path()));
    client.push_context(&ctx).unwrap();

    // The first upload trains.
    let stored = clustered(EMBED, 480, 12, 1);
    let (model, partitions) = PartitionModel::train(&stored, &TrainOptions::new(12)).unwrap();
    let placement = Placement::Trained {
        model: &model,
        partitions: &partitions,
        decoys: 0,
    };
    let uploaded = client
        .upload_records_placed(&kb, &ctx, &stored, &[], BOTH, placement)
        .unwrap();
    let mut written: Written = uploaded
        .iter()
        .zip(stored.iter().zip(&partitions))
        .map(|(u, (v, &p))| (u.chunk_id, (v.clone(), p)))
        .collect();
    let summary = client.partition_summary(&kb, &ctx, BOTH).unwrap().unwrap();
    assert_eq!((summary.records, summary.partitions), (480, 12));
    let cap = (1.5f64 * 480.0 / 12.0).ceil() as u64;
    for (p, &size) in summary.sizes.iter().enumerate() {
        let counted = partitions.iter().filter(|&&q| q as usize == p).count() as u64;
        assert_eq!(size, counted);
        assert!(size <= cap, "partition {p} holds {size}, above {cap}");
    }
    assert!(summary.recommended_probe >= 1 && !summary.rebuilding);

    // Later uploads follow: each record goes to its nearest partition.
    let later = clustered(EMBED, 40, 12, 2);
    let added = client.upload_records(&kb, &ctx, &later, &[], BOTH).unwrap();
    for (u, v) in added.iter().zip(&later) {
        written.insert(u.chunk_id, (v.clone(), model.assign(v).unwrap()));
    }
    let queries = clustered(EMBED, 3, 12, 3);
    check_searches(&client, &kb, &ctx, &model, &written, &queries);

    // Decoys: two more partitions probed and checked; the answer holds the nearest two's.
    let decoyed = SearchOptions {
        decoys: 2,
        ..options(Probe::Partitions(2))
    };
    let (hits, cost) = client
        .search_records_measured(&kb, &ctx, &queries[0], &decoyed)
        .unwrap();
    let nearest = model.nearest(&queries[0], 2).unwrap();
    let ranked = model.nearest(&queries[0], model.partitions()).unwrap();
    let codec = paillier_gpu::verifiable::RecordCodec::new(&ctx, &kb, BOTH);
    let group = paillier_gpu::verifiable::decoy_group_size(1, 2);
    let probed = codec
        .probe_with_decoys(model.partitions(), &ranked, 2, group)
        .unwrap();
    // Two whole groups of four, whether or not the nearest two share one.
    assert_eq!(probed.len(), 2 * group);
    assert!(nearest.iter().all(|p| probed.contains(p)));
    assert_eq!(cost.partitions, Some(probed.len()));
    let without = expected(&written, &queries[0], Some(&nearest), 10);
    for (hit, (_, distance)) in hits.iter().zip(&without) {
        assert!(hit.distance <= *distance);
    }

    // An update moves a record to its new vector's partition; a delete takes it out.
    let ids: Vec<i64> = written.keys().copied().take(3).collect();
    let moved = clustered(EMBED, 3, 5, 4);
    client
        .update_records(&kb, &ctx, &ids, &moved, &[], BOTH)
        .unwrap();
    for (id, v) in ids.iter().zip(&moved) {
        written.insert(*id, (v.clone(), model.assign(v).unwrap()));
    }
    let gone: Vec<i64> = written.keys().copied().skip(10).take(2).collect();
    client.delete_records(&kb, &ctx, &gone, BOTH).unwrap();
    for id in &gone {
        written.remove(id);
    }
    check_searches(&client, &kb, &ctx, &model, &written, &queries);

    // Bad requests, refused with a reason and nothing changed.
    let refused = |probe, filter: Option<serde_json::Value>| {
        let options = SearchOptions {
            filter,
            ..options(probe)
        };
        match client.search_records(&kb, &ctx, &queries[0], &options) {
            Err(Error::Library(paillier_gpu::Error::InvalidParameter(why))) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    assert!(refused(Probe::Partitions(0), None).contains("at least 1 partition"));
    let filter = serde_json::json!({"tag1": "a"});
    assert!(refused(Probe::Partitions(2), Some(filter)).contains("without one"));
    let train = TrainOptions::new(1);
    match client.rebuild_partitions(&kb, &ctx, BOTH, Some(100_000), &train, 0) {
        Err(e) => assert!(e.to_string().contains("partitions"), "{e}"),
        Ok(report) => panic!(
            "100,000 partitions of {} records: {report:?}",
            written.len()
        ),
    }
    assert_eq!(
        client
            .partition_summary(&kb, &ctx, BOTH)
            .unwrap()
            .unwrap()
            .partitions,
        12
    );

    // A rebuild into 6 partitions moves records; every search still verifies.
    let report = client
        .rebuild_partitions(&kb, &ctx, BOTH, Some(6), &train, 0)
        .unwrap();
    assert_eq!((report.partitions, report.records), (6, written.len()));
    assert!(!report.resumed);
    let summary = client.partition_summary(&kb, &ctx, BOTH).unwrap().unwrap();
    assert_eq!(summary.partitions, 6);
    assert_eq!(summary.sizes.iter().sum::<u64>(), written.len() as u64);
    let cap = (summary.balance * written.len() as f64 / 6.0).ceil() as u64;
    assert!(
        summary.sizes.iter().all(|&s| s <= cap),
        "{:?}",
        summary.sizes
    );
    let (rebuilt, _) = client.partition_model(&kb, &ctx, BOTH).unwrap();
    let rebuilt = rebuilt.unwrap();
    let ids: Vec<i64> = written.keys().copied().collect();
    let vectors: Vec<Vec<u8>> = written.values().map(|(v, _)| v.clone()).collect();
    let placed = rebuilt.assign_balanced(&vectors).unwrap();
    for (id, p) in ids.iter().zip(placed) {
        written.get_mut(id).unwrap().1 = p;
    }
    check_searches(&client, &kb, &ctx, &rebuilt, &written, &queries);
}

#[test]
fn a_service_that_answers_other_partitions_than_those_probed_is_refused() {
    use paillier_gpu::verifiable::FailureKind;
    use paillier_gpu::Error as LibraryError;
    use paillier_gpu_testing::tamper::TamperProxy;

    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("partitions-lied-to");
    let ctx = small_context(EMBED);
    let proxy = TamperProxy::start(&server.url);
    let state = tempfile::tempdir().unwrap();
    let client = Client::new(&proxy.url, &server.org, &key)
        .unwrap()
        .with_state_dir(StateDir::new(state.path()));
    client.push_context(&ctx).unwrap();
    let stored = clustered(EMBED, 240, 8, 21);
    let (model, partitions) = PartitionModel::train(&stored, &TrainOptions::new(8)).unwrap();
    let placement = Placement::Trained {
        model: &model,
        partitions: &partitions,
        decoys: 0,
    };
    client
        .upload_records_placed(&kb, &ctx, &stored, &[], BOTH, placement)
        .unwrap();
    let query = clustered(EMBED, 1, 8, 22).remove(0);
    let search = || client.search_records(&kb, &ctx, &query, &options(Probe::Partitions(3)));
    assert_eq!(search().unwrap().len(), 10);
    for kind in ["drop_partition", "swap_partition", "other_tokens"] {
        proxy.set(serde_json::json!({ "kind": kind }));
        match search() {
            Err(Error::Library(LibraryError::AnswerRejected(rejection))) => {
                let kinds: Vec<FailureKind> = rejection.failures.iter().map(|f| f.kind).collect();
                assert_eq!(
                    kinds,
                    [FailureKind::DigestMismatch],
                    "{kind}: {rejection:?}"
                );
            }
            other => panic!("{kind}: expected a refusal, got {other:?}"),
        }
    }
    proxy.honest();
    assert_eq!(search().unwrap().len(), 10);

    // Decoys: the same query three times, with one partition and two decoys, names the same
    // three partitions each time, so the runs' intersection is a whole group, not the one
    // partition wanted (decoys drawn afresh would leave only it).
    let decoyed = SearchOptions {
        decoys: 2,
        ..options(Probe::Partitions(1))
    };
    proxy.honest();
    for _ in 0..3 {
        client.search_records(&kb, &ctx, &query, &decoyed).unwrap();
    }
    let probes = proxy.probes();
    assert_eq!(probes.len(), 3);
    assert!(probes
        .iter()
        .all(|probe| probe == &probes[0] && probe.len() >= 3));

    // A rebuild moves records under fresh nonces: a moved record's document from before the
    // move, served beside its ciphertext of now, no longer opens (it would, resealed under the
    // same nonce, and put the record back in its old partition for a find or a digest rebuild).
    let partition_of = |found: &[paillier_gpu_client::Found]| -> Vec<(i64, String)> {
        let mut pairs: Vec<(i64, String)> = found
            .iter()
            .map(|f| (f.chunk_id, f.document.meta_data["partition"].to_string()))
            .collect();
        pairs.sort();
        pairs
    };
    let all = serde_json::json!({});
    let before = partition_of(&client.find_records(&kb, &ctx, &all, BOTH).unwrap());
    client
        .rebuild_partitions(&kb, &ctx, BOTH, Some(5), &TrainOptions::new(5), 0)
        .unwrap();
    let after = partition_of(&client.find_records(&kb, &ctx, &all, BOTH).unwrap());
    let moved = before
        .iter()
        .zip(&after)
        .find(|(b, a)| b.1 != a.1)
        .map(|(b, _)| b.0)
        .unwrap();
    proxy.set(serde_json::json!({"kind": "old_content", "chunk_id": moved}));
    match client.find_records(&kb, &ctx, &all, BOTH) {
        Err(Error::Library(LibraryError::AnswerRejected(rejection))) => {
            assert!(rejection.has(FailureKind::ContentMismatch), "{rejection}");
            assert!(
                rejection.to_string().contains(&moved.to_string()),
                "{rejection}"
            );
        }
        other => panic!("a replayed document passed: {other:?}"),
    }
    assert!(client.rebuild_digest(&kb, &ctx, BOTH, None, false).is_err());
    proxy.honest();
    assert_eq!(
        partition_of(&client.find_records(&kb, &ctx, &all, BOTH).unwrap()),
        after
    );
}

/// The share of `found` (distances) at most the exhaustive 10th distance of `all`: recall@10,
/// ties at the 10th distance counted as hits.
fn recall_at_10(found: &[u32], all: &[u32]) -> f64 {
    let tenth = all[9.min(all.len() - 1)];
    found.iter().filter(|&&d| d <= tenth).count() as f64 / 10.0
}

/// 2,000 records in `tools/test-all`, 50,000 in `tools/test-deep`
/// (`PAILLIER_GPU_PARTITION_RECORDS`): the recommended probe's verified search keeps the recall
/// the owner estimated, against the exhaustive search of the same records, and reads a fraction
/// of them.
#[test]
fn a_partitioned_search_of_many_records_keeps_its_recall() {
    let records: usize = std::env::var("PAILLIER_GPU_PARTITION_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("partitioned-many");
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let queries = 20;
    let mut all = clustered(EMBED, records + queries, records / 50, 31);
    let queries = all.split_off(records);
    let partitions = paillier_gpu::partitions::auto_partitions(records);
    let (model, placed) = PartitionModel::train(&all, &TrainOptions::new(partitions)).unwrap();
    let placement = Placement::Trained {
        model: &model,
        partitions: &placed,
        decoys: 0,
    };
    let ids: Vec<i64> = client
        .upload_records_placed(&kb, &ctx, &all, &[], BOTH, placement)
        .unwrap()
        .iter()
        .map(|u| u.chunk_id)
        .collect();
    let mut recall = 0.0;
    let mut decoded = 0;
    for (n, query) in queries.iter().enumerate() {
        let mut exhaustive: Vec<u32> = all.iter().map(|v| hamming(v, query)).collect();
        exhaustive.sort_unstable();
        let (hits, cost) = client
            .search_records_measured(&kb, &ctx, query, &options(Probe::Recommended))
            .unwrap();
        let found: Vec<u32> = hits.iter().map(|h| h.distance).collect();
        recall += recall_at_10(&found, &exhaustive) / queries.len() as f64;
        decoded += cost.records;
        assert_eq!(cost.partitions, Some(model.default_probe()));
        if n == 0 {
            // The encrypted exhaustive search agrees with the owner's own.
            let (hits, cost) = client
                .search_records_measured(&kb, &ctx, query, &options(Probe::All))
                .unwrap();
            assert_eq!(cost.records, records);
            let distances: Vec<u32> = hits.iter().map(|h| h.distance).collect();
            assert_eq!(distances, exhaustive[..10]);
            for hit in &hits {
                let i = ids.binary_search(&hit.chunk_id).unwrap();
                assert_eq!(hamming(&all[i], query), hit.distance);
            }
        }
    }
    let estimated = model
        .recall()
        .iter()
        .find(|p| p.probe == model.default_probe())
        .map_or(0.0, |p| p.recall);
    let share = decoded as f64 / (records * queries.len()) as f64;
    eprintln!(
        "{records} records, {partitions} partitions, probe {}: recall@10 {recall:.3} (the \
         owner estimated {estimated:.3}), {:.1} % of the records decoded",
        model.default_probe(),
        share * 100.0
    );
    assert!(
        recall >= 0.8 && recall >= estimated - 0.1,
        "recall@10 {recall:.3}, estimated {estimated:.3}"
    );
    assert!(share < 0.5, "{share}");
}

#[test]
fn a_rebuild_names_the_record_whose_metadata_cannot_take_its_partition() {
    use paillier_gpu::verifiable::{Document, RecordOptions, MAX_META_BYTES};
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("near-the-limit");
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let verifiable = RecordOptions {
        verifiable: true,
        private_meta: false,
    };
    let stored = clustered(EMBED, 40, 4, 3);
    // Record 7's metadata is 8 bytes short of the limit ({"note":"…"} is 11 bytes around
    // the value): it fits, and its partition's token does not.
    let documents: Vec<Document> = (0..stored.len())
        .map(|i| {
            let note = match i {
                7 => "x".repeat(MAX_META_BYTES - 11 - 8),
                _ => format!("note {i}"),
            };
            Document {
                content: format!("document {i}"),
                meta_data: serde_json::json!({ "note": note })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                name: None,
            }
        })
        .collect();
    let uploaded = client
        .upload_records(&kb, &ctx, &stored, &documents, verifiable)
        .unwrap();
    let error = client
        .rebuild_partitions(&kb, &ctx, verifiable, Some(4), &TrainOptions::new(4), 0)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("record {} cannot move", uploaded[7].chunk_id))
            && error.contains("shorten")
            && error.contains("again to resume"),
        "{error}"
    );
    // Nothing of the refused batch was sent: every record still verifies, whole.
    let search = SearchOptions {
        top_k: 1,
        records: verifiable,
        probe: Probe::All,
        ..SearchOptions::default()
    };
    let hits = client
        .search_records(&kb, &ctx, &stored[3], &search)
        .unwrap();
    assert_eq!(
        (hits[0].chunk_id, hits[0].distance),
        (uploaded[3].chunk_id, 0)
    );
}
