//! The inference service's own example through the CLI: its `input_data` as a JSON document,
//! its model (one row of weights per output), the answer 3.5; numpy's layout only by name; a
//! model larger than the samples allow refused while it is read.

use crate::common;

use std::path::Path;

use common::cli::{fails, ok, small_context_args};
use common::cli_files::run;

const SERVICE_MODEL: &str = r#"{"weights": [[0.1, 0.2, 0.3, 0.4]], "biases": [0.5]}"#;

fn linear(d: &Path, model: &str, extra: &[&str]) -> std::process::Output {
    let args = [
        &[
            "linear",
            "--context",
            "ctx.json",
            "--model",
            model,
            "--input",
            "x.enc",
            "--output",
            "y.enc",
        ][..],
        extra,
    ]
    .concat();
    run(d, None, &args)
}

fn decrypted(d: &Path) -> Vec<Vec<f64>> {
    ok(run(
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
            "y.jsonl",
            "--force",
        ],
    ));
    std::fs::read_to_string(d.join("y.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn the_services_example_gives_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(run(
        d,
        Some("pass"),
        &small_context_args("8", "--output", "ctx.json"),
    ));
    std::fs::write(d.join("input.json"), "[[1.0, 2.0, 3.0, 4.0]]").unwrap();
    std::fs::write(d.join("model.json"), SERVICE_MODEL).unwrap();
    ok(run(
        d,
        None,
        &[
            "numbers",
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "input.json",
            "--output",
            "x.enc",
        ],
    ));
    ok(linear(d, "model.json", &[]));
    let y = decrypted(d);
    assert_eq!((y.len(), y[0].len()), (1, 1), "shape [1, 1]: {y:?}");
    assert!((y[0][0] - 3.5).abs() < 1e-9, "{y:?}");

    // numpy's x @ W only when asked by name, with the same answer.
    std::fs::write(
        d.join("numpy.json"),
        r#"{"weights": [[0.1], [0.2], [0.3], [0.4]], "biases": [0.5]}"#,
    )
    .unwrap();
    let message = fails(linear(d, "numpy.json", &["--force"]));
    assert!(message.contains("--weight-rows per-input"), "{message}");
    ok(linear(
        d,
        "numpy.json",
        &["--weight-rows", "per-input", "--force"],
    ));
    assert!((decrypted(d)[0][0] - 3.5).abs() < 1e-9);
}

#[test]
fn json_documents_of_numbers_and_oversized_models() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(run(
        d,
        Some("pass"),
        &small_context_args("8", "--output", "ctx.json"),
    ));
    // A number, a list and a list of lists.
    for (text, shape) in [
        ("2.5", "[1]"),
        ("[1, 2, 3]", "[3]"),
        ("[[1, 2], [3, 4]]", "[2, 2]"),
    ] {
        std::fs::write(d.join("doc.json"), text).unwrap();
        let said = run(
            d,
            None,
            &[
                "numbers",
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                "doc.json",
                "--output",
                "x.enc",
                "--force",
            ],
        );
        let stderr = String::from_utf8_lossy(&said.stderr).to_string();
        assert!(
            said.status.success() && stderr.contains(shape),
            "{text}: {stderr}"
        );
    }
    for bad in ["[[1, 2], [3]]", "{\"a\": 1}", "[]", "[\"x\"]"] {
        std::fs::write(d.join("doc.json"), bad).unwrap();
        let message = fails(run(
            d,
            None,
            &[
                "numbers",
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                "doc.json",
                "--output",
                "x.enc",
                "--force",
            ],
        ));
        assert!(message.contains("doc.json"), "{bad}: {message}");
    }
    // Samples of 2 features; a model whose first row holds a million weights is refused at
    // its third value, not after reading it whole.
    let row: Vec<String> = (0..1_000_000).map(|i| (i % 7).to_string()).collect();
    std::fs::write(
        d.join("huge.json"),
        format!("{{\"weights\": [[{}]], \"biases\": [0]}}", row.join(",")),
    )
    .unwrap();
    let message = fails(linear(d, "huge.json", &[]));
    assert!(message.contains("more than 2 values"), "{message}");
    assert!(!d.join("y.enc").exists());
}
