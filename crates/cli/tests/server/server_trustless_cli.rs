//! The CLI's verifiable records and private metadata end to end against a real `serve`:
//! `remote upload --verifiable --private-meta`, `remote search --verify --with-content
//! --private-meta`, `remote find|patch|delete` by private metadata, and the mistakes it refuses
//! with a message.

use crate::common;

use std::path::Path;

use common::cli::{fails, ok, run_with, small_context_args, write_jsonl};
use common::server::{hamming, vectors, Server};
use serde_json::{json, Value};

const EMBED: usize = 48;

fn cli(d: &Path, server: &Server, key: &str, args: &[&str]) -> std::process::Output {
    server.cli(d, "pw", Some(key), args)
}

/// A context `ctx.json` in `d`, pushed, and 20 verifiable records with private metadata
/// (`tag1` group0 or group1 by parity, `name` doc-i, `content` text i) uploaded into `kb`:
/// their vectors and the first chunk id.
fn upload_private(d: &Path, server: &Server, key: &str, kb: &str) -> (Vec<Vec<u8>>, i64) {
    ok(run_with(
        d,
        Some("pw"),
        &small_context_args("48", "--output", "ctx.json"),
        &[],
    ));
    ok(cli(
        d,
        server,
        key,
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
        server,
        key,
        &[
            "remote",
            "upload",
            "--kb",
            kb,
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
    (stored, uploaded["first_chunk_id"].as_i64().unwrap())
}

#[test]
fn the_cli_uploads_verifiable_private_records_and_prints_what_it_verified() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("cli-verified");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (stored, first) = upload_private(d, &server, &key, &kb);

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
    let hits = line["results"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "the top 2 of the records of group1");
    for hit in hits {
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

#[test]
fn the_cli_finds_patches_and_deletes_private_records_by_metadata() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("cli-by-meta");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, first) = upload_private(d, &server, &key, &kb);
    let run = |command: &str, filter: &str, extra: &[&str]| {
        let mut args = vec![
            "remote",
            command,
            "--kb",
            kb.as_str(),
            "--context",
            "ctx.json",
            "--filter",
            filter,
        ];
        args.extend_from_slice(extra);
        cli(d, &server, &key, &args)
    };
    let private = ["--verifiable", "--private-meta"];
    let found = |filter: &str| -> Vec<Value> {
        ok(run("find", filter, &private))
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    };

    // Found by a tokenised filter, shown as written.
    let odd = found(r#"{"tag1": "group1"}"#);
    assert_eq!(odd.len(), 10);
    for record in &odd {
        let i = record["chunk_id"].as_i64().unwrap() - first;
        assert_eq!(i % 2, 1, "{record}");
        assert_eq!(record["content"], format!("text {i}"));
        assert_eq!(record["name"], format!("doc-{i}"));
        assert_eq!(
            record["meta_data"],
            json!({"tag1": "group1", "facets": ["x"]})
        );
    }
    // Without --private-meta the plain value matches no token: nothing is printed, and a
    // note says which flag the knowledge base was written with.
    let plain = run("find", r#"{"tag1": "group1"}"#, &["--verifiable"]);
    let noted = String::from_utf8_lossy(&plain.stderr);
    assert!(plain.status.success(), "{noted}");
    assert_eq!(String::from_utf8_lossy(&plain.stdout).trim(), "");
    assert!(
        noted.contains("note:") && noted.contains("written with --private-meta"),
        "{noted}"
    );

    // Patched here: the new value found by its token, the old one kept.
    let patched = ok(run(
        "patch",
        r#"{"tag1": "group1"}"#,
        &[
            "--patch",
            r#"{"tag2": "reviewed"}"#,
            "--verifiable",
            "--private-meta",
        ],
    ));
    let patched: Value = serde_json::from_str(patched.trim()).unwrap();
    assert_eq!(patched["patched"].as_array().unwrap().len(), 10);
    let reviewed = found(r#"{"tag2": "reviewed"}"#);
    assert_eq!(reviewed.len(), 10);
    assert!(reviewed.iter().all(|r| r["meta_data"]["tag1"] == "group1"));

    // A delete in the wrong mode: a plain $ne would select every record (tokens are never
    // "x"); the records are opened first, which fails, and nothing is deleted.
    // Each wrong mode names the flag the records were written with, and blames neither the
    // key nor the service.
    for (filter, flags) in [
        (r#"{"tag1": {"$ne": "x"}}"#, &[][..]),
        (r#"{"tag1": {"$ne": "group1"}}"#, &["--verifiable"][..]),
    ] {
        for command in ["delete", "find"] {
            let refused = fails(run(command, filter, flags));
            assert!(
                refused.contains("written with --private-meta"),
                "{command} {flags:?}: {refused}"
            );
        }
    }
    assert_eq!(found(r#"{"facets": "x"}"#).len(), 20);

    // Deleted by a tokenised filter: counted first, then gone.
    let counted = ok(run(
        "delete",
        r#"{"tag1": "group0"}"#,
        &["--verifiable", "--private-meta", "--dry-run"],
    ));
    assert_eq!(counted.trim(), r#"{"would_delete":10}"#);
    let deleted = ok(run("delete", r#"{"tag1": "group0"}"#, &private));
    assert_eq!(deleted.trim(), r#"{"deleted":10}"#);
    assert!(found(r#"{"tag1": "group0"}"#).is_empty());
    assert_eq!(found(r#"{"facets": "x"}"#).len(), 10);

    // What tokens cannot answer, and a patch that is not an object.
    let refused = fails(run(
        "delete",
        r#"{"tag1": {"$begins_with": "g"}}"#,
        &private,
    ));
    assert!(refused.contains("$begins_with"), "{refused}");
    let refused = fails(run("patch", r#"{"tag1": "group1"}"#, &["--patch", "[1]"]));
    assert!(
        refused.contains("--patch is not a JSON object"),
        "{refused}"
    );
}
