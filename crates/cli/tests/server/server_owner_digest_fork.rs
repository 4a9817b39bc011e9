//! A service that forks a knowledge base's history: its store put back to an earlier copy and
//! written again by another machine of the owner. The CLI on the machine that saw the lost
//! branch refuses the other one as forked, and its `remote digest rebuild` waits for
//! `--after-rollback`. The Rust client's half is crates/client/tests/owner/forks.rs.

use crate::common;

use common::cli::{run_with, write_jsonl};
use common::server::{small_context, vectors, Server};
use paillier_gpu::verifiable::FailureKind;
use paillier_gpu_client::{Client, StateDir};

use super::server_owner_digest_client_kill::{copy_store, put_back};
use paillier_gpu_testing::data::BOTH;

const EMBED: usize = 32;

#[test]
fn a_write_lost_to_a_fork_is_refused_by_the_cli_on_the_machine_that_made_it() {
    let mut server = Server::start_sqlite(&["--allow-weak-contexts"]);
    let (kb, key) = server.kb_and_key("forked");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = small_context(EMBED);
    let text = ctx.to_json().unwrap();
    std::fs::write(d.join("ctx.json"), &text).unwrap();
    let (url, org) = (server.url.clone(), server.org.clone());
    let machine = |name: &str| {
        Client::new(&url, &org, &key)
            .unwrap()
            .with_state_dir(StateDir::new(d.join(name)))
    };
    // Machine A's writes are the Rust client's, its reads the CLI's: one state folder.
    let (a, b) = (machine("state-a"), machine("state-b"));
    a.push_context_json(ctx.id(), &text).unwrap();
    let stored = vectors(40, 8, EMBED);
    a.upload_records(&kb, &ctx, &stored[..10], &[], BOTH)
        .unwrap();
    let earlier = d.join("earlier");
    server.stop();
    copy_store(server.data.path(), &earlier);
    server.restart();
    a.upload_records(&kb, &ctx, &stored[10..30], &[], BOTH)
        .unwrap();
    let state_a = d.join("state-a");
    let env = [
        ("PAILLIER_GPU_DEVICE", "cpu"),
        ("PAILLIER_GPU_REMOTE", url.as_str()),
        ("PAILLIER_GPU_ORG", org.as_str()),
        ("PAILLIER_GPU_API_KEY", key.as_str()),
        ("PAILLIER_GPU_STATE_DIR", state_a.to_str().unwrap()),
    ];
    let kb_args = ["--kb", kb.as_str(), "--context", "ctx.json"];
    let mut search = vec!["remote", "search", "--query", "q.jsonl", "--verify"];
    search.extend(["--with-content", "--private-meta"]);
    search.extend(kb_args);
    write_jsonl(&d.join("q.jsonl"), &[stored[20].clone()]);
    common::cli::ok(run_with(d, Some("pw"), &search, &env));

    // The store put back to version 1; machine B, which never saw version 2, writes twice.
    put_back(&mut server, &earlier);
    b.upload_records(&kb, &ctx, &stored[30..35], &[], BOTH)
        .unwrap();
    b.upload_records(&kb, &ctx, &stored[35..], &[], BOTH)
        .unwrap();

    write_jsonl(&d.join("q.jsonl"), &[stored[36].clone()]);
    let message = common::cli::fails(run_with(d, Some("pw"), &search, &env));
    assert!(
        message.contains(FailureKind::Forked.describe())
            && message.contains("does not extend version 2"),
        "{message}"
    );
    let mut rebuild = vec!["remote", "digest", "rebuild", "--private-meta"];
    rebuild.extend(kb_args);
    let message = common::cli::fails(run_with(d, Some("pw"), &rebuild, &env));
    assert!(message.contains("--after-rollback"), "{message}");
    rebuild.push("--after-rollback");
    common::cli::ok(run_with(d, Some("pw"), &rebuild, &env));
    common::cli::ok(run_with(d, Some("pw"), &search, &env));
}
