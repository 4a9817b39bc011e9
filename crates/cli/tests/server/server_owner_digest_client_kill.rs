//! The owner's side of the digest's guarantees, with a service that does not lie: kill -9 of the
//! CLI in the middle of `remote upload --verifiable` (on SQLite and on PostgreSQL) leaves a
//! knowledge base whose next verified search passes over exactly the records committed, or says
//! that digest and records disagree and names `remote digest rebuild`, after which it passes;
//! and a whole knowledge base put back on the service to an earlier copy of its store (records
//! and digest together) is refused as rolled back by a client that saw the later one.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{ok, run_with, write_jsonl};
use common::postgres;
use common::server::{small_context, vectors, Server};
use paillier_gpu::verifiable::FailureKind;
use paillier_gpu_client::{Client, Error, SearchOptions, StateDir};
use serde_json::Value;

use paillier_gpu_testing::data::BOTH;

const EMBED: usize = 32;
/// Records one upload sends: 8 batches of 500, each committed with the digest on its own.
const UPLOADED: usize = 4000;

/// When the upload is killed: after a delay, or once the service holds this many of its records.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    After(Duration),
    Holding(usize),
}

/// The environment of the CLI against `server` with `key`, its state kept in `d`.
pub(super) fn cli_env<'a>(
    server: &'a Server,
    key: &'a str,
    state: &'a str,
) -> [(&'a str, &'a str); 5] {
    [
        ("PAILLIER_GPU_DEVICE", "cpu"),
        ("PAILLIER_GPU_REMOTE", server.url.as_str()),
        ("PAILLIER_GPU_ORG", server.org.as_str()),
        ("PAILLIER_GPU_API_KEY", key),
        ("PAILLIER_GPU_STATE_DIR", state),
    ]
}

#[test]
fn a_client_killed_mid_upload_on_sqlite_leaves_a_search_that_passes_or_names_the_rebuild() {
    killed_mid_upload(Server::start_sqlite(&["--allow-weak-contexts"]));
}

#[test]
fn a_client_killed_mid_upload_on_postgres_leaves_a_search_that_passes_or_names_the_rebuild() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    killed_mid_upload(Server::start_on(&url, &["--allow-weak-contexts"]));
}

