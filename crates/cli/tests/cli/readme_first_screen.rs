//! The README's first screen runs as printed: its two commands are there (tools/test-all is the
//! test command itself; the first one's program runs here as built), and its program-and-server
//! block runs top to bottom in one shell with the built binary on the PATH, then its `serve`
//! line until it answers (on a free port rather than the README's, which may be in use). Its Python block is python/tests/test_readme_first_screen.py's.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_paillier-gpu");

/// The program the block runs: this build's, or the one PAILLIER_GPU_TEST_PROGRAM names
/// (tools/test-packages names the portable build's, unpacked from its tarball).
fn program() -> PathBuf {
    std::env::var_os("PAILLIER_GPU_TEST_PROGRAM").map_or_else(|| PathBuf::from(BIN), PathBuf::from)
}
/// The lines a newcomer reads before scrolling.
const FIRST_SCREEN: usize = 40;
/// Where the README's `serve` listens.
const SERVE_ADDRESS: &str = "127.0.0.1:8742";

/// The README's first screen.
fn first_screen() -> String {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    readme
        .lines()
        .take(FIRST_SCREEN)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bodies of the first screen's fenced blocks of `language`, in order; each must close on
/// the first screen.
fn blocks(screen: &str, language: &str) -> Vec<String> {
    screen
        .split(&format!("```{language}\n"))
        .skip(1)
        .map(|rest| {
            let (body, _) = rest
                .split_once("\n```")
                .unwrap_or_else(|| panic!("a ```{language} block runs past line {FIRST_SCREEN}"));
            body.to_owned()
        })
        .collect()
}

#[test]
fn the_first_screen_holds_the_two_commands_and_the_three_examples() {
    let screen = first_screen();
    let shell = blocks(&screen, "sh");
    assert_eq!(
        shell.len(),
        2,
        "the two commands, then the program and the server"
    );
    assert!(
        shell[0].starts_with("cargo run --release --example search"),
        "{}",
        shell[0]
    );
    assert!(shell[0]
        .lines()
        .nth(1)
        .unwrap_or_default()
        .starts_with("tools/test-all"));
    assert!(shell[1].contains("paillier-gpu decode") && shell[1].contains("paillier-gpu serve"));
    let python = blocks(&screen, "python");
    assert_eq!(python.len(), 1, "{screen}");
    assert!(python[0].contains("pip install target/wheels/paillier_gpu-*.whl"));
    for page in ["docs/install.md", "docs/cli.md", "docs/server.md"] {
        assert!(
            screen.contains(&format!("]({page})")),
            "the first screen links {page}"
        );
    }
}

/// The example the first command runs, as the test command builds it (next to the test
/// binaries); None where only this test binary was built, which CI never does.
fn search_example() -> Option<PathBuf> {
    let examples = std::env::current_exe()
        .ok()?
        .parent()?
        .parent()?
        .join("examples");
    let search = examples.join(format!("search{}", std::env::consts::EXE_SUFFIX));
    if search.exists() {
        return Some(search);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} is not built",
        search.display()
    );
    eprintln!("{} not built; skipping it", search.display());
    None
}

#[test]
fn the_first_command_prints_the_top_five_with_the_query_s_record_first() {
    let Some(search) = search_example() else {
        return;
    };
    let out = Command::new(search)
        .env_remove("PAILLIER_GPU_DEVICE")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for step in ["encrypt:", "aggregate:", "decode:"] {
        assert!(stdout.contains(step) && stdout.contains("/s"), "{stdout}");
    }
    let (_, top) = stdout.split_once("top 5:\n").expect("the top 5");
    assert_eq!(top.lines().count(), 5, "{stdout}");
    let first: Vec<&str> = top.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(first[..2], ["record", "0"], "{stdout}");
}

/// Asks `serve` at `address` for /healthz: true once it answers "ok".
fn serve_answers(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let mut reply = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply.starts_with("HTTP/1.1 200")
        && reply.ends_with("ok")
}

/// Kills `serve` when dropped, whatever the test does meanwhile.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_program_and_server_block_runs_as_printed() {
    let screen = first_screen();
    let block = blocks(&screen, "sh").pop().expect("the program's block");
    let (commands, serve_line) = block.trim_end().rsplit_once('\n').expect("lines");
    // `serve` runs as printed but for its address, a free port here (the README's may be in
    // use), as a child of this test, so that whatever stops the test's process group stops it.
    let serve_words: Vec<&str> = serve_line
        .split('#')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(serve_words[..2], ["paillier-gpu", "serve"], "{serve_line}");
    assert!(serve_words.contains(&SERVE_ADDRESS), "{serve_line}");
    let address = format!("127.0.0.1:{}", common::server::free_port());

    let dir = tempfile::tempdir().unwrap();
    let program = program();
    let bin_dir = program.parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", commands])
        .current_dir(dir.path())
        .env("PATH", &path)
        .env("XDG_RUNTIME_DIR", dir.path())
        .env_remove("PAILLIER_GPU_PASSPHRASE")
        .env_remove("PAILLIER_GPU_DEVICE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.to_lowercase().contains("error"), "{stderr}");
    // decode --top-k 3 of record 0's vector: record 0 first, at distance 0.
    assert!(
        stdout.contains(r#"{"distances":[0,"#) && stdout.contains(r#""ids":[0,"#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#""admin_key":"#) && stdout.contains(r#""org_id":"#),
        "{stdout}"
    );

    let args: Vec<&str> = serve_words[1..]
        .iter()
        .map(|&word| {
            if word == SERVE_ADDRESS {
                address.as_str()
            } else {
                word
            }
        })
        .collect();
    let log = dir.path().join("serve.log");
    let mut serving = Serving(
        Command::new(&program)
            .args(&args)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("XDG_RUNTIME_DIR", dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answered = false;
    while Instant::now() < deadline && !answered {
        if serving.0.try_wait().unwrap().is_some() {
            break;
        }
        answered = serve_answers(&address);
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(serving);
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(answered, "serve never answered on {address}: {said}");
}
