//! Errors through the built binary: one line, the whole message, a non-zero exit and nothing
//! written; and what `--device gpu` and `auto` do where no adapter answers.

use crate::common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::cli::{fails, ok, run, run_with, write_jsonl, NO_ADAPTER};
use common::sdk_cases;
use serde_json::Value;

#[test]
fn errors_are_one_line_and_non_zero() {
    let case = sdk_cases()
        .into_iter()
        .find(|c| c.name == "paillier_512")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ctx.json"), &case.context_json).unwrap();
    let pass = Some(case.passphrase.as_str());
    write_jsonl(&d.join("short.jsonl"), &[vec![0, 1]]);
    std::fs::write(
        d.join("nonbinary.jsonl"),
        format!("[{}2]\n", "0, ".repeat(99)),
    )
    .unwrap();
    std::fs::write(d.join("garbage.ct"), b"not a ciphertext file").unwrap();
    std::fs::write(d.join("zero.jsonl"), "[\"AA==\"]\n").unwrap();
    let n2 = {
        let pk: Value = serde_json::from_str(
            serde_json::from_str::<Value>(&case.context_json).unwrap()["pk"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let n2: num_bigint::BigUint = pk["n_squared"].as_str().unwrap().parse().unwrap();
        BASE64.encode(n2.to_bytes_le())
    };
    std::fs::write(d.join("big.jsonl"), format!("[\"{n2}\"]\n")).unwrap();
    std::fs::write(d.join("bad_ctx.json"), "{\"type\": \"PaillierClient\"").unwrap();
    std::fs::write(
        d.join("weird_ctx.json"),
        case.context_json.replace("PaillierClient", "FancyClient"),
    )
    .unwrap();

    let cases: Vec<(Option<&str>, Vec<&str>, &str)> = vec![
        (
            pass,
            vec![
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                "short.jsonl",
                "--output",
                "o.ct",
            ],
            "short.jsonl, line 1: 2 values where the context has 100 dimensions",
        ),
        (
            pass,
            vec![
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                "nonbinary.jsonl",
                "--output",
                "o.ct",
            ],
            "not 0 or 1",
        ),
        (
            pass,
            vec![
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                "missing.jsonl",
                "--output",
                "o.ct",
            ],
            "missing.jsonl",
        ),
        (
            pass,
            vec![
                "decode",
                "--context",
                "ctx.json",
                "--input",
                "garbage.ct",
                "--output",
                "o.txt",
            ],
            "garbage.ct: malformed ciphertexts",
        ),
        (
            pass,
            vec![
                "decode",
                "--context",
                "ctx.json",
                "--input",
                "zero.jsonl",
                "--output",
                "o.txt",
            ],
            "zero.jsonl: ciphertext 0",
        ),
        (
            pass,
            vec![
                "decode",
                "--context",
                "ctx.json",
                "--input",
                "big.jsonl",
                "--output",
                "o.txt",
            ],
            "big.jsonl: ciphertext 0: ciphertext is not below n^2",
        ),
        (
            Some("wrong"),
            vec!["context", "show", "--context", "ctx.json"],
            "wrong passphrase",
        ),
        (
            None,
            vec!["context", "show", "--context", "ctx.json"],
            "PAILLIER_GPU_PASSPHRASE",
        ),
        (
            pass,
            vec!["context", "show", "--context", "bad_ctx.json"],
            "malformed execution context",
        ),
        (
            pass,
            vec!["context", "show", "--context", "weird_ctx.json"],
            "unknown context type",
        ),
        (
            pass,
            vec![
                "context",
                "create",
                "--type",
                "paillier_lookup",
                "--alpha-len",
                "50",
                "--out",
                "x.json",
            ],
            "insecure",
        ),
        (
            pass,
            vec!["context", "create", "--key-len", "512", "--out", "x.json"],
            "insecure",
        ),
        (
            pass,
            vec![
                "aggregate",
                "--context",
                "ctx.json",
                "--database",
                "zero.jsonl",
                "--query",
                "zero.jsonl",
                "--output",
                "o.ct",
            ],
            "ciphertext 0",
        ),
    ];
    for (passphrase, args, needle) in cases {
        let line = fails(run(d, passphrase, &args));
        assert!(line.contains(needle), "{args:?}: {line}");
    }
    assert!(!d.join("o.ct").exists() && !d.join("o.txt").exists() && !d.join("x.json").exists());
}

#[test]
fn without_an_adapter_gpu_fails_and_auto_falls_back_to_the_cpu() {
    let case = sdk_cases()
        .into_iter()
        .find(|c| c.name == "paillier_512")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ctx.json"), &case.context_json).unwrap();
    write_jsonl(&d.join("q.jsonl"), std::slice::from_ref(&case.query));
    let encrypt = [
        "encrypt",
        "--context",
        "ctx.json",
        "--input",
        "q.jsonl",
        "--output",
        "q.ct",
    ];
    let line = fails(run_with(
        d,
        None,
        &[&encrypt[..], &["--device", "gpu"]].concat(),
        NO_ADAPTER,
    ));
    assert!(line.contains("GPU unavailable"), "{line}");
    // The device can also come from the environment.
    let env_gpu = [NO_ADAPTER[0], ("PAILLIER_GPU_DEVICE", "gpu")];
    assert!(fails(run_with(d, None, &encrypt, &env_gpu)).contains("GPU unavailable"));
    let env_auto = [NO_ADAPTER[0], ("PAILLIER_GPU_DEVICE", "auto")];
    ok(run_with(d, None, &encrypt, &env_auto));
    // An argument error: clap's whole message, exit 2.
    let bad = run_with(d, None, &encrypt, &[("PAILLIER_GPU_DEVICE", "tpu")]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = String::from_utf8_lossy(&bad.stderr);
    assert!(
        bad.contains("invalid value 'tpu'") && bad.contains("possible values"),
        "{bad}"
    );
    assert!(!d.join("never.ct").exists());
}
