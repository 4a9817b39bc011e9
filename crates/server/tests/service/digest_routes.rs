//! The owner's digest routes and record writes that commit with the digest, against a real
//! `serve`: who may read and write them, what they refuse, and the resident index following
//! each write.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::api::{self, ChunkUpdate, DigestWrite, RecordWrites};
use paillier_gpu_client::{Client, Error};
use paillier_gpu_testing::data::{hamming, sdk_pieces, small_context, vectors};
use paillier_gpu_testing::net::call;
use paillier_gpu_testing::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

const EMBED: usize = 64;

fn digest_write(expected_version: i64, sealed: &str) -> DigestWrite {
    DigestWrite {
        expected_version,
        version: expected_version + 1,
        sealed: BASE64.encode(sealed),
        link: None,
    }
}

/// Chunks of `vectors` as an insert sends them.
fn chunks(ctx: &ExecutionContext, vectors: &[Vec<u8>]) -> Vec<api::Chunk> {
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| api::Chunk {
            chunk_content: format!("c{i}"),
            index: sdk_pieces(ctx, v),
            meta_data: Some(json!({ "tag1": "t" })),
            name: Some(format!("n{i}")),
        })
        .collect()
}

#[test]
fn the_digest_routes_answer_only_those_who_may_read_or_write() {
    let server = TestServer::start();
    let (kb, owner) = server.kb_and_key("docs");
    let reader = server.key_with(&kb, 1);
    let rival = server.other_organisation();
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &owner)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    client
        .upload(
            &kb,
            &ctx,
            &ctx.encrypt_batch(&vectors(1, 1, EMBED)).unwrap(),
            &[],
        )
        .unwrap();

    let path = format!(
        "{}/v1/owner_digest/{}/{kb}/{}",
        server.url,
        server.org,
        ctx.id()
    );
    let records = format!("{}/v1/records/{}", server.url, server.org);
    let as_key = |key: &str| vec![("x-api-key", key.to_owned())];
    let send = |method: Method, url: &str, key: Option<&str>, body: Option<&Value>| {
        let headers: Vec<(&str, String)> = key.map(as_key).unwrap_or_default();
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        call(method, url, &headers, body)
    };

    let (status, answer) = send(Method::GET, &path, Some(&owner), None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"version": 0, "sealed": null, "next_chunk_id": 2, "chunks": 1})
    );
    let put = json!(digest_write(0, "one"));
    let (status, answer) = send(Method::PUT, &path, Some(&owner), Some(&put));
    assert_eq!(
        (status, answer),
        (200, json!({"version": 1, "next_chunk_id": 2}))
    );

    // A read-only key reads it, and may write neither it nor records.
    let (status, answer) = send(Method::GET, &path, Some(&reader), None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sealed"], BASE64.encode("one"));
    let next = json!(digest_write(1, "two"));
    assert_eq!(send(Method::PUT, &path, Some(&reader), Some(&next)).0, 403);
    let write = json!({"kb_id": kb, "context_id": ctx.id(), "owner_digest": next});
    assert_eq!(
        send(Method::POST, &records, Some(&reader), Some(&write)).0,
        403
    );
    // Another organisation's key: 404, on our organisation's path or on its own.
    for key in [Some(rival.as_str()), None] {
        let expected = if key.is_some() { 404 } else { 401 };
        assert_eq!(send(Method::GET, &path, key, None).0, expected);
        assert_eq!(send(Method::PUT, &path, key, Some(&next)).0, expected);
        assert_eq!(send(Method::POST, &records, key, Some(&write)).0, expected);
    }
    let (status, _) = send(
        Method::GET,
        &path.replace(&server.org, "org-of-nobody"),
        Some(&owner),
        None,
    );
    assert_eq!(status, 404);
    // An unknown knowledge base or context: 404.
    let unknown_kb = path.replace(&kb, "kb-nowhere");
    assert_eq!(send(Method::GET, &unknown_kb, Some(&owner), None).0, 404);
    let unknown_ctx = path.replace(ctx.id(), "ctx-nowhere");
    assert_eq!(send(Method::GET, &unknown_ctx, Some(&owner), None).0, 404);

    // A stale version: 409, saying where things stand; nothing written.
    let (status, answer) = send(Method::PUT, &path, Some(&owner), Some(&put));
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        (&answer["current_version"], &answer["next_chunk_id"]),
        (&json!(1), &json!(2))
    );
    assert!(answer["message"].is_string());
    // Bad inputs: 4xx, nothing written.
    let bad = [
        (
            json!({"expected_version": 1, "version": 2, "sealed": "not base64!"}),
            400,
        ),
        (json!({"expected_version": 1, "version": 2}), 400),
        (
            json!({"expected_version": -1, "version": 0, "sealed": ""}),
            400,
        ),
        (
            json!({"expected_version": 1, "version": -2, "sealed": ""}),
            400,
        ),
        (
            json!({"expected_version": 1, "version": 1, "sealed": ""}),
            409,
        ),
        (
            json!({"expected_version": 1, "version": 2, "sealed": BASE64.encode(vec![0u8; (4 << 20) + 1])}),
            413,
        ),
    ];
    for (body, expected) in &bad {
        let (status, answer) = send(Method::PUT, &path, Some(&owner), Some(body));
        assert_eq!(status, *expected, "{body}: {answer}");
    }
    let at_bound = json!(DigestWrite {
        sealed: BASE64.encode(vec![7u8; 4 << 20]),
        ..digest_write(1, "")
    });
    assert_eq!(
        send(Method::PUT, &path, Some(&owner), Some(&at_bound)).0,
        200
    );

    // Through the client: the digest as stored, and a conflict as its own error.
    let held = client.owner_digest(&kb, ctx.id()).unwrap();
    assert_eq!((held.version, held.next_chunk_id, held.chunks), (2, 2, 1));
    match client.put_owner_digest(&kb, ctx.id(), &digest_write(1, "late")) {
        Err(Error::DigestConflict {
            current_version: 2,
            next_chunk_id: 2,
        }) => {}
        other => panic!("{other:?}"),
    }
    let stored = client
        .put_owner_digest(&kb, ctx.id(), &digest_write(2, "three"))
        .unwrap();
    assert_eq!((stored.version, stored.next_chunk_id), (3, 2));
}

