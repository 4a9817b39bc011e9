//! What a lying service tried on partitioned knowledge bases, and the Rust client refuses
//! (cases 6 to 8 of lying_service.rs, the same as Python's test_partitions.py and
//! test_owner_digest.py):
//! 6. a partial probe while a partitions rebuild is unfinished (the proxy's `refuse_writes`);
//! 7. decoy groups narrowed by asking several `decoys`;
//! 8. a probe's token count showing when its nearest partitions share a group (a probe of P
//!    always names P whole groups);
//! and the decoys a first upload seals with the partitions it trains.

use std::collections::BTreeSet;

use paillier_gpu::partitions::TrainOptions;
use paillier_gpu::verifiable::PartitionCount;
use paillier_gpu_client::{Error, Placement, Probe, SearchOptions};
use paillier_gpu_testing::data::{clustered, small_context, BOTH};
use paillier_gpu_testing::TestServer;
use serde_json::json;

use super::lying_service::{owner_of, LiedTo, EMBED};

#[test]
fn a_partial_probe_is_refused_while_a_partitions_rebuild_is_unfinished() {
    let owner = LiedTo::partitioned("stalled-rebuild");
    let query = clustered(EMBED, 1, 16, 32).remove(0);
    assert_eq!(
        owner
            .probed(&query, Probe::Partitions(1), 0)
            .unwrap()
            .partitions,
        Some(1)
    );
    // The rebuild's first write (its model installed) taken, the rest answered 503.
    owner
        .proxy
        .set(json!({"kind": "refuse_writes", "after": 1}));
    let rebuild = || {
        let train = TrainOptions::new(8);
        owner
            .client
            .rebuild_partitions(&owner.kb, &owner.ctx, BOTH, Some(8), &train, 0)
    };
    let stalled = rebuild().unwrap_err();
    assert!(
        matches!(stalled, Error::Remote { status: 503, .. }),
        "{stalled:?}"
    );
    owner.proxy.honest();
    // Between two models a probe of some partitions would miss the records of the other: it
    // is refused with the command that finishes the rebuild; a search of every record passes.
    for probe in [Probe::Recommended, Probe::Partitions(1)] {
        let message = owner.probed(&query, probe, 0).unwrap_err().to_string();
        assert!(message.contains("partitions rebuild"), "{message}");
    }
    assert_eq!(owner.probed(&query, Probe::All, 0).unwrap().records, 240);
    let report = rebuild().unwrap();
    assert!(report.resumed, "{report:?}");
    assert_eq!(
        owner
            .probed(&query, Probe::Partitions(1), 0)
            .unwrap()
            .partitions,
        Some(1)
    );
}

#[test]
fn decoy_groups_hold_whatever_decoys_a_query_asks() {
    let owner = LiedTo::partitioned("decoy-groups");
    let queries = clustered(EMBED, 40, 16, 33);
    for query in &queries {
        // Asked with D = 1, 2 and 4: groups of 2, 4 and 8 nested, so the intersection of the
        // three token sets is the whole group of 2, never the one partition wanted.
        let mut named: Vec<BTreeSet<String>> = Vec::new();
        for decoys in [1, 2, 4] {
            owner.proxy.honest();
            let cost = owner.probed(query, Probe::Partitions(1), decoys).unwrap();
            assert_eq!(cost.partitions, Some((decoys + 1).next_power_of_two()));
            named.push(owner.proxy.probes().concat().into_iter().collect());
        }
        let common: BTreeSet<&String> = named[0]
            .iter()
            .filter(|token| named[1].contains(*token) && named[2].contains(*token))
            .collect();
        assert_eq!(common.len(), 2);
        // A probe of 2 with one decoy names two groups of two, whether or not its two nearest
        // partitions share a group.
        owner.proxy.honest();
        owner.probed(query, Probe::Partitions(2), 1).unwrap();
        assert_eq!(owner.proxy.probes().concat().len(), 4);
    }
}

#[test]
fn the_decoys_a_first_upload_seals_with_its_partitions_hold_for_every_search() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("upload-decoys");
    let state = tempfile::tempdir().unwrap();
    let client = owner_of(&server.url, &server, &key, state.path());
    let ctx = small_context(EMBED);
    client.push_context(&ctx).unwrap();
    let stored = clustered(EMBED, 128, 16, 34);
    let train = TrainOptions::default();
    let asked = |decoys| Placement::Asked {
        partitions: PartitionCount::Exactly(16),
        train: &train,
        decoys,
    };
    client
        .upload_records_placed(&kb, &ctx, &stored[..64], &[], BOTH, asked(3))
        .unwrap();
    // A later upload follows the partitions and keeps their decoys, whatever it asks.
    client
        .upload_records_placed(&kb, &ctx, &stored[64..], &[], BOTH, asked(0))
        .unwrap();
    let summary = client.partition_summary(&kb, &ctx, BOTH).unwrap().unwrap();
    assert_eq!((summary.partitions, summary.decoys), (16, 3));
    let options = SearchOptions {
        top_k: 10,
        records: BOTH,
        probe: Probe::Partitions(1),
        ..SearchOptions::default()
    };
    let query = clustered(EMBED, 1, 16, 35).remove(0);
    let (_, cost) = client
        .search_records_measured(&kb, &ctx, &query, &options)
        .unwrap();
    assert_eq!(cost.partitions, Some(4));
}
