//! `aggregate` streams the database a block at a time, through the built binary: every pairing of
//! file forms gives the distances, and a bad record found after blocks were already answered
//! leaves the output as it was.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::cli::{fails, ok, read_distances, run_with, small_context_args};

/// More than one CPU block (1,024 records), so that the stream really has several.
const RECORDS: usize = 1_100;

fn run(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Output {
    run_with(dir, passphrase, args, &[("PAILLIER_GPU_DEVICE", "cpu")])
}

/// Record `r`'s 8 bits: r's low bits, so the query (record 0's bits, all zero) is at distance
/// popcount(r mod 256) from it.
fn vector(r: usize) -> Vec<u8> {
    (0..8).map(|d| ((r >> d) & 1) as u8).collect()
}

fn aggregate(d: &Path, database: &str, query: &str, output: &str) -> Output {
    run(
        d,
        None,
        &[
            "aggregate",
            "--context",
            "ctx.json",
            "--database",
            database,
            "--query",
            query,
            "--output",
            output,
        ],
    )
}

fn setup(d: &Path) {
    ok(run(
        d,
        Some("pass"),
        &small_context_args("8", "--output", "ctx.json"),
    ));
    let text: String = (0..RECORDS)
        .map(|r| format!("{}\n", serde_json::to_string(&vector(r)).unwrap()))
        .collect();
    std::fs::write(d.join("v.jsonl"), text).unwrap();
    std::fs::write(d.join("q.jsonl"), "[0,0,0,0,0,0,0,0]\n").unwrap();
    for (input, output) in [
        ("v.jsonl", "db.ct"),
        ("v.jsonl", "db.jsonl"),
        ("q.jsonl", "q.ct"),
    ] {
        ok(run(
            d,
            None,
            &[
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                input,
                "--output",
                output,
            ],
        ));
    }
}

#[test]
fn every_pairing_of_forms_streams_to_the_distances() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let expected: Vec<u32> = (0..RECORDS).map(|r| (r % 256).count_ones()).collect();
    for (database, output) in [
        ("db.ct", "r.ct"),
        ("db.ct", "r.jsonl"),
        ("db.jsonl", "r2.ct"),
        ("db.jsonl", "r2.jsonl"),
    ] {
        let said = String::from_utf8(aggregate(d, database, "q.ct", output).stderr).unwrap();
        assert!(
            said.contains(&format!("wrote 1100 responses to {output}")),
            "{said}"
        );
        ok(run(
            d,
            Some("pass"),
            &[
                "decode",
                "--context",
                "ctx.json",
                "--input",
                output,
                "--output",
                "dist.txt",
            ],
        ));
        assert_eq!(
            read_distances(&d.join("dist.txt")),
            expected,
            "{database} -> {output}"
        );
    }
    // The JSON Lines database does not say how many records it holds: the binary output's
    // header was written first and its count patched in. It is the header of the responses
    // from the binary database (another encryption of the same vectors), at the same length.
    let (from_jsonl, from_binary) = (
        std::fs::read(d.join("r2.ct")).unwrap(),
        std::fs::read(d.join("r.ct")).unwrap(),
    );
    assert_eq!(from_jsonl.len(), from_binary.len());
    assert_eq!(from_jsonl[..64], from_binary[..64]);
}

#[test]
fn a_bad_record_after_the_first_block_leaves_the_output_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    ok(aggregate(d, "db.ct", "q.ct", "r.ct"));
    let before = std::fs::read(d.join("r.ct")).unwrap();

    // Record 1,050 (in the second block) becomes all ones: not below n².
    let mut database = std::fs::read(d.join("db.ct")).unwrap();
    let width = (database.len() - 64) / RECORDS;
    let start = 64 + 1_050 * width;
    database[start..start + width].fill(0xff);
    std::fs::write(d.join("bad.ct"), &database).unwrap();
    let message = fails(aggregate(d, "bad.ct", "q.ct", "r.ct"));
    assert!(
        message.contains("bad.ct") && message.contains("ciphertext 1050"),
        "{message}"
    );

    // In JSON Lines, line 1,051 is cut short.
    let text = std::fs::read_to_string(d.join("db.jsonl")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1_050] = "[\"AAAA\"";
    std::fs::write(d.join("bad.jsonl"), lines.join("\n")).unwrap();
    let message = fails(aggregate(d, "bad.jsonl", "q.ct", "r.ct"));
    assert!(
        message.contains("bad.jsonl") && message.contains("line 1051"),
        "{message}"
    );

    assert_eq!(std::fs::read(d.join("r.ct")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
