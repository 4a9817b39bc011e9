//! Partitions through the CLI against a real server: `remote upload --partitions auto` trains,
//! `remote partitions show` reads the owner's own figures, `remote search --probe` probes and
//! says what it cost, bad flags are refused with a reason, and `remote partitions rebuild`
//! killed with SIGKILL mid-way loses nothing and resumes.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{fails, ok, run_with, write_jsonl};
use common::server::{small_context, Server};
use paillier_gpu_client::Client;
use serde_json::Value;

use paillier_gpu_testing::data::clustered;

const RECORDS: usize = 1200;
const EMBED: usize = 48;

fn json_line(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap()
}

#[test]
fn partitions_through_the_cli_train_probe_show_and_survive_a_killed_rebuild() {
    let server = Server::start_sqlite(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("partitioned-cli");
    let plain_kb = server.kb_for("unpartitioned-cli", &key);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = small_context(EMBED);
    let text = ctx.to_json().unwrap();
    std::fs::write(d.join("ctx.json"), &text).unwrap();
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context_json(ctx.id(), &text).unwrap();
    write_jsonl(&d.join("v.jsonl"), &clustered(EMBED, RECORDS, 30, 11));
    write_jsonl(&d.join("q.jsonl"), &clustered(EMBED, 2, 30, 12));
    let state = d.join("state");
    let env = [
        ("PAILLIER_GPU_DEVICE", "cpu"),
        ("PAILLIER_GPU_REMOTE", server.url.as_str()),
        ("PAILLIER_GPU_ORG", server.org.as_str()),
        ("PAILLIER_GPU_API_KEY", key.as_str()),
        ("PAILLIER_GPU_STATE_DIR", state.to_str().unwrap()),
    ];
    let run = |args: &[&str]| run_with(d, Some("pw"), args, &env);
    let with_kb = |kb: &str, args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["--kb", kb, "--context", "ctx.json"].map(String::from));
        all
    };
    let run_kb = |kb: &str, args: &[&str]| {
        let all = with_kb(kb, args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run(&refs)
    };

    let upload = ["remote", "upload", "--vectors", "v.jsonl", "--verifiable"];
    let trained = run_kb(
        &kb,
        &[&upload[..], &["--partitions", "auto", "--decoys", "1"]].concat(),
    );
    let said = String::from_utf8_lossy(&trained.stderr).into_owned();
    ok(trained);
    assert!(
        said.contains("trained 35 partitions over 1200 records"),
        "{said}"
    );
    let shown = json_line(&ok(run_kb(&kb, &["remote", "partitions", "show"])));
    assert_eq!(
        (shown["partitions"].as_u64(), shown["records"].as_u64()),
        (Some(35), Some(1200))
    );
    let sizes: Vec<u64> = serde_json::from_value(shown["sizes"].clone()).unwrap();
    assert_eq!(sizes.iter().sum::<u64>(), RECORDS as u64);
    assert!(
        shown["largest_over_mean"].as_f64().unwrap() <= 1.5 + 1e-9,
        "{shown}"
    );
    assert!(!shown["recall"].as_array().unwrap().is_empty());
    assert_eq!(shown["decoys"], 1);

    let search = [
        "remote", "search", "--query", "q.jsonl", "--verify", "--stats",
    ];
    // Each wanted partition in a group of two, sealed at training, whatever --decoys says.
    let probed = ok(run_kb(&kb, &[&search[..], &["--probe", "2"]].concat()));
    for line in probed.lines().map(json_line) {
        assert_eq!(line["partitions"], 4);
        let records = line["records"].as_u64().unwrap();
        assert!(records > 0 && records < RECORDS as u64 / 4, "{line}");
        assert_eq!(line["results"].as_array().unwrap().len(), 10);
    }
    let everything = ok(run_kb(&kb, &[&search[..], &["--probe", "all"]].concat()));
    for line in everything.lines().map(json_line) {
        assert_eq!(line["records"], RECORDS as u64);
        assert_eq!(line["partitions"], Value::Null);
    }
    let recommended = ok(run_kb(&kb, &search));
    let line = json_line(recommended.lines().next().unwrap());
    let recommended = shown["recommended_probe"].as_u64().unwrap();
    assert_eq!(line["partitions"], 2 * recommended);

    // Bad flags: each refused with its reason.
    // Flags that do not parse: clap's own message, with the reason.
    for (probe, reason) in [
        ("0", "at least 1 partition"),
        ("some", "neither a number of partitions nor all"),
    ] {
        let refused = run_kb(&kb, &[&search[..], &["--probe", probe]].concat());
        let said = String::from_utf8_lossy(&refused.stderr).into_owned();
        assert!(!refused.status.success() && said.contains(reason), "{said}");
    }
    let too_many = fails(run_kb(
        &plain_kb,
        &[&upload[..], &["--partitions", "5000"]].concat(),
    ));
    assert!(too_many.contains("5000 partitions"), "{too_many}");
    ok(run_kb(&plain_kb, &upload));
    let unpartitioned = fails(run_kb(
        &plain_kb,
        &[&upload[..], &["--partitions", "4"]].concat(),
    ));
    assert!(
        unpartitioned.contains("remote partitions rebuild"),
        "{unpartitioned}"
    );
    let not_shown = fails(run_kb(&plain_kb, &["remote", "partitions", "show"]));
    assert!(not_shown.contains("not partitioned"), "{not_shown}");

    // A rebuild killed once it has moved some records; run again, it finishes.
    let before = client.owner_digest(&kb, ctx.id()).unwrap().version;
    let args = with_kb(
        &kb,
        &["remote", "partitions", "rebuild", "--partitions", "20"],
    );
    let mut rebuild = Command::new(env!("CARGO_BIN_EXE_paillier-gpu"));
    rebuild
        .current_dir(d)
        .args(&args)
        .env("PAILLIER_GPU_PASSPHRASE", "pw")
        .env("XDG_RUNTIME_DIR", d)
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = rebuild.spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(120);
    while client.owner_digest(&kb, ctx.id()).unwrap().version < before + 2
        && Instant::now() < until
        && child.try_wait().unwrap().is_none()
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    // Child::kill is SIGKILL on Unix.
    let _ = child.kill();
    let _ = child.wait();
    let killed_at = client.owner_digest(&kb, ctx.id()).unwrap().version;
    eprintln!("rebuild killed at digest version {killed_at} (it started at {before})");
    let resumed = json_line(&ok(run_kb(
        &kb,
        &["remote", "partitions", "rebuild", "--partitions", "20"],
    )));
    assert_eq!(resumed["partitions"], 20, "{resumed}");
    assert_eq!(resumed["records"], RECORDS as u64);
    if killed_at > before {
        assert_eq!(resumed["resumed"], true, "{resumed}");
    }
    let shown = json_line(&ok(run_kb(&kb, &["remote", "partitions", "show"])));
    assert_eq!(shown["partitions"], 20);
    assert_eq!(shown["rebuilding"], false);
    let sizes: Vec<u64> = serde_json::from_value(shown["sizes"].clone()).unwrap();
    assert_eq!(sizes.iter().sum::<u64>(), RECORDS as u64);
    for line in ok(run_kb(&kb, &[&search[..], &["--probe", "all"]].concat())).lines() {
        assert_eq!(json_line(line)["records"], RECORDS as u64);
    }
    ok(run_kb(&kb, &[&search[..], &["--probe", "3"]].concat()));
}
