//! Records written under the earlier key derivation (keys from the data key alone, before they
//! were bound to their context and knowledge base): a verified search over them names the
//! command that seals them again, `Client::reseal_records` does it, and the search then passes
//! against the owner's digest.

use paillier_gpu::verifiable::{Document, KeyDerivation, LayoutKind, RecordCodec};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, Error, RecordOptions, SearchOptions};
use paillier_gpu_testing::data::{small_context, small_context_of, vectors};
use paillier_gpu_testing::net::call;
use paillier_gpu_testing::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

const EMBED: usize = 48;
const RECORDS: usize = 12;
const BOTH: RecordOptions = RecordOptions {
    verifiable: true,
    private_meta: true,
};

fn document(i: usize) -> Document {
    Document {
        content: format!("document {i}"),
        meta_data: json!({"tag1": format!("t{}", i % 3)})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        name: Some(format!("name {i}")),
    }
}

/// `vectors` inserted by the SDK's route as `codec`'s records of then (two-bit, no digest).
fn insert_without_digest(
    server: &TestServer,
    kb: &str,
    key: &str,
    ctx: &ExecutionContext,
    codec: &RecordCodec,
    vectors: &[Vec<u8>],
) {
    let records = codec.encrypt(vectors).unwrap();
    let chunks: Vec<Value> = (0..vectors.len())
        .map(|i| {
            let sent = codec.record(&records, i, Some(&document(i))).unwrap();
            json!({
                "chunk_content": sent.content,
                "index": codec.index(&records.batch, i).unwrap(),
                "meta_data": sent.meta_data,
                "name": sent.name,
            })
        })
        .collect();
    let body = json!({ "kb_id": kb, "context_id": ctx.id(), "chunks": chunks });
    let url = format!("{}/v1/chunk/{}", server.url, server.org);
    let (status, answer) = call(Method::POST, &url, &[("x-api-key", key)], Some(&body));
    assert_eq!(status, 200, "{answer}");
}

/// Records written before digests (so before layouts: two-bit) under a context whose new
/// knowledge bases take the one-bit layout: read as two-bit, counted into a digest that says
/// so, and searched; a new knowledge base of the same context takes one-bit.
#[test]
fn records_from_before_digests_keep_their_layout() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("before-digests");
    let ctx = small_context_of(512, EMBED);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let stored = vectors(RECORDS, 22, EMBED);
    let then = RecordCodec::new(&ctx, &kb, BOTH).with_layout(LayoutKind::TwoBit);
    insert_without_digest(&server, &kb, &key, &ctx, &then, &stored);
    let summary = client.rebuild_digest(&kb, &ctx, BOTH, None, false).unwrap();
    assert_eq!(
        (summary.records, summary.layout),
        (RECORDS as u64, LayoutKind::TwoBit)
    );
    let options = SearchOptions {
        top_k: 1,
        records: BOTH,
        expect_count: Some(RECORDS),
        ..SearchOptions::default()
    };
    let hits = client
        .search_records(&kb, &ctx, &stored[5], &options)
        .unwrap();
    assert_eq!(hits[0].distance, 0);

    let fresh = server.kb_for("after-digests", &key);
    client
        .upload_records(&fresh, &ctx, &stored, &[], BOTH)
        .unwrap();
    let summary = client.digest_summary(&fresh, &ctx, BOTH).unwrap();
    assert_eq!(summary.layout, LayoutKind::OneBit);
    let hits = client
        .search_records(&fresh, &ctx, &stored[5], &options)
        .unwrap();
    assert_eq!(hits[0].distance, 0);
}

#[test]
fn records_under_the_earlier_keys_are_named_then_sealed_again() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("legacy");
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let stored = vectors(RECORDS, 21, EMBED);

    // Written as a client did before keys were bound: the SDK's insert, the earlier keys.
    let legacy = RecordCodec::new(&ctx, &kb, BOTH)
        .with_derivation(KeyDerivation::Legacy)
        .with_layout(LayoutKind::TwoBit);
    insert_without_digest(&server, &kb, &key, &ctx, &legacy, &stored);

    let options = SearchOptions {
        top_k: 3,
        records: BOTH,
        with_content: true,
        ..SearchOptions::default()
    };
    match client.search_records(&kb, &ctx, &stored[4], &options) {
        Err(Error::Library(paillier_gpu::Error::InvalidParameter(message))) => {
            assert!(message.contains("remote digest reseal"), "{message}")
        }
        other => panic!("expected the earlier keys named, got {other:?}"),
    }

    let summary = client.reseal_records(&kb, &ctx, BOTH).unwrap();
    assert_eq!(summary.records, RECORDS as u64);
    let hits = client
        .search_records(&kb, &ctx, &stored[4], &options)
        .unwrap();
    assert_eq!(hits[0].distance, 0);
    assert_eq!(hits[0].document.as_ref(), Some(&document(4)));
    // Sealed again, a second run changes nothing.
    let again = client.reseal_records(&kb, &ctx, BOTH).unwrap();
    assert_eq!(again, summary);
    // The tokens are the new keys': a filter finds what the owner wrote.
    let found = client
        .find_records(&kb, &ctx, &json!({"tag1": "t1"}), BOTH)
        .unwrap();
    assert_eq!(found.len(), RECORDS / 3);
}
