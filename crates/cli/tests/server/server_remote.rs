//! Our own clients against a real `paillier-gpu serve`: the library's `remote::Client`
//! (contexts both ways, upload in the SDK's batches, searches whose distances equal the
//! plaintext ones, filters and ranges that choose what is aggregated, metadata search, and the
//! errors a caller can match) and the CLI's `context push|pull|list` and `remote upload|search`.

use crate::common;

use std::path::Path;

use common::cli::{fails, ok, run_with, small_context_args};
use common::server::{hamming, vectors, Server};
use paillier_gpu::context::PassphraseKeyProvider;
use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};
use paillier_gpu_client::Error;
use paillier_gpu_client::{Client, Document};
use serde_json::{json, Map, Value};

const EMBED: usize = 64;

/// The `top_k` nearest of `stored` (chunk ids from 1) that `keep` allows, as the service's
/// search orders them: by distance, then chunk id.
fn expected(
    stored: &[Vec<u8>],
    query: &[u8],
    keep: impl Fn(i64) -> bool,
    top_k: usize,
) -> Vec<(i64, u32)> {
    let mut all: Vec<(i64, u32)> = stored
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64 + 1, hamming(v, query)))
        .filter(|&(id, _)| keep(id))
        .collect();
    all.sort_by_key(|&(id, d)| (d, id));
    all.truncate(top_k);
    all
}

fn tag(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "even"
    } else {
        "odd"
    }
}

