//! Keys that cannot be swapped and jobs that lose nothing, through the built binary: the
//! fingerprint `context show` prints, `--expect-key`, binary files that name their key, a public
//! key checked against the secret key when the passphrase is at hand, checked responses, and
//! `encrypt --resume` refusing what is not its own job.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::cli::{fails, ok, run_with, small_context_args};
use serde_json::Value;

/// The binary on the CPU: these tests are about keys and files, not devices.
fn run(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Output {
    run_with(dir, passphrase, args, &[("PAILLIER_GPU_DEVICE", "cpu")])
}

const DIMS: usize = 8;

/// Creates `name` (key_len 256, 8 dimensions) and returns what `context create` printed.
fn create(dir: &Path, name: &str, passphrase: &str) -> Value {
    let args = small_context_args("8", "--output", name);
    serde_json::from_str(&ok(run(dir, Some(passphrase), &args))).unwrap()
}

fn write_vectors(path: &Path, rows: usize) {
    let text: String = (0..rows)
        .map(|r| {
            let row: Vec<u8> = (0..DIMS).map(|d| ((r >> d) & 1) as u8).collect();
            format!("{}\n", serde_json::to_string(&row).unwrap())
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

fn encrypt(dir: &Path, ctx: &str, input: &str, output: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "encrypt",
        "--context",
        ctx,
        "--input",
        input,
        "--output",
        output,
    ];
    args.extend_from_slice(extra);
    run(dir, None, &args)
}

#[test]
fn fingerprints_pin_keys_and_files_name_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = create(d, "a.json", "pass a");
    let b = create(d, "b.json", "pass b");
    let fpr_a = a["fingerprint"].as_str().unwrap().to_owned();
    let fpr_b = b["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fpr_a.len(), 64);
    assert!(fpr_a.chars().all(|c| c.is_ascii_hexdigit()), "{fpr_a}");
    assert_ne!(fpr_a, fpr_b);
    let shown: Value = serde_json::from_str(&ok(run(
        d,
        Some("pass a"),
        &["context", "show", "--context", "a.json"],
    )))
    .unwrap();
    assert_eq!(shown["fingerprint"], a["fingerprint"]);

    write_vectors(&d.join("db.jsonl"), 5);
    write_vectors(&d.join("q.jsonl"), 1);
    // --expect-key: the right pin passes, another key's is refused before anything is written.
    ok(encrypt(
        d,
        "a.json",
        "db.jsonl",
        "db.bin",
        &["--expect-key", &fpr_a],
    ));
    let message = fails(encrypt(
        d,
        "a.json",
        "q.jsonl",
        "q.bin",
        &["--expect-key", &fpr_b],
    ));
    assert!(
        message.contains("--expect-key") && message.contains(&fpr_b),
        "{message}"
    );
    assert!(!d.join("q.bin").exists());
    // A malformed fingerprint is an argument error (clap's whole message, exit 2).
    let malformed = encrypt(d, "a.json", "q.jsonl", "q.bin", &["--expect-key", "abc"]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("64 hex digits"));
    ok(encrypt(d, "a.json", "q.jsonl", "q.bin", &[]));
    ok(encrypt(d, "b.json", "db.jsonl", "db_b.bin", &[]));
    ok(encrypt(d, "b.json", "db.jsonl", "db_b.jsonl", &[]));

    let aggregate = |ctx: &str, db: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "aggregate",
            "--context",
            ctx,
            "--database",
            db,
            "--query",
            "q.bin",
            "--output",
            out,
        ];
        args.extend_from_slice(extra);
        run(d, None, &args)
    };
    // A database made under another key is refused by its header.
    let message = fails(aggregate("a.json", "db_b.bin", "r.bin", &[]));
    assert!(
        message.contains("db_b.bin") && message.contains(&fpr_b),
        "{message}"
    );
    let message = fails(aggregate(
        "a.json",
        "db.bin",
        "r.bin",
        &["--expect-key", &fpr_b],
    ));
    assert!(message.contains("--expect-key"), "{message}");
    ok(aggregate(
        "a.json",
        "db.bin",
        "r.bin",
        &["--expect-key", &fpr_a],
    ));
    ok(aggregate("a.json", "db.bin", "r.jsonl", &[]));

    let decode = |ctx: &str, pass: &str, input: &str| {
        run(
            d,
            Some(pass),
            &[
                "decode",
                "--context",
                ctx,
                "--input",
                input,
                "--output",
                "d.txt",
            ],
        )
    };
    ok(decode("a.json", "pass a", "r.bin"));
    assert_eq!(
        std::fs::read_to_string(d.join("d.txt"))
            .unwrap()
            .lines()
            .count(),
        5
    );
    // The binary response names its key; the JSON Lines one (the SDK's form) cannot, and is
    // caught by the ciphertext and response checks instead of decoding to plausible distances
    let message = fails(decode("b.json", "pass b", "r.bin"));
    assert!(message.contains(&fpr_a), "{message}");
    // (or, when a's n² is the larger, as not below b's n²).
    let message = fails(decode("b.json", "pass b", "r.jsonl"));
    assert!(
        message.contains(": response ") || message.contains(": ciphertext "),
        "{message}"
    );
}

#[test]
fn a_swapped_public_key_is_caught_when_the_passphrase_is_at_hand() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "a.json", "pass");
    create(d, "b.json", "pass");
    // a.json's secret key with b.json's public key and configuration.
    let mut a: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("a.json")).unwrap()).unwrap();
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("b.json")).unwrap()).unwrap();
    a["pk"] = b["pk"].clone();
    std::fs::write(d.join("swapped.json"), a.to_string()).unwrap();
    write_vectors(&d.join("db.jsonl"), 3);

    // Public-only users cannot tell; with the passphrase the mismatch is found before encrypting.
    ok(encrypt(d, "swapped.json", "db.jsonl", "public.bin", &[]));
    let out = run(
        d,
        Some("pass"),
        &[
            "encrypt",
            "--context",
            "swapped.json",
            "--input",
            "db.jsonl",
            "--output",
            "x.bin",
        ],
    );
    let message = fails(out);
    assert!(!d.join("x.bin").exists(), "{message}");
    fails(run(
        d,
        Some("pass"),
        &["context", "show", "--context", "swapped.json"],
    ));
    // With the passphrase and the right key, encrypt uses it and the output decodes.
    ok(run(
        d,
        Some("pass"),
        &[
            "encrypt",
            "--context",
            "a.json",
            "--input",
            "db.jsonl",
            "--output",
            "owner.bin",
        ],
    ));
}

