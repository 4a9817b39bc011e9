//! Ctrl-C on `encrypt` says what it kept and how to go on; the resumed run says where it
//! starts, and finishes the same output.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli_files::{create, encrypt, write_vectors};

#[cfg(unix)]
#[test]
fn an_interrupted_encryption_says_what_it_kept_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json");
    write_vectors(&d.join("v.jsonl"), 20_000);
    let child = Command::new(env!("CARGO_BIN_EXE_paillier-gpu"))
        .current_dir(d)
        .args([
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "v.jsonl",
            "--output",
            "db.bin",
            "--batch",
            "16",
        ])
        .env("PAILLIER_GPU_DEVICE", "cpu")
        .env("XDG_RUNTIME_DIR", d)
        .env_remove("PAILLIER_GPU_PASSPHRASE")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted once some batches are durable.
    let started = Instant::now();
    while !d.join("db.bin.progress").exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // It finished before the signal came: nothing to resume (a very fast machine).
        eprintln!("note: the run finished before it was interrupted");
        return;
    }
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("db.bin.partial"), "{stderr}");
    assert!(
        stderr.contains("--resume to continue from record"),
        "{stderr}"
    );
    assert!(!d.join("db.bin").exists());

    let resumed = encrypt(d, "v.jsonl", "db.bin", &["--resume"]);
    let said = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{said}");
    assert!(
        said.contains("resuming db.bin") && said.contains("going on from record"),
        "{said}"
    );
    let bytes = std::fs::read(d.join("db.bin")).unwrap();
    assert_eq!(
        u64::from_le_bytes(bytes[24..32].try_into().unwrap()),
        20_000
    );
    for leftover in ["db.bin.partial", "db.bin.progress", "db.bin.lock"] {
        assert!(!d.join(leftover).exists(), "{leftover}");
    }
}
