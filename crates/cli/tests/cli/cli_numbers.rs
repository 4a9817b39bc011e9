//! `numbers encrypt`, `numbers decrypt` and `linear` through the built binary: the plaintext
//! results, in both file forms, and one clear line for each thing that can go wrong.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::cli::{fails, ok, run_with, small_context_args};

fn run(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Output {
    run_with(dir, passphrase, args, &[("PAILLIER_GPU_DEVICE", "cpu")])
}

fn setup(d: &Path) {
    ok(run(
        d,
        Some("pass"),
        &small_context_args("8", "--output", "ctx.json"),
    ));
    std::fs::write(d.join("x.jsonl"), "[1.5, -2, 3.25]\n[0.5, 4, -0.25]\n").unwrap();
    std::fs::write(
        d.join("model.json"),
        r#"{"weights": [[0.5, 2.0, 1], [-1.0, 0.0, 1]], "biases": [1.0, -0.5]}"#,
    )
    .unwrap();
}

fn numbers(d: &Path, passphrase: Option<&str>, verb: &str, input: &str, output: &str) -> Output {
    run(
        d,
        passphrase,
        &[
            "numbers",
            verb,
            "--context",
            "ctx.json",
            "--input",
            input,
            "--output",
            output,
        ],
    )
}

fn linear(d: &Path, model: &str, input: &str, output: &str) -> Output {
    run(
        d,
        None,
        &[
            "linear",
            "--context",
            "ctx.json",
            "--model",
            model,
            "--input",
            input,
            "--output",
            output,
        ],
    )
}

#[test]
fn encrypt_infer_and_decrypt_give_the_plaintext_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    // Public key only, then the owner's path: both decrypt to the input.
    for passphrase in [None, Some("pass")] {
        let said = numbers(d, passphrase, "encrypt", "x.jsonl", "x.enc");
        let said = String::from_utf8(said.stderr).unwrap();
        assert!(
            said.contains("wrote 6 encrypted numbers of shape [2, 3] to x.enc"),
            "{said}"
        );
        ok(numbers(d, Some("pass"), "decrypt", "x.enc", "x2.jsonl"));
        assert_eq!(
            std::fs::read_to_string(d.join("x2.jsonl")).unwrap(),
            "[1.5,-2.0,3.25]\n[0.5,4.0,-0.25]\n"
        );
    }
    let said = String::from_utf8(linear(d, "model.json", "x.enc", "y.enc").stderr).unwrap();
    assert!(
        said.contains("wrote 4 encrypted outputs of shape [2, 2] to y.enc"),
        "{said}"
    );
    ok(numbers(d, Some("pass"), "decrypt", "y.enc", "y.jsonl"));
    // x·W + b, exactly: 0.75 − 4 + 3.25 + 1, −1.5 + 3.25 − 0.5, 0.25 + 8 − 0.25 + 1, −0.5 − 0.25 − 0.5.
    assert_eq!(
        std::fs::read_to_string(d.join("y.jsonl")).unwrap(),
        "[1.0,1.25]\n[9.0,-1.25]\n"
    );
    // Every CPU engine named in PAILLIER_GPU_CPU_ENGINE decrypts the same numbers (the portable
    // one on two digits modulo p and q, which the IFMA engine has no use for); an engine this
    // CPU lacks, and a name that is none, are refused in one line that says why.
    for engine in ["portable", "avx2", "avx512f", "ifma", "auto", "avx9"] {
        let output = format!("y-{engine}.jsonl");
        let out = run_with(
            d,
            Some("pass"),
            &[
                "numbers",
                "decrypt",
                "--context",
                "ctx.json",
                "--input",
                "y.enc",
                "--output",
                &output,
            ],
            &[
                ("PAILLIER_GPU_DEVICE", "cpu"),
                ("PAILLIER_GPU_CPU_ENGINE", engine),
            ],
        );
        if engine == "avx9" {
            let said = fails(out);
            assert!(said.contains("PAILLIER_GPU_CPU_ENGINE: CPU engine \"avx9\" (expected auto, ifma, avx512f, avx2 or portable)"), "{said}");
            continue;
        }
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(
                said.contains(&format!("the {engine} CPU engine needs"))
                    && said.contains("which this CPU lacks"),
                "{said}"
            );
            continue;
        }
        assert_eq!(
            std::fs::read_to_string(d.join(&output)).unwrap(),
            "[1.0,1.25]\n[9.0,-1.25]\n",
            "{engine}"
        );
    }
    // Integers stay integers, one per line for a 1-D array, and decrypted files are owner-only.
    std::fs::write(d.join("i.jsonl"), "7\n-8\n").unwrap();
    ok(numbers(d, None, "encrypt", "i.jsonl", "i.enc"));
    ok(numbers(d, Some("pass"), "decrypt", "i.enc", "i.jsonl.out"));
    assert_eq!(
        std::fs::read_to_string(d.join("i.jsonl.out")).unwrap(),
        "7\n-8\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("i.jsonl.out"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "decrypted numbers are the owner's: {mode:o}"
        );
    }
}

