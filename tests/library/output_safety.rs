//! The one output mechanism, through the library: whatever appears, changes or is linked at an
//! output while a writer works is left alone; one writer holds an output at a time; a writer's
//! side files are never its inputs.

use std::path::Path;

use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::Error;

const CONTEXT: &[u8] = br#"{"pk": "the user's keys", "sk": "..."}"#;

fn prepared(path: &Path) -> Output {
    Output::prepare(path, &[], OutputKind::Distances, false).unwrap()
}

#[test]
fn a_file_that_appears_during_the_write_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.txt");
    let output = prepared(&out);
    std::fs::write(&out, CONTEXT).unwrap();
    let error = output.write_bytes(b"1\n2\n").unwrap_err();
    assert!(matches!(error, Error::OutputChanged { .. }), "{error}");
    assert!(error.to_string().contains("appeared"), "{error}");
    assert_eq!(std::fs::read(&out).unwrap(), CONTEXT);
}

#[test]
fn a_file_replaced_or_changed_during_the_write_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.txt");
    std::fs::write(&out, b"7\n").unwrap();
    // Replaced by another file (a rename over it).
    let output = prepared(&out);
    let other = dir.path().join("other");
    std::fs::write(&other, CONTEXT).unwrap();
    std::fs::rename(&other, &out).unwrap();
    assert!(matches!(
        output.write_bytes(b"1\n"),
        Err(Error::OutputChanged { .. })
    ));
    assert_eq!(std::fs::read(&out).unwrap(), CONTEXT);
    // Rewritten in place (the same inode, another length).
    std::fs::write(&out, b"7\n").unwrap();
    let output = prepared(&out);
    std::fs::write(&out, CONTEXT).unwrap();
    assert!(matches!(
        output.write_bytes(b"1\n"),
        Err(Error::OutputChanged { .. })
    ));
    assert_eq!(std::fs::read(&out).unwrap(), CONTEXT);
    // Removed: not written back either.
    std::fs::write(&out, b"7\n").unwrap();
    let output = prepared(&out);
    std::fs::remove_file(&out).unwrap();
    assert!(matches!(
        output.write_bytes(b"1\n"),
        Err(Error::OutputChanged { .. })
    ));
    assert!(!out.exists());
}

#[cfg(unix)]
#[test]
fn a_link_or_fifo_planted_during_the_write_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ctx.json");
    std::fs::write(&ctx, CONTEXT).unwrap();
    let out = dir.path().join("d.txt");
    let output = prepared(&out);
    std::os::unix::fs::symlink(&ctx, &out).unwrap();
    assert!(matches!(
        output.write_bytes(b"1\n"),
        Err(Error::OutputChanged { .. })
    ));
    assert_eq!(std::fs::read(&ctx).unwrap(), CONTEXT);
    assert!(std::fs::symlink_metadata(&out)
        .unwrap()
        .file_type()
        .is_symlink());

    let fifo = dir.path().join("f.txt");
    let output = prepared(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    assert!(matches!(
        output.write_bytes(b"1\n"),
        Err(Error::OutputChanged { .. })
    ));
}

#[test]
fn one_writer_holds_an_output_until_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.txt");
    let first = prepared(&out);
    let second = Output::prepare(&out, &[], OutputKind::Distances, true).unwrap_err();
    assert!(matches!(second, Error::OutputBusy { .. }), "{second}");
    first.write_bytes(b"1\n").unwrap();
    // Written, the lock is let go and its file removed.
    assert!(!dir.path().join("d.txt.lock").exists());
    prepared(&out).write_bytes(b"2\n").unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"2\n");
    // Dropped unwritten, the same.
    drop(prepared(&out));
    assert!(!dir.path().join("d.txt.lock").exists());
    assert_eq!(std::fs::read(&out).unwrap(), b"2\n");
}

#[test]
fn a_writers_side_files_are_never_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = d.join("ctx.json");
    std::fs::write(&ctx, CONTEXT).unwrap();
    for suffix in [".lock", ".partial", ".progress"] {
        // An input named like a side file of the output.
        let input = d.join(format!("out.bin{suffix}"));
        std::fs::write(&input, b"[0, 1]\n").unwrap();
        let error = Output::prepare(&d.join("out.bin"), &[&input], OutputKind::Ciphertexts, true)
            .unwrap_err();
        assert!(matches!(error, Error::OutputIsInput { .. }), "{error}");
        assert_eq!(std::fs::read(&input).unwrap(), b"[0, 1]\n");
        std::fs::remove_file(&input).unwrap();
        // A hard link to an input under a side file's name.
        std::fs::hard_link(&ctx, &input).unwrap();
        let error = Output::prepare(&d.join("out.bin"), &[&ctx], OutputKind::Ciphertexts, true)
            .unwrap_err();
        assert!(matches!(error, Error::OutputIsInput { .. }), "{error}");
        assert_eq!(std::fs::read(&ctx).unwrap(), CONTEXT);
        assert!(input.exists(), "{suffix}");
        std::fs::remove_file(&input).unwrap();
    }
}

#[test]
fn ownership_is_judged_from_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.txt");
    let padded = [vec![b'\n'; 70_000], CONTEXT.to_vec()].concat();
    std::fs::write(&out, &padded).unwrap();
    let error = Output::prepare(&out, &[], OutputKind::Distances, false).unwrap_err();
    assert!(matches!(error, Error::WouldOverwrite(_)), "{error}");
    std::fs::write(&out, [b"3\n".as_slice(), CONTEXT].concat()).unwrap();
    assert!(Output::prepare(&out, &[], OutputKind::Distances, false).is_err());
    let names = dir.path().join("names.jsonl");
    std::fs::write(&names, b"[\"alice\", \"bob\"]\n").unwrap();
    assert!(Output::prepare(&names, &[], OutputKind::Ciphertexts, false).is_err());
}

#[cfg(unix)]
#[test]
fn a_context_never_goes_to_a_device_or_a_fifo() {
    let error =
        Output::prepare(Path::new("/dev/null"), &[], OutputKind::Context, true).unwrap_err();
    assert!(matches!(error, Error::UnsupportedOutput { .. }), "{error}");
    // Other kinds still stream there.
    Output::prepare(Path::new("/dev/null"), &[], OutputKind::Distances, false)
        .unwrap()
        .write_bytes(b"1\n")
        .unwrap();
}
