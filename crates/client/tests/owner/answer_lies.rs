//! A service that lies about a verified search's answer, caught by the Rust client: a tampering
//! proxy (`tools/tamper-proxy.py`) between the client and a real server, each lie of
//! [`answer_lies`] refused as its kind, then a replayed answer, a record of another knowledge
//! base, an ignored filter and a record uploaded without verification; honest answers through
//! the same proxy raise no alarm, and an insert whose answer is lost is not sent again. The
//! CLI's half is the program's test server_trustless.rs.

use paillier_gpu::verifiable::{Document, LayoutKind};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, Error, RecordOptions, SearchOptions};
use paillier_gpu_testing::data::{hamming, near, small_context, small_context_of, vectors, BOTH};
use paillier_gpu_testing::lies::{answer_lies, Targets};
use paillier_gpu_testing::tamper::TamperProxy;
use paillier_gpu_testing::TestServer;
use serde_json::json;

const EMBED: usize = 48;
const RECORDS: usize = 60;

fn documents(count: usize) -> Vec<Document> {
    (0..count)
        .map(|i| Document {
            content: format!("document {i}"),
            meta_data:
                json!({"tag1": format!("t{}", i % 4), "facets": ["all", format!("f{}", i % 3)]})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            name: Some(format!("name {i}")),
        })
        .collect()
}

fn search(
    client: &Client,
    kb: &str,
    ctx: &ExecutionContext,
    query: &[u8],
    count: Option<usize>,
) -> paillier_gpu_client::Result<Vec<(i64, u32)>> {
    let options = SearchOptions {
        top_k: 3,
        records: BOTH,
        expect_count: count,
        ..SearchOptions::default()
    };
    let hits = client.search_records(kb, ctx, query, &options)?;
    Ok(hits.iter().map(|h| (h.chunk_id, h.distance)).collect())
}

#[test]
fn every_lie_is_caught_in_two_bit_records() {
    let ctx = small_context(EMBED);
    assert_eq!(ctx.preferred_layout().unwrap().kind(), LayoutKind::TwoBit);
    every_lie_is_caught(ctx);
}

#[test]
fn every_lie_is_caught_in_one_bit_records() {
    let ctx = small_context_of(512, EMBED);
    assert_eq!(ctx.preferred_layout().unwrap().kind(), LayoutKind::OneBit);
    every_lie_is_caught(ctx);
}

fn every_lie_is_caught(ctx: ExecutionContext) {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("verified");
    let other_kb = server.kb_for("another", &key);
    let direct = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    direct.push_context(&ctx).unwrap();
    let stored = vectors(RECORDS, 1, EMBED);
    let ids = direct
        .upload_records(&kb, &ctx, &stored, &documents(RECORDS), BOTH)
        .unwrap()
        .into_iter()
        .map(|u| u.chunk_id)
        .collect::<Vec<i64>>();
    direct
        .upload_records(&other_kb, &ctx, &vectors(4, 2, EMBED), &[], BOTH)
        .unwrap();

    let proxy = TamperProxy::start(&server.url);
    let client = Client::new(&proxy.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    let query = near(&stored[0]);
    let n = ctx.public().public_key().n().to_string();
    let (nearest, far) = (ids[0], ids[50]);
    let honest = search(&client, &kb, &ctx, &query, Some(RECORDS)).unwrap();
    assert_eq!(honest[0], (nearest, 2));

    // The digest fixed the layout at the first upload: the context's preferred one.
    let digest = direct.digest_summary(&kb, &ctx, BOTH).unwrap();
    let layout = ctx.preferred_layout().unwrap();
    assert_eq!(digest.layout, layout.kind());
    let targets = Targets {
        nearest,
        second_nearest: honest[1].0,
        second: ids[1],
        far,
        records: RECORDS,
    };
    for lie in answer_lies(&layout, &n, &query, &targets) {
        proxy.set(lie.attack);
        match search(&client, &kb, &ctx, &query, lie.expect_count) {
            Err(Error::Library(paillier_gpu::Error::AnswerRejected(rejection))) => {
                assert!(rejection.has(lie.kind), "{}: {rejection}", lie.name);
                let message = rejection.to_string();
                assert!(message.contains(lie.words), "{}: {message}", lie.name);
            }
            other => panic!("{}: the Rust client got {other:?}", lie.name),
        }
    }

    // The previous query's answer replayed.
    proxy.honest();
    search(&client, &kb, &ctx, &near(&stored[7]), None).unwrap();
    proxy.set(json!({"kind": "replay"}));
    let replayed = search(&client, &kb, &ctx, &query, None).unwrap_err();
    assert!(replayed.to_string().contains("replayed"), "{replayed}");

    // A record of another knowledge base (the other's last answer, to the same query).
    proxy.honest();
    search(&client, &other_kb, &ctx, &query, None).unwrap();
    proxy.set(json!({"kind": "foreign", "from_kb": other_kb, "chunk_id": far}));
    let message = search(&client, &kb, &ctx, &query, None)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("foreign") && message.contains(&far.to_string()),
        "{message}"
    );

    // A service that ignores the filter: what it includes fails the filter on the metadata as
    // written, in a search's top k and in a metadata search.
    proxy.set(json!({"kind": "drop_filter"}));
    let filtered = SearchOptions {
        filter: Some(json!({"tag1": "t3"})),
        top_k: 5,
        records: BOTH,
        ..SearchOptions::default()
    };
    let message = client
        .search_records(&kb, &ctx, &query, &filtered)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("outside the filter") && message.contains(&nearest.to_string()),
        "{message}"
    );
    let message = client
        .find_records(&kb, &ctx, &json!({"tag1": "t3"}), BOTH)
        .unwrap_err()
        .to_string();
    assert!(message.contains("outside the filter"), "{message}");

    // Honest again: the same search passes.
    proxy.honest();
    assert_eq!(
        search(&client, &kb, &ctx, &query, Some(RECORDS)).unwrap(),
        honest
    );

    // A record uploaded without verification into the verifiable knowledge base.
    let plain = direct
        .upload_records(
            &kb,
            &ctx,
            &[stored[0].clone()],
            &[],
            RecordOptions::default(),
        )
        .unwrap()
        .into_iter()
        .map(|u| u.chunk_id)
        .collect::<Vec<i64>>();
    let message = search(&client, &kb, &ctx, &query, None)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("uploaded without verification")
            && message.contains(&plain[0].to_string()),
        "{message}"
    );
}

