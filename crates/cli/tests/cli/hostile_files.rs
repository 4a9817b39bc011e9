//! Hostile files: absurd sizes and counts, deep nesting, a 2 GiB line. Each is a typed error,
//! found without allocating what the file claims; the CLI runs them under a 1 GiB address-space
//! limit (`ulimit -v`), so an attempt to allocate gigabytes would abort the process and fail.

use crate::common;

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use common::small_context;
use paillier_gpu::formats::ciphertexts::{self, CiphertextShape};
use paillier_gpu::formats::vectors;
use paillier_gpu::{Error, ExecutionContext, PublicContext, Scheme};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_paillier-gpu");
const TWO_GIB: u64 = 2 << 30;

fn context_map() -> serde_json::Map<String, Value> {
    serde_json::from_str(&small_context(Scheme::Paillier).to_json().unwrap()).unwrap()
}

#[test]
fn a_context_claiming_key_len_a_billion_is_refused_without_work() {
    let mut map = context_map();
    map["config"] = r#"{"embed_len": 64, "key_len": 1000000000}"#.into();
    let json = serde_json::to_string(&map).unwrap();
    let public = PublicContext::from_public_json(&json).unwrap_err();
    assert!(
        matches!(
            public,
            Error::MalformedContext(_) | Error::InvalidParameter(_)
        ),
        "{public}"
    );
    let full = ExecutionContext::from_json_with_passphrase(&json, "test passphrase").unwrap_err();
    assert!(
        matches!(
            full,
            Error::MalformedContext(_) | Error::InvalidParameter(_)
        ),
        "{full}"
    );
    // Huge integers in the key are refused by length before they are parsed.
    let mut map = context_map();
    map["pk"] = format!(
        r#"{{"g": "2", "n": "{}", "n_squared": "4"}}"#,
        "9".repeat(1 << 20)
    )
    .into();
    let json = serde_json::to_string(&map).unwrap();
    assert!(matches!(
        PublicContext::from_public_json(&json),
        Err(Error::MalformedContext(_))
    ));
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(1 << 20), "]".repeat(1 << 20));
    assert!(matches!(
        PublicContext::from_public_json(&deep),
        Err(Error::MalformedContext(_))
    ));
    let mut map = context_map();
    map["config"] = format!("{{\"embed_len\": {deep}}}").into();
    assert!(matches!(
        PublicContext::from_public_json(&serde_json::to_string(&map).unwrap()),
        Err(Error::MalformedContext(_))
    ));
    let line = format!("{deep}\n");
    assert!(matches!(
        vectors::read_jsonl(Cursor::new(line.clone()), 4),
        Err(Error::MalformedFile { .. })
    ));
    let shape = CiphertextShape {
        piece_bytes: 64,
        pieces: 1,
        key: None,
    };
    assert!(matches!(
        ciphertexts::read_jsonl(Cursor::new(line), shape),
        Err(Error::MalformedFile { .. })
    ));
}

#[test]
fn a_binary_ciphertext_file_claiming_a_huge_record_count_is_refused() {
    let shape = CiphertextShape {
        piece_bytes: 64,
        pieces: 1,
        key: None,
    };
    for count in [1u64 << 40, u64::MAX / 64, u64::MAX] {
        let mut bytes = ciphertexts::binary_header(shape, count).unwrap().to_vec();
        bytes.extend_from_slice(&[1u8; 64 * 3]);
        let err = ciphertexts::read_binary(Cursor::new(bytes), shape).unwrap_err();
        assert!(matches!(err, Error::MalformedFile { .. }), "{count}: {err}");
    }
}

#[test]
fn a_huge_npy_shape_is_refused_before_reading() {
    // A header claiming 10^15 rows over 8 bytes of data, C and Fortran order.
    for fortran in [false, true] {
        let bytes = common::npy_bytes("|u1", 1_000_000_000_000_000, 4, &[0; 8], fortran);
        assert!(matches!(
            vectors::read_npy(&bytes, 4),
            Err(Error::MalformedFile { .. })
        ));
    }
}

/// A sparse file of 2 GiB of zero bytes: one "line" with no newline.
fn two_gib_file(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    file.set_len(TWO_GIB).unwrap();
}