#[test]
fn resume_refuses_what_is_not_its_job_and_failures_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json", "pass");
    write_vectors(&d.join("db.jsonl"), 20);
    ok(encrypt(d, "ctx.json", "db.jsonl", "db.bin", &[]));
    let complete = std::fs::read(d.join("db.bin")).unwrap();

    // Nothing recorded to resume: it starts over and replaces the output only when done.
    ok(encrypt(d, "ctx.json", "db.jsonl", "db.bin", &["--resume"]));
    let again = std::fs::read(d.join("db.bin")).unwrap();
    assert_eq!(again.len(), complete.len());
    assert_ne!(again, complete, "fresh randomness, same shape");

    // A run that fails on a bad vector leaves no .partial or .progress behind.
    let mut text = std::fs::read_to_string(d.join("db.jsonl")).unwrap();
    text.push_str("[0, 1, 2, 0, 0, 0, 0, 0]\n");
    std::fs::write(d.join("bad.jsonl"), &text).unwrap();
    fails(encrypt(
        d,
        "ctx.json",
        "bad.jsonl",
        "bad.bin",
        &["--batch", "4"],
    ));
    for leftover in ["bad.bin", "bad.bin.partial", "bad.bin.progress"] {
        assert!(!d.join(leftover).exists(), "{leftover} left behind");
    }

    // An interrupted job's progress names its input, key and form; another of any is refused
    // with what differs.
    let progress = serde_json::json!({
        "records": 0, "bytes": 0, "complete": false, "input": "other.jsonl", "input_bytes": 1,
        "input_head_sha256": "", "public_key": "", "jsonl": false, "chunk_bytes": 128, "chunks": 1
    });
    std::fs::write(d.join("new.bin.progress"), progress.to_string()).unwrap();
    std::fs::write(d.join("new.bin.partial"), b"").unwrap();
    let message = fails(encrypt(d, "ctx.json", "db.jsonl", "new.bin", &["--resume"]));
    assert!(message.contains("other.jsonl"), "{message}");
    assert!(
        d.join("new.bin.progress").exists(),
        "a refused resume keeps the job's files"
    );
}

