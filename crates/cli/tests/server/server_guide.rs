//! docs/server.md's command-line blocks run as printed, in order, in one shell, against a real
//! `serve`: the admin plane, contexts, upload, search, find, patch and delete, then verifiable
//! records with private metadata. Only what `server init` printed is given, as the page says.

use std::path::Path;
use std::process::Command;

use crate::common::server::Server;

/// The ```sh blocks of docs/server.md from its command-line section on.
fn cli_blocks() -> Vec<String> {
    let page = std::fs::read_to_string(crate::common::repo_root().join("docs/server.md")).unwrap();
    let (_, section) = page
        .split_once("\nFrom the command line:")
        .expect("docs/server.md's command-line section");
    section
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_server_guides_command_line_blocks_run_as_printed() {
    let blocks = cli_blocks();
    assert_eq!(blocks.len(), 2, "the CLI path and the verifiable records");
    assert!(blocks[0].contains("admin kb create") && blocks[0].contains("remote delete"));
    assert!(blocks[1].contains("--verifiable --private-meta"));
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_paillier-gpu"))
        .parent()
        .unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &blocks.join("\n")])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("XDG_RUNTIME_DIR", dir.path())
        .env("PAILLIER_GPU_DEVICE", "cpu")
        // The owner's digests it sees, kept with the test's files rather than in the home folder.
        .env("PAILLIER_GPU_STATE_DIR", dir.path().join("state"))
        .env("PAILLIER_GPU_REMOTE", &server.url)
        .env("PAILLIER_GPU_ORG", &server.org)
        .env("PAILLIER_GPU_ADMIN_KEY", &server.admin_key)
        .env_remove("PAILLIER_GPU_API_KEY")
        .env_remove("PAILLIER_GPU_KB")
        .env_remove("PAILLIER_GPU_PASSPHRASE")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    // The query is record 3 (chunk 4): the nearest, at distance 0, in every search.
    assert!(
        stdout.contains(r#"{"query":0,"results":[{"chunk_id":4,"distance":0"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#""content":"text 3""#), "{stdout}");
    assert!(stdout.contains(r#"{"would_delete":50}"#), "{stdout}");
    assert_eq!(stdout.matches(r#"{"deleted":50}"#).count(), 2, "{stdout}");
}
