//! The lies only the owner's digest catches, told by `tools/tamper-proxy.py` in front of a real
//! `serve`, each refused by the CLI (`remote search --verify --with-content`) with no count
//! given and nothing of the answer printed: two records relabelled together (answers and
//! documents), a record stale after an update or a `remote patch`, a deleted record brought
//! back, a record dropped; the answer built to confirm a guess of the query (the same line as a
//! wrong guess), a guess slipped into `remote find`'s fetch, and a service claiming no digest.
//! The top k's documents are asked for in id order and printed in rank order. The Rust
//! client's half is crates/client/tests/owner/digest_lies.rs.

use crate::common;

use std::path::{Path, PathBuf};

use common::cli::{fails, ok, run_with, write_jsonl};
use common::server::{hamming, small_context, vectors, Server};
use common::tamper::TamperProxy;
use paillier_gpu::verifiable::{Document, FailureKind};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, StateDir};
use paillier_gpu_testing::data::{document, near, BOTH};
use serde_json::{json, Value};

const EMBED: usize = 48;
const RECORDS: usize = 40;
/// An owner of verifiable records with private metadata in one knowledge base of a real server,
/// talking to it through a tampering proxy: the Rust client writes (its own state folder), the
/// CLI reads and patches (another).
struct Owner {
    server: Server,
    proxy: TamperProxy,
    kb: String,
    key: String,
    dir: tempfile::TempDir,
    ctx: ExecutionContext,
    client: Client,
    ids: Vec<i64>,
    stored: Vec<Vec<u8>>,
    n: String,
}

impl Owner {
    /// [`RECORDS`] records uploaded through the proxy, so that it has seen each one.
    fn new() -> Owner {
        let server = Server::start(&["--allow-weak-contexts"]);
        let (kb, key) = server.kb_and_key("lied-to");
        let dir = tempfile::tempdir().unwrap();
        let ctx = small_context(EMBED);
        let text = ctx.to_json().unwrap();
        std::fs::write(dir.path().join("ctx.json"), &text).unwrap();
        let proxy = TamperProxy::start(&server.url);
        let client = Client::new(&proxy.url, &server.org, &key)
            .unwrap()
            .with_state_dir(StateDir::new(dir.path().join("rust-state")));
        client.push_context_json(ctx.id(), &text).unwrap();
        let stored = vectors(RECORDS, 21, EMBED);
        let documents: Vec<Document> = (0..RECORDS)
            .map(|i| document(i, &format!("document {i}")))
            .collect();
        let ids = client
            .upload_records(&kb, &ctx, &stored, &documents, BOTH)
            .unwrap()
            .into_iter()
            .map(|u| u.chunk_id)
            .collect();
        let n = ctx.public().public_key().n().to_string();
        Owner {
            server,
            proxy,
            kb,
            key,
            dir,
            ctx,
            client,
            ids,
            stored,
            n,
        }
    }

    fn d(&self) -> &Path {
        self.dir.path()
    }

    /// The CLI through the proxy, with its own state folder.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        let state: PathBuf = self.d().join("cli-state");
        let env = [
            ("PAILLIER_GPU_DEVICE", "cpu"),
            ("PAILLIER_GPU_REMOTE", self.proxy.url.as_str()),
            ("PAILLIER_GPU_ORG", self.server.org.as_str()),
            ("PAILLIER_GPU_API_KEY", self.key.as_str()),
            ("PAILLIER_GPU_STATE_DIR", state.to_str().unwrap()),
        ];
        run_with(self.d(), Some("pw"), args, &env)
    }

    /// `remote search --verify --with-content --private-meta` of `query`, no count.
    fn cli_search(&self, query: &[u8], top_k: usize) -> std::process::Output {
        write_jsonl(&self.d().join("q.jsonl"), &[query.to_vec()]);
        let k = top_k.to_string();
        self.cli(&[
            "remote",
            "search",
            "--kb",
            &self.kb,
            "--context",
            "ctx.json",
            "--query",
            "q.jsonl",
            "--top-k",
            &k,
            "--verify",
            "--with-content",
            "--private-meta",
        ])
    }

    /// `query` refused by the CLI as `kind`: its one error line, which names the kind and shows
    /// nothing of the answer.
    fn refused_by_cli(&self, name: &str, query: &[u8], kind: FailureKind) -> String {
        let message = fails(self.cli_search(query, 3));
        assert!(
            message.contains("fails verification") && message.contains(kind.describe()),
            "{name}: {message}"
        );
        assert!(!message.contains("\"results\""), "{name}: {message}");
        message
    }
}

