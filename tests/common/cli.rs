//! Checking runs of the built `paillier-gpu` binary.

use std::process::Output;

/// A success: exit 0; returns stdout.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A failure: non-zero exit, exactly one line on stderr (after any warnings), no panic; returns
/// that line.
pub fn fails(out: Output) -> String {
    assert!(!out.status.success(), "unexpected success");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("paillier-gpu: warn"))
        .collect();
    assert_eq!(errors.len(), 1, "one line expected:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    errors[0].to_owned()
}

/// `context create` arguments for a small INSECURE context (key_len 256, fast keys) of
/// `embed_len` dimensions, written to `output` through `flag` (`--output`, or its alias `--out`).
pub fn small_context_args<'a>(embed_len: &'a str, flag: &'a str, output: &'a str) -> Vec<&'a str> {
    vec![
        "context",
        "create",
        "--key-len",
        "256",
        "--embed-len",
        embed_len,
        "--insecure",
        flag,
        output,
    ]
}
