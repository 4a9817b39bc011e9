//! The lies only the owner's digest catches, told by `tools/tamper-proxy.py` in front of a real
//! server, each refused by the Rust client with no count given: two records relabelled together
//! (answers and documents), a record stale after an update or a patch, a deleted record brought
//! back, a record dropped; and what the query nonce catches: the answer built to confirm a guess
//! of the query (refused as a wrong guess is), and a guess slipped into a find's fetch. The top
//! k's documents are asked for in id order on the wire, and a service claiming no digest is
//! refused on a fresh machine. The CLI's half is the program's test
//! server_owner_digest_lies.rs.

use paillier_gpu::verifiable::{AnswerRejection, FailureKind};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, Error, Hit, SearchOptions, StateDir};
use paillier_gpu_testing::data::{document, near, small_context, vectors, BOTH};
use paillier_gpu_testing::tamper::TamperProxy;
use paillier_gpu_testing::TestServer;
use serde_json::{json, Map};

const EMBED: usize = 48;
const RECORDS: usize = 40;

/// An owner of verifiable records with private metadata in one knowledge base of a real server,
/// talking to it through a tampering proxy.
struct Owner {
    server: TestServer,
    proxy: TamperProxy,
    kb: String,
    key: String,
    _state: tempfile::TempDir,
    ctx: ExecutionContext,
    client: Client,
    ids: Vec<i64>,
    stored: Vec<Vec<u8>>,
    n: String,
}

impl Owner {
    /// [`RECORDS`] records uploaded through the proxy, so that it has seen each one.
    fn new() -> Owner {
        let server = TestServer::start();
        let (kb, key) = server.kb_and_key("lied-to");
        let state = tempfile::tempdir().unwrap();
        let ctx = small_context(EMBED);
        let proxy = TamperProxy::start(&server.url);
        let client = Client::new(&proxy.url, &server.org, &key)
            .unwrap()
            .with_state_dir(StateDir::new(state.path()));
        client.push_context(&ctx).unwrap();
        let stored = vectors(RECORDS, 21, EMBED);
        let documents: Vec<_> = (0..RECORDS)
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
            _state: state,
            ctx,
            client,
            ids,
            stored,
            n,
        }
    }

    /// A verified search of the whole knowledge base, documents opened, no count.
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

#[test]
fn a_joint_swap_a_dropped_record_and_a_confirmed_guess_are_refused_with_no_count() {
    let owner = Owner::new();
    let query = near(&owner.stored[0]);
    let honest = owner.search(&query, 3).unwrap();
    assert_eq!((honest[0].chunk_id, honest[0].distance), (owner.ids[0], 2));
    let (nearest, far) = (owner.ids[0], owner.ids[30]);

    // Answers and documents relabelled together: every record's own checks pass.
    owner
        .proxy
        .set(json!({"kind": "joint_swap", "a": nearest, "b": far}));
    rejected(
        "joint swap",
        owner.search(&query, 3),
        FailureKind::DigestMismatch,
    );
    owner.proxy.set(json!({"kind": "drop", "chunk_id": far}));
    rejected("drop", owner.search(&query, 3), FailureKind::DigestMismatch);

    // E(R)·E(Q)²·E(−C) for a record: with C the query itself the slots decode as an honest
    // answer's, and the query nonce (twice this query's) refuses it as a wrong guess is.
    let mut wrong = query.clone();
    wrong[5] ^= 1;
    let mut seen = Vec::new();
    for guess in [&query, &wrong] {
        owner
            .proxy
            .set(json!({"kind": "guess", "chunk_id": far, "guess": guess, "n": owner.n}));
        seen.push(rejected(
            "guess",
            owner.search(&query, 3),
            FailureKind::InvalidRecord,
        ));
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

    // Updated; its answer and document from before served.
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
    assert_eq!(owner.search(&query, 3).unwrap()[0].distance, 0);
    owner
        .proxy
        .set(json!({"kind": "stale", "chunk_id": updated, "n": owner.n}));
    rejected(
        "stale after an update",
        owner.search(&query, 3),
        FailureKind::DigestMismatch,
    );

    // Patched (found, opened, encrypted again under a fresh nonce); the copy from before the
    // patch served.
    owner.proxy.honest();
    let mut patch = Map::new();
    patch.insert("tag2".to_owned(), json!("reviewed"));
    let patched = owner
        .client
        .patch_by_meta(&owner.kb, &owner.ctx, &json!({"tag1": "t1"}), &patch, BOTH)
        .unwrap();
    assert_eq!(patched.len(), RECORDS / 4);
    let stale = owner.ids[5];
    owner
        .proxy
        .set(json!({"kind": "stale", "chunk_id": stale, "n": owner.n}));
    let near_stale = near(&owner.stored[5]);
    rejected(
        "stale after a patch",
        owner.search(&near_stale, 3),
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
    rejected(
        "resurrected",
        owner.search(&near(&owner.stored[9]), 3),
        FailureKind::DigestMismatch,
    );

    owner.proxy.honest();
    let hits = owner.search(&near_stale, 1).unwrap();
    let found = hits[0].document.as_ref().unwrap();
    assert_eq!(found.meta_data["tag2"], "reviewed");
}

#[test]
fn a_guess_in_a_finds_fetch_is_refused_right_or_wrong() {
    let owner = Owner::new();
    let target = owner.ids[3];
    let query = near(&owner.stored[3]);
    let mut wrong = query.clone();
    wrong[9] ^= 1;
    let filter = json!({"tag1": "t3"});
    let find = || {
        owner
            .client
            .find_records(&owner.kb, &owner.ctx, &filter, BOTH)
    };
    assert_eq!(find().unwrap().len(), RECORDS / 4);
    let mut seen = Vec::new();
    for guess in [&query, &wrong] {
        // The query the guess is tested against: the last one the service saw.
        owner.proxy.honest();
        owner.search(&query, 3).unwrap();
        owner.proxy.set(
            json!({"kind": "guess_in_fetch", "chunk_id": target, "guess": guess, "n": owner.n}),
        );
        let rejection = rejected("guess in a fetch", find(), FailureKind::InvalidRecord);
        assert_eq!(rejection.failures[0].chunk_ids, vec![target]);
        seen.push(rejection);
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
    assert_eq!(owner.proxy.chunk_fetches(), vec![ascending]);
}

/// A service that says a knowledge base of verifiable records has no digest would have a fresh
/// machine (no state folder, nothing seen) skip every completeness check: with the nearest
/// record dropped, the answer's records all verify. Refused on any machine; and a service
/// without the digest routes is named as such.
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
