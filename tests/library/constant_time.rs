//! Runs `tools/ct-check --no-dudect` on the release `ct_check` example that `cargo test --release`
//! or `tools/test-all` (`cargo build --release --tests --example ct_check`) has just built: the
//! disassembly taint check and the memcheck secret poisoning (timing, dudect, stays out of the
//! test suite).
//!
//! It needs objdump, python3 and valgrind. Without them it is skipped with a note, unless
//! `PAILLIER_CT_CHECK_REQUIRE=1` (CI sets it), which makes it fail instead.

use std::path::PathBuf;
use std::process::Command;

fn example_binary() -> Option<PathBuf> {
    // target/<profile>/deps/constant_time-<hash> → target/<profile>/examples/ct_check.
    // `cargo build --example` links the plain name and `cargo test` the hashed `ct_check-<hash>`,
    // so either may be stale: take the newest.
    let exe = std::env::current_exe().ok()?;
    let examples = exe.parent()?.parent()?.join("examples");
    std::fs::read_dir(&examples)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name == "ct_check" || (name.starts_with("ct_check-") && !name.contains('.'))
        })
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .map(|entry| entry.path())
}

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

#[test]
fn compiled_secret_arithmetic_is_constant_time() {
    let required = std::env::var("PAILLIER_CT_CHECK_REQUIRE").is_ok_and(|v| v == "1");
    let missing: Vec<&str> = ["objdump", "python3", "valgrind"]
        .into_iter()
        .filter(|tool| !has(tool))
        .collect();
    let binary = example_binary();
    if !missing.is_empty() || binary.is_none() || cfg!(debug_assertions) {
        let why = format!(
            "missing tools {missing:?}, example built: {}, release build: {}",
            binary.is_some(),
            !cfg!(debug_assertions)
        );
        assert!(
            !required,
            "PAILLIER_CT_CHECK_REQUIRE=1 but the check cannot run: {why}"
        );
        eprintln!("skipping the constant-time check ({why}); run tools/ct-check");
        return;
    }
    let binary = binary.expect("checked above");
    let output = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/ct-check"))
        .args(["--no-dudect", "--binary"])
        .arg(&binary)
        .output()
        .expect("tools/ct-check runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(
        output.status.success(),
        "tools/ct-check failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("ct-check: every check passed"));
}