/// The chunk ids the CLI printed for one query, in its order.
fn printed_ids(printed: &str) -> Vec<i64> {
    let line: Value = serde_json::from_str(printed.trim()).unwrap();
    line["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["chunk_id"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_joint_swap_a_dropped_record_and_a_confirmed_guess_are_refused_with_no_count() {
    let owner = Owner::new();
    let query = near(&owner.stored[0]);
    let printed = ok(owner.cli_search(&query, 3));
    let line: Value = serde_json::from_str(printed.trim()).unwrap();
    assert_eq!(line["results"][0]["distance"], 2);
    let honest = printed_ids(&printed);
    assert_eq!(honest[0], owner.ids[0]);
    let (nearest, far) = (owner.ids[0], owner.ids[30]);

    // Answers and documents relabelled together: every record's own checks pass.
    owner
        .proxy
        .set(json!({"kind": "joint_swap", "a": nearest, "b": far}));
    owner.refused_by_cli("joint swap", &query, FailureKind::DigestMismatch);
    owner.proxy.set(json!({"kind": "drop", "chunk_id": far}));
    owner.refused_by_cli("drop", &query, FailureKind::DigestMismatch);

    // A guess of the query confirmed, and a wrong one: the same line.
    let mut wrong = query.clone();
    wrong[5] ^= 1;
    let mut seen = Vec::new();
    for guess in [&query, &wrong] {
        owner
            .proxy
            .set(json!({"kind": "guess", "chunk_id": far, "guess": guess, "n": owner.n}));
        seen.push(owner.refused_by_cli("guess", &query, FailureKind::InvalidRecord));
    }
    assert_eq!(
        seen[0], seen[1],
        "a correct guess is refused as a wrong one is"
    );

    owner.proxy.honest();
    assert_eq!(printed_ids(&ok(owner.cli_search(&query, 3))), honest);
}

#[test]
fn stale_and_resurrected_records_are_refused_with_no_count() {
    let owner = Owner::new();
    let (updated, deleted) = (owner.ids[2], owner.ids[9]);
    let query = near(&owner.stored[2]);

    // Updated by the Rust client; its answer and document from before served.
    owner
        .client
        .update_records(
            &owner.kb,
            &owner.ctx,
            &[updated],
            &[near(&owner.stored[2])],
            &[document(2, "document 2, second version")],
            BOTH,
        )
        .unwrap();
    owner
        .proxy
        .set(json!({"kind": "stale", "chunk_id": updated, "n": owner.n}));
    owner.refused_by_cli("stale after an update", &query, FailureKind::DigestMismatch);

    // Patched by the CLI (found, opened, encrypted again under a fresh nonce); the copy from
    // before the patch served.
    owner.proxy.honest();
    let patched = ok(owner.cli(&[
        "remote",
        "patch",
        "--kb",
        &owner.kb,
        "--context",
        "ctx.json",
        "--filter",
        r#"{"tag1": "t1"}"#,
        "--patch",
        r#"{"tag2": "reviewed"}"#,
        "--verifiable",
        "--private-meta",
    ]));
    let patched: Value = serde_json::from_str(patched.trim()).unwrap();
    assert_eq!(patched["patched"].as_array().unwrap().len(), RECORDS / 4);
    let stale = owner.ids[5];
    owner
        .proxy
        .set(json!({"kind": "stale", "chunk_id": stale, "n": owner.n}));
    let near_stale = near(&owner.stored[5]);
    owner.refused_by_cli(
        "stale after a patch",
        &near_stale,
        FailureKind::DigestMismatch,
    );

    // Deleted, then served again.
    owner.proxy.honest();
    owner
        .client
        .delete_records(&owner.kb, &owner.ctx, &[deleted], BOTH)
        .unwrap();
    owner
        .proxy
        .set(json!({"kind": "resurrect", "chunk_id": deleted, "n": owner.n}));
    owner.refused_by_cli(
        "resurrected",
        &near(&owner.stored[9]),
        FailureKind::DigestMismatch,
    );

    owner.proxy.honest();
    let printed = ok(owner.cli_search(&near_stale, 1));
    assert!(printed.contains("reviewed"), "{printed}");
    ok(owner.cli_search(&query, 3));
}

#[test]
fn a_guess_in_a_finds_fetch_is_refused_right_or_wrong() {
    let owner = Owner::new();
    let target = owner.ids[3];
    let query = near(&owner.stored[3]);
    let mut wrong = query.clone();
    wrong[9] ^= 1;
    let mut seen = Vec::new();
    for guess in [&query, &wrong] {
        // The query the guess is tested against: the last one the service saw.
        owner.proxy.honest();
        ok(owner.cli_search(&query, 3));
        owner.proxy.set(
            json!({"kind": "guess_in_fetch", "chunk_id": target, "guess": guess, "n": owner.n}),
        );
        let message = fails(owner.cli(&[
            "remote",
            "find",
            "--kb",
            &owner.kb,
            "--context",
            "ctx.json",
            "--filter",
            r#"{"tag1": "t3"}"#,
            "--verifiable",
            "--private-meta",
        ]));
        assert!(
            message.contains("fails verification")
                && message.contains(FailureKind::InvalidRecord.describe()),
            "{message}"
        );
        seen.push(message);
    }
    assert_eq!(
        seen[0], seen[1],
        "a correct guess is refused as a wrong one is"
    );
}

#[test]
fn the_top_k_documents_are_fetched_in_id_order_not_rank_order() {
    let owner = Owner::new();
    // Near the last record: it ranks first with the highest id, so rank order is not id order.
    let query = near(&owner.stored[RECORDS - 1]);
    let mut ranked: Vec<(u32, i64)> = owner
        .ids
        .iter()
        .zip(&owner.stored)
        .map(|(&id, vector)| (hamming(vector, &query), id))
        .collect();
    ranked.sort_unstable();
    let ranked: Vec<i64> = ranked[..5].iter().map(|&(_, id)| id).collect();
    let mut ascending = ranked.clone();
    ascending.sort_unstable();
    assert_ne!(
        ranked, ascending,
        "the test needs a ranking that is not in id order"
    );
    owner.proxy.honest();
    let printed = printed_ids(&ok(owner.cli_search(&query, 5)));
    assert_eq!(printed, ranked, "the CLI prints in rank order");
    assert_eq!(owner.proxy.chunk_fetches(), vec![ascending]);
}

/// A service that says a knowledge base of verifiable records has no digest would have a fresh
/// machine skip every completeness check: refused by the CLI whose state folder has seen
/// nothing yet, naming the rebuild.
#[test]
fn a_service_claiming_no_digest_is_refused_on_a_fresh_machine() {
    let owner = Owner::new();
    let query = near(&owner.stored[0]);
    owner.proxy.set(json!({"kind": "no_digest"}));
    let message = fails(owner.cli_search(&query, 3));
    assert!(
        message.contains(FailureKind::NoDigest.describe()) && message.contains("digest rebuild"),
        "{message}"
    );
    owner.proxy.honest();
    ok(owner.cli_search(&query, 3));
}
