//! The files of a whole search made through the built binary, on the CPU, for the tests of what
//! each command may read and write.

use std::path::Path;
use std::process::Output;

use super::cli::{ok, run_with, small_context_args};

/// Runs the binary in `dir` on the CPU.
pub fn run(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Output {
    run_with(dir, passphrase, args, &[("PAILLIER_GPU_DEVICE", "cpu")])
}

/// A small context at `name`, passphrase `pass`.
pub fn create(dir: &Path, name: &str) {
    ok(run(
        dir,
        Some("pass"),
        &small_context_args("8", "--output", name),
    ));
}

/// `rows` distinct 8-dimension vectors as JSON Lines.
pub fn write_vectors(path: &Path, rows: usize) {
    let text: String = (0..rows)
        .map(|r| {
            let row: Vec<u8> = (0..8).map(|d| ((r >> d) & 1) as u8).collect();
            format!("{}\n", serde_json::to_string(&row).unwrap())
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

/// `encrypt` of `input` into `output` under `ctx.json`.
pub fn encrypt(dir: &Path, input: &str, output: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "encrypt",
        "--context",
        "ctx.json",
        "--input",
        input,
        "--output",
        output,
    ];
    args.extend_from_slice(extra);
    run(dir, None, &args)
}

/// A context (`ctx.json`, passphrase `pass`), vectors (`v.jsonl`, `q.jsonl`), a database (`db.bin`), a query (`q.bin`) and the responses (`r.bin`), a database, a query and the responses, all made through the binary.
pub fn search_files(d: &Path) {
    create(d, "ctx.json");
    write_vectors(&d.join("v.jsonl"), 6);
    write_vectors(&d.join("q.jsonl"), 1);
    ok(encrypt(d, "v.jsonl", "db.bin", &[]));
    ok(encrypt(d, "q.jsonl", "q.bin", &[]));
    ok(aggregate(d, "r.bin", &[]));
}

/// `decode` of `input` into `output` under `ctx.json`.
pub fn decode(d: &Path, input: &str, output: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "decode",
        "--context",
        "ctx.json",
        "--input",
        input,
        "--output",
        output,
    ];
    args.extend_from_slice(extra);
    run(d, Some("pass"), &args)
}

/// `aggregate` of `q.bin` over `db.bin` into `output` under `ctx.json`.
pub fn aggregate(dir: &Path, output: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "aggregate",
        "--context",
        "ctx.json",
        "--database",
        "db.bin",
        "--query",
        "q.bin",
        "--output",
        output,
    ];
    args.extend_from_slice(extra);
    run(dir, None, &args)
}
