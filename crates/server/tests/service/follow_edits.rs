//! A delete and a metadata patch, against a real `paillier-gpu serve`: the resident index
//! follows them in place (its record count changes at once, and it is not dropped for a
//! rebuild), and searches after them answer exactly the records left, with their new metadata.

use paillier_gpu_client::{Client, Document, RecordOptions};
use paillier_gpu_testing::data::{hamming, small_context, vectors};
use paillier_gpu_testing::net::free_port;
use paillier_gpu_testing::TestServer;
use serde_json::{json, Map, Value};

/// `(paillier_gpu_resident_indexes, paillier_gpu_resident_records)` from `/metrics`.
fn resident(metrics: &str) -> (u64, u64) {
    let text = reqwest::blocking::get(format!("http://{metrics}/metrics"))
        .and_then(|answer| answer.text())
        .unwrap();
    let sample = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    (
        sample("paillier_gpu_resident_indexes"),
        sample("paillier_gpu_resident_records"),
    )
}

#[test]
fn deletes_and_metadata_patches_are_followed_in_place_and_searches_stay_exact() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start_with(|o| o.metrics_listen = metrics.parse().ok());
    let (kb, key) = server.kb_and_key("follow");
    let ctx = small_context(64);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let stored = vectors(40, 17, 64);
    let documents: Vec<Document> = (0..stored.len())
        .map(|i| {
            let parity = if i % 2 == 0 { "even" } else { "odd" };
            let meta = json!({ "tag1": parity, "facets": [format!("f{}", i % 3)] });
            Document {
                content: String::new(),
                meta_data: meta.as_object().cloned().unwrap_or_default(),
                name: None,
            }
        })
        .collect();
    let ids = client
        .upload(&kb, &ctx, &ctx.encrypt_batch(&stored).unwrap(), &documents)
        .unwrap();
    let query = &stored[0];
    // Every record passing `filter`, by id, as the service answers.
    let search = |filter: Option<Value>| {
        let mut hits = client
            .search(&kb, &ctx, query, filter.as_ref(), None, 100)
            .unwrap();
        hits.sort();
        hits
    };
    // What the records left (`left`, positions into `stored`) should answer.
    let expected = |left: &[usize]| {
        let mut hits: Vec<(i64, u32)> = left
            .iter()
            .map(|&i| (ids[i], hamming(&stored[i], query)))
            .collect();
        hits.sort();
        hits
    };
    let mut left: Vec<usize> = (0..stored.len()).collect();
    assert_eq!(search(None), expected(&left));
    assert_eq!(resident(&metrics), (1, 40));

    let gone = [3, 10, 11, 39];
    let deleted = client.delete_chunks(&kb, &gone.map(|i| ids[i])).unwrap();
    assert_eq!(deleted, 4);
    left.retain(|i| !gone.contains(i));
    // Followed, not dropped: a dropped index would count as none until the next search.
    assert_eq!(resident(&metrics), (1, 36));
    assert_eq!(search(None), expected(&left));

    let mut patch = Map::new();
    patch.insert("tag1".into(), json!("moved"));
    let patched = client
        .patch_by_meta(
            &kb,
            &ctx,
            &json!({"tag1": "even"}),
            &patch,
            RecordOptions::default(),
        )
        .unwrap();
    let evens: Vec<usize> = left.iter().copied().filter(|i| i % 2 == 0).collect();
    assert_eq!(patched.len(), evens.len());
    assert_eq!(resident(&metrics), (1, 36));
    assert_eq!(search(Some(json!({"tag1": "moved"}))), expected(&evens));
    assert_eq!(search(Some(json!({"tag1": "even"}))), Vec::new());
    let odds: Vec<usize> = left.iter().copied().filter(|i| i % 2 == 1).collect();
    assert_eq!(search(Some(json!({"tag1": "odd"}))), expected(&odds));
    // Fields the patch left alone keep their lists.
    let f1: Vec<usize> = left.iter().copied().filter(|i| i % 3 == 1).collect();
    assert_eq!(
        search(Some(json!({"facets": {"$contains": "f1"}}))),
        expected(&f1)
    );

    // Deleting what is no longer there commits nothing and changes nothing.
    assert_eq!(client.delete_chunks(&kb, &[ids[3]]).unwrap(), 0);
    assert_eq!(resident(&metrics), (1, 36));
    assert_eq!(search(None), expected(&left));
}
