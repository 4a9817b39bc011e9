//! The guides in docs/ run as written: the command line's shell blocks top to bottom with the
//! built binary on the PATH (the benchmark block after them is left out: it runs for minutes),
//! the library guide's shell blocks, and its Rust blocks are the compiled examples.

use crate::common;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_paillier-gpu");

/// A guide of docs/, by name.
fn guide(name: &str) -> String {
    std::fs::read_to_string(common::repo_root().join(format!("docs/{name}.md"))).unwrap()
}

/// The ```sh blocks of the command line's guide before the benchmark paragraph, in order.
fn cli_blocks(guide: &str) -> Vec<String> {
    let section = guide
        .split("\nBenchmarks, with throwaway keys")
        .next()
        .expect("the CLI section");
    section
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap_or_default().to_owned())
        .collect()
}

/// Runs `script` with bash (`-euo pipefail`) in `dir`, the built binary first on the PATH, no
/// passphrase in the environment and `device` as PAILLIER_GPU_DEVICE (none: unset); it must
/// succeed without an error line.
fn run_script(script: &str, dir: &Path, device: Option<&str>, what: &str) -> String {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("PAILLIER_GPU_PASSPHRASE")
        .env_remove("PAILLIER_GPU_DEVICE");
    if let Some(device) = device {
        command.env("PAILLIER_GPU_DEVICE", device);
    }
    let out = command.output().expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the guide's {what} block failed:\n{stderr}"
    );
    assert!(!stderr.contains("error"), "{stderr}");
    stderr.into_owned()
}

#[test]
fn the_cli_guides_blocks_run_as_written() {
    let blocks = cli_blocks(&guide("cli"));
    assert_eq!(blocks.len(), 2, "the sequence and the --expect-key example");
    assert!(blocks[0].contains("paillier-gpu decode") && blocks[1].contains("--expect-key"));

    let dir = tempfile::tempdir().unwrap();
    let script = blocks.join("\n");
    let stderr = run_script(&script, dir.path(), None, "CLI");

    // The query is record 0: it comes first, at distance 0.
    let top: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("top.json")).unwrap())
            .unwrap();
    assert_eq!(top["ids"][0], 0, "{top}");
    assert_eq!(top["distances"][0], 0, "{top}");
    assert_eq!(top["ids"].as_array().unwrap().len(), 10);
    assert!(
        stderr.contains("wrote 1000 encrypted vectors to db.ct"),
        "{stderr}"
    );
}

#[test]
fn the_library_guides_numbers_blocks_run_as_written() {
    let library = guide("library");
    let section = library
        .split("\n## Numbers and encrypted inference\n")
        .nth(1)
        .expect("the library guide has a numbers section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the numbers section has a sh block");
    assert!(block.contains("paillier-gpu linear"), "{block}");

    let dir = tempfile::tempdir().unwrap();
    run_script(block, dir.path(), Some("cpu"), "numbers");
    // What the block's comment says it prints.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("scores.jsonl")).unwrap(),
        "[6.1,-1.35]\n[0.85,-3.1]\n"
    );

    // The packed block runs after it, in the same folder (it reuses the context, the model and
    // the passphrase).
    let packed = library
        .split("\n## Packed samples\n")
        .nth(1)
        .and_then(|section| section.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("\n```").next())
        .expect("the packed-samples section has a sh block");
    assert!(packed.contains("--packed"), "{packed}");
    // In the same shell session as the first: its passphrase is still exported.
    let export = block
        .lines()
        .find(|l| l.starts_with("export PAILLIER_GPU_PASSPHRASE="))
        .expect("the numbers block sets the passphrase");
    let script = format!("{export}\n{packed}");
    run_script(&script, dir.path(), Some("cpu"), "packed samples");
    // 1,000 × 2 float64 at the end of the .npy: x·W + b, the model's 0.1 rounded at 16^-5.
    let npy = std::fs::read(dir.path().join("scores.npy")).unwrap();
    let scores: Vec<f64> = npy[npy.len() - 16_000..]
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    for (i, y) in scores.chunks_exact(2).enumerate() {
        let x = [
            (i % 17) as f64 / 4.0 - 2.0,
            (i % 5) as f64 - 2.5,
            (i % 3) as f64 / 8.0,
        ];
        let want = [
            x[0] + 0.5 * x[1] + 3.0 * x[2] + 0.1,
            -2.0 * x[0] + 0.25 * x[1] - 0.1,
        ];
        for (got, want) in y.iter().zip(want) {
            assert!(
                (got - want).abs() < 1e-6,
                "sample {i}: {got} against {want}"
            );
        }
    }
}

/// The ```rust blocks of a guide, in order.
fn rust_blocks(guide: &str) -> Vec<&str> {
    guide
        .split("```rust\n")
        .skip(1)
        .filter_map(|rest| rest.split("\n```").next())
        .collect()
}

#[test]
fn the_library_guides_rust_examples_are_the_compiled_examples() {
    let root = common::repo_root().display().to_string();
    let library = guide("library");
    let blocks = rust_blocks(&library);
    assert_eq!(
        blocks.len(),
        4,
        "the library, the verifiable-records, the numbers and the packed-samples examples"
    );
    for (block, example) in blocks.iter().zip([
        "guide_library",
        "guide_verifiable",
        "guide_numbers",
        "guide_packed",
    ]) {
        // `cargo test` and tools/test-deep compile examples/: every line of the block must be
        // there, in order (the example only adds `fn main` around them and checks).
        let code = std::fs::read_to_string(format!("{root}/examples/{example}.rs")).unwrap();
        let mut lines = code.lines().map(str::trim);
        for wanted in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
            assert!(
                lines.any(|line| line == wanted),
                "examples/{example}.rs lacks, or has out of order, the guide's line: {wanted}"
            );
        }
    }
}
