//! Every method of the store's contract, as either store must keep it. `open` gives a handle on
//! the one store of the test; two handles are two replicas over the same data.

use std::collections::BTreeSet;
use std::sync::Arc;

use paillier_gpu_server::store::{
    ApiKey, ChunkPatch, DeleteContext, KbVersion, KnowledgeBase, NewChunk, PutContext, Store,
    MAX_META_BYTES,
};
use serde_json::json;

use super::Opener;

pub(super) fn kb(org_id: &str, id: &str) -> KnowledgeBase {
    KnowledgeBase {
        id: id.into(),
        org_id: org_id.into(),
        name: format!("docs {id}"),
        description: String::new(),
        chunks: 0,
        created_at: "2026-11-24T00:00:00Z".into(),
        updated_at: "2026-11-24T00:00:00Z".into(),
    }
}

pub(super) fn chunk(tag: &str) -> NewChunk {
    NewChunk {
        name: format!("n-{tag}"),
        content: format!("c-{tag}"),
        meta_data: json!({ "tag1": tag }).to_string(),
        pieces: tag.as_bytes().to_vec(),
    }
}

/// An organisation with knowledge base `kb-1` and context `ctx` (stored as `{}`).
pub(super) fn org_with_kb(store: &dyn Store) -> String {
    let org = store.create_org("acme", "admin-hash", "xtr_a").unwrap();
    store.create_kb(&kb(&org.id, "kb-1")).unwrap();
    assert_eq!(
        store.put_context(&org.id, "ctx", "{}", None).unwrap(),
        PutContext::Created
    );
    org.id
}

pub(super) fn insert(store: &dyn Store, count: usize) -> Vec<i64> {
    let chunks: Vec<NewChunk> = (0..count).map(|i| chunk(&i.to_string())).collect();
    store
        .insert_chunks("kb-1", "ctx", "{}", &chunks)
        .unwrap()
        .unwrap()
        .ids
}

pub fn knowledge_bases_and_their_deletion(open: &Opener) {
    let store = open();
    let org = org_with_kb(&*store);
    store.create_kb(&kb(&org, "kb-2")).unwrap();
    assert!(
        store.create_kb(&kb(&org, "kb-2")).is_err(),
        "an id is used once"
    );
    assert_eq!(
        store
            .kbs(&org)
            .unwrap()
            .iter()
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>(),
        ["kb-1", "kb-2"]
    );
    assert_eq!(store.kb("another org", "kb-1").unwrap(), None);
    let key = ApiKey {
        hash: "key-hash".into(),
        org_id: org.clone(),
        name: "w".into(),
        description: String::new(),
        first_n: "xtr_k".into(),
        revoked: false,
        created_at: "now".into(),
    };
    assert!(store.create_api_key(&key).unwrap());
    store.set_permission("key-hash", "kb-1", 7).unwrap();
    insert(&*store, 3);
    store.bind(&org, "kb-2", "ctx").unwrap();
    store.bind(&org, "kb-2", "ctx").unwrap();
    assert_eq!(store.contexts_of_kb(&org, "kb-2").unwrap(), ["ctx"]);
    assert_eq!(store.kbs_of_context(&org, "ctx").unwrap(), ["kb-1", "kb-2"]);
    // Deleting a knowledge base deletes its chunks, permissions and bindings.
    assert!(!store.delete_kb("another org", "kb-1").unwrap());
    assert!(store.delete_kb(&org, "kb-1").unwrap());
    assert!(!store.delete_kb(&org, "kb-1").unwrap());
    assert_eq!(store.kb(&org, "kb-1").unwrap(), None);
    assert_eq!(store.kb_version("kb-1").unwrap(), None);
    assert!(store.chunks_of("kb-1", "ctx").unwrap().is_empty());
    assert!(store.permissions("key-hash").unwrap().is_empty());
    assert_eq!(store.kbs_of_context(&org, "ctx").unwrap(), ["kb-2"]);
}

