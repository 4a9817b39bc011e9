//! The CLI as a person meets it: whole argument errors, usage on a bare call, a help line for
//! every option, no driver noise, one line saying what each writing command wrote where, and
//! errors that name the folder, file and line that are wrong.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::cli::small_context_args;

const BIN: &str = env!("CARGO_BIN_EXE_paillier-gpu");

/// Runs the binary in `dir` without XDG_RUNTIME_DIR (as cron and containers do), a passphrase
/// set, and the device left to `auto` unless `extra_env` says otherwise.
fn run(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("PAILLIER_GPU_DEVICE")
        .env("PAILLIER_GPU_PASSPHRASE", "pass")
        .envs(extra_env.iter().copied())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn argument_errors_show_claps_whole_message_and_a_bare_call_shows_usage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bare = run(d, &[], &[]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(
        stderr(&bare).contains("Usage: paillier-gpu"),
        "{}",
        stderr(&bare)
    );
    assert!(stderr(&bare).contains("encrypt"), "the commands are listed");

    let missing = run(
        d,
        &["encrypt", "--context", "c.json", "--input", "v.jsonl"],
        &[],
    );
    assert_eq!(missing.status.code(), Some(2));
    let text = stderr(&missing);
    assert!(
        text.contains("--output <CIPHERTEXTS>"),
        "names what is missing: {text}"
    );
    assert!(text.contains("Usage:"), "{text}");

    let typo = stderr(&run(d, &["encrpyt"], &[]));
    assert!(
        typo.contains("similar subcommand exists: 'encrypt'"),
        "{typo}"
    );
    let bad_value = stderr(&run(
        d,
        &["context", "create", "--type", "elgamal", "--output", "x"],
        &[],
    ));
    assert!(
        bad_value.contains("possible values") && bad_value.contains("paillier_lookup"),
        "{bad_value}"
    );
}

#[test]
fn every_option_of_every_command_has_a_help_line() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 7] = [
        &[],
        &["context", "create"],
        &["context", "show"],
        &["encrypt"],
        &["aggregate"],
        &["decode"],
        &["bench"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("-h");
        let out = run(dir.path(), &args, &[]);
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            if !trimmed.starts_with('-') {
                continue;
            }
            // "--flag <VALUE>  what it does", or the description on the next line.
            let same_line = trimmed.split("  ").filter(|s| !s.trim().is_empty()).count() >= 2;
            let next_line = lines
                .get(i + 1)
                .is_some_and(|next| !next.trim().is_empty() && !next.trim_start().starts_with('-'));
            assert!(same_line || next_line, "{args:?}: no help for {trimmed:?}");
        }
    }
    // `cargo test` and tools/test-all build the example next to the test binaries; `cargo test
    // --test cli` alone does not, and it is skipped then, except under CI.
    let examples = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples");
    let search = examples.join(format!("search{}", std::env::consts::EXE_SUFFIX));
    if !search.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {} is not built",
            search.display()
        );
        eprintln!("{} not built; skipping its --help", search.display());
        return;
    }
    let example = Command::new(search).arg("--help").output().unwrap();
    assert!(example.status.success(), "{}", stderr(&example));
    assert!(String::from_utf8_lossy(&example.stdout).contains("--vectors"));
}

#[test]
fn writing_commands_say_what_they_wrote_where_without_driver_noise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let create = run(d, &small_context_args("8", "--output", "ctx.json"), &[]);
    assert!(create.status.success(), "{}", stderr(&create));
    assert!(stderr(&create).contains("wrote a paillier context (256 bits per prime) to ctx.json"));
    // The old spelling still works.
    let alias = run(d, &small_context_args("8", "--out", "b.json"), &[]);
    assert!(alias.status.success(), "{}", stderr(&alias));

    let rows: String = (0..5)
        .map(|r| format!("[{}]\n", vec![(r % 2).to_string(); 8].join(", ")))
        .collect();
    std::fs::write(d.join("db.jsonl"), rows).unwrap();
    std::fs::write(d.join("q.jsonl"), "[1, 1, 1, 1, 0, 0, 0, 0]\n").unwrap();
    let steps: [(&[&str], &str); 4] = [
        (
            &[
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                "db.jsonl",
                "--output",
                "db.bin",
            ],
            "wrote 5 encrypted vectors to db.bin (binary, key ",
        ),
        (
            &[
                "encrypt",
                "--context",
                "ctx.json",
                "--input",
                "q.jsonl",
                "--output",
                "q.jsonl.ct.jsonl",
            ],
            "wrote 1 encrypted vector to q.jsonl.ct.jsonl (JSON Lines",
        ),
        (
            &[
                "aggregate",
                "--context",
                "ctx.json",
                "--database",
                "db.bin",
                "--query",
                "q.jsonl.ct.jsonl",
                "--output",
                "r.bin",
            ],
            "wrote 5 responses to r.bin (binary)",
        ),
        (
            &[
                "decode",
                "--context",
                "ctx.json",
                "--input",
                "r.bin",
                "--top-k",
                "2",
                "--output",
                "top.json",
            ],
            "wrote the 2 nearest of 5 records to top.json",
        ),
    ];
    for (args, said) in steps {
        let out = run(d, args, &[]);
        let text = stderr(&out);
        assert!(out.status.success(), "{args:?}: {text}");
        assert!(text.contains(said), "{args:?}: {text}");
        // Mesa's complaint about XDG_RUNTIME_DIR never reaches the user, even under auto.
        assert!(!text.contains("XDG_RUNTIME_DIR"), "{args:?}: {text}");
    }
}

