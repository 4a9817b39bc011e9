//! Writers killed at random points (SIGKILL, many times) never leave a damaged output, and an
//! interrupted encryption resumed with `--resume` neither loses nor repeats a record.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::hamming;
use paillier_gpu::formats::ciphertexts::{read_ciphertext_batch, read_ciphertexts};
use paillier_gpu::hamming::Selection;
use paillier_gpu::jobs::encrypt::{partial_path, progress_path};
use paillier_gpu::ExecutionContext;
use rand::{rngs::StdRng, Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_paillier-gpu");
const PASSPHRASE: &str = "crash-safety";
const EMBED_LEN: usize = 64;
const RECORDS: usize = 12_000;
const KILLS: usize = 20;

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env("PAILLIER_GPU_PASSPHRASE", PASSPHRASE)
        // The CPU: these tests are about files, and the CPU is what every machine has.
        .env("PAILLIER_GPU_DEVICE", "cpu")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn run_ok(dir: &Path, args: &[&str]) {
    let status = command(dir, args).status().unwrap();
    assert!(status.success(), "{args:?}: {status}");
}

/// Starts `args`, kills it (SIGKILL) after `delay`, and reports whether it had finished first.
fn run_and_kill(dir: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child: Child = command(dir, args).spawn().unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    child.wait().unwrap();
    finished
}

fn write_vectors(path: &Path, rows: &[Vec<u8>]) {
    let text: String = rows
        .iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).unwrap()))
        .collect();
    std::fs::write(path, text).unwrap();
}

fn setup(seed: u64) -> (tempfile::TempDir, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        dir.path(),
        &[
            "context",
            "create",
            "--key-len",
            "512",
            "--embed-len",
            "64",
            "--insecure",
            "--out",
            "ctx.json",
        ],
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut random = |count: usize| -> Vec<Vec<u8>> {
        (0..count)
            .map(|_| (0..EMBED_LEN).map(|_| rng.gen_range(0..2u8)).collect())
            .collect()
    };
    let (old, new) = (random(10), random(RECORDS));
    write_vectors(&dir.path().join("old.jsonl"), &old);
    write_vectors(&dir.path().join("new.jsonl"), &new);
    (dir, old, new)
}

/// The distances of every record in `file` to `query`, decrypted: equal to the plaintext ones
/// only if every record is there, once, in order.
fn distances(dir: &Path, file: &str, query: &[u8]) -> Vec<u32> {
    let ctx = ExecutionContext::load_with_passphrase(dir.join("ctx.json"), PASSPHRASE).unwrap();
    let records = read_ciphertext_batch(
        &dir.join(file),
        ctx.ciphertext_shape(),
        ctx.public().public_key(),
    )
    .unwrap();
    let mut index = ctx.new_index().unwrap();
    index.insert_batch(&records).unwrap();
    let q = ctx.encrypt_batch(&[query]).unwrap();
    ctx.decode_batch(&index.aggregate_batch(&q, &Selection::All).unwrap())
        .unwrap()
}

fn record_count(dir: &Path, file: &str) -> usize {
    let ctx = ExecutionContext::load_with_passphrase(dir.join("ctx.json"), PASSPHRASE).unwrap();
    read_ciphertexts(&dir.join(file), ctx.ciphertext_shape())
        .unwrap_or_else(|e| panic!("{file} is damaged: {e}"))
        .len()
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

#[test]
fn killed_encryptions_leave_the_old_or_new_file_and_resume_without_loss() {
    for (output, seed) in [("out.bin", 1), ("out.jsonl", 2)] {
        let (dir, old, new) = setup(seed);
        let dir = dir.path();
        run_ok(
            dir,
            &[
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                "old.jsonl",
                "--output",
                output,
            ],
        );
        let args = [
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "new.jsonl",
            "--output",
            output,
            "--resume",
            "--batch",
            "500",
        ];
        // How long one whole run takes here, to spread the kills over it (not a check).
        let scratch = format!("scratch-{output}");
        let whole = timed(|| {
            run_ok(
                dir,
                &[
                    "encrypt",
                    "--context",
                    "ctx.json",
                    "--input",
                    "new.jsonl",
                    "--output",
                    &scratch,
                ],
            )
        });
        let mut rng = StdRng::seed_from_u64(seed);
        let mut progress_seen = Vec::new();
        for kill in 0..KILLS {
            let delay = whole.mul_f64(rng.gen_range(0.02..0.35));
            let finished = run_and_kill(dir, &args, delay);
            let count = record_count(dir, output);
            assert!(
                count == old.len() || (count == new.len()),
                "kill {kill}: {output} has {count} records"
            );
            // The job is over once the output holds the new records, even when the kill came
            // between the final rename and the process's exit (then `finished` is false and the
            // progress file is gone; a later run would start a new job from zero).
            if finished || count == new.len() {
                break;
            }
            let progress = std::fs::read_to_string(progress_path(&dir.join(output)))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["records"].as_u64());
            progress_seen.push(progress.unwrap_or(0));
        }
        // Progress only grows: nothing confirmed is ever lost.
        assert!(
            progress_seen.windows(2).all(|w| w[0] <= w[1]),
            "{progress_seen:?}"
        );
        run_ok(dir, &args);
        assert!(!partial_path(&dir.join(output)).exists());
        assert!(!progress_path(&dir.join(output)).exists());
        assert_eq!(record_count(dir, output), new.len());
        for query in [&new[0], &old[0]] {
            let expected: Vec<u32> = new.iter().map(|r| hamming(r, query)).collect();
            assert_eq!(distances(dir, output, query), expected, "{output}");
        }
        eprintln!(
            "{output}: {} kills, confirmed records at each: {progress_seen:?}",
            progress_seen.len()
        );
    }
}

