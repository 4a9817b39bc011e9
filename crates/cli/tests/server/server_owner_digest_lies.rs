//! The lies only the owner's digest catches, told by `tools/tamper-proxy.py` in front of a real
//! `serve`, each refused with no count given, by the Rust client and by the CLI (`remote search
//! --verify --with-content`): two records relabelled together (answers and documents), a record
//! stale after an update or a `remote patch`, a deleted record brought back, a record dropped;
//! and what the query nonce catches: the answer built to confirm a guess of the query (refused as
//! a wrong guess is), and a guess slipped into a find's fetch. The top k's documents are asked
//! for in id order on the wire.

use crate::common;

use std::path::{Path, PathBuf};

use common::cli::{fails, ok, run_with, write_jsonl};
use common::server::{small_context, vectors, Server};
use common::tamper::TamperProxy;
use paillier_gpu::verifiable::{AnswerRejection, Document, FailureKind};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, Error, Hit, SearchOptions, StateDir};
use paillier_gpu_testing::data::{document, BOTH};
use serde_json::{json, Value};

const EMBED: usize = 48;
const RECORDS: usize = 40;
/// An owner of verifiable records with private metadata in one knowledge base of a real server,
/// talking to it through a tampering proxy: the Rust client (its own state folder) and the CLI
/// (another), both through the proxy.
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

    /// The Rust client's verified search of the whole knowledge base, documents opened, no
    /// count.
    fn search(&self, query: &[u8], top_k: usize) -> paillier_gpu_client::Result<Vec<Hit>> {
        let options = SearchOptions {
            top_k,
            records: BOTH,
            with_content: true,
            ..SearchOptions::default()
        };
        self.client
            .search_records(&self.kb, &self.ctx, query, &options)
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

    /// `query` refused by both clients as `kind`: the Rust client's rejection, and the CLI's one
    /// error line, which names the kind and shows nothing of the answer.
    fn refused_by_both(
        &self,
        name: &str,
        query: &[u8],
        kind: FailureKind,
    ) -> (AnswerRejection, String) {
        let rejection = rejected(name, self.search(query, 3), kind);
        let message = fails(self.cli_search(query, 3));
        assert!(
            message.contains("fails verification") && message.contains(kind.describe()),
            "{name}: {message}"
        );
        assert!(!message.contains("\"results\""), "{name}: {message}");
        (rejection, message)
    }
}

/// `result` is the service's answer refused for `kind`.
fn rejected<T: std::fmt::Debug>(
    name: &str,
    result: paillier_gpu_client::Result<T>,
    kind: FailureKind,
) -> AnswerRejection {
    match result {
        Err(Error::Library(paillier_gpu::Error::AnswerRejected(rejection))) => {
            assert!(rejection.has(kind), "{name}: {rejection}");
            rejection
        }
        other => panic!("{name}: expected a refusal ({kind:?}), got {other:?}"),
    }
}

/// A query two bits from `vector`.
fn near(vector: &[u8]) -> Vec<u8> {
    let mut query = vector.to_vec();
    query[0] ^= 1;
    query[1] ^= 1;
    query
}

#[test]
fn a_joint_swap_a_dropped_record_and_a_confirmed_guess_are_refused_with_no_count() {
    let owner = Owner::new();
    let query = near(&owner.stored[0]);
    let honest = owner.search(&query, 3).unwrap();
    assert_eq!((honest[0].chunk_id, honest[0].distance), (owner.ids[0], 2));
    ok(owner.cli_search(&query, 3));
    let (nearest, far) = (owner.ids[0], owner.ids[30]);

    // Answers and documents relabelled together: every record's own checks pass.
    owner
        .proxy
        .set(json!({"kind": "joint_swap", "a": nearest, "b": far}));
    owner.refused_by_both("joint swap", &query, FailureKind::DigestMismatch);
    owner.proxy.set(json!({"kind": "drop", "chunk_id": far}));
    owner.refused_by_both("drop", &query, FailureKind::DigestMismatch);

    // E(R)·E(Q)²·E(−C) for a record: with C the query itself the slots decode as an honest
    // answer's, and the query nonce (twice this query's) refuses it as a wrong guess is.
    let mut wrong = query.clone();
    wrong[5] ^= 1;
    let mut seen = Vec::new();
    for guess in [&query, &wrong] {
        owner
            .proxy
            .set(json!({"kind": "guess", "chunk_id": far, "guess": guess, "n": owner.n}));
        let (rejection, message) =
            owner.refused_by_both("guess", &query, FailureKind::InvalidRecord);
        seen.push((rejection, message));
    }
    assert_eq!(
        seen[0], seen[1],
        "a correct guess is refused as a wrong one is"
    );

    owner.proxy.honest();
    assert_eq!(owner.search(&query, 3).unwrap(), honest);
}

