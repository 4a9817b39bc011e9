//! Sealed vectors through the CLI against a real server: `remote upload --verifiable
//! --sealed-vectors --partitions auto` stores pages, `remote search --verify --stats` finds the
//! same top k as a knowledge base of Paillier records of the same vectors for a fraction of the
//! bytes, as does a filtered search; finds and deletes by metadata work; and what needs Paillier
//! records says why not.

use crate::common;

use common::cli::{fails, ok, run_with, write_jsonl};
use common::server::{small_context, Server};
use paillier_gpu_client::Client;
use serde_json::{json, Value};

use paillier_gpu_testing::data::clustered;

const RECORDS: usize = 600;
const EMBED: usize = 48;

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line.trim()).unwrap())
        .collect()
}

#[test]
fn sealed_vectors_through_the_cli_upload_search_and_say_what_they_do_not_do() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (sealed, key) = server.kb_and_key("sealed-cli");
    let paillier = server.kb_for("paillier-cli", &key);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = small_context(EMBED);
    let text = ctx.to_json().unwrap();
    std::fs::write(d.join("ctx.json"), &text).unwrap();
    Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory()
        .push_context_json(ctx.id(), &text)
        .unwrap();
    write_jsonl(&d.join("v.jsonl"), &clustered(EMBED, RECORDS, 20, 5));
    write_jsonl(&d.join("q.jsonl"), &clustered(EMBED, 3, 20, 6));
    let documents: String = (0..RECORDS)
        .map(|i| {
            format!(
                "{}\n",
                json!({"content": format!("d{i}"), "meta_data": {"tag1": format!("t{}", i % 3)}})
            )
        })
        .collect();
    std::fs::write(d.join("docs.jsonl"), documents).unwrap();
    let state = d.join("state");
    let env = [
        ("PAILLIER_GPU_DEVICE", "cpu"),
        ("PAILLIER_GPU_REMOTE", server.url.as_str()),
        ("PAILLIER_GPU_ORG", server.org.as_str()),
        ("PAILLIER_GPU_API_KEY", key.as_str()),
        ("PAILLIER_GPU_STATE_DIR", state.to_str().unwrap()),
    ];
    let run_kb = |kb: &str, args: &[&str]| {
        let all = [args, &["--kb", kb, "--context", "ctx.json"]].concat();
        run_with(d, Some("pw"), &all, &env)
    };
    let upload = [
        "remote",
        "upload",
        "--vectors",
        "v.jsonl",
        "--verifiable",
        "--partitions",
        "auto",
        "--documents",
        "docs.jsonl",
    ];
    ok(run_kb(
        &sealed,
        &[&upload[..], &["--sealed-vectors"]].concat(),
    ));
    ok(run_kb(&paillier, &upload));
    let shown = lines(&ok(run_kb(&sealed, &["remote", "digest", "show"])));
    assert_eq!(shown[0]["layout"], "sealed-vectors", "{shown:?}");

    let search = [
        "remote", "search", "--query", "q.jsonl", "--verify", "--stats",
    ];
    for probe in ["all", "2"] {
        let args = [&search[..], &["--probe", probe]].concat();
        let (found, expected) = (ok(run_kb(&sealed, &args)), ok(run_kb(&paillier, &args)));
        for (found, expected) in lines(&found).iter().zip(lines(&expected)) {
            // The same distances (sealed vectors go partition by partition: other chunk ids).
            let distances = |line: &Value| -> Vec<Value> {
                let results = line["results"].as_array().unwrap();
                results.iter().map(|r| r["distance"].clone()).collect()
            };
            assert_eq!(distances(found), distances(&expected), "--probe {probe}");
            assert_eq!(found["records"], expected["records"]);
            assert_eq!(found["partitions"], expected["partitions"]);
            // Where the time went: every part of a verified search of sealed vectors.
            let parts = found["times_ms"].as_object().unwrap();
            for part in [
                "digest",
                "service",
                "transfer",
                "opening",
                "ranking",
                "documents",
            ] {
                assert!(parts[part].as_f64().unwrap() >= 0.0, "{part}: {found}");
            }
            let bytes = |line: &Value| line["answer_bytes"].as_u64().unwrap();
            assert!(bytes(found) * 4 < bytes(&expected), "{found} {expected}");
        }
    }

    // Without --verify the service runs compute_hamming, which needs Paillier records.
    let unverified = fails(run_kb(&sealed, &["remote", "search", "--query", "q.jsonl"]));
    assert!(unverified.contains("sealed vectors"), "{unverified}");
    // A filtered search ranks the filter's records: the same distances as Paillier records'.
    let filtered = [&search[..], &["--filter", r#"{"tag1": "t1"}"#]].concat();
    let (found, expected) = (
        lines(&ok(run_kb(&sealed, &filtered))),
        lines(&ok(run_kb(&paillier, &filtered))),
    );
    for (found, expected) in found.iter().zip(&expected) {
        let results = |line: &Value| line["results"].as_array().unwrap().clone();
        let distances = |line: &Value| -> Vec<Value> {
            results(line)
                .iter()
                .map(|r| r["distance"].clone())
                .collect()
        };
        assert_eq!(distances(found), distances(expected));
        assert!(!results(found).is_empty());
    }
    // Found and deleted by metadata: each page touched sealed again with its other records.
    let by_filter = |command: &str, filter: &str| {
        run_kb(
            &sealed,
            &["remote", command, "--filter", filter, "--verifiable"],
        )
    };
    let t2 = ok(by_filter("find", r#"{"tag1": "t2"}"#));
    assert_eq!(t2.lines().count(), RECORDS / 3);
    let deleted = lines(&ok(by_filter("delete", r#"{"tag1": "t0"}"#)));
    assert_eq!(deleted[0]["deleted"], RECORDS / 3, "{deleted:?}");
    assert_eq!(ok(by_filter("find", r#"{"tag1": "t0"}"#)).trim(), "");
    let everything = [&search[..], &["--probe", "all"]].concat();
    for line in lines(&ok(run_kb(&sealed, &everything))) {
        assert_eq!(line["records"], 2 * RECORDS / 3, "{line}");
    }
    // Asked of a knowledge base of Paillier records, or without --verifiable: refused.
    let mixed = fails(run_kb(
        &paillier,
        &[&upload[..4], &["--verifiable", "--sealed-vectors"]].concat(),
    ));
    assert!(mixed.contains("sealed-vectors"), "{mixed}");
    let unverifiable = run_kb(
        &sealed,
        &[
            "remote",
            "upload",
            "--vectors",
            "v.jsonl",
            "--sealed-vectors",
        ],
    );
    assert!(!unverifiable.status.success());

    // The knowledge base of Paillier records moved to sealed vectors: the same distances.
    let expected = ok(run_kb(
        &paillier,
        &[&search[..], &["--probe", "all"]].concat(),
    ));
    let moved = lines(&ok(run_kb(
        &paillier,
        &["remote", "digest", "seal-vectors"],
    )));
    assert_eq!(moved[0]["layout"], "sealed-vectors", "{moved:?}");
    assert_eq!(
        (&moved[0]["moved"], &moved[0]["records"]),
        (&json!(RECORDS), &json!(RECORDS))
    );
    let found = ok(run_kb(
        &paillier,
        &[&search[..], &["--probe", "all"]].concat(),
    ));
    for (found, expected) in lines(&found).iter().zip(lines(&expected)) {
        assert_eq!(
            found["results"],
            expected["results"]
                .clone()
                .as_array()
                .map(|r| {
                    let mut r = r.clone();
                    for (hit, now) in r.iter_mut().zip(found["results"].as_array().unwrap()) {
                        hit["nonce"] = now["nonce"].clone();
                    }
                    Value::Array(r)
                })
                .unwrap()
        );
    }
    let again = lines(&ok(run_kb(
        &paillier,
        &["remote", "digest", "seal-vectors"],
    )));
    assert_eq!(again[0]["moved"], 0);
}