/// `aggregate` writes its whole output at once (temporary file, fsync, rename) and `context
/// create` saves a context the same way: killed anywhere, the target is old or new, complete.
#[test]
fn killed_one_shot_writers_leave_the_old_or_new_file() {
    let (dir, _, new) = setup(3);
    let dir = dir.path();
    run_ok(
        dir,
        &[
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "new.jsonl",
            "--output",
            "db.bin",
        ],
    );
    run_ok(
        dir,
        &[
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "old.jsonl",
            "--output",
            "q.bin",
        ],
    );
    // The "old" aggregate output: the database itself (a complete file of RECORDS records).
    std::fs::copy(dir.join("db.bin"), dir.join("agg.bin")).unwrap();
    let old_bytes = std::fs::read(dir.join("agg.bin")).unwrap();
    std::fs::write(dir.join("one.bin"), {
        // A one-record query file: the first record of q.bin.
        use paillier_gpu::formats::ciphertexts::{COUNT_OFFSET, HEADER_BYTES};
        let bytes = std::fs::read(dir.join("q.bin")).unwrap();
        let record = (bytes.len() - HEADER_BYTES) / 10;
        let mut out = bytes[..HEADER_BYTES].to_vec();
        out[COUNT_OFFSET..COUNT_OFFSET + 8].copy_from_slice(&1u64.to_le_bytes());
        out.extend_from_slice(&bytes[HEADER_BYTES..HEADER_BYTES + record]);
        out
    })
    .unwrap();
    let args = [
        "aggregate",
        "--context",
        "ctx.json",
        "--database",
        "db.bin",
        "--query",
        "one.bin",
        "--output",
        "agg.bin",
        "--device",
        "cpu",
    ];
    let whole = timed(|| run_ok(dir, &args));
    std::fs::write(dir.join("agg.bin"), &old_bytes).unwrap();
    let mut rng = StdRng::seed_from_u64(4);
    let (mut old_seen, mut new_seen) = (0, 0);
    for kill in 0..KILLS {
        let delay = whole.mul_f64(rng.gen_range(0.1..1.1));
        run_and_kill(dir, &args, delay);
        let bytes = std::fs::read(dir.join("agg.bin")).unwrap();
        if bytes == old_bytes {
            old_seen += 1;
        } else {
            assert_eq!(record_count(dir, "agg.bin"), new.len(), "kill {kill}");
            new_seen += 1;
        }
    }
    eprintln!("aggregate: {KILLS} kills, old file {old_seen} times, new file {new_seen} times");

    let id = |dir: &Path, file: &str| {
        ExecutionContext::load_with_passphrase(dir.join(file), PASSPHRASE)
            .unwrap_or_else(|e| panic!("{file} is damaged: {e}"))
            .id()
            .to_owned()
    };
    std::fs::copy(dir.join("ctx.json"), dir.join("ctx2.json")).unwrap();
    let create = [
        "context",
        "create",
        "--key-len",
        "512",
        "--embed-len",
        "64",
        "--insecure",
        "--force",
        "--out",
        "ctx2.json",
    ];
    let whole = timed(|| run_ok(dir, &create));
    let mut ids = std::collections::HashSet::new();
    for _ in 0..KILLS / 2 {
        let delay = whole.mul_f64(rng.gen_range(0.5..1.5));
        run_and_kill(dir, &create, delay);
        ids.insert(id(dir, "ctx2.json"));
    }
    // Killed writers may leave a `.paillier-gpu-*.tmp` beside the target; it is never the target.
    eprintln!(
        "context create: {} kills, {} distinct complete contexts seen",
        KILLS / 2,
        ids.len()
    );
}
