//! The owner's digest in the store's contract: a compare-and-set that writes only over the
//! version expected, alone or in one transaction with the record writes it covers, and gone
//! with its knowledge base.

use paillier_gpu_server::store::{
    ChunkPatch, DigestConflict, DigestSwap, DigestWritten, KbVersion, RecordBatch, Store,
    StoredLink,
};

use super::store_suite::{chunk, insert, org_with_kb};
use super::Opener;

fn swap(expected_version: i64, version: i64, sealed: &str) -> DigestSwap {
    DigestSwap {
        expected_version,
        version,
        sealed: sealed.as_bytes().to_vec(),
        link: None,
    }
}

/// [`swap`] carrying the version's link, written on `prev`.
fn linked(expected_version: i64, version: i64, prev: i64, link: u8) -> DigestSwap {
    DigestSwap {
        link: Some((prev, vec![link; 32])),
        ..swap(expected_version, version, "s")
    }
}

/// The links kept of `kb-1`'s digest under `ctx` after `since`, at most `limit`.
fn links(store: &dyn Store, since: i64, limit: usize) -> Vec<StoredLink> {
    let state = store.owner_digest("kb-1", "ctx", Some((since, limit)));
    state.unwrap().unwrap().links
}

fn conflict(current_version: i64, next_chunk_id: i64) -> DigestWritten {
    DigestWritten::Conflict(DigestConflict {
        current_version,
        next_chunk_id,
    })
}

/// `(version, sealed)` stored for `kb-1` under `ctx`.
fn digest(store: &dyn Store) -> Option<(i64, Vec<u8>)> {
    store
        .owner_digest("kb-1", "ctx", None)
        .unwrap()
        .unwrap()
        .digest
}

/// What the knowledge base holds: every chunk id under `ctx`, its version, its count.
fn holdings(store: &dyn Store, org: &str) -> (Vec<i64>, KbVersion, u64) {
    let ids = store
        .chunks_of("kb-1", "ctx")
        .unwrap()
        .iter()
        .map(|c| c.chunk_id)
        .collect();
    let version = store.kb_version("kb-1").unwrap().unwrap();
    (ids, version, store.kb(org, "kb-1").unwrap().unwrap().chunks)
}

pub fn a_digest_is_replaced_only_over_the_version_expected(open: &Opener) {
    let store = open();
    let org = org_with_kb(&*store);
    let state = store.owner_digest("kb-1", "ctx", None).unwrap().unwrap();
    assert_eq!(
        (state.digest, state.next_chunk_id, state.chunks),
        (None, 1, 0)
    );
    assert_eq!(store.owner_digest("kb-9", "ctx", None).unwrap(), None);
    assert_eq!(
        store
            .put_owner_digest("kb-9", "ctx", &swap(0, 1, "a"))
            .unwrap(),
        DigestWritten::NoKb
    );
    // The first write expects 0; a version not above the expected one is refused.
    assert_eq!(
        store
            .put_owner_digest("kb-1", "ctx", &swap(1, 2, "a"))
            .unwrap(),
        conflict(0, 1)
    );
    assert_eq!(
        store
            .put_owner_digest("kb-1", "ctx", &swap(0, 0, "a"))
            .unwrap(),
        conflict(0, 1)
    );
    assert_eq!(digest(&*store), None, "a conflict leaves nothing");
    assert!(matches!(
        store
            .put_owner_digest("kb-1", "ctx", &swap(0, 1, "a"))
            .unwrap(),
        DigestWritten::Written {
            next_chunk_id: 1,
            ..
        }
    ));
    assert_eq!(digest(&*store), Some((1, b"a".to_vec())));
    // Twice over one version: the second is refused (another handle is another replica).
    let other = open();
    assert_eq!(
        other
            .put_owner_digest("kb-1", "ctx", &swap(0, 1, "b"))
            .unwrap(),
        conflict(1, 1)
    );
    assert!(matches!(
        other
            .put_owner_digest("kb-1", "ctx", &swap(1, 2, "b"))
            .unwrap(),
        DigestWritten::Written { .. }
    ));
    assert_eq!(digest(&*store), Some((2, b"b".to_vec())));
    // A rebuild past a version its owner saw elsewhere moves it further; never back.
    assert!(matches!(
        store
            .put_owner_digest("kb-1", "ctx", &swap(2, 5, "c"))
            .unwrap(),
        DigestWritten::Written { .. }
    ));
    assert_eq!(
        store
            .put_owner_digest("kb-1", "ctx", &swap(5, 4, "d"))
            .unwrap(),
        conflict(5, 1)
    );
    assert_eq!(digest(&*store), Some((5, b"c".to_vec())));
    // Digests are per context; none moves the chunks' version.
    assert!(matches!(
        store
            .put_owner_digest("kb-1", "other", &swap(0, 1, "c"))
            .unwrap(),
        DigestWritten::Written { .. }
    ));
    assert_eq!(digest(&*store), Some((5, b"c".to_vec())));
    assert_eq!(holdings(&*store, &org).1, KbVersion::default());
    // Gone with the knowledge base, and not back with a new one of the same id.
    assert!(store.delete_kb(&org, "kb-1").unwrap());
    store
        .create_kb(&super::store_suite::kb(&org, "kb-1"))
        .unwrap();
    assert_eq!(digest(&*store), None);
}