#[test]
fn what_goes_wrong_is_said_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    ok(numbers(d, None, "encrypt", "x.jsonl", "x.enc"));

    std::fs::write(d.join("ragged.jsonl"), "[1, 2]\n[3]\n").unwrap();
    let message = fails(numbers(d, None, "encrypt", "ragged.jsonl", "r.enc"));
    assert!(
        message.contains("ragged.jsonl") && message.contains("line 2"),
        "{message}"
    );

    std::fs::write(
        d.join("wide.json"),
        r#"{"weights": [[1.0, 2.0]], "biases": [0]}"#,
    )
    .unwrap();
    let message = fails(linear(d, "wide.json", "x.enc", "y.enc"));
    assert!(
        message.contains("x.enc") && message.contains("2"),
        "{message}"
    );

    std::fs::write(d.join("bad.json"), r#"{"weights": 3}"#).unwrap();
    let message = fails(linear(d, "bad.json", "x.enc", "y.enc"));
    assert!(
        message.contains("bad.json") && message.contains("model JSON"),
        "{message}"
    );

    // Another key's file names both keys' holders.
    ok(run(
        d,
        Some("pass"),
        &small_context_args("8", "--output", "ctx2.json"),
    ));
    let message = fails(run(
        d,
        Some("pass"),
        &[
            "numbers",
            "decrypt",
            "--context",
            "ctx2.json",
            "--input",
            "x.enc",
            "--output",
            "o.jsonl",
        ],
    ));
    assert!(
        message.contains("the numbers file x.enc was made under the key")
            && message.contains("ctx2.json holds"),
        "{message}"
    );

    // A lookup context holds no numbers.
    let mut lookup = small_context_args("8", "--output", "lookup.json");
    lookup.extend(["--type", "paillier_lookup", "--alpha-len", "64"]);
    ok(run(d, Some("pass"), &lookup));
    let message = fails(run(
        d,
        None,
        &[
            "numbers",
            "encrypt",
            "--context",
            "lookup.json",
            "--input",
            "x.jsonl",
            "--output",
            "l.enc",
        ],
    ));
    assert!(message.contains("classic paillier key"), "{message}");

    // Outputs are protected like every other command's: a context is not replaced, an input
    // never is.
    let message = fails(numbers(d, Some("pass"), "decrypt", "x.enc", "ctx2.json"));
    assert!(message.contains("refusing to replace it"), "{message}");
    let message = fails(linear(d, "model.json", "x.enc", "x.enc"));
    assert!(message.contains("is the input"), "{message}");

    // Decryption needs the passphrase.
    let message = fails(numbers(d, None, "decrypt", "x.enc", "o.jsonl"));
    assert!(message.contains("passphrase"), "{message}");
}

/// `numbers encrypt --packed MAX_ABS` with extra arguments.
fn encrypt_packed(
    d: &Path,
    passphrase: Option<&str>,
    input: &str,
    output: &str,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "numbers",
        "encrypt",
        "--context",
        "ctx.json",
        "--input",
        input,
        "--output",
        output,
        "--packed",
    ];
    args.extend_from_slice(extra);
    run(d, passphrase, &args)
}