fn killed_mid_upload(server: Server) {
    let (kb, key) = server.kb_and_key("killed");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = small_context(EMBED);
    let text = ctx.to_json().unwrap();
    std::fs::write(d.join("ctx.json"), &text).unwrap();
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context_json(ctx.id(), &text).unwrap();
    write_jsonl(&d.join("v.jsonl"), &vectors(UPLOADED, 5, EMBED));
    write_jsonl(&d.join("q.jsonl"), &vectors(1, 6, EMBED));
    let state = d.join("state");
    let env = cli_env(&server, &key, state.to_str().unwrap());
    let kb_args = ["--kb", kb.as_str(), "--context", "ctx.json"];
    // Three kills: 200 ms in, while the CLI still encrypts (about a second for 4,000 records on
    // the development VM, two busy cores) and nothing is written; and as soon as the service
    // holds one record, then 1,500, of this upload, which is while the next write is planned,
    // sent or committing. Where exactly each lands does not matter, since what must hold holds
    // at every point: each is checked against what was committed, whatever that turned out to
    // be.
    let mut committed_before = 0;
    for kill_at in [
        KillAt::After(Duration::from_millis(200)),
        KillAt::Holding(1),
        KillAt::Holding(1500),
    ] {
        let mut upload = Command::new(env!("CARGO_BIN_EXE_paillier-gpu"));
        upload
            .current_dir(d)
            .args(["remote", "upload", "--vectors", "v.jsonl", "--verifiable"])
            .args(kb_args)
            .env("PAILLIER_GPU_PASSPHRASE", "pw")
            .env("XDG_RUNTIME_DIR", d)
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = upload.spawn().unwrap();
        let started = Instant::now();
        match kill_at {
            KillAt::After(delay) => std::thread::sleep(delay),
            KillAt::Holding(records) => {
                let until = started + Duration::from_secs(60);
                while (client.owner_digest(&kb, ctx.id()).unwrap().chunks as usize)
                    < committed_before + records
                    && Instant::now() < until
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        let finished_first = child.try_wait().unwrap().is_some();
        // Child::kill is SIGKILL on Unix: the CLI gets no chance to finish a write or its state.
        let _ = child.kill();
        let _ = child.wait();
        let killed_after = started.elapsed();
        // A write the server was in when the client died commits or not; read once it has:
        // the count unchanged over 3 s, since a loaded machine can take a while to commit.
        let chunks = {
            let mut steady = 0;
            let mut last = client.owner_digest(&kb, ctx.id()).unwrap().chunks;
            while steady < 10 {
                std::thread::sleep(Duration::from_millis(300));
                let now = client.owner_digest(&kb, ctx.id()).unwrap().chunks;
                steady = if now == last { steady + 1 } else { 0 };
                last = now;
            }
            last as usize
        };
        eprintln!(
            "{kill_at:?}: killed after {:?} (finished first: {finished_first}), {} records \
             committed by it",
            killed_after,
            chunks - committed_before
        );
        assert_eq!((chunks - committed_before) % 500, 0, "whole batches only");
        committed_before = chunks;

        let search = || {
            let mut args = vec!["remote", "search", "--query", "q.jsonl", "--verify"];
            args.extend(kb_args);
            args.extend(["--top-k", "100000"]);
            run_with(d, Some("pw"), &args, &env)
        };
        let searched = search();
        let printed = if searched.status.success() {
            String::from_utf8(searched.stdout).unwrap()
        } else {
            let message = String::from_utf8_lossy(&searched.stderr).into_owned();
            assert!(message.contains("remote digest rebuild"), "{message}");
            let mut rebuild = vec!["remote", "digest", "rebuild"];
            rebuild.extend(kb_args);
            ok(run_with(d, Some("pw"), &rebuild, &env));
            ok(search())
        };
        let line: Value = serde_json::from_str(printed.trim()).unwrap();
        assert_eq!(line["results"].as_array().unwrap().len(), chunks);
        let mut show = vec!["remote", "digest", "show"];
        show.extend(kb_args);
        let shown: Value =
            serde_json::from_str(ok(run_with(d, Some("pw"), &show, &env)).trim()).unwrap();
        assert_eq!(
            shown["records"].as_u64().unwrap() as usize,
            chunks,
            "{shown}"
        );
    }
}

/// The SQLite store's files in `data` (the database and its journal) copied to `to`.
pub(super) fn copy_store(data: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("paillier-gpu.sqlite3") {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

/// The SQLite store of `server` put back, whole, to the copy in `earlier` (stopped, restarted).
pub(super) fn put_back(server: &mut Server, earlier: &Path) {
    server.stop();
    for entry in std::fs::read_dir(server.data.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if name.starts_with("paillier-gpu.sqlite3") {
            std::fs::remove_file(path).unwrap();
        }
    }
    copy_store(earlier, server.data.path());
    server.restart();
}

#[test]
fn a_knowledge_base_rolled_back_on_the_service_is_refused_by_an_owner_that_saw_it_later() {
    let mut server = Server::start_sqlite(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("rolled-back");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = small_context(EMBED);
    let text = ctx.to_json().unwrap();
    std::fs::write(d.join("ctx.json"), &text).unwrap();
    let state = d.join("state");
    // The same address after each restart: the server comes back on its port.
    let (url, org) = (server.url.clone(), server.org.clone());
    let owner = || {
        Client::new(&url, &org, &key)
            .unwrap()
            .with_state_dir(StateDir::new(&state))
    };
    owner().push_context_json(ctx.id(), &text).unwrap();
    let stored = vectors(30, 8, EMBED);
    owner()
        .upload_records(&kb, &ctx, &stored[..20], &[], BOTH)
        .unwrap();
    // The earlier copy: records and digest at version 1.
    server.stop();
    let earlier = d.join("earlier");
    copy_store(server.data.path(), &earlier);
    server.restart();
    owner()
        .upload_records(&kb, &ctx, &stored[20..], &[], BOTH)
        .unwrap();
    let options = SearchOptions {
        top_k: 3,
        records: BOTH,
        ..SearchOptions::default()
    };
    owner()
        .search_records(&kb, &ctx, &stored[25], &options)
        .unwrap();

    // Put back whole: a consistent earlier state, which only the owner's memory of a later
    // version tells apart.
    put_back(&mut server, &earlier);
    match owner().search_records(&kb, &ctx, &stored[5], &options) {
        Err(Error::Library(paillier_gpu::Error::AnswerRejected(rejection))) => {
            assert!(rejection.has(FailureKind::RolledBack), "{rejection}")
        }
        other => panic!("a rollback was not refused: {other:?}"),
    }
    write_jsonl(&d.join("q.jsonl"), &[stored[5].clone()]);
    let env = cli_env(&server, &key, state.to_str().unwrap());
    let searched = run_with(
        d,
        Some("pw"),
        &[
            "remote",
            "search",
            "--kb",
            kb.as_str(),
            "--context",
            "ctx.json",
            "--query",
            "q.jsonl",
            "--verify",
            "--with-content",
            "--private-meta",
        ],
        &env,
    );
    let message = common::cli::fails(searched);
    assert!(
        message.contains(FailureKind::RolledBack.describe()),
        "{message}"
    );

    // A rebuild would count the earlier copy's records as they are: refused unless the owner
    // says so, and then written past the version seen (3, not a second 2), never lowering it.
    match owner().rebuild_digest(&kb, &ctx, BOTH, None, false) {
        Err(Error::Library(paillier_gpu::Error::AnswerRejected(rejection))) => {
            assert!(rejection.has(FailureKind::RolledBack), "{rejection}");
            assert!(
                rejection.to_string().contains("--after-rollback"),
                "{rejection}"
            );
        }
        other => panic!("a rebuild after a rollback was not refused: {other:?}"),
    }
    let rebuilt = owner().rebuild_digest(&kb, &ctx, BOTH, None, true).unwrap();
    assert_eq!((rebuilt.version, rebuilt.records), (3, 20));
    let hits = owner()
        .search_records(&kb, &ctx, &stored[5], &options)
        .unwrap();
    assert_eq!(hits[0].distance, 0);
}