#[test]
fn errors_name_the_missing_folder_and_the_bad_vectors_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let create = run(d, &small_context_args("4", "--output", "ctx.json"), &[]);
    assert!(create.status.success());
    // A blank line is skipped, so the bad vector is on line 4; its second value is 7.
    std::fs::write(
        d.join("bad.jsonl"),
        "[0, 1, 0, 1]\n\n[1, 1, 0, 0]\n[1, 7, 0, 0]\n",
    )
    .unwrap();
    let out = run(
        d,
        &[
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "bad.jsonl",
            "--output",
            "o.bin",
        ],
        &[("PAILLIER_GPU_DEVICE", "cpu")],
    );
    let text = stderr(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("bad.jsonl, line 4, value 2: 7 is not 0 or 1"),
        "{text}"
    );

    std::fs::write(d.join("good.jsonl"), "[0, 1, 0, 1]\n").unwrap();
    for args in [
        vec![
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "good.jsonl",
            "--output",
            "no/such/o.bin",
        ],
        vec![
            "context",
            "create",
            "--key-len",
            "256",
            "--insecure",
            "--output",
            "no/such/c.json",
        ],
    ] {
        let out = run(d, &args, &[("PAILLIER_GPU_DEVICE", "cpu")]);
        let text = stderr(&out);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            text.contains("the folder no/such does not exist"),
            "{args:?}: {text}"
        );
        assert!(
            !text.contains(".tmp") && !text.contains(".partial"),
            "{text}"
        );
    }
}

/// A wrong passphrase names the context file; a file made under another key names both keys and
/// the context file that holds the other; `--expect-key` says it is the pin that differs.
#[test]
fn key_errors_name_the_files_and_both_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cpu = [("PAILLIER_GPU_DEVICE", "cpu")];
    for ctx in ["ctx.json", "ctx2.json"] {
        let out = run(d, &small_context_args("4", "--output", ctx), &[]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let fingerprint = |ctx: &str| -> String {
        let out = run(d, &["context", "show", "--context", ctx], &cpu);
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        shown["fingerprint"].as_str().unwrap().to_owned()
    };
    let (ours, theirs) = (fingerprint("ctx.json"), fingerprint("ctx2.json"));
    std::fs::write(d.join("v.jsonl"), "[0, 1, 0, 1]\n").unwrap();
    let encrypt = [
        "encrypt",
        "--context",
        "ctx.json",
        "--input",
        "v.jsonl",
        "--output",
        "v.ct",
    ];
    assert!(run(d, &encrypt, &cpu).status.success());

    let wrong = run(
        d,
        &["context", "show", "--context", "ctx.json"],
        &[("PAILLIER_GPU_PASSPHRASE", "not it")],
    );
    assert!(
        stderr(&wrong).contains("error: ctx.json: wrong passphrase or key for this context"),
        "{}",
        stderr(&wrong)
    );

    let aggregate = |ctx: &str, extra: &[&str]| {
        let mut args = vec!["aggregate", "--context", ctx, "--database", "v.ct"];
        args.extend(["--query", "v.ct", "--output", "r.ct"]);
        args.extend(extra);
        stderr(&run(d, &args, &cpu))
    };
    let text = aggregate("ctx2.json", &[]);
    assert!(
        text.contains(&format!(
            "the ciphertext file v.ct was made under the key {ours}; ctx2.json holds {theirs}"
        )),
        "{text}"
    );
    let text = aggregate("ctx.json", &["--expect-key", &theirs]);
    assert!(
        text.contains(&format!(
            "the context ctx.json holds the key {ours}; --expect-key pins {theirs}"
        )),
        "{text}"
    );
}

/// At info level a run says once where its work runs: `auto` on a software adapter says it
/// keeps to the CPU and nothing claims a GPU backend.
#[test]
fn info_logs_say_where_the_work_runs_without_contradiction() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(
        run(d, &small_context_args("4", "--output", "ctx.json"), &[])
            .status
            .success()
    );
    std::fs::write(d.join("v.jsonl"), "[0, 1, 0, 1]\n").unwrap();
    let out = run(
        d,
        &[
            "encrypt",
            "--context",
            "ctx.json",
            "--input",
            "v.jsonl",
            "--output",
            "v.ct",
        ],
        &[("RUST_LOG", "info")],
    );
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    let software = text.contains("is a software renderer");
    let on_gpu = text.contains("running on the GPU");
    // Exactly one of them, whatever adapter this machine has (or none: then the reason).
    assert!(
        (software ^ on_gpu) || text.contains("device auto:"),
        "{text}"
    );
    assert!(!(software && on_gpu), "{text}");
    assert!(!text.contains("GPU backend on"), "{text}");
}

#[test]
fn bench_names_the_machine_and_labels_its_plot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(
        d,
        &[
            "bench",
            "--device",
            "cpu",
            "--key-len",
            "256",
            "--embed-len",
            "16",
            "--batch",
            "10,1000",
            "--repeat",
            "1",
            "--json",
            "b.json",
            "--plot",
            "b.svg",
        ],
        &[],
    );
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        table.starts_with("cpu: ") && table.contains("threads") && table.contains("engine"),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("b.json")).unwrap()).unwrap();
    assert!(report["cpu"]["engine"].is_string() && report["cpu"]["threads"].is_u64());
    let svg = std::fs::read_to_string(d.join("b.svg")).unwrap();
    // Tick labels are text elements of their own lines.
    assert!(svg.lines().any(|l| l.trim() == "1k"), "x ticks read 1k");
    assert!(svg.contains("vectors/s"), "the y axis names its unit");
    assert!(
        svg.contains("threads") && svg.contains("engine"),
        "the title names the machine"
    );
}
