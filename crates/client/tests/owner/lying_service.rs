//! What a lying service tried and the Rust client refuses (the same cases as Python's
//! test_owner_digest.py and test_partitions.py), each through `tools/tamper-proxy.py` or a store
//! put back to an earlier copy, with the honest search beside it passing:
//! 1. deleted records brought back by a rebuild over the later digest the service kept;
//! 2. a digest that does not open, skipped by a rebuild;
//! 3. a counted field whose values are not all strings;
//! 4. an empty filter read as one the digest does not cover;
//! 5. a verifiable delete by metadata missing a record the service hides;
//! 6. to 8. (partitions: a rebuild left unfinished, decoy groups, a probe's token count) are
//!    in lying_partitions.rs, on the same knowledge bases.

use base64::Engine;

use paillier_gpu::partitions::{PartitionModel, TrainOptions};
use paillier_gpu::verifiable::{Document, FailureKind};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::api::DigestWrite;
use paillier_gpu_client::{
    Client, Error, Hit, Placement, Probe, RecordOptions, Result, SearchCost, SearchOptions,
    StateDir,
};
use paillier_gpu_testing::data::{clustered, document, small_context, vectors, BOTH};
use paillier_gpu_testing::tamper::TamperProxy;
use paillier_gpu_testing::TestServer;
use serde_json::{json, Value};

pub(crate) const EMBED: usize = 48;
const RECORDS: usize = 12;

/// `result` refused as an answer failing `kind`: its message.
fn refused_as<T: std::fmt::Debug>(result: Result<T>, kind: FailureKind) -> String {
    match result {
        Err(Error::Library(paillier_gpu::Error::AnswerRejected(rejection))) => {
            assert!(rejection.has(kind), "{rejection}");
            rejection.to_string()
        }
        other => panic!("not refused as {kind:?}: {other:?}"),
    }
}

pub(crate) fn owner_of(
    url: &str,
    server: &TestServer,
    key: &str,
    state: &std::path::Path,
) -> Client {
    Client::new(url, &server.org, key)
        .unwrap()
        .with_state_dir(StateDir::new(state))
}

fn search(
    client: &Client,
    kb: &str,
    ctx: &ExecutionContext,
    query: &[u8],
    filter: Option<Value>,
) -> Result<Vec<Hit>> {
    let options = SearchOptions {
        top_k: RECORDS * 4,
        records: BOTH,
        filter,
        ..SearchOptions::default()
    };
    client.search_records(kb, ctx, query, &options)
}

fn documents(count: usize) -> Vec<Document> {
    (0..count)
        .map(|i| document(i, &format!("document {i}")))
        .collect()
}

#[test]
fn a_rollback_found_is_kept_until_the_owner_takes_the_records() {
    let mut server = TestServer::start_sqlite(|_| {});
    let (kb, key) = server.kb_and_key("rollback-kept");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let ctx = small_context(EMBED);
    let client = owner_of(&server.url, &server, &key, &state);
    client.push_context(&ctx).unwrap();
    let stored = vectors(40, 3, EMBED);
    let ids: Vec<i64> = client
        .upload_records(&kb, &ctx, &stored, &documents(40), BOTH)
        .unwrap()
        .iter()
        .map(|u| u.chunk_id)
        .collect();
    let earlier = dir.path().join("earlier");
    server.keep_store(&earlier);
    client.delete_records(&kb, &ctx, &ids[..7], BOTH).unwrap();
    let later = client.owner_digest(&kb, ctx.id()).unwrap();
    server.put_back_store(&earlier);
    refused_as(
        search(&client, &kb, &ctx, &stored[3], None),
        FailureKind::RolledBack,
    );

    // The service then shows the later digest it kept beside the earlier records: every version
    // check passes, yet a plain rebuild (which would count the deleted records back in) is
    // refused, by this client and by another process of the owner's on the same folder.
    let write = DigestWrite {
        expected_version: later.version - 1,
        version: later.version,
        sealed: later.sealed.clone().unwrap(),
        link: None,
    };
    client.put_owner_digest(&kb, ctx.id(), &write).unwrap();
    for owner in [&client, &owner_of(&server.url, &server, &key, &state)] {
        let message = refused_as(
            owner.rebuild_digest(&kb, &ctx, BOTH, None, false),
            FailureKind::RolledBack,
        );
        assert!(message.contains("--after-rollback"), "{message}");
    }
    // Taken knowingly: the earlier copy counted, the mark gone.
    let rebuilt = client.rebuild_digest(&kb, &ctx, BOTH, None, true).unwrap();
    assert_eq!(rebuilt.records, 40);
    assert_eq!(
        client
            .rebuild_digest(&kb, &ctx, BOTH, None, false)
            .unwrap()
            .records,
        40
    );
    assert_eq!(
        search(&client, &kb, &ctx, &stored[3], None).unwrap().len(),
        40
    );
}

