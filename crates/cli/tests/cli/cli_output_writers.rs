//! Every writer of the CLI goes through the one output mechanism: bench's report and plot, the
//! aggregate's lock, a job's side files compared with its inputs, and the runtime folder that is
//! never changed through a planted link.

use crate::common;

use common::cli::{fails, ok};
use common::cli_files::{aggregate, create, encrypt, run, search_files, write_vectors};

fn bench(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let args = [
        &[
            "bench",
            "--device",
            "cpu",
            "--key-len",
            "256",
            "--embed-len",
            "8",
            "--batch",
            "2",
            "--repeat",
            "1",
            "--no-numbers",
        ][..],
        extra,
    ]
    .concat();
    run(dir, None, &args)
}

#[test]
fn bench_replaces_only_its_own_report_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json");
    let ctx = std::fs::read(d.join("ctx.json")).unwrap();
    for flag in ["--json", "--plot"] {
        let message = fails(bench(d, &[flag, "ctx.json"]));
        assert!(message.contains("--force"), "{message}");
        assert_eq!(std::fs::read(d.join("ctx.json")).unwrap(), ctx, "{flag}");
    }
    // Its own files are replaced run after run.
    ok(bench(d, &["--json", "b.json", "--plot", "b.svg"]));
    ok(bench(d, &["--json", "b.json", "--plot", "b.svg"]));
    // Asked by name, anything but an input is replaced.
    std::fs::copy(d.join("ctx.json"), d.join("copy.json")).unwrap();
    ok(bench(d, &["--json", "copy.json", "--force"]));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("copy.json")).unwrap()).unwrap();
    assert_eq!(report["tool"], "paillier-gpu bench");
}

#[test]
fn aggregate_holds_its_outputs_lock() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    search_files(d);
    let before = std::fs::read(d.join("r.bin")).unwrap();
    let lock = std::fs::File::create(d.join("r.bin.lock")).unwrap();
    lock.lock().unwrap();
    let message = fails(aggregate(d, "r.bin", &[]));
    assert!(message.contains("another run"), "{message}");
    assert_eq!(std::fs::read(d.join("r.bin")).unwrap(), before);
}

#[test]
fn a_jobs_side_files_are_never_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json");
    for suffix in [".progress", ".lock", ".partial"] {
        let input = format!("out.bin{suffix}");
        write_vectors(&d.join(&input), 4);
        let before = std::fs::read(d.join(&input)).unwrap();
        let message = fails(encrypt(d, &input, "out.bin", &[]));
        assert!(message.contains("is the input"), "{message}");
        assert_eq!(std::fs::read(d.join(&input)).unwrap(), before, "{suffix}");
        std::fs::remove_file(d.join(&input)).unwrap();
    }
    // A hard link to the context at the lock's name: the context is read, so it is refused.
    write_vectors(&d.join("v.jsonl"), 4);
    std::fs::hard_link(d.join("ctx.json"), d.join("out.bin.lock")).unwrap();
    let ctx = std::fs::read(d.join("ctx.json")).unwrap();
    let message = fails(encrypt(d, "v.jsonl", "out.bin", &[]));
    assert!(message.contains("is the input"), "{message}");
    assert_eq!(std::fs::read(d.join("ctx.json")).unwrap(), ctx);
    assert_eq!(std::fs::read(d.join("out.bin.lock")).unwrap(), ctx);
}

#[cfg(unix)]
#[test]
fn the_runtime_folder_is_not_changed_through_a_planted_link() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let temp = d.join("tmp");
    let victim = d.join("victim");
    std::fs::create_dir_all(&temp).unwrap();
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let uid = std::fs::metadata(d).unwrap().uid();
    std::os::unix::fs::symlink(&victim, temp.join(format!("paillier-gpu-runtime-{uid}"))).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_paillier-gpu"));
    command
        .current_dir(d)
        .args(["context", "show", "--context", "missing.json"])
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", &temp);
    // It fails (no such context) after setting up its runtime folder.
    assert!(!command.output().unwrap().status.success());
    let mode = std::fs::metadata(&victim).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o755, "the link's target was changed");
}

#[test]
fn decode_without_an_output_prints_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    search_files(d);
    let top = ok(run(
        d,
        Some("pass"),
        &[
            "decode",
            "--context",
            "ctx.json",
            "--input",
            "r.bin",
            "--top-k",
            "3",
        ],
    ));
    let top: serde_json::Value = serde_json::from_str(&top).unwrap();
    assert_eq!(top["ids"].as_array().unwrap().len(), 3, "{top}");
    let all = ok(run(
        d,
        Some("pass"),
        &["decode", "--context", "ctx.json", "--input", "r.bin"],
    ));
    assert_eq!(all.lines().count(), 6, "{all}");
    assert!(all.lines().all(|line| line.parse::<u32>().is_ok()), "{all}");
}

#[test]
fn context_create_holds_its_outputs_lock() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lock = std::fs::File::create(d.join("ctx.json.lock")).unwrap();
    lock.lock().unwrap();
    let message = fails(run(
        d,
        Some("pass"),
        &common::cli::small_context_args("8", "--output", "ctx.json"),
    ));
    assert!(message.contains("another run"), "{message}");
    assert!(!d.join("ctx.json").exists());
    drop(lock);
    create(d, "ctx.json");
    // A lock file this writer did not make is left for whoever made it (a killed encryption
    // keeps its resume key there); one it made goes with it.
    assert!(d.join("ctx.json.lock").exists());
    create(d, "other.json");
    assert!(!d.join("other.json.lock").exists());
}