pub fn inserts_and_deletes_keep_the_count(open: &Opener) {
    let store = open();
    let org = org_with_kb(&*store);
    assert_eq!(store.kb(&org, "kb-1").unwrap().unwrap().chunks, 0);
    assert_eq!(insert(&*store, 3), vec![1, 2, 3]);
    assert_eq!(store.kb(&org, "kb-1").unwrap().unwrap().chunks, 3);
    // A missing id deletes nothing and counts nothing.
    assert_eq!(store.delete_chunks("kb-1", &[2, 99]).unwrap(), 1);
    assert_eq!(store.kbs(&org).unwrap()[0].chunks, 2);
    // Ids are never given twice, deleted ones included.
    assert_eq!(insert(&*store, 1), vec![4]);
    assert_eq!(store.kb(&org, "kb-1").unwrap().unwrap().chunks, 3);
    // Not under a context stored with other bytes, nor under one not stored at all, nor in a
    // knowledge base that does not exist.
    for (kb_id, context, data) in [
        ("kb-1", "ctx", "{\"a\": 1}"),
        ("kb-1", "gone", "{}"),
        ("kb-9", "ctx", "{}"),
    ] {
        let written = store
            .insert_chunks(kb_id, context, data, &[chunk("x")])
            .unwrap();
        assert_eq!(written, None, "{kb_id} {context}");
    }
    assert_eq!(store.kb(&org, "kb-1").unwrap().unwrap().chunks, 3);
    assert_eq!(store.contexts_of_kb(&org, "kb-1").unwrap(), vec!["ctx"]);
}

pub fn a_context_id_names_one_content_until_deleted(open: &Opener) {
    let store = open();
    let org = store.create_org("acme", "hash", "xtr_a").unwrap().id;
    store.create_kb(&kb(&org, "kb-1")).unwrap();
    let put =
        |data: &str, creator: Option<&str>| store.put_context(&org, "ctx", data, creator).unwrap();
    assert_eq!(put("{\"a\": 1}", Some("k1")), PutContext::Created);
    assert_eq!(put("{\"a\": 1}", Some("k2")), PutContext::Unchanged);
    assert_eq!(put("{\"a\": 2}", None), PutContext::Conflict);
    let stored = store.context(&org, "ctx").unwrap().unwrap();
    assert_eq!(stored.data, "{\"a\": 1}");
    assert_eq!(stored.creator_key.as_deref(), Some("k1"));
    assert_eq!(
        store.contexts(&org).unwrap(),
        vec![("ctx".to_owned(), Some("k1".to_owned()))]
    );
    assert_eq!(store.context("another org", "ctx").unwrap(), None);
    // Not deleted while chunks are stored under it.
    store
        .insert_chunks("kb-1", "ctx", "{\"a\": 1}", &[chunk("a")])
        .unwrap()
        .unwrap();
    assert_eq!(
        store.delete_context(&org, "ctx").unwrap(),
        DeleteContext::InUse(vec!["kb-1".to_owned()])
    );
    assert_eq!(
        store.chunk_contexts("kb-1", &[1, 2]).unwrap(),
        vec![(1, "ctx".to_owned())]
    );
    // A patch names the chunk's own context or finds nothing.
    let patch = ChunkPatch {
        name: Some("renamed".into()),
        ..ChunkPatch::default()
    };
    assert!(store
        .patch_chunks("kb-1", "other", &[(1, patch.clone())], true)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .patch_chunks("kb-1", "ctx", &[(1, patch)], true)
            .unwrap(),
        vec![1]
    );
    store.delete_chunks("kb-1", &[1]).unwrap();
    assert_eq!(
        store.delete_context(&org, "ctx").unwrap(),
        DeleteContext::Deleted
    );
    assert_eq!(
        store.delete_context(&org, "ctx").unwrap(),
        DeleteContext::Missing
    );
    assert!(store.kbs_of_context(&org, "ctx").unwrap().is_empty());
    assert_eq!(put("{\"a\": 2}", None), PutContext::Created);
}