#[test]
fn record_writes_commit_with_the_digest_and_searches_follow() {
    let server = TestServer::start();
    let (kb, owner) = server.kb_and_key("docs");
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &owner)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let stored = vectors(6, 2, EMBED);
    let query = &vectors(1, 3, EMBED)[0];
    let writes = |expected: i64, first: Option<i64>, insert: &[Vec<u8>]| RecordWrites {
        kb_id: kb.clone(),
        context_id: ctx.id().to_owned(),
        owner_digest: digest_write(expected, &format!("v{}", expected + 1)),
        first_chunk_id: first,
        insert: (!insert.is_empty()).then(|| api::raw_list(&chunks(&ctx, insert)).unwrap()),
        update: None,
        delete: Vec::new(),
        patch: None,
        pages: None,
    };
    // Inserts into a new knowledge base bind the context, numbered from the id given.
    let written = client
        .write_records(&writes(0, Some(1), &stored[..3]))
        .unwrap();
    assert_eq!(
        (written.chunk_ids, written.version, written.next_chunk_id),
        (vec![1, 2, 3], 1, 4)
    );
    let expected = |ids: &[(i64, usize)]| {
        let mut all: Vec<(i64, u32)> = ids
            .iter()
            .map(|&(id, v)| (id, hamming(&stored[v], query)))
            .collect();
        all.sort();
        all
    };
    let search = || {
        let mut found = client
            .search(&kb, &ctx, query, None, None, usize::MAX)
            .unwrap();
        found.sort();
        found
    };
    assert_eq!(search(), expected(&[(1, 0), (2, 1), (3, 2)]));
    // An append, with the index built: the search sees it.
    let written = client
        .write_records(&writes(1, Some(4), &stored[3..4]))
        .unwrap();
    assert_eq!(written.chunk_ids, [4]);
    assert_eq!(search(), expected(&[(1, 0), (2, 1), (3, 2), (4, 3)]));
    // A wrong first id and a stale digest are conflicts; nothing is written.
    for (expected_version, first) in [(2, 9), (1, 5)] {
        match client.write_records(&writes(expected_version, Some(first), &stored[4..5])) {
            Err(Error::DigestConflict {
                current_version: 2,
                next_chunk_id: 5,
            }) => {}
            other => panic!("{other:?}"),
        }
    }
    // An update, a delete and an insert at once; a missing id refuses the whole write.
    let mut mixed = writes(2, Some(5), &stored[5..6]);
    mixed.update = Some(
        api::raw_list(&[ChunkUpdate {
            chunk_id: 1,
            index: Some(sdk_pieces(&ctx, &stored[4])),
            chunk_content: Some("replaced".into()),
            ..ChunkUpdate::default()
        }])
        .unwrap(),
    );
    mixed.delete = vec![2, 77];
    match client.write_records(&mixed) {
        Err(Error::Remote {
            status: 404,
            message,
        }) => assert!(message.contains("77"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(search(), expected(&[(1, 0), (2, 1), (3, 2), (4, 3)]));
    mixed.delete = vec![2];
    let written = client.write_records(&mixed).unwrap();
    assert_eq!(
        (written.chunk_ids, written.version, written.next_chunk_id),
        (vec![5], 3, 6)
    );
    assert_eq!(search(), expected(&[(1, 4), (3, 2), (4, 3), (5, 5)]));
    let held = client.owner_digest(&kb, ctx.id()).unwrap();
    assert_eq!((held.version, held.chunks, held.next_chunk_id), (3, 4, 6));
    assert_eq!(held.sealed, Some(BASE64.encode("v3")));

    // Malformed writes: 4xx, nothing written.
    let url = format!("{}/v1/records/{}", server.url, server.org);
    let key = [("x-api-key", owner.as_str())];
    let base = json!(writes(3, None, &[]));
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    let one_chunk = json!(chunks(&ctx, &stored[..1]));
    let cases = [
        (with("insert", one_chunk.clone()), 400), // no first_chunk_id
        (with("first_chunk_id", json!(6)), 400),  // an id, and nothing inserted
        (with("insert", json!([{"index": ["@@"]}])), 400),
        (with("update", json!([{"chunk_id": 1}])), 400), // an update without its index
        (with("delete", json!([3, 3])), 400),
        (with("delete", json!("3")), 400),
        (
            with("owner_digest", json!({"expected_version": 3, "version": 4})),
            400,
        ),
        (
            with(
                "owner_digest",
                json!({"expected_version": 3, "version": 4, "sealed": "%"}),
            ),
            400,
        ),
    ];
    for (body, expected) in &cases {
        let (status, answer) = call(Method::POST, &url, &key, Some(body));
        assert_eq!(status, *expected, "{body}: {answer}");
    }
    assert_eq!(client.owner_digest(&kb, ctx.id()).unwrap(), held);
}

#[test]
fn the_digest_links_are_read_after_a_version_by_those_who_may_read() {
    let server = TestServer::start();
    let (kb, owner) = server.kb_and_key("links");
    let reader = server.key_with(&kb, 1);
    let rival = server.other_organisation();
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &owner)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    client
        .upload(
            &kb,
            &ctx,
            &ctx.encrypt_batch(&vectors(1, 1, EMBED)).unwrap(),
            &[],
        )
        .unwrap();
    let path = format!(
        "{}/v1/owner_digest/{}/{kb}/{}",
        server.url,
        server.org,
        ctx.id()
    );
    let send = |method: Method, url: &str, key: Option<&str>, body: Option<&Value>| {
        let headers: Vec<(&str, &str)> = key.map(|k| vec![("x-api-key", k)]).unwrap_or_default();
        call(method, url, &headers, body)
    };
    let link = |version: i64, prev: i64, byte: u8| api::DigestLink {
        version,
        prev,
        link: BASE64.encode([byte; 32]),
    };
    for version in 1..=3 {
        let write = DigestWrite {
            link: Some(link(version, version - 1, version as u8)),
            ..digest_write(version - 1, "s")
        };
        client.put_owner_digest(&kb, ctx.id(), &write).unwrap();
    }
    let since = |n: i64| format!("{path}?since={n}");
    // A read-only key reads the links; another organisation's key and no key do not.
    let (status, answer) = send(Method::GET, &since(1), Some(&reader), None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["links"], json!([link(2, 1, 2), link(3, 2, 3)]));
    assert!(answer.get("more_links").is_none(), "{answer}");
    assert_eq!(send(Method::GET, &since(0), Some(&rival), None).0, 404);
    assert_eq!(send(Method::GET, &since(0), None, None).0, 401);
    // Without `since`, no links: the answer is the one before links.
    let (_, plain) = send(Method::GET, &path, Some(&owner), None);
    assert!(plain.get("links").is_none(), "{plain}");
    let held = client.owner_digest_since(&kb, ctx.id(), 0).unwrap();
    assert_eq!(held.links, [link(1, 0, 1), link(2, 1, 2), link(3, 2, 3)]);
    assert_eq!((held.version, held.more_links), (3, false));
    // A query or a link that is not one: 400, nothing written.
    for query in [
        "since=-1",
        "since=x",
        "since=",
        "until=2",
        "since=1&since=2",
    ] {
        let (status, answer) = send(Method::GET, &format!("{path}?{query}"), Some(&owner), None);
        assert_eq!(status, 400, "{query}: {answer}");
    }
    let short = api::DigestLink {
        link: BASE64.encode([1u8; 31]),
        ..link(4, 3, 1)
    };
    for bad in [link(5, 3, 1), link(4, 4, 1), link(4, -1, 1), short] {
        let write = DigestWrite {
            link: Some(bad.clone()),
            ..digest_write(3, "s")
        };
        let (status, answer) = send(Method::PUT, &path, Some(&owner), Some(&json!(write)));
        assert_eq!(status, 400, "{bad:?}: {answer}");
    }
    assert_eq!(client.owner_digest(&kb, ctx.id()).unwrap().version, 3);
}
