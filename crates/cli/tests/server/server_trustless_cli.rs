//! The CLI's verifiable records and private metadata end to end against a real `serve`:
//! `remote upload --verifiable --private-meta` and `remote search --verify --with-content
//! --private-meta`, and the mistakes it refuses with a message.

use crate::common;

use std::path::Path;

use common::cli::{fails, ok, run_with, small_context_args, write_jsonl};
use common::server::{hamming, vectors, Server};
use serde_json::{json, Value};

const EMBED: usize = 48;

fn cli(d: &Path, server: &Server, key: &str, args: &[&str]) -> std::process::Output {
    server.cli(d, "pw", Some(key), args)
}

#[test]
fn the_cli_uploads_verifiable_private_records_and_prints_what_it_verified() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("cli-verified");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(run_with(
        d,
        Some("pw"),
        &small_context_args("48", "--output", "ctx.json"),
        &[],
    ));
    ok(cli(
        d,
        &server,
        &key,
        &["context", "push", "--context", "ctx.json"],
    ));
    let stored = vectors(20, 11, EMBED);
    write_jsonl(&d.join("v.jsonl"), &stored);
    let documents: String = (0..20)
        .map(|i| {
            let doc = json!({"content": format!("text {i}"), "name": format!("doc-{i}"),
                             "meta_data": {"tag1": format!("group{}", i % 2), "facets": ["x"]}});
            format!("{doc}\n")
        })
        .collect();
    std::fs::write(d.join("docs.jsonl"), documents).unwrap();
    let uploaded = ok(cli(
        d,
        &server,
        &key,
        &[
            "remote",
            "upload",
            "--kb",
            &kb,
            "--context",
            "ctx.json",
            "--vectors",
            "v.jsonl",
            "--documents",
            "docs.jsonl",
            "--verifiable",
            "--private-meta",
        ],
    ));
    let uploaded: Value = serde_json::from_str(uploaded.trim()).unwrap();
    assert_eq!(uploaded["uploaded"], 20);
    let first = uploaded["first_chunk_id"].as_i64().unwrap();

    let query = stored[4].clone();
    write_jsonl(&d.join("q.jsonl"), std::slice::from_ref(&query));
    let search = |extra: &[&str]| {
        let mut args = vec![
            "remote",
            "search",
            "--kb",
            kb.as_str(),
            "--context",
            "ctx.json",
            "--query",
            "q.jsonl",
            "--top-k",
            "2",
        ];
        args.extend_from_slice(extra);
        cli(d, &server, &key, &args)
    };
    let printed = ok(search(&[
        "--verify",
        "--expect-count",
        "20",
        "--with-content",
        "--private-meta",
    ]));
    let line: Value = serde_json::from_str(printed.trim()).unwrap();
    let best = &line["results"][0];
    assert_eq!(best["chunk_id"], first + 4);
    assert_eq!(best["distance"], 0);
    assert_eq!(best["content"], "text 4");
    assert_eq!(best["name"], "doc-4");
    assert_eq!(
        best["meta_data"],
        json!({"tag1": "group0", "facets": ["x"]})
    );
    let second = &line["results"][1];
    let position = (second["chunk_id"].as_i64().unwrap() - first) as usize;
    assert_eq!(second["distance"], hamming(&stored[position], &query));

    // A private filter, tokenised; an order filter refused with the reason.
    let printed = ok(search(&[
        "--verify",
        "--private-meta",
        "--filter",
        r#"{"tag1": "group1"}"#,
    ]));
    let line: Value = serde_json::from_str(printed.trim()).unwrap();
    for hit in line["results"].as_array().unwrap() {
        assert_eq!((hit["chunk_id"].as_i64().unwrap() - first) % 2, 1, "{hit}");
    }
    let refused = fails(search(&[
        "--verify",
        "--private-meta",
        "--filter",
        r#"{"tag1": {"$lt": "g"}}"#,
    ]));
    assert!(
        refused.contains("$lt on tag1 is refused") && refused.contains("order"),
        "{refused}"
    );

    // A count with a filter, a count without --verify, and a verifiable knowledge base searched
    // without verification.
    let refused = fails(search(&[
        "--verify",
        "--expect-count",
        "20",
        "--filter",
        r#"{"tag1": "group1"}"#,
    ]));
    assert!(refused.contains("no filter and no range"), "{refused}");
    let usage = search(&["--expect-count", "20"]);
    assert!(!usage.status.success());
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--verify"));
    let refused = fails(search(&[]));
    assert!(refused.contains("--verify"), "{refused}");
}