#[test]
fn a_rebuild_over_a_digest_that_does_not_open_is_refused() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("unopenable");
    let dir = tempfile::tempdir().unwrap();
    let ctx = small_context(EMBED);
    let client = owner_of(&server.url, &server, &key, dir.path());
    client.push_context(&ctx).unwrap();
    let stored = vectors(RECORDS, 4, EMBED);
    client
        .upload_records(&kb, &ctx, &stored, &documents(RECORDS), BOTH)
        .unwrap();
    let version = client.owner_digest(&kb, ctx.id()).unwrap().version;
    let junk = base64::engine::general_purpose::STANDARD.encode((0..64).collect::<Vec<u8>>());
    let write = DigestWrite {
        expected_version: version,
        version: version + 5,
        sealed: junk,
        link: None,
    };
    client.put_owner_digest(&kb, ctx.id(), &write).unwrap();
    for refused in [
        client
            .rebuild_digest(&kb, &ctx, BOTH, None, false)
            .map(|_| ()),
        search(&client, &kb, &ctx, &stored[0], None).map(|_| ()),
    ] {
        let message = refused.unwrap_err().to_string();
        assert!(message.contains("does not open"), "{message}");
    }
    let rebuilt = client.rebuild_digest(&kb, &ctx, BOTH, None, true).unwrap();
    assert_eq!(
        (rebuilt.version, rebuilt.records),
        (version + 6, RECORDS as u64)
    );
}

#[test]
fn a_counted_field_counts_what_the_services_filter_selects() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("counted-numbers");
    let dir = tempfile::tempdir().unwrap();
    let ctx = small_context(EMBED);
    let client = owner_of(&server.url, &server, &key, dir.path());
    client.push_context(&ctx).unwrap();
    let stored = vectors(RECORDS, 5, EMBED);
    // The same value as a number and as text, and another: the service's filter selects both
    // forms of "5".
    let tags = [json!(5), json!("5"), json!("6")];
    let documents: Vec<Document> = (0..RECORDS)
        .map(|i| Document {
            content: format!("d{i}"),
            meta_data: json!({ "tag1": tags[i % 3] }).as_object().cloned().unwrap(),
            name: None,
        })
        .collect();
    let verifiable = RecordOptions {
        verifiable: true,
        private_meta: false,
    };
    client
        .upload_records(&kb, &ctx, &stored, &documents, verifiable)
        .unwrap();
    let message = client
        .rebuild_digest(&kb, &ctx, verifiable, Some("facets"), false)
        .unwrap_err()
        .to_string();
    assert!(message.contains("not facets"), "{message}");
    let rebuilt = client
        .rebuild_digest(&kb, &ctx, verifiable, Some("tag1"), false)
        .unwrap();
    assert_eq!(rebuilt.counted, Some(("tag1".to_owned(), 2)));
    for wanted in [json!("5"), json!(5), json!({"$in": ["5"]})] {
        let options = SearchOptions {
            top_k: RECORDS,
            records: verifiable,
            filter: Some(json!({ "tag1": wanted })),
            ..SearchOptions::default()
        };
        let hits = client
            .search_records(&kb, &ctx, &stored[0], &options)
            .unwrap();
        assert_eq!(hits.len(), 2 * RECORDS / 3, "{wanted}");
    }
}

/// A knowledge base of verifiable private records written through a tampering proxy, and its
/// owner's client through it.
pub(crate) struct LiedTo {
    _server: TestServer,
    pub(crate) proxy: TamperProxy,
    _state: tempfile::TempDir,
    pub(crate) client: Client,
    pub(crate) kb: String,
    pub(crate) ctx: ExecutionContext,
    stored: Vec<Vec<u8>>,
    ids: Vec<i64>,
}