#[test]
fn context_files_in_our_form_the_sdk_form_and_with_a_stronger_scrypt_cost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let create = |name: &str, extra: &[&str]| {
        let mut args = small_context_args("8", "--output", name);
        args.extend_from_slice(extra);
        run(d, Some("pass"), &args)
    };
    let file = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(name)).unwrap()).unwrap()
    };
    let ours: Value = serde_json::from_str(&ok(create("ours.json", &[]))).unwrap();
    assert_eq!(ours["file_format"], "paillier-gpu/2");
    assert_eq!(file("ours.json")["format"], "paillier-gpu/2");

    let sdk: Value = serde_json::from_str(&ok(create("sdk.json", &["--sdk-compatible"]))).unwrap();
    assert_eq!(sdk["file_format"], "sdk");
    assert!(file("sdk.json").get("format").is_none());

    ok(create("strong.json", &["--scrypt-cost", "strong"]));
    let wrapped = file("strong.json")["wrapped_key"]
        .as_str()
        .unwrap()
        .to_owned();
    use base64::Engine;
    let wrapped = base64::engine::general_purpose::STANDARD
        .decode(wrapped)
        .unwrap();
    assert!(wrapped.starts_with(b"paillier-gpu/scrypt/2\0"));
    assert_eq!(wrapped[22], 17, "log2 N");
    let shown: Value = serde_json::from_str(&ok(run(
        d,
        Some("pass"),
        &["context", "show", "--context", "strong.json"],
    )))
    .unwrap();
    assert_eq!(shown["file_format"], "paillier-gpu/2");
    fails(run(
        d,
        Some("wrong"),
        &["context", "show", "--context", "strong.json"],
    ));

    let message = fails(create(
        "both.json",
        &["--sdk-compatible", "--scrypt-cost", "strong"],
    ));
    assert!(message.contains("--sdk-compatible"), "{message}");
    assert!(!d.join("both.json").exists());
}

/// A job killed after its final rename but before it removed its progress file (which then says
/// `complete`): a resume keeps the complete output as it is and cleans up.
#[test]
fn a_resume_after_the_final_rename_keeps_the_complete_output() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json", "pass");
    write_vectors(&d.join("db.jsonl"), 20);
    ok(encrypt(d, "ctx.json", "db.jsonl", "db.bin", &[]));
    let complete = std::fs::read(d.join("db.bin")).unwrap();

    let ctx =
        paillier_gpu::ExecutionContext::load_with_passphrase(d.join("ctx.json"), "pass").unwrap();
    let shape = ctx.ciphertext_shape();
    let input = std::fs::read(d.join("db.jsonl")).unwrap();
    let head_sha256: String = Sha256::digest(&input)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let progress = serde_json::json!({
        "records": 20, "bytes": complete.len(), "complete": true, "input": "db.jsonl",
        "input_bytes": input.len(), "input_head_sha256": head_sha256,
        "public_key": ctx.public().public_key().fingerprint().to_string(), "jsonl": false,
        "chunk_bytes": shape.piece_bytes, "chunks": shape.pieces
    });
    std::fs::write(d.join("db.bin.progress"), progress.to_string()).unwrap();

    ok(encrypt(d, "ctx.json", "db.jsonl", "db.bin", &["--resume"]));
    assert_eq!(
        std::fs::read(d.join("db.bin")).unwrap(),
        complete,
        "the complete output is kept, not encrypted again"
    );
    assert!(!d.join("db.bin.progress").exists());
    assert!(!d.join("db.bin.partial").exists());
}