#[test]
fn the_library_client_stores_contexts_uploads_and_searches() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("docs");
    let options = ContextOptions {
        scheme: Scheme::Paillier,
        key_len: 256,
        embed_len: EMBED,
        allow_insecure: true,
        ..ContextOptions::default()
    };
    let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    assert!(!format!("{client:?}").contains(&key));

    // Contexts both ways, byte for byte. A context id names one content: the same bytes again
    // change nothing; another sealing of the same keys (each to_json seals anew) is other
    // bytes, which the service refuses and push_context accepts as the same context; another
    // context under the id stays refused.
    let text = ctx.to_json().unwrap();
    assert_eq!(client.push_context_json(ctx.id(), &text).unwrap(), ctx.id());
    assert_eq!(client.push_context_json(ctx.id(), &text).unwrap(), ctx.id());
    match client.push_context_json(ctx.id(), &ctx.to_json().unwrap()) {
        Err(Error::Remote { status: 409, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(client.push_context(&ctx).unwrap(), ctx.id());
    assert_eq!(client.push_context(&ctx).unwrap(), ctx.id());
    let other = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    client.push_context_json(other.id(), &text).unwrap();
    match client.push_context(&other) {
        Err(Error::Remote { status: 409, .. }) => {}
        other => panic!("{other:?}"),
    }
    client.delete_context(other.id()).unwrap();
    assert_eq!(client.contexts().unwrap(), vec![ctx.id().to_owned()]);
    let pw = PassphraseKeyProvider::new("pw");
    let (reopened, pulled) = client.pull_context_json(ctx.id(), &pw).unwrap();
    assert_eq!(pulled, text);
    assert_eq!(reopened.id(), ctx.id());
    client.bind(&kb, ctx.id()).unwrap();
    assert_eq!(
        client.contexts_of_kb(&kb).unwrap(),
        vec![ctx.id().to_owned()]
    );

    // 700 chunks: two requests (500 + 200), ids from 1 in order.
    let stored = vectors(700, 1, EMBED);
    let documents: Vec<Document> = (0..stored.len())
        .map(|i| Document {
            content: format!("document {i}"),
            meta_data: Map::from_iter([("tag1".to_owned(), json!(tag(i)))]),
            name: None,
        })
        .collect();
    let batch = ctx.encrypt_batch(&stored).unwrap();
    let ids = client.upload(&kb, &ctx, &batch, &documents).unwrap();
    assert_eq!(ids, (1..=700).collect::<Vec<i64>>());
    assert!(matches!(
        client.upload(&kb, &ctx, &batch, &documents[..3]),
        Err(Error::Library(paillier_gpu::Error::ShapeMismatch(_)))
    ));

    let query = &vectors(1, 2, EMBED)[0];
    assert_eq!(
        client.search(&kb, &ctx, query, None, None, 10).unwrap(),
        expected(&stored, query, |_| true, 10)
    );
    // The filter and the range choose what is aggregated.
    let even = json!({ "tag1": "even" });
    assert_eq!(
        client
            .search(&kb, &ctx, query, Some(&even), None, 700)
            .unwrap(),
        expected(&stored, query, |id| (id - 1) % 2 == 0, 700)
    );
    assert_eq!(
        client
            .search(&kb, &ctx, query, None, Some((100, 199)), 5)
            .unwrap(),
        expected(&stored, query, |id| (100..=199).contains(&id), 5)
    );
    let answer = client
        .compute_hamming(
            &kb,
            ctx.id(),
            &ctx.public_context(),
            &ctx.encrypt_batch(&[query]).unwrap(),
            Some(&json!({ "tag1": { "$in": ["odd"] } })),
            Some((1, 10)),
        )
        .unwrap();
    assert_eq!(answer.chunk_ids, vec![2, 4, 6, 8, 10]);
    assert_eq!(answer.responses.records(), 5);

    // Metadata search lists the chunks, content still encrypted under the context's data key.
    let odd_filter = json!({ "tag1": "odd" });
    let odd = client
        .meta_search(&kb, ctx.id(), &odd_filter, false)
        .unwrap();
    assert_eq!(odd.len(), 350);
    assert!(odd[0].get("chunk_content").is_none(), "{}", odd[0]);
    let odd = client
        .meta_search(&kb, ctx.id(), &odd_filter, true)
        .unwrap();
    let first = odd.iter().find(|c| c["chunk_id"] == json!(2)).unwrap();
    let content = first["chunk_content"].as_str().unwrap();
    assert_eq!(&*ctx.decrypt_content(content).unwrap(), b"document 1");

    // Errors a caller can match.
    match Client::new(&server.url, &server.org, "xtr_wrong")
        .unwrap()
        .with_state_in_memory()
        .contexts()
    {
        Err(Error::Remote {
            status: 401,
            message,
        }) => assert!(message.contains("API key")),
        other => panic!("{other:?}"),
    }
    match Client::new(&server.url, "another-org", &key)
        .unwrap()
        .with_state_in_memory()
        .contexts()
    {
        Err(Error::Remote { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    match client.pull_context("0000", &pw) {
        Err(Error::Remote {
            status: 404,
            message,
        }) => assert!(message.contains("0000")),
        other => panic!("{other:?}"),
    }
    match client.search("no-such-kb", &ctx, query, None, None, 1) {
        Err(Error::Remote { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.pull_context("../x", &pw),
        Err(Error::InvalidSetting(_))
    ));
    assert!(matches!(
        Client::new("ftp://x", "o", "k"),
        Err(Error::InvalidSetting(_))
    ));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nobody = Client::new(&format!("http://{closed}"), "o", "k")
        .unwrap()
        .with_state_in_memory();
    assert!(matches!(
        nobody.contexts(),
        Err(Error::RemoteUnreachable { .. })
    ));
}

fn cli(d: &Path, server: &Server, api_key: Option<&str>, args: &[&str]) -> std::process::Output {
    server.cli(d, "pass", api_key, args)
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_cli_pushes_pulls_uploads_and_searches() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("docs");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(run_with(
        d,
        Some("pass"),
        &small_context_args("16", "--output", "ctx.json"),
        &[],
    ));
    let id = json_lines(&ok(cli(
        d,
        &server,
        None,
        &["context", "show", "--context", "ctx.json"],
    )))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let missing = fails(cli(d, &server, None, &["context", "list"]));
    assert!(missing.contains("PAILLIER_GPU_API_KEY"));
    let wrong = fails(cli(d, &server, Some("xtr_wrong"), &["context", "list"]));
    assert!(wrong.contains("answered 401"));

    let pushed = ok(cli(
        d,
        &server,
        Some(&key),
        &["context", "push", "--context", "ctx.json"],
    ));
    assert_eq!(json_lines(&pushed)[0], json!({ "context_id": id }));
    // The same file again, and another sealing of the same context (as a program's own push
    // would send), change nothing.
    ok(cli(
        d,
        &server,
        Some(&key),
        &["context", "push", "--context", "ctx.json"],
    ));
    let resealed = ExecutionContext::load_with_passphrase(d.join("ctx.json"), "pass").unwrap();
    std::fs::write(d.join("resealed.json"), resealed.to_json().unwrap()).unwrap();
    let again = ok(cli(
        d,
        &server,
        Some(&key),
        &["context", "push", "--context", "resealed.json"],
    ));
    assert_eq!(json_lines(&again)[0], json!({ "context_id": id }));
    let listed = ok(cli(d, &server, Some(&key), &["context", "list"]));
    assert_eq!(json_lines(&listed)[0], json!({ "contexts": [id] }));
    ok(cli(
        d,
        &server,
        Some(&key),
        &["context", "pull", "--id", &id, "--output", "pulled.json"],
    ));
    assert_eq!(
        std::fs::read(d.join("pulled.json")).unwrap(),
        std::fs::read(d.join("ctx.json")).unwrap()
    );
    // An existing file is not replaced without --force.
    fails(cli(
        d,
        &server,
        Some(&key),
        &["context", "pull", "--id", &id, "--output", "pulled.json"],
    ));

    let stored = vectors(30, 3, 16);
    let lines: String = stored.iter().map(|v| format!("{}\n", json!(v))).collect();
    std::fs::write(d.join("v.jsonl"), lines).unwrap();
    let docs: String = (0..stored.len())
        .map(|i| {
            format!(
                "{}\n",
                json!({ "content": format!("text {i}"), "meta_data": { "tag2": tag(i) } })
            )
        })
        .collect();
    std::fs::write(d.join("docs.jsonl"), docs).unwrap();
    std::fs::write(d.join("short.jsonl"), "{\"content\": \"only one\"}\n").unwrap();
    let short = fails(cli(
        d,
        &server,
        Some(&key),
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
            "short.jsonl",
        ],
    ));
    assert!(short.contains("ends before the vectors"));
    let uploaded = ok(cli(
        d,
        &server,
        Some(&key),
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
        ],
    ));
    assert_eq!(
        json_lines(&uploaded)[0],
        json!({ "uploaded": 30, "first_chunk_id": 1, "last_chunk_id": 30 })
    );

    let queries = vectors(2, 4, 16);
    let lines: String = queries.iter().map(|v| format!("{}\n", json!(v))).collect();
    std::fs::write(d.join("q.jsonl"), lines).unwrap();
    let as_json = |found: Vec<(i64, u32)>| {
        Value::Array(
            found
                .into_iter()
                .map(|(c, d)| json!({ "chunk_id": c, "distance": d }))
                .collect(),
        )
    };
    let found = json_lines(&ok(cli(
        d,
        &server,
        Some(&key),
        &[
            "remote",
            "search",
            "--kb",
            &kb,
            "--context",
            "ctx.json",
            "--query",
            "q.jsonl",
            "--top-k",
            "4",
        ],
    )));
    assert_eq!(found.len(), 2);
    for (n, query) in queries.iter().enumerate() {
        assert_eq!(found[n]["query"], json!(n));
        assert_eq!(
            found[n]["results"],
            as_json(expected(&stored, query, |_| true, 4))
        );
    }
    let filtered = json_lines(&ok(cli(
        d,
        &server,
        Some(&key),
        &[
            "remote",
            "search",
            "--kb",
            &kb,
            "--context",
            "ctx.json",
            "--query",
            "q.jsonl",
            "--top-k",
            "30",
            "--filter",
            r#"{"tag2": "odd"}"#,
            "--range",
            "1",
            "20",
        ],
    )));
    assert_eq!(
        filtered[0]["results"],
        as_json(expected(
            &stored,
            &queries[0],
            |id| id <= 20 && (id - 1) % 2 == 1,
            30
        ))
    );
    let bad = fails(cli(
        d,
        &server,
        Some(&key),
        &[
            "remote",
            "search",
            "--kb",
            &kb,
            "--context",
            "ctx.json",
            "--query",
            "q.jsonl",
            "--filter",
            r#"{"tag9": "x"}"#,
        ],
    ));
    assert!(bad.contains("tag9"));
}
