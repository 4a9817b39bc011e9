//! The resumable encryption job through the library: a resume is bound to the whole input it
//! consumed, a progress file that lies is refused, and the job's files are owner-only and hold
//! nothing that confirms a guessed input. A run stopped by a panic in its progress callback
//! leaves its files as a killed run does.

use crate::common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use common::small_options;
use paillier_gpu::formats::ciphertexts::read_ciphertext_batch;
use paillier_gpu::hamming::Selection;
use paillier_gpu::hazmat::backend::backend_for;
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::jobs::encrypt::{lock_path, partial_path, progress_path, EncryptJob};
use paillier_gpu::paillier::Scheme;
use paillier_gpu::{Device, Error, ExecutionContext};
use sha2::{Digest, Sha256};

const DIMS: usize = 512;
const RECORDS: usize = 3000;
const BATCH: usize = 256;

fn vector(record: usize) -> Vec<u8> {
    (0..DIMS)
        .map(|d| (record * 7 + d * 13).is_multiple_of(5) as u8)
        .collect()
}

fn line(row: &[u8]) -> String {
    format!("{}\n", serde_json::to_string(row).unwrap())
}

fn write_input(path: &Path, rows: &[Vec<u8>]) {
    std::fs::write(path, rows.iter().map(|r| line(r)).collect::<String>()).unwrap();
}

/// Runs the job; with `stop_after`, stops it (a panic in the callback) once that many records
/// are durable, as a kill would.
fn run_job(
    ctx: &ExecutionContext,
    input: &Path,
    output: &Path,
    resume: bool,
    stop_after: Option<usize>,
) -> Option<paillier_gpu::Result<usize>> {
    let backend = backend_for(Device::Cpu).unwrap();
    let job = EncryptJob {
        public_key: ctx.public().public_key(),
        secret_key: None,
        layout: ctx.layout(),
        shape: ctx.ciphertext_shape(),
        backend: backend.as_ref(),
        batch: BATCH,
    };
    let output = match Output::prepare(output, &[input], OutputKind::Ciphertexts, false) {
        Ok(output) => output,
        Err(e) => return Some(Err(e)),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        job.run(input, output, resume, |done| {
            if stop_after.is_some_and(|stop| done >= stop) {
                panic!("stopped after {done}");
            }
        })
    }));
    outcome
        .ok()
        .map(|result| result.map(|report| report.records))
}

/// Each record's number of ones, decoded from the output (a query of zeros gives them).
fn popcounts(ctx: &ExecutionContext, output: &Path) -> Vec<u32> {
    let batch =
        read_ciphertext_batch(output, ctx.ciphertext_shape(), ctx.public().public_key()).unwrap();
    let mut index = ctx.new_index().unwrap();
    index.insert_batch(&batch).unwrap();
    let query = ctx.encrypt_batch(&[&vec![0; DIMS]]).unwrap();
    let responses = index.aggregate_batch(&query, &Selection::All).unwrap();
    ctx.decode_batch(&responses).unwrap()
}

fn ones(row: &[u8]) -> u32 {
    row.iter().map(|&b| u32::from(b)).sum()
}

#[test]
fn a_resume_is_bound_to_the_whole_input_it_consumed() {
    let ctx = ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, DIMS), "p")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("v.jsonl"), dir.path().join("c.bin"));
    let mut rows: Vec<Vec<u8>> = (0..RECORDS).map(vector).collect();
    write_input(&input, &rows);
    assert!(std::fs::metadata(&input).unwrap().len() > 2 << 20);

    assert!(run_job(&ctx, &input, &output, false, Some(2048)).is_none());
    assert!(partial_path(&output).exists() && progress_path(&output).exists());

    // Record 1500 lies past the first MiB and before the resume point: edited (same size), the
    // resume is refused and the job's files stay for a resume with the right input.
    let original = rows[1500].clone();
    rows[1500] = original.iter().map(|b| b ^ 1).collect();
    write_input(&input, &rows);
    let refused = run_job(&ctx, &input, &output, true, None).unwrap();
    match refused {
        Err(Error::InvalidParameter(message)) => {
            assert!(message.contains("changed"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!output.exists());
    assert!(progress_path(&output).exists());

    // Restored, and edited only after the resume point: the resume goes on and the output holds
    // the input as it is now.
    rows[1500] = original;
    rows[2900] = rows[2900].iter().map(|b| b ^ 1).collect();
    write_input(&input, &rows);
    assert_eq!(
        run_job(&ctx, &input, &output, true, None).unwrap().unwrap(),
        RECORDS
    );
    let decoded = popcounts(&ctx, &output);
    let expected: Vec<u32> = rows.iter().map(|r| ones(r)).collect();
    assert_eq!(decoded, expected);
    for leftover in [
        partial_path(&output),
        progress_path(&output),
        lock_path(&output),
    ] {
        assert!(!leftover.exists(), "{}", leftover.display());
    }
}

#[test]
fn a_progress_file_that_lies_about_its_records_is_refused() {
    let ctx = ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, DIMS), "p")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("v.jsonl"), dir.path().join("c.bin"));
    let rows: Vec<Vec<u8>> = (0..1000).map(vector).collect();
    write_input(&input, &rows);
    assert!(run_job(&ctx, &input, &output, false, Some(512)).is_none());
    let progress = progress_path(&output);
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&progress).unwrap()).unwrap();
    let records = state["records"].as_u64().unwrap();
    state["records"] = (records + 100).into();
    std::fs::write(&progress, state.to_string()).unwrap();
    match run_job(&ctx, &input, &output, true, None).unwrap() {
        Err(Error::MalformedFile { detail, .. }) => {
            assert!(detail.contains("does not hold"), "{detail}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!output.exists());
    // Starting over works.
    assert_eq!(
        run_job(&ctx, &input, &output, false, None)
            .unwrap()
            .unwrap(),
        1000
    );
}

#[cfg(unix)]
#[test]
fn the_jobs_files_are_owner_only_and_hold_no_plain_digest_of_the_input() {
    use std::os::unix::fs::PermissionsExt;
    let ctx = ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, DIMS), "p")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("q.jsonl"), dir.path().join("c.bin"));
    // A one-record input (a query): the whole of it is what a plain digest would give away.
    write_input(&input, &[vector(3)]);
    let whole = std::fs::read(&input).unwrap();
    let digest: String = Sha256::digest(&whole)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(run_job(&ctx, &input, &output, false, Some(1)).is_none());
    let progress = std::fs::read_to_string(progress_path(&output)).unwrap();
    assert!(!progress.contains(&digest), "{progress}");
    assert!(progress.contains("input_mac"), "{progress}");
    for file in [
        progress_path(&output),
        partial_path(&output),
        lock_path(&output),
    ] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    assert_eq!(
        run_job(&ctx, &input, &output, true, None).unwrap().unwrap(),
        1
    );
}
