//! Checking runs of the built `paillier-gpu` binary.

use std::path::Path;
use std::process::{Command, Output};

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

/// Runs the binary in `dir` with a clean environment: no passphrase, device or adapter unless
/// given, an XDG_RUNTIME_DIR so that software Vulkan drivers do not complain on stderr, and the
/// owner's state folder under `dir` (never the home folder's) unless given.
pub fn run_with(
    dir: &Path,
    passphrase: Option<&str>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paillier-gpu"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("PAILLIER_GPU_PASSPHRASE")
        .env_remove("PAILLIER_GPU_DEVICE")
        .env_remove("PAILLIER_GPU_ADAPTER")
        .env_remove("PAILLIER_GPU_STORE")
        .env("XDG_RUNTIME_DIR", dir)
        .env("PAILLIER_GPU_STATE_DIR", dir.join(".paillier-gpu-state"));
    if let Some(p) = passphrase {
        cmd.env("PAILLIER_GPU_PASSPHRASE", p);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

/// [`run_with`] and no extra environment.
pub fn run(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Output {
    run_with(dir, passphrase, args, &[])
}

/// The environment of a machine where no GPU adapter answers.
pub const NO_ADAPTER: &[(&str, &str)] = &[("PAILLIER_GPU_ADAPTER", "no-such-adapter")];

/// Writes `rows` as JSON Lines, one vector a line.
pub fn write_jsonl(path: &Path, rows: &[Vec<u8>]) {
    let text: String = rows
        .iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).unwrap()))
        .collect();
    std::fs::write(path, text).unwrap();
}

/// Reads a distances file (one number a line).
pub fn read_distances(path: &Path) -> Vec<u32> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}
