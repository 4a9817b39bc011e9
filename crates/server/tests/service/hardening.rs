//! Writes and requests that used to leave a knowledge base broken or the server busy, against a
//! real `paillier-gpu serve`: an update naming another context, a deleted or unknown context,
//! ciphertexts sharing a factor with n, filters that select everything, a context nested deep,
//! the filter forms of the SDK's own suites, and work past a request's budget.

use base64::Engine;
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, Document};
use paillier_gpu_server::StoreLocation;
use paillier_gpu_testing::data::{sdk_pieces as pieces, small_context, vectors};
use paillier_gpu_testing::TestServer;
use serde_json::{json, Map, Value};

const EMBED: usize = 64;

fn context() -> ExecutionContext {
    small_context(EMBED)
}

/// A data-plane request with an API key; the status and the JSON answer.
fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    let answer = reqwest::blocking::Client::new()
        .request(method, format!("{}{path}/{}", server.url, server.org))
        .header("x-api-key", key)
        .json(body)
        .send()
        .unwrap();
    let status = answer.status().as_u16();
    (
        status,
        serde_json::from_str(&answer.text().unwrap()).unwrap_or(Value::Null),
    )
}

/// A multiple of n, padded to a ciphertext's width, in the SDK's form: below n², not coprime.
fn multiple_of_n(ctx: &ExecutionContext, k: u32) -> String {
    let mut bytes = (ctx.public().public_key().n() * k).to_bytes_le();
    bytes.resize(ctx.ciphertext_shape().piece_bytes, 0);
    base64::engine::general_purpose::STANDARD.encode(&bytes)
}

#[test]
fn a_chunk_keeps_its_context_and_a_deleted_context_answers_404() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("docs");
    let (a, b) = (context(), context());
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&a).unwrap();
    client.push_context(&b).unwrap();
    let stored = vectors(3, 1, EMBED);
    client
        .upload(&kb, &a, &a.encrypt_batch(&stored).unwrap(), &[])
        .unwrap();
    assert_eq!(
        client.search(&kb, &a, &stored[1], None, None, 1).unwrap(),
        vec![(2, 0)]
    );

    // An update naming context b for a chunk stored under a: refused, nothing written.
    let update = json!({
        "kb_id": kb, "context_id": b.id(),
        "chunk_updates": [{ "chunk_id": 1, "index": pieces(&b, &stored[0]), "chunk_content": "x" }],
    });
    let (status, answer) = call(&server, reqwest::Method::PUT, "/v1/chunk", &key, &update);
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("keeps its context"),
        "{answer}"
    );
    let patch = json!({
        "kb_id": kb, "context_id": b.id(),
        "chunk_patches": [{ "chunk_id": 1, "meta_data": { "tag1": "x" } }],
    });
    assert_eq!(
        call(&server, reqwest::Method::PATCH, "/v1/chunk", &key, &patch).0,
        409
    );
    // Every search of the knowledge base still answers, exactly.
    for (i, vector) in stored.iter().enumerate() {
        let found = client.search(&kb, &a, vector, None, None, 1).unwrap();
        assert_eq!(found, vec![(i as i64 + 1, 0)]);
    }

    // A context with chunks under it stays; once they are gone it can be deleted, and then
    // searches under it (and under an id never stored) are 404s.
    let one = format!("/v1/exec_context/{}/{}", server.org, a.id());
    let delete = |path: &str| {
        reqwest::blocking::Client::new()
            .delete(format!("{}{path}", server.url))
            .header("x-api-key", &key)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(delete(&one), 409);
    let chunks = format!(
        "/v1/chunk/{}?kb_id={kb}&chunk_ids=1&chunk_ids=2&chunk_ids=3",
        server.org
    );
    assert_eq!(delete(&chunks), 200);
    assert_eq!(delete(&one), 200);
    for id in [a.id(), "never-stored"] {
        let query = json!({ "kb_id": kb, "context_id": id, "query": pieces(&a, &stored[0]) });
        let (status, answer) = call(
            &server,
            reqwest::Method::POST,
            "/v1/compute_hamming",
            &key,
            &query,
        );
        assert_eq!(status, 404, "{answer}");
    }
}