impl LiedTo {
    /// [`RECORDS`] records, each with its document.
    fn new(name: &str) -> LiedTo {
        let stored = vectors(RECORDS, 6, EMBED);
        Self::uploaded(name, stored, &documents(RECORDS), Placement::Follow)
    }

    /// 240 clustered records in 16 partitions, trained on them.
    pub(crate) fn partitioned(name: &str) -> LiedTo {
        let stored = clustered(EMBED, 240, 16, 31);
        let train = TrainOptions::new(16);
        let (model, partitions) = PartitionModel::train(&stored, &train).unwrap();
        let placement = Placement::Trained {
            model: &model,
            partitions: &partitions,
            decoys: 0,
        };
        Self::uploaded(name, stored, &[], placement)
    }

    fn uploaded(
        name: &str,
        stored: Vec<Vec<u8>>,
        documents: &[Document],
        placement: Placement,
    ) -> LiedTo {
        let server = TestServer::start();
        let (kb, key) = server.kb_and_key(name);
        let proxy = TamperProxy::start(&server.url);
        let state = tempfile::tempdir().unwrap();
        let client = owner_of(&proxy.url, &server, &key, state.path());
        let ctx = small_context(EMBED);
        client.push_context(&ctx).unwrap();
        let ids = client
            .upload_records_placed(&kb, &ctx, &stored, documents, BOTH, placement)
            .unwrap()
            .iter()
            .map(|u| u.chunk_id)
            .collect();
        LiedTo {
            _server: server,
            proxy,
            _state: state,
            client,
            kb,
            ctx,
            stored,
            ids,
        }
    }

    fn search(&self, query: &[u8], filter: Option<Value>) -> Result<Vec<Hit>> {
        search(&self.client, &self.kb, &self.ctx, query, filter)
    }

    /// A partitioned search of `query` probing `probe` partitions with `decoys`: what it cost.
    pub(crate) fn probed(&self, query: &[u8], probe: Probe, decoys: usize) -> Result<SearchCost> {
        let options = SearchOptions {
            top_k: 10,
            records: BOTH,
            probe,
            decoys,
            ..SearchOptions::default()
        };
        let searched = self
            .client
            .search_records_measured(&self.kb, &self.ctx, query, &options);
        searched.map(|(_, cost)| cost)
    }
}

#[test]
fn an_empty_filter_is_checked_as_the_whole_knowledge_base() {
    let owner = LiedTo::new("empty-filter");
    let empties = [json!({}), json!({"$and": []})];
    let query = &owner.stored[2];
    for empty in &empties {
        let hits = owner.search(query, Some(empty.clone())).unwrap();
        assert_eq!(hits.len(), RECORDS);
    }
    owner
        .proxy
        .set(json!({"kind": "drop", "chunk_id": owner.ids[2]}));
    for empty in &empties {
        let dropped = owner.search(query, Some(empty.clone()));
        refused_as(dropped, FailureKind::DigestMismatch);
    }
}

#[test]
fn a_verifiable_delete_by_metadata_deletes_a_record_the_service_hides() {
    let owner = LiedTo::new("hidden-delete");
    // tag1 "t1": records 1, 5 and 9.
    let (hidden, filter) = (owner.ids[1], json!({"tag1": "t1"}));
    let delete = || {
        owner
            .client
            .delete_by_meta(&owner.kb, &owner.ctx, &filter, BOTH, false)
    };
    // Hidden from every list: the whole knowledge base does not add up, nothing is deleted.
    owner
        .proxy
        .set(json!({"kind": "hide_listed", "chunk_id": hidden}));
    refused_as(delete(), FailureKind::DigestMismatch);
    // Hidden from the filtered list only: found in the whole, and deleted.
    owner
        .proxy
        .set(json!({"kind": "hide_listed", "chunk_id": hidden, "filtered_only": true}));
    assert_eq!(delete().unwrap(), 3);
    owner.proxy.honest();
    let hits = owner.search(&owner.stored[1], None).unwrap();
    assert_eq!(hits.len(), RECORDS - 3);
    assert!(hits.iter().all(|hit| hit.chunk_id != hidden));
}