#[test]
fn packed_samples_give_the_exact_layers_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    // 41 samples: the two of x.jsonl again and again, so that the groups of slots fill and the
    // last one is partial.
    let rows = "[1.5, -2, 3.25]\n[0.5, 4, -0.25]\n".repeat(20) + "[1.5, -2, 3.25]\n";
    std::fs::write(d.join("many.jsonl"), &rows).unwrap();
    for passphrase in [None, Some("pass")] {
        let said = fails_or_said(encrypt_packed(
            d,
            passphrase,
            "many.jsonl",
            "many.pack",
            &["4"],
        ));
        // key_len 256: n of 512 bits, about 509 bits of plaintext; slots of 7 + 1 + 48 bits.
        assert!(
            said.contains("wrote 41 packed samples of 3 numbers, 9 per ciphertext (slots of 56 bits), in 15 ciphertexts to many.pack"),
            "{said}"
        );
        ok(numbers(
            d,
            Some("pass"),
            "decrypt",
            "many.pack",
            "many.out.jsonl",
        ));
        let back = std::fs::read_to_string(d.join("many.out.jsonl")).unwrap();
        assert_eq!(
            back,
            rows.replace(", ", ",")
                .replace("-2", "-2.0")
                .replace(",4,", ",4.0,")
        );
    }
    // The layer on packed samples writes packed outputs: the same numbers as the exact layer's.
    let said = String::from_utf8(linear(d, "model.json", "many.pack", "y.pack").stderr).unwrap();
    assert!(
        said.contains("wrote 82 encrypted outputs of shape [41, 2] to y.pack"),
        "{said}"
    );
    ok(numbers(d, Some("pass"), "decrypt", "y.pack", "y.jsonl"));
    assert_eq!(
        std::fs::read_to_string(d.join("y.jsonl")).unwrap(),
        "[1.0,1.25]\n[9.0,-1.25]\n".repeat(20) + "[1.0,1.25]\n"
    );
    // A 1-D input is samples of one number.
    std::fs::write(d.join("i.jsonl"), "7\n-8\n").unwrap();
    ok(encrypt_packed(d, None, "i.jsonl", "i.pack", &["10"]));
    ok(numbers(d, Some("pass"), "decrypt", "i.pack", "i.out.jsonl"));
    assert_eq!(
        std::fs::read_to_string(d.join("i.out.jsonl")).unwrap(),
        "[7]\n[-8]\n"
    );
}

/// The stderr of a run that succeeded.
fn fails_or_said(out: Output) -> String {
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "failed: {said}");
    said
}

#[test]
fn what_goes_wrong_with_packed_samples_is_said_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    // A value above the declared bound, named by its place in the input.
    let message = fails(encrypt_packed(d, None, "x.jsonl", "x.pack", &["3"]));
    assert!(
        message.contains("x.jsonl") && message.contains("above the packing's max_abs"),
        "{message}"
    );
    for bad in ["0", "-1", "nan", "inf"] {
        let message = fails(encrypt_packed(d, None, "x.jsonl", "x.pack", &[bad]));
        assert!(message.contains("max_abs"), "{bad}: {message}");
    }
    // Headroom only means something for packed samples (clap's own usage error).
    let out = run(
        d,
        None,
        &[
            "numbers",
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "x.jsonl",
            "--output",
            "x.enc",
            "--headroom-bits",
            "8",
        ],
    );
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(message.contains("--packed"), "{message}");
    // Samples must be rows: a 3-D array is refused.
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 2), }";
    let padded = format!("{header:<117}\n");
    npy.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    npy.extend_from_slice(padded.as_bytes());
    npy.extend(1.0f64.to_le_bytes().iter().chain(&2.0f64.to_le_bytes()));
    std::fs::write(d.join("cube.npy"), npy).unwrap();
    let message = fails(encrypt_packed(d, None, "cube.npy", "c.pack", &["4"]));
    assert!(
        message.contains("shape [1, 1, 2]") && message.contains("2-D"),
        "{message}"
    );
    // Too little headroom for the model: refused before any work, with what to change.
    ok(encrypt_packed(
        d,
        None,
        "x.jsonl",
        "x.pack",
        &["4", "--headroom-bits", "1"],
    ));
    let message = fails(linear(d, "model.json", "x.pack", "y.pack"));
    assert!(
        message.contains("x.pack")
            && message.contains("--headroom-bits")
            && message.contains("--precision"),
        "{message}"
    );
    assert!(!d.join("y.pack").exists());
    // A model of other inputs.
    std::fs::write(
        d.join("wide.json"),
        r#"{"weights": [[1.0, 2.0]], "biases": [0.0]}"#,
    )
    .unwrap();
    let message = fails(linear(d, "wide.json", "x.pack", "y.pack"));
    assert!(message.contains("3 columns"), "{message}");
    // A packed file is an encrypted-numbers output: replaced without --force, by either kind.
    ok(numbers(d, None, "encrypt", "x.jsonl", "x.pack"));
    ok(encrypt_packed(d, None, "x.jsonl", "x.pack", &["4"]));
}
