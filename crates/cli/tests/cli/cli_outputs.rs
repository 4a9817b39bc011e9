//! Nothing a user owns is destroyed by naming it as an output, through the built binary: an
//! output that is an input, an existing file of another kind, a FIFO, a symbolic link, a device;
//! one writer per output; owner-only files for the owner's data.

use crate::common;

use common::cli::{fails, ok, small_context_args};
use common::cli_files::{aggregate, create, decode, encrypt, run, search_files, write_vectors};

#[test]
fn an_output_that_is_an_input_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    search_files(d);
    let snapshot = |name: &str| std::fs::read(d.join(name)).unwrap();
    let (ctx, vectors, responses) = (snapshot("ctx.json"), snapshot("v.jsonl"), snapshot("r.bin"));

    for (out, input) in [
        (encrypt(d, "v.jsonl", "ctx.json", &["--force"]), "ctx.json"),
        (encrypt(d, "v.jsonl", "v.jsonl", &["--force"]), "v.jsonl"),
        (decode(d, "r.bin", "r.bin", &["--force"]), "r.bin"),
        (decode(d, "r.bin", "ctx.json", &["--force"]), "ctx.json"),
        (aggregate(d, "q.bin", &["--force"]), "q.bin"),
    ] {
        let message = fails(out);
        assert!(
            message.contains("is the input") && message.contains(input),
            "{message}"
        );
    }
    // Another name for the same file (a hard link, a symbolic link, ./) is the same file.
    std::fs::hard_link(d.join("v.jsonl"), d.join("hard.jsonl")).unwrap();
    std::os::unix::fs::symlink("ctx.json", d.join("soft.json")).unwrap();
    fails(encrypt(d, "v.jsonl", "hard.jsonl", &["--force"]));
    fails(encrypt(d, "v.jsonl", "soft.json", &["--force"]));
    fails(decode(d, "r.bin", "./ctx.json", &["--force"]));
    assert_eq!(snapshot("ctx.json"), ctx);
    assert_eq!(snapshot("v.jsonl"), vectors);
    assert_eq!(snapshot("r.bin"), responses);
    for leftover in ["ctx.json.partial", "ctx.json.progress", "ctx.json.lock"] {
        assert!(!d.join(leftover).exists(), "{leftover}");
    }
}

#[test]
fn an_existing_file_of_another_kind_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    search_files(d);
    create(d, "other.json");
    std::fs::write(d.join("notes.txt"), "my notes\n").unwrap();
    let other = std::fs::read(d.join("other.json")).unwrap();

    // A context file or a file the command does not write: refused, untouched.
    for out in [
        encrypt(d, "v.jsonl", "other.json", &[]),
        encrypt(d, "v.jsonl", "notes.txt", &[]),
        decode(d, "r.bin", "other.json", &[]),
        decode(d, "r.bin", "db.bin", &[]),
    ] {
        let message = fails(out);
        assert!(message.contains("--force"), "{message}");
    }
    assert_eq!(std::fs::read(d.join("other.json")).unwrap(), other);
    assert_eq!(
        std::fs::read_to_string(d.join("notes.txt")).unwrap(),
        "my notes\n"
    );
    let refused = run(
        d,
        Some("pass"),
        &small_context_args("8", "--output", "notes.txt"),
    );
    assert!(fails(refused).contains("--force"));

    // Its own kind of file, or an empty one, is replaced; anything with --force.
    ok(encrypt(d, "v.jsonl", "db.bin", &[]));
    ok(decode(d, "r.bin", "d.txt", &[]));
    ok(decode(d, "r.bin", "d.txt", &[]));
    ok(decode(d, "r.bin", "top.json", &["--top-k", "2"]));
    ok(decode(d, "r.bin", "top.json", &["--top-k", "2"]));
    std::fs::write(d.join("empty.bin"), b"").unwrap();
    ok(encrypt(d, "v.jsonl", "empty.bin", &[]));
    ok(encrypt(d, "v.jsonl", "notes.txt", &["--force"]));
    assert_ne!(std::fs::read(d.join("notes.txt")).unwrap(), b"my notes\n");
}

