//! The command-line contract, driven through the built binary.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::cli::{fails, ok};
use common::{npy_bytes, sdk_cases};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_paillier-gpu");

fn run(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Output {
    run_with(dir, passphrase, args, &[])
}

/// Runs the binary in `dir` with a clean environment: no passphrase or device unless given, and
/// an XDG_RUNTIME_DIR so that software Vulkan drivers do not complain on stderr.
fn run_with(dir: &Path, passphrase: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("PAILLIER_GPU_PASSPHRASE")
        .env_remove("PAILLIER_GPU_DEVICE")
        .env_remove("PAILLIER_GPU_ADAPTER")
        .env("XDG_RUNTIME_DIR", dir);
    if let Some(p) = passphrase {
        cmd.env("PAILLIER_GPU_PASSPHRASE", p);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

/// The environment of a machine where no GPU adapter answers.
const NO_ADAPTER: &[(&str, &str)] = &[("PAILLIER_GPU_ADAPTER", "no-such-adapter")];

fn write_jsonl(path: &Path, rows: &[Vec<u8>]) {
    let text: String = rows
        .iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).unwrap()))
        .collect();
    std::fs::write(path, text).unwrap();
}

fn read_distances(path: &Path) -> Vec<u32> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

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
            "paillier-lookup",
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
            "expected 100 dimensions",
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
            "malformed ciphertexts",
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
            "ciphertext 0",
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
            "not below n^2",
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
                "paillier-lookup",
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

#[test]
fn bench_prints_a_table_and_writes_json_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(run(
        dir.path(),
        None,
        &[
            "bench",
            "--device",
            "cpu",
            "--type",
            "paillier,paillier-lookup",
            "--key-len",
            "256",
            "--embed-len",
            "64",
            "--batch",
            "2,3",
            "--repeat",
            "1",
            "--json",
            "bench.json",
            "--plot",
            "bench.svg",
        ],
    ));
    // The machine line, the header, and 2 schemes × 2 batches × 4 operations.
    assert_eq!(out.lines().count(), 2 + 16, "{out}");
    assert!(
        out.lines()
            .all(|l| !l.contains("NaN") && !l.contains("inf")),
        "{out}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bench.json")).unwrap())
            .unwrap();
    let measurements = report["measurements"].as_array().unwrap();
    assert_eq!(measurements.len(), 16);
    for m in measurements {
        assert_eq!(m["device"], "cpu");
        assert_eq!(m["runs_s"].as_array().unwrap().len(), 1);
        let rate = m["per_second"].as_f64().unwrap();
        let expected = m["batch"].as_f64().unwrap() / m["median_s"].as_f64().unwrap();
        assert!(
            rate > 0.0 && (rate - expected).abs() <= 1e-9 * expected,
            "{m}"
        );
    }
    let svg = std::fs::read_to_string(dir.path().join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("encrypt_owner cpu k256"));

    // Bad plans fail with one line; `--device gpu` without an adapter is an error, `both` is not.
    for args in [
        &["bench", "--device", "cpu", "--batch", "0"][..],
        &["bench", "--device", "cpu", "--repeat", "0"][..],
        &["bench", "--device", "cpu", "--key-len", "100"][..],
    ] {
        fails(run(dir.path(), None, args));
    }
    // A value that does not parse is an argument error: clap's whole message, exit 2.
    let not_a_number = run(
        dir.path(),
        None,
        &["bench", "--device", "cpu", "--batch", "x"],
    );
    assert_eq!(not_a_number.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_a_number.stderr).contains("invalid value 'x'"));
    let no_gpu = [
        "bench",
        "--key-len",
        "256",
        "--embed-len",
        "8",
        "--batch",
        "1",
        "--repeat",
        "1",
    ];
    let line = fails(run_with(
        dir.path(),
        None,
        &[&no_gpu[..], &["--device", "gpu"]].concat(),
        NO_ADAPTER,
    ));
    assert!(line.contains("GPU") || line.contains("gpu"), "{line}");
    let out = run_with(
        dir.path(),
        None,
        &[&no_gpu[..], &["--device", "both"]].concat(),
        NO_ADAPTER,
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipping gpu"));
}

/// `bench --device gpu` measures every operation of both schemes on whatever adapter answers
/// (lavapipe in CI), and its JSON names the adapter, the driver and the kernel shapes.
#[cfg(feature = "gpu")]
#[test]
fn bench_on_the_gpu_names_the_adapter_and_every_operation() {
    let Some(gpu) = common::shared_gpu() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = ok(run(
        dir.path(),
        None,
        &[
            "bench",
            "--device",
            "gpu",
            "--type",
            "paillier,paillier-lookup",
            "--key-len",
            "256",
            "--embed-len",
            "64",
            "--batch",
            "3",
            "--repeat",
            "1",
            "--json",
            "gpu.json",
            "--plot",
            "gpu.svg",
        ],
    ));
    let adapter = gpu.adapter_info().name.clone();
    assert!(out.contains(&adapter), "{out}");
    let software = gpu.adapter_info().is_software();
    assert_eq!(out.contains("software adapter"), software, "{out}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("gpu.json")).unwrap())
            .unwrap();
    assert_eq!(report["gpu"]["adapter"], adapter.as_str());
    assert!(report["gpu"]["driver"].is_string());
    assert_eq!(report["gpu"]["software"], software);
    assert!(["subgroup", "workgroup"].contains(&report["gpu"]["exchange"].as_str().unwrap()));
    // n², p² and p of key_len 256, each with its lanes per number.
    let shapes = report["gpu"]["shapes"].as_array().unwrap();
    assert_eq!(shapes.len(), 3);
    for s in shapes {
        let (limbs, lanes) = (s["limbs"].as_u64().unwrap(), s["lanes"].as_u64().unwrap());
        assert_eq!(limbs, lanes * s["limbs_per_lane"].as_u64().unwrap());
    }
    let measurements = report["measurements"].as_array().unwrap();
    for scheme in ["paillier", "paillier_lookup"] {
        for operation in ["encrypt_owner", "encrypt_public", "aggregate", "decode"] {
            assert!(
                measurements.iter().any(|m| m["scheme"] == scheme
                    && m["operation"] == operation
                    && m["device"] == "gpu"
                    && m["device_name"].as_str().unwrap().contains(&adapter)
                    && m["per_second"].as_f64().unwrap() > 0.0),
                "{scheme} {operation}"
            );
        }
    }
    let svg = std::fs::read_to_string(dir.path().join("gpu.svg")).unwrap();
    assert!(svg.contains("paillier-gpu bench on"));
}