pub fn chunks_read_back_and_patch(open: &Opener) {
    let store = open();
    org_with_kb(&*store);
    insert(&*store, 10);
    let asked = store.chunks_by_id("kb-1", &[7, 3, 99, 3]).unwrap();
    assert_eq!(
        asked.iter().map(|c| c.chunk_id).collect::<Vec<_>>(),
        [7, 3, 3],
        "in the order asked, missing ones left out"
    );
    assert_eq!(asked[0].name, "n-6");
    assert_eq!(asked[0].content, "c-6");
    assert_eq!(asked[0].pieces, b"6");
    assert_eq!(store.chunks_of("kb-1", "ctx").unwrap().len(), 10);
    assert!(store.chunks_of("kb-1", "other").unwrap().is_empty());
    // Index rows above an id, a page at a time.
    let mut pages = Vec::new();
    let version = store
        .index_rows("kb-1", "ctx", 4, 4, &mut |rows| {
            pages.push(rows.iter().map(|r| r.chunk_id).collect::<Vec<_>>());
            Ok(())
        })
        .unwrap();
    assert_eq!(pages, [vec![5, 6, 7, 8], vec![9, 10]]);
    assert_eq!(version, store.kb_version("kb-1").unwrap().unwrap());
    // A visitor's error stops the read and is returned.
    let mut seen = 0;
    let stopped = store.index_rows("kb-1", "ctx", 0, 3, &mut |_| {
        seen += 1;
        Err(paillier_gpu_server::Error::Store("enough".into()))
    });
    assert!(stopped.is_err());
    assert_eq!(seen, 1);
    // Metadata merged key by key; null removes a key.
    let patch = ChunkPatch {
        content: Some("new".into()),
        meta_data: Some(
            json!({ "tag1": null, "tag2": "b" })
                .as_object()
                .unwrap()
                .clone(),
        ),
        pieces: Some(vec![9, 9]),
        ..ChunkPatch::default()
    };
    assert_eq!(
        store
            .patch_chunks(
                "kb-1",
                "ctx",
                &[(2, patch.clone()), (50, patch.clone())],
                false
            )
            .unwrap(),
        [2]
    );
    let patched = &store.chunks_by_id("kb-1", &[2]).unwrap()[0];
    assert_eq!(patched.name, "n-1", "kept");
    assert_eq!(patched.content, "new");
    assert_eq!(patched.pieces, [9, 9]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&patched.meta_data).unwrap(),
        json!({ "tag2": "b" })
    );
    // All or nothing: one missing id writes nothing.
    assert_eq!(
        store
            .patch_chunks("kb-1", "ctx", &[(3, patch.clone()), (50, patch)], true)
            .unwrap(),
        [3]
    );
    assert_eq!(store.chunks_by_id("kb-1", &[3]).unwrap()[0].content, "c-2");
    // Metadata that would outgrow the bound is refused whole.
    let huge = ChunkPatch {
        meta_data: Some(
            json!({ "tag3": "x".repeat(MAX_META_BYTES) })
                .as_object()
                .unwrap()
                .clone(),
        ),
        ..ChunkPatch::default()
    };
    let rename = ChunkPatch {
        name: Some("renamed".into()),
        ..ChunkPatch::default()
    };
    assert!(store
        .patch_chunks("kb-1", "ctx", &[(4, rename), (5, huge)], false)
        .is_err());
    assert_eq!(store.chunks_by_id("kb-1", &[4]).unwrap()[0].name, "n-3");
}