#[test]
fn a_numbers_decryption_never_replaces_binary_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json");
    write_vectors(&d.join("v.jsonl"), 3);
    let vectors = std::fs::read(d.join("v.jsonl")).unwrap();
    std::fs::write(d.join("x.jsonl"), "[1.5, -2]\n").unwrap();
    let numbers = |verb: &str, input: &str, output: &str, extra: &[&str]| {
        let mut args = vec![
            "numbers",
            verb,
            "--context",
            "ctx.json",
            "--input",
            input,
            "--output",
            output,
        ];
        args.extend_from_slice(extra);
        run(d, Some("pass"), &args)
    };
    ok(numbers("encrypt", "x.jsonl", "x.enc", &[]));
    // Rows of zeros and ones are the owner's embeddings: refused, untouched; decrypted numbers
    // are replaced.
    assert!(fails(numbers("decrypt", "x.enc", "v.jsonl", &[])).contains("--force"));
    assert_eq!(std::fs::read(d.join("v.jsonl")).unwrap(), vectors);
    ok(numbers("decrypt", "x.enc", "y.jsonl", &[]));
    ok(numbers("decrypt", "x.enc", "y.jsonl", &[]));
    ok(numbers("decrypt", "x.enc", "v.jsonl", &["--force"]));
}

#[test]
fn links_are_followed_and_streams_are_written_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    search_files(d);

    // A symbolic link: its target is replaced, the link stays a link.
    std::fs::create_dir(d.join("store")).unwrap();
    std::os::unix::fs::symlink("store/db2.bin", d.join("link.bin")).unwrap();
    ok(encrypt(d, "v.jsonl", "link.bin", &[]));
    assert!(std::fs::symlink_metadata(d.join("link.bin"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(d.join("store/db2.bin").is_file());
    ok(decode(d, "r.bin", "d.txt", &[]));
    std::os::unix::fs::symlink("d.txt", d.join("d-link.txt")).unwrap();
    ok(decode(d, "r.bin", "d-link.txt", &[]));
    assert!(std::fs::symlink_metadata(d.join("d-link.txt"))
        .unwrap()
        .file_type()
        .is_symlink());

    // A FIFO: the reader gets the whole ciphertext file, and the FIFO stays a FIFO.
    for (name, form) in [("pipe.bin", "binary"), ("pipe.jsonl", "JSON Lines")] {
        let fifo = d.join(name);
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        ok(encrypt(d, "v.jsonl", name, &[]));
        let streamed = reader.join().unwrap();
        assert!(
            std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
            "{form}"
        );
        std::fs::write(d.join(format!("copy-{name}")), &streamed).unwrap();
        // What came through the pipe is a whole file: it aggregates and decodes.
        ok(run(
            d,
            None,
            &[
                "aggregate",
                "--context",
                "ctx.json",
                "--database",
                &format!("copy-{name}"),
                "--query",
                "q.bin",
                "--output",
                &format!("r-{name}"),
            ],
        ));
        ok(decode(
            d,
            &format!("r-{name}"),
            &format!("d-{name}.txt"),
            &[],
        ));
        let count = std::fs::read_to_string(d.join(format!("d-{name}.txt")))
            .unwrap()
            .lines()
            .count();
        assert_eq!(count, 6, "{form}");
    }
    // A JSON Lines database into binary responses: a file gets its header's count patched in
    // at the end, a FIFO the records held until the count is known; both the same bytes.
    let aggregate_into = |output: &str| {
        run(
            d,
            None,
            &[
                "aggregate",
                "--context",
                "ctx.json",
                "--database",
                "copy-pipe.jsonl",
                "--query",
                "q.bin",
                "--output",
                output,
            ],
        )
    };
    ok(aggregate_into("agg-file.bin"));
    let fifo = d.join("agg-pipe.bin");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let reader = std::thread::spawn(move || std::fs::read(fifo).unwrap());
    ok(aggregate_into("agg-pipe.bin"));
    assert_eq!(
        reader.join().unwrap(),
        std::fs::read(d.join("agg-file.bin")).unwrap()
    );
    let status = std::process::Command::new("mkfifo")
        .arg(d.join("pipe2.bin"))
        .status()
        .unwrap();
    assert!(status.success());
    let message = fails(encrypt(d, "v.jsonl", "pipe2.bin", &["--resume"]));
    assert!(message.contains("stream"), "{message}");

    // A folder is no output.
    std::fs::create_dir(d.join("folder.bin")).unwrap();
    let message = fails(encrypt(d, "v.jsonl", "folder.bin", &["--force"]));
    assert!(message.contains("a folder"), "{message}");

    // A character device, made in the test's own folder when the test runs as root.
    let device = d.join("null");
    let made = std::process::Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if made {
        ok(encrypt(d, "v.jsonl", "null", &[]));
        ok(decode(d, "r.bin", "null", &[]));
        // A context's keys written to a device would be lost: refused.
        let message = fails(run(
            d,
            Some("pass"),
            &small_context_args("8", "--output", "null"),
        ));
        assert!(message.contains("a FIFO or a device"), "{message}");
        let kind = std::fs::metadata(&device).unwrap().file_type();
        assert!(kind.is_char_device(), "the device was replaced");
    } else {
        eprintln!("note: mknod is not permitted here; the character-device case did not run");
    }
}

#[test]
fn one_writer_per_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json");
    write_vectors(&d.join("v.jsonl"), 6);
    // Another run holds the output's lock: this one fails at once and touches nothing of it.
    let lock = std::fs::File::create(d.join("out.bin.lock")).unwrap();
    lock.lock().unwrap();
    std::fs::write(d.join("out.bin.partial"), b"the other run's records").unwrap();
    let message = fails(encrypt(d, "v.jsonl", "out.bin", &[]));
    assert!(message.contains("another run"), "{message}");
    assert!(message.contains("out.bin"), "{message}");
    assert!(!d.join("out.bin").exists());
    assert_eq!(
        std::fs::read(d.join("out.bin.partial")).unwrap(),
        b"the other run's records"
    );
    drop(lock);
    // Released, the output is this run's, and the lock file goes with the run. A process
    // another test's thread forks meanwhile holds a copy of the lock's descriptor until it
    // execs (then it is closed: O_CLOEXEC): a run that meets such a copy fails at once, as it
    // should, and is tried again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let run = encrypt(d, "v.jsonl", "out.bin", &[]);
        let message = String::from_utf8_lossy(&run.stderr).into_owned();
        if run.status.success() || !message.contains("another run") {
            ok(run);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{message}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    for leftover in ["out.bin.lock", "out.bin.partial", "out.bin.progress"] {
        assert!(!d.join(leftover).exists(), "{leftover}");
    }

    // Two runs at once on one output: one may fail at once, naming the other, but never both,
    // and the output is whole and one run's (its header's count is one input's length).
    write_vectors(&d.join("many.jsonl"), 3000);
    write_vectors(&d.join("few.jsonl"), 5);
    let d1 = d.to_path_buf();
    let first =
        std::thread::spawn(move || encrypt(&d1, "many.jsonl", "race.bin", &["--batch", "16"]));
    std::thread::sleep(std::time::Duration::from_millis(150));
    let second = encrypt(d, "few.jsonl", "race.bin", &[]);
    let first = first.join().unwrap();
    let outcomes = [(&first, 3000u64), (&second, 5)];
    for (out, _) in &outcomes {
        if !out.status.success() {
            let message = String::from_utf8_lossy(&out.stderr);
            assert!(message.contains("another run"), "{message}");
        }
    }
    let winners: Vec<u64> = outcomes
        .iter()
        .filter(|(out, _)| out.status.success())
        .map(|(_, records)| *records)
        .collect();
    assert!(!winners.is_empty(), "both runs failed");
    let bytes = std::fs::read(d.join("race.bin")).unwrap();
    let count = u64::from_le_bytes(bytes[24..32].try_into().unwrap());
    assert!(winners.contains(&count), "{count} records from {winners:?}");
    let record = (bytes.len() as u64 - 64) / count;
    assert_eq!(
        64 + record * count,
        bytes.len() as u64,
        "whole records only"
    );
    assert!(!d.join("race.bin.progress").exists());
    assert!(!d.join("race.bin.lock").exists());
}

#[cfg(unix)]
#[test]
fn the_owners_files_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    search_files(d);
    ok(decode(d, "r.bin", "d.txt", &[]));
    ok(decode(d, "r.bin", "top.json", &["--top-k", "1"]));
    for name in ["ctx.json", "d.txt", "top.json"] {
        let mode = std::fs::metadata(d.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
}

#[test]
fn a_huge_passphrase_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json");
    let file = std::fs::File::create(d.join("pass.txt")).unwrap();
    file.set_len(300 << 20).unwrap();
    let message = fails(run(
        d,
        None,
        &[
            "--passphrase-file",
            "pass.txt",
            "context",
            "show",
            "--context",
            "ctx.json",
        ],
    ));
    assert!(message.contains("larger than"), "{message}");
}

#[test]
fn links_at_the_jobs_own_file_names_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create(d, "ctx.json");
    write_vectors(&d.join("v.jsonl"), 6);
    std::fs::write(d.join("victim.txt"), "keep me\n").unwrap();
    for side in ["out.bin.partial", "out.bin.progress", "out.bin.lock"] {
        std::os::unix::fs::symlink("victim.txt", d.join(side)).unwrap();
        let message = fails(encrypt(d, "v.jsonl", "out.bin", &[]));
        assert!(message.contains("symbolic link"), "{side}: {message}");
        assert_eq!(
            std::fs::read_to_string(d.join("victim.txt")).unwrap(),
            "keep me\n",
            "{side}"
        );
        assert!(!d.join("out.bin").exists(), "{side}");
        let _ = std::fs::remove_file(d.join(side));
    }
    ok(encrypt(d, "v.jsonl", "out.bin", &[]));
}