#[cfg(unix)]
#[test]
fn the_store_folder_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start();
    if !matches!(server.store, StoreLocation::Sqlite(_)) {
        return; // files of the SQLite store only
    }
    let (_, key) = server.kb_and_key("docs");
    Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory()
        .push_context(&context())
        .unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(server.data.path()), 0o700);
    let files: Vec<_> = std::fs::read_dir(server.data.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn malformed_and_unbounded_requests_are_4xx() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("docs");
    let ctx = context();
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let stored = vectors(150, 2, EMBED);
    let documents: Vec<Document> = (0..stored.len())
        .map(|i| Document {
            content: String::new(),
            meta_data: Map::from_iter([
                (
                    "tag1".to_owned(),
                    json!(if i % 2 == 0 { "even" } else { "odd" }),
                ),
                (
                    "facets".to_owned(),
                    if i < 10 {
                        json!(["finance"])
                    } else {
                        json!([])
                    },
                ),
            ]),
            name: None,
        })
        .collect();
    client
        .upload(&kb, &ctx, &ctx.encrypt_batch(&stored).unwrap(), &documents)
        .unwrap();
    let post = |path: &str, body: &Value| call(&server, reqwest::Method::POST, path, &key, body);

    // Ciphertexts that share a factor with n: refused on insert and in a query.
    let insert = json!({
        "kb_id": kb, "context_id": ctx.id(),
        "chunks": [{ "chunk_content": "", "index": pieces(&ctx, &stored[0]) },
                   { "chunk_content": "", "index": [multiple_of_n(&ctx, 3)] }],
    });
    let (status, answer) = post("/v1/chunk", &insert);
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("chunk 1"),
        "{answer}"
    );
    let query = json!({ "kb_id": kb, "context_id": ctx.id(), "query": [multiple_of_n(&ctx, 1)] });
    assert_eq!(post("/v1/compute_hamming", &query).0, 400);

    // A filter that selects everything does not delete or patch everything.
    for filter in [json!({}), json!("{}"), json!({ "$and": [] })] {
        let body = json!({ "kb_id": kb, "context_id": ctx.id(), "meta_filter": filter,
                           "patch": { "tag2": "x" }, "dry_run": false });
        for method in [reqwest::Method::DELETE, reqwest::Method::PATCH] {
            let (status, answer) = call(&server, method, "/v1/chunk/by-meta", &key, &body);
            assert_eq!(status, 400, "{filter}: {answer}");
        }
    }

    // Metadata cannot grow past 64 KiB a chunk, by patches adding up or by one patch by filter.
    let big = "x".repeat(40_000);
    for (round, expected) in [(0, 200), (1, 400)] {
        let patch = json!({ "kb_id": kb, "context_id": ctx.id(),
                            "chunk_patches": [{ "chunk_id": 1, "meta_data": { format!("k{round}"): big } }] });
        let (status, answer) = call(&server, reqwest::Method::PATCH, "/v1/chunk", &key, &patch);
        assert_eq!(status, expected, "{answer}");
    }
    let by_filter = json!({ "kb_id": kb, "context_id": ctx.id(), "meta_filter": { "tag1": "odd" },
                            "patch": { "tag2": "y".repeat(70_000) }, "dry_run": false });
    let (status, answer) = call(
        &server,
        reqwest::Method::PATCH,
        "/v1/chunk/by-meta",
        &key,
        &by_filter,
    );
    assert_eq!(status, 413, "{answer}");

    // The SDK's suites' forms: a scalar on facets, $exists on facets, and no limit on a page.
    let page = |filter: Value| {
        let body = json!({ "kb_id": kb, "context_id": ctx.id(), "meta_filter": filter,
                           "offset": 0, "sort_order": "asc", "sort_by": "chunk_id" });
        let (status, answer) = post("/v1/chunk/meta/page", &body);
        assert_eq!(status, 200, "{answer}");
        answer
    };
    assert_eq!(page(json!({ "facets": "finance" }))["total"], 10);
    assert_eq!(page(json!({ "facets": { "$exists": true } }))["total"], 10);
    assert_eq!(
        page(json!({ "facets": { "$exists": false } }))["total"],
        140
    );
    let all = page(json!({ "tag1": { "$exists": true } }));
    assert_eq!(all["results"].as_array().unwrap().len(), 150);
    assert_eq!(all["has_more"], false);

    // A filter costing more comparisons than a request may make.
    let values: Vec<String> = (0..1_000_000).map(|i| format!("v{i}")).collect();
    let heavy = json!({ "kb_id": kb, "context_id": ctx.id(),
                        "meta_filter": { "tag1": { "$in": values } } });
    let (status, answer) = post("/v1/chunk/meta", &heavy);
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("comparisons"),
        "{answer}"
    );

    // A context nested deeper than any context is.
    let deep_text = ctx.to_json().unwrap().replacen(
        '{',
        &format!("{{\"extra\": {}{}, ", "[".repeat(5000), "]".repeat(5000)),
        1,
    );
    let body = format!("{{\"context_id\": \"deep\", \"data\": {deep_text}}}");
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}/v1/exec_context/{}", server.url, server.org))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    assert!(answer.text().unwrap().contains("deep"));

    // Inference past the request's budget of products.
    let weights: Vec<Vec<f64>> = vec![vec![1.0; 512]; 256];
    let samples: Vec<Vec<f64>> = vec![vec![1.0; 512]; 1];
    let body = json!({ "scheme": "paillier", "context_id": ctx.id(),
                       "model": { "weights": weights, "biases": vec![0.0; 256] },
                       "input_data": samples });
    let (status, answer) = post("/v1/ml-zk/fhe/inference", &body);
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("products"),
        "{answer}"
    );
}