#[test]
fn honest_searches_through_the_proxy_raise_no_alarm() {
    let searches: usize = std::env::var("PAILLIER_GPU_HONEST_SEARCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("honest");
    let ctx = small_context(EMBED);
    let direct = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    direct.push_context(&ctx).unwrap();
    let stored = vectors(RECORDS, 3, EMBED);
    let ids = direct
        .upload_records(&kb, &ctx, &stored, &documents(RECORDS), BOTH)
        .unwrap()
        .into_iter()
        .map(|u| u.chunk_id)
        .collect::<Vec<i64>>();
    let proxy = TamperProxy::start(&server.url);
    let client = Client::new(&proxy.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    for (i, query) in vectors(searches, 4, EMBED).iter().enumerate() {
        let options = SearchOptions {
            top_k: 5,
            records: BOTH,
            expect_count: Some(RECORDS),
            with_content: i % 4 == 0,
            ..SearchOptions::default()
        };
        let hits = client.search_records(&kb, &ctx, query, &options).unwrap();
        let mut expected: Vec<(i64, u32)> = ids
            .iter()
            .zip(&stored)
            .map(|(&id, v)| (id, hamming(v, query)))
            .collect();
        expected.sort_by_key(|&(id, d)| (d, id));
        expected.truncate(5);
        let got: Vec<(i64, u32)> = hits.iter().map(|h| (h.chunk_id, h.distance)).collect();
        assert_eq!(got, expected, "search {i}");
        assert_eq!(hits[0].document.is_some(), i % 4 == 0, "search {i}");
        if let Some(document) = &hits[0].document {
            let position = ids.iter().position(|&id| id == hits[0].chunk_id).unwrap();
            assert_eq!(document.content, format!("document {position}"));
            assert_eq!(document.meta_data, documents(RECORDS)[position].meta_data);
        }
    }
}

#[test]
fn an_insert_whose_answer_is_lost_is_not_sent_again() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("lost");
    let ctx = small_context(EMBED);
    let proxy = TamperProxy::start(&server.url);
    let client = Client::new(&proxy.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    // Two requests' worth: the first is stored, its answer lost, and the upload stops there.
    let stored = vectors(paillier_gpu_client::UPLOAD_BATCH + 20, 12, EMBED);
    proxy.set(json!({"kind": "lose_insert"}));
    let lost = client
        .upload_records(&kb, &ctx, &stored, &[], BOTH)
        .unwrap_err()
        .to_string();
    // Verifiable records go with the owner's digest (POST /v1/records): the write "may have
    // been committed".
    assert!(
        lost.contains("may have been") && lost.contains("not sent again"),
        "{lost}"
    );
    // Exactly one copy of the first request's records is there.
    proxy.honest();
    let options = SearchOptions {
        top_k: 1,
        records: BOTH,
        expect_count: Some(paillier_gpu_client::UPLOAD_BATCH),
        ..SearchOptions::default()
    };
    let hits = client
        .search_records(&kb, &ctx, &stored[3], &options)
        .unwrap();
    assert_eq!(hits[0].distance, 0);
}