pub fn record_writes_commit_with_their_digest_or_not_at_all(open: &Opener) {
    let store = open();
    let org = org_with_kb(&*store);
    assert_eq!(insert(&*store, 3), [1, 2, 3]);
    let before = holdings(&*store, &org);
    let update = vec![(
        2,
        ChunkPatch {
            content: Some("new".into()),
            ..ChunkPatch::default()
        },
    )];
    let good = RecordBatch {
        first_chunk_id: Some(4),
        insert: vec![chunk("x"), chunk("y")],
        update: update.clone(),
        delete: vec![1],
        pages: Vec::new(),
    };
    let write = |swap: &DigestSwap, batch: &RecordBatch| {
        store
            .write_records("kb-1", "ctx", "{}", swap, batch)
            .unwrap()
    };
    // A conflicting digest, a wrong first id, a missing id, a chunk of another context, a
    // context replaced: each commits nothing.
    assert_eq!(write(&swap(1, 2, "s"), &good), conflict(0, 4));
    let wrong_first = RecordBatch {
        first_chunk_id: Some(3),
        ..good.clone()
    };
    assert_eq!(write(&swap(0, 1, "s"), &wrong_first), conflict(0, 4));
    let missing = RecordBatch {
        delete: vec![1, 99],
        ..good.clone()
    };
    assert_eq!(
        write(&swap(0, 1, "s"), &missing),
        DigestWritten::Missing(vec![99])
    );
    let missing_update = RecordBatch {
        update: vec![(98, update[0].1.clone())],
        delete: vec![],
        ..good.clone()
    };
    assert_eq!(
        write(&swap(0, 1, "s"), &missing_update),
        DigestWritten::Missing(vec![98])
    );
    store.put_context(&org, "ctx-2", "{}", None).unwrap();
    let elsewhere = store
        .insert_chunks("kb-1", "ctx-2", "{}", &[chunk("z")])
        .unwrap()
        .unwrap()
        .ids;
    assert_eq!(elsewhere, [4]);
    let before = (before.0, store.kb_version("kb-1").unwrap().unwrap(), 4);
    let other_context = RecordBatch {
        first_chunk_id: Some(5),
        delete: vec![4],
        ..good.clone()
    };
    assert_eq!(
        write(&swap(0, 1, "s"), &other_context),
        DigestWritten::OtherContext(4, "ctx-2".into())
    );
    let good = RecordBatch {
        first_chunk_id: Some(5),
        ..good
    };
    assert_eq!(
        store
            .write_records("kb-1", "ctx", "{\"replaced\": 1}", &swap(0, 1, "s"), &good)
            .unwrap(),
        DigestWritten::ContextChanged
    );
    assert_eq!(holdings(&*store, &org), before, "nothing was committed");
    assert_eq!(store.chunks_by_id("kb-1", &[2]).unwrap()[0].content, "c-1");
    assert_eq!(digest(&*store), None);

    // A good one commits all of it: the digest, the update, the delete, the inserts from 5.
    let DigestWritten::Written {
        chunk_ids,
        kb_version,
        next_chunk_id,
    } = write(&swap(0, 1, "s"), &good)
    else {
        panic!("not written");
    };
    assert_eq!((chunk_ids, next_chunk_id), (vec![5, 6], 7));
    let (ids, version, count) = holdings(&*store, &org);
    assert_eq!(ids, [2, 3, 5, 6]);
    assert_eq!(count, 5, "ctx's four and ctx-2's one");
    assert_eq!(version.version, kb_version);
    assert!(version.version > before.1.version && version.rewritten > before.1.rewritten);
    assert_eq!(store.chunks_by_id("kb-1", &[2]).unwrap()[0].content, "new");
    assert_eq!(digest(&*store), Some((1, b"s".to_vec())));
    // The digest alone, through a records write: no chunk moves, nor the version.
    let nothing = RecordBatch::default();
    assert!(matches!(
        write(&swap(1, 2, "t"), &nothing),
        DigestWritten::Written {
            next_chunk_id: 7,
            ..
        }
    ));
    assert_eq!(holdings(&*store, &org).1, version);
    assert_eq!(digest(&*store), Some((2, b"t".to_vec())));
}