pub fn every_chunk_write_moves_the_version(open: &Opener) {
    let store = open();
    org_with_kb(&*store);
    let version = |store: &dyn Store| store.kb_version("kb-1").unwrap().unwrap();
    assert_eq!(version(&*store), KbVersion::default());
    let inserted = store
        .insert_chunks("kb-1", "ctx", "{}", &[chunk("a"), chunk("b")])
        .unwrap()
        .unwrap();
    assert_eq!(inserted.version, 1);
    assert_eq!(
        version(&*store),
        KbVersion {
            version: 1,
            rewritten: 0
        }
    );
    insert(&*store, 1);
    assert_eq!(
        version(&*store),
        KbVersion {
            version: 2,
            rewritten: 0
        }
    );
    // Deletes and edits are rewrites; writes that change nothing move nothing.
    store.delete_chunks("kb-1", &[2]).unwrap();
    assert_eq!(
        version(&*store),
        KbVersion {
            version: 3,
            rewritten: 3
        }
    );
    store.delete_chunks("kb-1", &[2]).unwrap();
    assert_eq!(
        version(&*store),
        KbVersion {
            version: 3,
            rewritten: 3
        }
    );
    let rename = ChunkPatch {
        name: Some("x".into()),
        ..ChunkPatch::default()
    };
    store
        .patch_chunks("kb-1", "ctx", &[(1, rename.clone())], true)
        .unwrap();
    assert_eq!(
        version(&*store),
        KbVersion {
            version: 4,
            rewritten: 4
        }
    );
    store
        .patch_chunks("kb-1", "ctx", &[(77, rename)], false)
        .unwrap();
    assert_eq!(
        version(&*store),
        KbVersion {
            version: 4,
            rewritten: 4
        }
    );
    insert(&*store, 1);
    assert_eq!(
        version(&*store),
        KbVersion {
            version: 5,
            rewritten: 4
        }
    );
    // Another handle (another replica) sees the same.
    assert_eq!(
        version(&*open()),
        KbVersion {
            version: 5,
            rewritten: 4
        }
    );
}

pub fn concurrent_writers_number_chunks_in_commit_order(open: &Opener) {
    let first = open();
    org_with_kb(&*first);
    let replicas: Vec<Arc<dyn Store>> = vec![first, open()];
    const WRITERS: usize = 8;
    const BATCHES: usize = 12;
    const CHUNKS: usize = 5;
    let written: Vec<(Vec<i64>, i64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = replicas[w % 2].clone();
                scope.spawn(move || {
                    (0..BATCHES)
                        .map(|b| {
                            let chunks: Vec<NewChunk> = (0..CHUNKS)
                                .map(|c| chunk(&format!("{w}-{b}-{c}")))
                                .collect();
                            let inserted = store
                                .insert_chunks("kb-1", "ctx", "{}", &chunks)
                                .unwrap()
                                .unwrap();
                            (inserted.ids, inserted.version)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let total = (WRITERS * BATCHES * CHUNKS) as i64;
    let ids: BTreeSet<i64> = written
        .iter()
        .flat_map(|(ids, _)| ids.iter().copied())
        .collect();
    assert_eq!(ids, (1..=total).collect(), "every id once, none skipped");
    // Each batch's ids are contiguous, and a later version always has higher ids: the chunks
    // above an id are exactly those committed after it.
    let mut by_version = written.clone();
    by_version.sort_by_key(|(_, version)| *version);
    let versions: Vec<i64> = by_version.iter().map(|(_, v)| *v).collect();
    assert_eq!(
        versions,
        (1..=(WRITERS * BATCHES) as i64).collect::<Vec<_>>()
    );
    let mut next = 1;
    for (ids, _) in &by_version {
        assert_eq!(*ids, (next..next + CHUNKS as i64).collect::<Vec<_>>());
        next += CHUNKS as i64;
    }
    for store in &replicas {
        assert_eq!(
            store.kb_version("kb-1").unwrap().unwrap().version,
            (WRITERS * BATCHES) as i64
        );
        assert_eq!(store.chunks_of("kb-1", "ctx").unwrap().len() as i64, total);
    }
}

pub fn opening_again_migrates_nothing(open: &Opener) {
    let store = open();
    let org = org_with_kb(&*store);
    insert(&*store, 2);
    drop(store);
    let again = open();
    assert_eq!(again.kb(&org, "kb-1").unwrap().unwrap().chunks, 2);
    assert_eq!(again.chunks_of("kb-1", "ctx").unwrap().len(), 2);
}
