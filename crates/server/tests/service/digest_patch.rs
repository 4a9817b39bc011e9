//! Patches in a records write, against a real `serve`: a chunk's metadata changed (merged key
//! by key) in the transaction of the digest's compare-and-set, or not at all; a search by
//! `partition` sees the change through the posting lists of the rebuilt index.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::api::{self, ChunkUpdate, DigestWrite, RecordWrites};
use paillier_gpu_client::{Client, Error};
use paillier_gpu_testing::data::{sdk_pieces, small_context, vectors};
use paillier_gpu_testing::net::call;
use paillier_gpu_testing::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

const EMBED: usize = 64;

/// A records write of `(kb, ctx)` over digest version `expected`, without chunks.
fn write(kb: &str, ctx: &ExecutionContext, expected: i64) -> RecordWrites {
    RecordWrites {
        kb_id: kb.to_owned(),
        context_id: ctx.id().to_owned(),
        owner_digest: DigestWrite {
            expected_version: expected,
            version: expected + 1,
            sealed: BASE64.encode(format!("v{}", expected + 1)),
            link: None,
        },
        first_chunk_id: None,
        insert: None,
        update: None,
        delete: Vec::new(),
        patch: None,
        pages: None,
    }
}

/// A patch of chunk `id`'s metadata.
fn meta_patch(id: i64, meta: Value) -> ChunkUpdate {
    ChunkUpdate {
        chunk_id: id,
        meta_data: Some(meta),
        ..ChunkUpdate::default()
    }
}

#[test]
fn a_patch_commits_with_the_digest_and_a_stale_one_changes_nothing() {
    let server = TestServer::start();
    let (kb, owner) = server.kb_and_key("docs");
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &owner)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let stored = vectors(3, 7, EMBED);
    let inserted: Vec<api::Chunk> = (stored.iter().enumerate())
        .map(|(i, v)| api::Chunk {
            chunk_content: format!("c{i}"),
            index: sdk_pieces(&ctx, v),
            meta_data: Some(json!({"tag1": "t", "partition": "p0"})),
            name: Some(format!("n{i}")),
        })
        .collect();
    let mut first = write(&kb, &ctx, 0);
    first.first_chunk_id = Some(1);
    first.insert = Some(api::raw_list(&inserted).unwrap());
    assert_eq!(client.write_records(&first).unwrap().chunk_ids, [1, 2, 3]);
    let query = ctx.encrypt_batch(&[&stored[0]]).unwrap();
    let in_partition = |partition: &str| {
        let filter = json!({"partition": {"$in": [partition, "nowhere"]}});
        let answer = client.compute_hamming(
            &kb,
            ctx.id(),
            &ctx.public_context(),
            &query,
            Some(&filter),
            None,
        );
        answer.unwrap().chunk_ids
    };
    assert_eq!(in_partition("p0"), [1, 2, 3], "the index is built now");
    let meta_of = |id: i64| client.chunks_by_id(&kb, &[id], &[]).unwrap()[0]["meta_data"].clone();

    // Chunk 2 moves to partition p1 and loses tag1, with the digest from 1 to 2.
    let mut moved = write(&kb, &ctx, 1);
    let patch = [meta_patch(2, json!({"partition": "p1", "tag1": null}))];
    moved.patch = Some(api::raw_list(&patch).unwrap());
    let written = client.write_records(&moved).unwrap();
    assert_eq!(
        (
            written.chunk_ids.len(),
            written.version,
            written.next_chunk_id
        ),
        (0, 2, 4)
    );
    assert_eq!(meta_of(2), json!({"partition": "p1"}));
    assert_eq!(meta_of(1), json!({"tag1": "t", "partition": "p0"}));
    let held = client.owner_digest(&kb, ctx.id()).unwrap();
    assert_eq!(
        (held.version, held.sealed.as_deref()),
        (2, Some(BASE64.encode("v2").as_str()))
    );
    assert_eq!(in_partition("p1"), [2]);
    assert_eq!(in_partition("p0"), [1, 3]);

    // The same write again is over a stale version: a conflict, and chunk 3 keeps p0.
    let mut stale = write(&kb, &ctx, 1);
    let patch = [meta_patch(3, json!({"partition": "p1"}))];
    stale.patch = Some(api::raw_list(&patch).unwrap());
    match client.write_records(&stale) {
        Err(Error::DigestConflict {
            current_version: 2,
            next_chunk_id: 4,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(meta_of(3), json!({"tag1": "t", "partition": "p0"}));
    assert_eq!(client.owner_digest(&kb, ctx.id()).unwrap().version, 2);
    assert_eq!(in_partition("p1"), [2]);

    // Malformed or unfit patches: 4xx, nothing written.
    let url = format!("{}/v1/records/{}", server.url, server.org);
    let key = [("x-api-key", owner.as_str())];
    let with_patch = |patch: Value| {
        let mut body = json!(write(&kb, &ctx, 2));
        body["patch"] = patch;
        body
    };
    let cases = [
        (
            with_patch(json!([{"chunk_id": 9, "meta_data": {"partition": "p1"}}])),
            404,
        ),
        (with_patch(json!([{"chunk_id": 3, "meta_data": "p1"}])), 400),
        (with_patch(json!({"chunk_id": 3})), 400),
        (
            with_patch(json!([{"chunk_id": 3, "meta_data": {}}, {"chunk_id": 3, "name": "x"}])),
            400,
        ),
        (
            {
                let mut body = with_patch(json!([{"chunk_id": 3, "meta_data": {}}]));
                body["delete"] = json!([3]);
                body
            },
            400,
        ),
    ];
    for (body, expected) in &cases {
        let (status, answer) = call(Method::POST, &url, &key, Some(body));
        assert_eq!(status, *expected, "{body}: {answer}");
    }
    assert_eq!(meta_of(3), json!({"tag1": "t", "partition": "p0"}));
    assert_eq!(client.owner_digest(&kb, ctx.id()).unwrap().version, 2);
}
