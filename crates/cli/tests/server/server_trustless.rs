//! A service that lies, caught by the CLI: a tampering proxy (`tools/tamper-proxy.py`) between
//! `remote search --verify` and a real `serve`, each lie of [`answer_lies`] refused with its
//! message and nothing of the answer printed, then a replayed answer and a record of another
//! knowledge base; an honest answer through the same proxy is printed. The Rust client's half
//! is crates/client/tests/owner/answer_lies.rs.

use crate::common;

use std::path::Path;

use common::cli::{fails, ok, run_with, write_jsonl};
use common::server::{small_context, small_context_of, vectors, Server};
use common::tamper::TamperProxy;
use paillier_gpu::verifiable::{Document, LayoutKind};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, SearchOptions};
use paillier_gpu_testing::data::{near, BOTH};
use paillier_gpu_testing::lies::{answer_lies, Targets};
use serde_json::json;

const EMBED: usize = 48;
const RECORDS: usize = 60;

fn documents(count: usize) -> Vec<Document> {
    (0..count)
        .map(|i| Document {
            content: format!("document {i}"),
            meta_data: json!({"tag1": format!("t{}", i % 4)})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            name: Some(format!("name {i}")),
        })
        .collect()
}

/// The CLI's verified search through `url`: its output, or its one error line.
fn cli_search(
    d: &Path,
    url: &str,
    org: &str,
    key: &str,
    kb: &str,
    count: Option<usize>,
) -> std::process::Output {
    let count = count.map(|c| c.to_string());
    let mut args = vec![
        "remote",
        "search",
        "--kb",
        kb,
        "--context",
        "ctx.json",
        "--query",
        "q.jsonl",
        "--top-k",
        "3",
        "--verify",
        "--private-meta",
    ];
    if let Some(count) = &count {
        args.extend(["--expect-count", count.as_str()]);
    }
    let env = [
        ("PAILLIER_GPU_DEVICE", "cpu"),
        ("PAILLIER_GPU_REMOTE", url),
        ("PAILLIER_GPU_ORG", org),
        ("PAILLIER_GPU_API_KEY", key),
    ];
    run_with(d, Some("pw"), &args, &env)
}

#[test]
fn every_lie_is_caught_in_two_bit_records() {
    let ctx = small_context(EMBED);
    assert_eq!(ctx.preferred_layout().unwrap().kind(), LayoutKind::TwoBit);
    every_lie_is_caught_by_the_cli(ctx);
}

#[test]
fn every_lie_is_caught_in_one_bit_records() {
    let ctx = small_context_of(512, EMBED);
    assert_eq!(ctx.preferred_layout().unwrap().kind(), LayoutKind::OneBit);
    every_lie_is_caught_by_the_cli(ctx);
}

fn every_lie_is_caught_by_the_cli(ctx: ExecutionContext) {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("verified");
    let other_kb = server.kb_for("another", &key);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = ctx.to_json().unwrap();
    std::fs::write(d.join("ctx.json"), &text).unwrap();
    let direct = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    direct.push_context_json(ctx.id(), &text).unwrap();
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
    let query = near(&stored[0]);
    let top = SearchOptions {
        top_k: 2,
        records: BOTH,
        ..SearchOptions::default()
    };
    let honest = direct.search_records(&kb, &ctx, &query, &top).unwrap();

    let proxy = TamperProxy::start(&server.url);
    let cli = |kb: &str, count| cli_search(d, &proxy.url, &server.org, &key, kb, count);
    let n = ctx.public().public_key().n().to_string();
    let targets = Targets {
        nearest: ids[0],
        second_nearest: honest[1].chunk_id,
        second: ids[1],
        far: ids[50],
        records: RECORDS,
    };
    write_jsonl(&d.join("q.jsonl"), std::slice::from_ref(&query));
    let layout = ctx.preferred_layout().unwrap();
    for lie in answer_lies(&layout, &n, &query, &targets) {
        proxy.set(lie.attack);
        let message = fails(cli(&kb, lie.expect_count));
        assert!(
            message.contains("fails verification") && message.contains(lie.words),
            "{}: {message}",
            lie.name
        );
        assert!(!message.contains("\"results\""), "{}: {message}", lie.name);
    }

    // The previous query's answer replayed (the previous one asked of the same file).
    proxy.honest();
    ok(cli(&kb, None));
    proxy.set(json!({"kind": "replay"}));
    let message = fails(cli(&kb, None));
    assert!(message.contains("replayed"), "{message}");

    // A record of another knowledge base (the other's last answer, to the same query).
    proxy.honest();
    ok(cli(&other_kb, None));
    proxy.set(json!({"kind": "foreign", "from_kb": other_kb, "chunk_id": targets.far}));
    let message = fails(cli(&kb, None));
    assert!(
        message.contains("foreign") && message.contains(&targets.far.to_string()),
        "{message}"
    );

    // Honest again: the CLI prints the top k.
    proxy.honest();
    let printed = ok(cli(&kb, Some(RECORDS)));
    assert!(
        printed.contains(&format!("\"chunk_id\":{}", targets.nearest)),
        "{printed}"
    );
}
