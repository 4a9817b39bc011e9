//! The command-line contract, driven through the built binary: the SDK's files, `context create`,
//! and the whole flow from vectors to distances. Errors are in `cli_errors.rs`, `bench` in
//! `cli_bench.rs`.

use crate::common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::cli::{fails, ok, read_distances, run, write_jsonl};
use common::{npy_bytes, sdk_cases};
use serde_json::Value;

#[test]
fn sdk_fixtures_through_the_cli() {
    for case in sdk_cases() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("ctx.json"), &case.context_json).unwrap();
        let pass = Some(case.passphrase.as_str());

        let shown: Value = serde_json::from_str(&ok(run(
            d,
            pass,
            &["context", "show", "--context", "ctx.json"],
        )))
        .unwrap();
        assert_eq!(shown["id"], case.context_id.as_str(), "{}", case.name);
        assert_eq!(shown["embed_len"], case.embed_len);

        // The SDK's aggregated ciphertexts, as base64 JSON Lines, decode to the expected distances.
        let agg: String = case
            .aggregated
            .iter()
            .map(|v| {
                let chunks: Vec<String> = v
                    .chunks
                    .iter()
                    .map(|c| BASE64.encode(c.as_biguint().to_bytes_le()))
                    .collect();
                format!("{}\n", serde_json::to_string(&chunks).unwrap())
            })
            .collect();
        std::fs::write(d.join("sdk_agg.jsonl"), agg).unwrap();
        ok(run(
            d,
            pass,
            &[
                "decode",
                "--context",
                "ctx.json",
                "--input",
                "sdk_agg.jsonl",
                "--output",
                "sdk.txt",
            ],
        ));
        assert_eq!(
            read_distances(&d.join("sdk.txt")),
            case.hamming,
            "{}",
            case.name
        );

        // Our own encryption, aggregation (no passphrase) and decoding.
        write_jsonl(&d.join("db.jsonl"), &case.database);
        write_jsonl(&d.join("q.jsonl"), std::slice::from_ref(&case.query));
        ok(run(
            d,
            None,
            &[
                "encrypt",
                "--insecure",
                "--context",
                "ctx.json",
                "--input",
                "db.jsonl",
                "--output",
                "db.ct",
                "--device",
                "cpu",
            ],
        ));
        ok(run(
            d,
            None,
            &[
                "encrypt",
                "--insecure",
                "--context",
                "ctx.json",
                "--input",
                "q.jsonl",
                "--output",
                "q.ct.jsonl",
            ],
        ));
        ok(run(
            d,
            None,
            &[
                "aggregate",
                "--context",
                "ctx.json",
                "--database",
                "db.ct",
                "--query",
                "q.ct.jsonl",
                "--output",
                "agg.ct",
            ],
        ));
        ok(run(
            d,
            pass,
            &[
                "decode",
                "--context",
                "ctx.json",
                "--input",
                "agg.ct",
                "--output",
                "ours.txt",
            ],
        ));
        assert_eq!(
            read_distances(&d.join("ours.txt")),
            case.hamming,
            "{}",
            case.name
        );

        ok(run(
            d,
            pass,
            &[
                "decode",
                "--context",
                "ctx.json",
                "--input",
                "agg.ct",
                "--top-k",
                "2",
                "--output",
                "top.json",
            ],
        ));
        let top: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("top.json")).unwrap()).unwrap();
        let mut ranked: Vec<(u32, usize)> = case.hamming.iter().copied().zip(0..).collect();
        ranked.sort();
        assert_eq!(top["ids"], serde_json::json!([ranked[0].1, ranked[1].1]));
        assert_eq!(
            top["distances"],
            serde_json::json!([ranked[0].0, ranked[1].0])
        );
    }
}

#[test]
fn context_create_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let create = |extra: &[&str]| {
        let mut args = vec![
            "context",
            "create",
            "--key-len",
            "256",
            "--embed-len",
            "8",
            "--insecure",
            "--out",
            "ctx.json",
        ];
        args.extend_from_slice(extra);
        run(d, Some("pass"), &args)
    };
    let first: Value = serde_json::from_str(&ok(create(&[]))).unwrap();
    let before = std::fs::read(d.join("ctx.json")).unwrap();
    let message = fails(create(&[]));
    assert!(message.contains("ctx.json already exists"), "{message}");
    assert!(message.contains("--force"), "{message}");
    assert_eq!(std::fs::read(d.join("ctx.json")).unwrap(), before);
    let replaced: Value = serde_json::from_str(&ok(create(&["--force"]))).unwrap();
    assert_ne!(first["id"], replaced["id"]);
}

#[test]
fn create_show_and_the_whole_flow_with_npy_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("pass.txt"), "file passphrase\n").unwrap();
    let created: Value = serde_json::from_str(&ok(run(
        d,
        None,
        &[
            "--passphrase-file",
            "pass.txt",
            "context",
            "create",
            "--type",
            "paillier_lookup",
            "--key-len",
            "256",
            "--embed-len",
            "24",
            "--alpha-len",
            "64",
            "--insecure",
            "--out",
            "ctx.json",
        ],
    )))
    .unwrap();
    let shown: Value = serde_json::from_str(&ok(run(
        d,
        None,
        &[
            "context",
            "show",
            "--context",
            "ctx.json",
            "--passphrase-file",
            "pass.txt",
        ],
    )))
    .unwrap();
    assert_eq!(created, shown);
    assert_eq!(shown["type"], "PaillierLookupClient");
    assert_eq!(shown["key_len"], 256);
    assert_eq!(shown["embed_len"], 24);
    assert_eq!(shown["alpha_len"], 64);
    assert_eq!(shown["id"].as_str().unwrap().len(), 64);

    let rows: Vec<Vec<u8>> = (0..7)
        .map(|i| (0..24).map(|j| ((i * j + i) % 3 == 0) as u8).collect())
        .collect();
    let flat: Vec<u8> = rows.concat();
    std::fs::write(d.join("db.npy"), npy_bytes("|b1", 7, 24, &flat, false)).unwrap();
    write_jsonl(&d.join("q.jsonl"), &[rows[3].clone()]);
    ok(run(
        d,
        None,
        &[
            "encrypt",
            "--insecure",
            "--context",
            "ctx.json",
            "--input",
            "db.npy",
            "--output",
            "db.jsonl",
        ],
    ));
    ok(run(
        d,
        None,
        &[
            "encrypt",
            "--insecure",
            "--context",
            "ctx.json",
            "--input",
            "q.jsonl",
            "--output",
            "q.bin",
        ],
    ));
    ok(run(
        d,
        None,
        &[
            "aggregate",
            "--context",
            "ctx.json",
            "--database",
            "db.jsonl",
            "--query",
            "q.bin",
            "--output",
            "agg.bin",
        ],
    ));
    ok(run(
        d,
        None,
        &[
            "--passphrase-file",
            "pass.txt",
            "decode",
            "--context",
            "ctx.json",
            "--input",
            "agg.bin",
            "--output",
            "d.txt",
        ],
    ));
    let expected: Vec<u32> = rows.iter().map(|r| common::hamming(r, &rows[3])).collect();
    assert_eq!(read_distances(&d.join("d.txt")), expected);
    assert_eq!(std::fs::read(d.join("agg.bin")).unwrap()[..8], *b"PGPUCTXT");
}
