//! No false alarm from the owner's digest: two machines of one owner (two clients, two state
//! folders) share a knowledge base and take turns at inserts, updates, patches and deletes, with
//! a verified search with no count after each write, over the whole knowledge base or over whole
//! values of the counted field. 40 searches in `tools/test-all`, 1,000 in `tools/test-deep`
//! (`PAILLIER_GPU_HONEST_SEARCHES`).

use std::collections::BTreeMap;

use paillier_gpu_client::{Client, SearchOptions, StateDir};
use paillier_gpu_testing::data::{hamming, small_context, vectors};
use paillier_gpu_testing::TestServer;
use rand::{Rng, SeedableRng};
use serde_json::json;

use paillier_gpu_testing::data::{document, BOTH};

const EMBED: usize = 48;
/// Values of the counted field, `tag1`: t0 to t3 (as [`document`] writes them).
const VALUES: usize = 4;

/// What the owner wrote: each record's vector and content, by chunk id.
type Written = BTreeMap<i64, (Vec<u8>, String)>;

/// The top 5 of `written` for `query` among records whose `tag1` is `value` (all without one),
/// nearest first, ties by id, with their contents.
fn expected(written: &Written, query: &[u8], value: Option<usize>) -> Vec<(i64, u32, String)> {
    let mut all: Vec<(i64, u32, String)> = written
        .iter()
        .filter(|(_, (_, content))| value.is_none_or(|v| tag_of(content) == v))
        .map(|(&id, (vector, content))| (id, hamming(vector, query), content.clone()))
        .collect();
    all.sort_by_key(|&(id, distance, _)| (distance, id));
    all.truncate(5);
    all
}

/// The `tag1` value a content was written with: contents are "k/…", value k % VALUES.
fn tag_of(content: &str) -> usize {
    content.split('/').next().unwrap().parse::<usize>().unwrap() % VALUES
}

#[test]
fn two_owner_machines_writing_between_verified_searches_raise_no_false_alarm() {
    let searches: usize = std::env::var("PAILLIER_GPU_HONEST_SEARCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("two-owners");
    let ctx = small_context(EMBED);
    let dir = tempfile::tempdir().unwrap();
    let machine = |name: &str| {
        Client::new(&server.url, &server.org, &key)
            .unwrap()
            .with_state_dir(StateDir::new(dir.path().join(name)))
    };
    let owners = [machine("first"), machine("second")];
    owners[0].push_context(&ctx).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let mut written = Written::new();
    let mut serial = 0usize;
    // `count` new records: each one's document says its serial and tag1 value.
    let mut fresh = |count: usize, rng: &mut rand::rngs::StdRng| {
        (0..count)
            .map(|_| {
                serial += 1;
                let vector = vectors(1, rng.gen(), EMBED).remove(0);
                let k = rng.gen_range(0..VALUES);
                (vector, document(k, &format!("{k}/{serial}")))
            })
            .collect::<Vec<_>>()
    };
    let first = fresh(30, &mut rng);
    let vs: Vec<Vec<u8>> = first.iter().map(|(v, _)| v.clone()).collect();
    let docs: Vec<_> = first.iter().map(|(_, d)| d.clone()).collect();
    let uploaded = owners[0]
        .upload_records(&kb, &ctx, &vs, &docs, BOTH)
        .unwrap();
    for (u, (v, d)) in uploaded.iter().zip(first) {
        written.insert(u.chunk_id, (v, d.content));
    }
    // Counted per value of tag1 from here on, so that a search of whole values is checked too.
    owners[1]
        .rebuild_digest(&kb, &ctx, BOTH, Some("tag1"), false)
        .unwrap();

    for i in 0..searches {
        let owner = &owners[i % 2];
        let other = &owners[(i + 1) % 2];
        let any_id = |rng: &mut rand::rngs::StdRng| {
            let ids: Vec<i64> = written.keys().copied().collect();
            ids[rng.gen_range(0..ids.len())]
        };
        match i % 4 {
            0 => {
                let new = fresh(2, &mut rng);
                let vs: Vec<Vec<u8>> = new.iter().map(|(v, _)| v.clone()).collect();
                let docs: Vec<_> = new.iter().map(|(_, d)| d.clone()).collect();
                let uploaded = other.upload_records(&kb, &ctx, &vs, &docs, BOTH).unwrap();
                for (u, (v, d)) in uploaded.iter().zip(new) {
                    written.insert(u.chunk_id, (v, d.content));
                }
            }
            1 => {
                let id = any_id(&mut rng);
                let (v, d) = fresh(1, &mut rng).remove(0);
                other
                    .update_records(
                        &kb,
                        &ctx,
                        &[id],
                        std::slice::from_ref(&v),
                        std::slice::from_ref(&d),
                        BOTH,
                    )
                    .unwrap();
                written.insert(id, (v, d.content));
            }
            2 => {
                let value = format!("t{}", rng.gen_range(0..VALUES));
                let patch = json!({"tag2": format!("p{i}")});
                other
                    .patch_by_meta(
                        &kb,
                        &ctx,
                        &json!({"tag1": value}),
                        patch.as_object().unwrap(),
                        BOTH,
                    )
                    .unwrap();
            }
            _ if written.len() > 10 => {
                let id = any_id(&mut rng);
                other.delete_records(&kb, &ctx, &[id], BOTH).unwrap();
                written.remove(&id);
            }
            _ => {}
        }
        let query = vectors(1, rng.gen(), EMBED).remove(0);
        let value = (i % 3 == 2).then(|| rng.gen_range(0..VALUES));
        let options = SearchOptions {
            filter: value.map(|v| json!({"tag1": format!("t{v}")})),
            top_k: 5,
            records: BOTH,
            with_content: i % 4 == 0,
            ..SearchOptions::default()
        };
        let hits = owner
            .search_records(&kb, &ctx, &query, &options)
            .unwrap_or_else(|e| panic!("search {i}: {e}"));
        let want = expected(&written, &query, value);
        let got: Vec<(i64, u32)> = hits.iter().map(|h| (h.chunk_id, h.distance)).collect();
        let want_pairs: Vec<(i64, u32)> = want.iter().map(|&(id, d, _)| (id, d)).collect();
        assert_eq!(got, want_pairs, "search {i}");
        for (hit, (_, _, content)) in hits.iter().zip(&want) {
            assert!(hit.nonce.is_some(), "search {i}");
            if let Some(document) = &hit.document {
                assert_eq!(&document.content, content, "search {i}");
            }
        }
    }
}