pub fn appends_with_a_digest_are_appends(open: &Opener) {
    let store = open();
    org_with_kb(&*store);
    let mut version = KbVersion::default();
    for round in 0..3i64 {
        let batch = RecordBatch {
            first_chunk_id: Some(1 + 2 * round),
            insert: vec![chunk("a"), chunk("b")],
            ..RecordBatch::default()
        };
        let written = store
            .write_records("kb-1", "ctx", "{}", &swap(round, round + 1, "s"), &batch)
            .unwrap();
        assert!(
            matches!(written, DigestWritten::Written { .. }),
            "{written:?}"
        );
        let now = store.kb_version("kb-1").unwrap().unwrap();
        assert_eq!(now.version, version.version + 1);
        assert_eq!(now.rewritten, 0, "an append is not a rewrite");
        version = now;
    }
    let state = store.owner_digest("kb-1", "ctx", None).unwrap().unwrap();
    assert_eq!((state.next_chunk_id, state.chunks), (7, 6));
    assert_eq!(state.digest.map(|d| d.0), Some(3));
}

pub fn metadata_patches_commit_with_their_digest_merged_key_by_key(open: &Opener) {
    let store = open();
    let org = org_with_kb(&*store);
    assert_eq!(insert(&*store, 2), [1, 2]);
    let patch = |id: i64, meta: serde_json::Value| {
        let serde_json::Value::Object(meta) = meta else {
            unreachable!("an object")
        };
        let patch = ChunkPatch {
            meta_data: Some(meta),
            ..ChunkPatch::default()
        };
        RecordBatch {
            update: vec![(id, patch)],
            ..RecordBatch::default()
        }
    };
    let moved = patch(2, serde_json::json!({"partition": "p1", "tag1": null}));
    let before = holdings(&*store, &org);
    // Over a stale version nothing changes; over the right one the metadata alone does.
    assert!(matches!(
        store.write_records("kb-1", "ctx", "{}", &swap(0, 1, "a"), &moved),
        Ok(DigestWritten::Written { .. })
    ));
    let stale = patch(1, serde_json::json!({"partition": "p1"}));
    assert_eq!(
        store
            .write_records("kb-1", "ctx", "{}", &swap(0, 1, "b"), &stale)
            .unwrap(),
        conflict(1, 3)
    );
    let read = store.chunks_by_id("kb-1", &[1, 2]).unwrap();
    let meta = |i: usize| serde_json::from_str::<serde_json::Value>(&read[i].meta_data).unwrap();
    assert_eq!(meta(0), serde_json::json!({"tag1": "0"}));
    assert_eq!(meta(1), serde_json::json!({"partition": "p1"}));
    assert_eq!(
        (&*read[1].name, &*read[1].content, &*read[1].pieces),
        ("n-1", "c-1", &b"1"[..]),
        "the fields not patched are kept"
    );
    assert_eq!(digest(&*store), Some((1, b"a".to_vec())));
    let after = holdings(&*store, &org);
    assert_eq!((&after.0, after.2), (&before.0, before.2));
    assert!(
        after.1.rewritten > before.1.rewritten,
        "a patch is a rewrite"
    );
}

pub fn links_are_kept_with_their_writes_and_read_after_a_version(open: &Opener) {
    let store = open();
    let org = org_with_kb(&*store);
    let written = |w: DigestWritten| assert!(matches!(w, DigestWritten::Written { .. }), "{w:?}");
    written(
        store
            .put_owner_digest("kb-1", "ctx", &linked(0, 1, 0, 1))
            .unwrap(),
    );
    // A write refused by the compare-and-set keeps no link.
    assert_eq!(
        store
            .put_owner_digest("kb-1", "ctx", &linked(0, 2, 0, 9))
            .unwrap(),
        conflict(1, 1)
    );
    let batch = RecordBatch {
        first_chunk_id: Some(1),
        insert: vec![chunk("x")],
        ..RecordBatch::default()
    };
    written(
        store
            .write_records("kb-1", "ctx", "{}", &linked(1, 2, 1, 2), &batch)
            .unwrap(),
    );
    // A write without a link (a writer that does not chain) keeps none; a rebuild skips on.
    written(
        store
            .put_owner_digest("kb-1", "ctx", &swap(2, 3, "s"))
            .unwrap(),
    );
    written(
        store
            .put_owner_digest("kb-1", "ctx", &linked(3, 5, 3, 5))
            .unwrap(),
    );
    let all = vec![
        (1, 0, vec![1; 32]),
        (2, 1, vec![2; 32]),
        (5, 3, vec![5; 32]),
    ];
    assert_eq!(links(&*store, 0, 10), all);
    assert_eq!(links(&*store, 1, 10), all[1..]);
    assert_eq!(links(&*store, 0, 2), all[..2]);
    assert_eq!(links(&*store, 5, 10), []);
    assert_eq!(
        store
            .owner_digest("kb-1", "ctx", None)
            .unwrap()
            .unwrap()
            .links,
        []
    );
    assert_eq!(
        store
            .owner_digest("kb-1", "other", Some((0, 10)))
            .unwrap()
            .unwrap()
            .links,
        []
    );
    assert!(store.delete_kb(&org, "kb-1").unwrap());
    assert_eq!(
        store.owner_digest("kb-1", "ctx", Some((0, 10))).unwrap(),
        None
    );
}