fn cli_under_one_gib(dir: &Path, args: &str) -> (bool, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v 1048576; exec '{BIN}' {args}"))
        .current_dir(dir)
        .env("PAILLIER_GPU_PASSPHRASE", "test passphrase")
        .env("PAILLIER_GPU_DEVICE", "cpu")
        .output()
        .unwrap();
    (
        out.status.code().is_some(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn two_gib_lines_and_files_are_typed_errors_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small_context(Scheme::Paillier)
        .save_to_disk(d.join("ctx.json"))
        .unwrap();
    // A small vector file and its ciphertexts, for the commands that need a good input too.
    std::fs::write(d.join("v.jsonl"), format!("{:?}\n", vec![0u8; 64])).unwrap();
    let (exited, stderr) = cli_under_one_gib(
        d,
        "encrypt --context ctx.json --input v.jsonl --output q.bin --device cpu",
    );
    // Nothing but the closing "wrote ..." line (and the weak-key warning of this test context).
    assert!(
        exited
            && stderr.lines().all(|l| {
                l.starts_with("paillier-gpu: wrote ")
                    || l.starts_with("paillier-gpu: warn: this context has key_len 256")
            }),
        "a normal run fails under the limit: {stderr}"
    );

    for name in ["huge.jsonl", "huge.npy", "huge.bin", "huge-ctx.json"] {
        two_gib_file(&d.join(name));
    }
    let cases = [
        (
            "encrypt --context ctx.json --input huge.jsonl --output o.bin",
            "longer than",
        ),
        (
            "encrypt --context ctx.json --input huge.npy --output o.bin",
            "npy",
        ),
        (
            "aggregate --context ctx.json --database huge.jsonl --query q.bin --output o.bin",
            "longer than",
        ),
        (
            "aggregate --context ctx.json --database huge.bin --query q.bin --output o.bin",
            "magic",
        ),
        ("context show --context huge-ctx.json", "larger than"),
        (
            "encrypt --context huge-ctx.json --input v.jsonl --output o.bin",
            "larger than",
        ),
    ];
    for (args, expected) in cases {
        let (exited, stderr) = cli_under_one_gib(d, args);
        assert!(exited, "{args}: killed by a signal (allocation?)\n{stderr}");
        let errors = stderr
            .trim()
            .lines()
            .filter(|l| !l.starts_with("paillier-gpu: warn"))
            .count();
        assert_eq!(errors, 1, "{args}: {stderr}");
        assert!(stderr.contains(expected), "{args}: {stderr}");
    }
    assert!(!d.join("o.bin").exists());
}

#[test]
fn a_large_context_file_costs_a_scan_not_a_tree_of_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = small_context(Scheme::Paillier);
    let mut file: serde_json::Map<String, Value> =
        serde_json::from_str(&ctx.to_json().unwrap()).unwrap();
    // 200 MiB of small numbers in a field nobody reads: parsed into values, that is gigabytes.
    let junk = format!("[{}0]", "0,".repeat(100 << 20));
    file.insert("junk".into(), Value::Null);
    let text = serde_json::to_string(&file)
        .unwrap()
        .replace("\"junk\":null", &format!("\"junk\":{junk}"));
    std::fs::write(d.join("big.json"), text).unwrap();
    let (exited, stderr) = cli_under_one_gib(d, "context show --context big.json");
    assert!(exited, "killed (out of memory?): {stderr}");
    assert!(
        stderr.lines().all(|l| l.starts_with("paillier-gpu: warn")),
        "an unknown field is skipped: {stderr}"
    );

    // Lookup tables larger than real tables for the key_len: refused before they are parsed.
    let lookup = small_context(Scheme::PaillierLookup);
    let mut file: serde_json::Map<String, Value> =
        serde_json::from_str(&lookup.to_json().unwrap()).unwrap();
    file.insert("tables".into(), Value::Null);
    let text = serde_json::to_string(&file).unwrap().replace(
        "\"tables\":null",
        &format!("\"tables\":{{\"g_table\":{junk}}}"),
    );
    std::fs::write(d.join("tables.json"), text).unwrap();
    let (exited, stderr) = cli_under_one_gib(d, "context show --context tables.json");
    assert!(exited, "killed (out of memory?): {stderr}");
    assert!(stderr.contains("tables"), "{stderr}");
}