#[test]
fn stale_and_resurrected_records_are_refused_with_no_count() {
    let owner = Owner::new();
    let (updated, deleted) = (owner.ids[2], owner.ids[9]);
    let query = near(&owner.stored[2]);

    // Updated by the Rust client; its answer and document from before served.
    let replacement = near(&owner.stored[2]);
    owner
        .client
        .update_records(
            &owner.kb,
            &owner.ctx,
            &[updated],
            &[replacement],
            &[document(2, "document 2, second version")],
            BOTH,
        )
        .unwrap();
    assert_eq!(owner.search(&query, 3).unwrap()[0].distance, 0);
    owner
        .proxy
        .set(json!({"kind": "stale", "chunk_id": updated, "n": owner.n}));
    owner.refused_by_both("stale after an update", &query, FailureKind::DigestMismatch);

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
    owner.refused_by_both(
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
    owner.refused_by_both(
        "resurrected",
        &near(&owner.stored[9]),
        FailureKind::DigestMismatch,
    );

    owner.proxy.honest();
    let hits = owner.search(&near_stale, 1).unwrap();
    let found = hits[0].document.as_ref().unwrap();
    assert_eq!(found.meta_data["tag2"], "reviewed");
    ok(owner.cli_search(&query, 3));
}

#[test]
fn a_guess_in_a_finds_fetch_is_refused_right_or_wrong() {
    let owner = Owner::new();
    let target = owner.ids[3];
    let query = near(&owner.stored[3]);
    let mut wrong = query.clone();
    wrong[9] ^= 1;
    let filter = json!({"tag1": "t3"});
    assert_eq!(
        owner
            .client
            .find_records(&owner.kb, &owner.ctx, &filter, BOTH)
            .unwrap()
            .len(),
        RECORDS / 4
    );
    let mut seen = Vec::new();
    for guess in [&query, &wrong] {
        // The query the guess is tested against: the last one the service saw.
        owner.proxy.honest();
        owner.search(&query, 3).unwrap();
        owner.proxy.set(
            json!({"kind": "guess_in_fetch", "chunk_id": target, "guess": guess, "n": owner.n}),
        );
        let found = owner
            .client
            .find_records(&owner.kb, &owner.ctx, &filter, BOTH);
        let rejection = rejected("guess in a fetch", found, FailureKind::InvalidRecord);
        assert_eq!(rejection.failures[0].chunk_ids, vec![target]);
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
        seen.push((rejection, message));
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
    owner.proxy.honest();
    let hits = owner.search(&query, 5).unwrap();
    let ranked: Vec<i64> = hits.iter().map(|h| h.chunk_id).collect();
    let mut ascending = ranked.clone();
    ascending.sort_unstable();
    assert_ne!(
        ranked, ascending,
        "the test needs a ranking that is not in id order"
    );
    assert_eq!(owner.proxy.chunk_fetches(), vec![ascending.clone()]);

    owner.proxy.honest();
    let printed = ok(owner.cli_search(&query, 5));
    let line: Value = serde_json::from_str(printed.trim()).unwrap();
    let printed: Vec<i64> = line["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["chunk_id"].as_i64().unwrap())
        .collect();
    assert_eq!(printed, ranked, "the CLI prints in rank order");
    assert_eq!(owner.proxy.chunk_fetches(), vec![ascending]);
}

/// A service that says a knowledge base of verifiable records has no digest would have a fresh
/// machine (no state folder, nothing seen) skip every completeness check: with the nearest
/// record dropped, the answer's records all verify. Refused on any machine, by both clients;
/// and a service without the digest routes is named as such.
#[test]
fn a_service_claiming_no_digest_is_refused_on_a_fresh_machine() {
    let owner = Owner::new();
    let query = near(&owner.stored[0]);
    owner.search(&query, 3).unwrap();
    let fresh = Client::new(&owner.proxy.url, &owner.server.org, &owner.key)
        .unwrap()
        .with_state_in_memory();
    let options = SearchOptions {
        top_k: 3,
        records: BOTH,
        ..SearchOptions::default()
    };
    owner.proxy.set(json!({"kind": "no_digest"}));
    let rejection = rejected(
        "no digest",
        fresh.search_records(&owner.kb, &owner.ctx, &query, &options),
        FailureKind::NoDigest,
    );
    assert_eq!(rejection.failures[0].chunk_ids.len(), RECORDS);
    // The CLI, whose state folder has seen nothing yet.
    let message = fails(owner.cli_search(&query, 3));
    assert!(
        message.contains(FailureKind::NoDigest.describe()) && message.contains("digest rebuild"),
        "{message}"
    );
    // A find on the fresh machine too.
    let found = fresh.find_records(&owner.kb, &owner.ctx, &json!({"tag1": "t1"}), BOTH);
    rejected("no digest, find", found, FailureKind::NoDigest);

    owner.proxy.set(json!({"kind": "no_digest_routes"}));
    let error = fresh
        .search_records(&owner.kb, &owner.ctx, &query, &options)
        .unwrap_err()
        .to_string();
    assert!(error.contains("without the digest routes"), "{error}");

    owner.proxy.honest();
    assert_eq!(owner.search(&query, 3).unwrap()[0].chunk_id, owner.ids[0]);
}