#[test]
fn metadata_answers_of_many_blocks_arrive_whole() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("docs");
    let ctx = context();
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    // More than two blocks of the streamed list (1,024 items a block).
    let stored = vectors(2_500, 3, EMBED);
    let documents: Vec<Document> = (0..stored.len())
        .map(|i| Document {
            content: String::new(),
            meta_data: Map::from_iter([("tag1".to_owned(), json!(format!("{i:05}")))]),
            name: None,
        })
        .collect();
    client
        .upload(&kb, &ctx, &ctx.encrypt_batch(&stored).unwrap(), &documents)
        .unwrap();
    let filter = json!({ "tag1": { "$exists": true } });
    let ids = |results: &Value| -> Vec<i64> {
        results
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["chunk_id"].as_i64().unwrap())
            .collect()
    };
    let body = json!({ "kb_id": kb, "context_id": ctx.id(), "meta_filter": filter,
                       "sort_order": "asc", "sort_by": "chunk_id" });
    let (status, page) = call(
        &server,
        reqwest::Method::POST,
        "/v1/chunk/meta/page",
        &key,
        &body,
    );
    assert_eq!(status, 200);
    assert_eq!(ids(&page["results"]), (1..=2_500).collect::<Vec<i64>>());
    assert_eq!(page["total"], 2_500);
    assert_eq!(page["limit"], 2_500);
    assert_eq!(page["has_more"], false);
    let (status, all) = call(
        &server,
        reqwest::Method::POST,
        "/v1/chunk/meta",
        &key,
        &body,
    );
    assert_eq!(status, 200);
    assert_eq!(ids(&all), (1..=2_500).collect::<Vec<i64>>());
    assert_eq!(all[2_499]["meta_data"]["tag1"], "02499");
    // A limit still pages.
    let body = json!({ "kb_id": kb, "context_id": ctx.id(), "meta_filter": filter,
                       "sort_order": "desc", "limit": 3, "offset": 1 });
    let (_, page) = call(
        &server,
        reqwest::Method::POST,
        "/v1/chunk/meta/page",
        &key,
        &body,
    );
    assert_eq!(ids(&page["results"]), [2_499, 2_498, 2_497]);
    assert_eq!(page["has_more"], true);
}
