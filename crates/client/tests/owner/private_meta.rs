//! Private metadata against a real `serve`: every filter the service can answer on tokens gives
//! the same records and distances as the same data in plain text, the store holds none of the
//! values, and records are updated, patched and deleted by metadata with their sealed copies.

use paillier_gpu::verifiable::Document;
use paillier_gpu_client::{Client, RecordOptions, SearchOptions};
use paillier_gpu_server::StoreLocation;
use paillier_gpu_testing::data::{hamming, small_context, vectors};
use paillier_gpu_testing::TestServer;
use serde_json::{json, Map, Value};

const EMBED: usize = 48;
const RECORDS: usize = 48;
const PRIVATE: RecordOptions = RecordOptions {
    verifiable: true,
    private_meta: true,
};

fn document(i: usize) -> Document {
    let kind = ["report", "memo", "letter"][i % 3];
    let mut meta = json!({
        "tag1": format!("2024-0{}-01", 1 + i % 5),
        "tag2": kind,
        "facets": [format!("team{}", i % 4), "shared"],
    });
    if i.is_multiple_of(5) {
        meta["tag3"] = json!("urgent");
    }
    if i.is_multiple_of(7) {
        meta["tag4"] = json!("");
        meta["facets"] = json!([]);
    }
    Document {
        content: format!("secret text {i}"),
        meta_data: meta.as_object().cloned().unwrap_or_default(),
        name: Some(format!("file-{i}.pdf")),
    }
}

/// Each hit as (record position, distance).
fn positions(ids: &[i64], hits: &[(i64, u32)]) -> Vec<(usize, u32)> {
    hits.iter()
        .map(|&(id, d)| (ids.iter().position(|&x| x == id).unwrap(), d))
        .collect()
}

#[test]
fn private_metadata_answers_every_filter_as_plain_text_and_the_store_holds_no_value() {
    let server = TestServer::start();
    let (plain_kb, key) = server.kb_and_key("plain");
    let private_kb = server.kb_for("private", &key);
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let stored = vectors(RECORDS, 5, EMBED);
    let documents: Vec<Document> = (0..RECORDS).map(document).collect();
    let plain_ids = client
        .upload_records(
            &plain_kb,
            &ctx,
            &stored,
            &documents,
            RecordOptions::default(),
        )
        .unwrap()
        .into_iter()
        .map(|u| u.chunk_id)
        .collect::<Vec<i64>>();
    let private_ids = client
        .upload_records(&private_kb, &ctx, &stored, &documents, PRIVATE)
        .unwrap()
        .into_iter()
        .map(|u| u.chunk_id)
        .collect::<Vec<i64>>();

    let query = vectors(1, 6, EMBED).remove(0);
    let filters = [
        json!({"tag2": "memo"}),
        json!({"tag2": {"$eq": "report"}}),
        json!({"tag2": {"$ne": "report"}}),
        json!({"tag1": {"$in": ["2024-01-01", "2024-03-01"]}}),
        json!({"tag1": {"$nin": ["2024-01-01"]}}),
        json!({"tag3": {"$exists": true}}),
        json!({"tag4": {"$exists": false}}),
        json!({"facets": "team1"}),
        json!({"facets": {"$contains": "team2"}}),
        json!({"facets": {"$any": ["team0", "team3"]}}),
        json!({"facets": {"$all": ["team0", "shared"]}}),
        json!({"facets": {"$subset": ["team1"]}}),
        json!({"facets": {"$none": ["team1"]}}),
        json!({"facets": {"$size": 2}}),
        json!({"facets": {"$exists": false}}),
        json!({"$or": [{"tag2": "letter"}, {"tag3": "urgent"}]}),
    ];
    for filter in &filters {
        let search = |kb: &str, records: RecordOptions| {
            let options = SearchOptions {
                filter: Some(filter.clone()),
                top_k: RECORDS,
                records,
                ..SearchOptions::default()
            };
            let hits = client.search_records(kb, &ctx, &query, &options).unwrap();
            hits.iter()
                .map(|h| (h.chunk_id, h.distance))
                .collect::<Vec<_>>()
        };
        let plain = positions(&plain_ids, &search(&plain_kb, RecordOptions::default()));
        let private = positions(&private_ids, &search(&private_kb, PRIVATE));
        assert!(!plain.is_empty(), "{filter} selects nothing");
        assert_eq!(private, plain, "{filter}");
        for &(position, distance) in &private {
            assert_eq!(distance, hamming(&stored[position], &query));
        }
        // Metadata search too, with the documents as written.
        let found = client
            .find_records(&private_kb, &ctx, filter, PRIVATE)
            .unwrap();
        let mut found_positions: Vec<usize> = found
            .iter()
            .map(|f| private_ids.iter().position(|&x| x == f.chunk_id).unwrap())
            .collect();
        found_positions.sort_unstable();
        let mut expected: Vec<usize> = plain.iter().map(|&(p, _)| p).collect();
        expected.sort_unstable();
        assert_eq!(found_positions, expected, "{filter}");
        for f in &found {
            let position = private_ids.iter().position(|&x| x == f.chunk_id).unwrap();
            assert_eq!(f.document, documents[position]);
        }
    }
    // What tokens cannot answer is refused before anything is sent.
    let refused = SearchOptions {
        filter: Some(json!({"tag1": {"$gte": "2024-02-01"}})),
        top_k: 3,
        records: PRIVATE,
        ..SearchOptions::default()
    };
    let error = client
        .search_records(&private_kb, &ctx, &query, &refused)
        .unwrap_err();
    assert!(error.to_string().contains("order"), "{error}");

    // The store holds tokens and sealed copies only.
    let stored_rows = stored_rows(&server, &private_kb);
    assert_eq!(stored_rows.len(), RECORDS);
    let all = stored_rows.join("\n");
    for value in [
        "2024-0", "report", "memo", "letter", "urgent", "team", "shared", "file-", "secret",
    ] {
        assert!(!all.contains(value), "the store holds {value:?}");
    }
}

/// Each stored chunk of `kb_id` as its name, metadata and content, read from the server's store
/// (its SQLite file, or its PostgreSQL database) as anyone with the store's files could.
fn stored_rows(server: &TestServer, kb_id: &str) -> Vec<String> {
    const QUERY: &str = "SELECT name, meta_data, content FROM chunks WHERE kb_id = $1";
    if let StoreLocation::Postgres(url) = &server.store {
        let mut store = postgres::Client::connect(url, postgres::NoTls).unwrap();
        return store
            .query(QUERY, &[&kb_id])
            .unwrap()
            .iter()
            .map(|row| {
                let (name, meta, content): (String, String, String) =
                    (row.get(0), row.get(1), row.get(2));
                format!("{name} {meta} {content}")
            })
            .collect();
    }
    let db = rusqlite::Connection::open(server.data.path().join("paillier-gpu.sqlite3")).unwrap();
    let mut rows = db.prepare(&QUERY.replace("$1", "?1")).unwrap();
    rows.query_map([kb_id], |row| {
        Ok(format!(
            "{} {} {}",
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn updates_patches_and_deletes_by_metadata_keep_the_sealed_copies_in_step() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("edits");
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let stored = vectors(12, 8, EMBED);
    let documents: Vec<Document> = (0..12).map(document).collect();
    let ids = client
        .upload_records(&kb, &ctx, &stored, &documents, PRIVATE)
        .unwrap()
        .into_iter()
        .map(|u| u.chunk_id)
        .collect::<Vec<i64>>();

    // An update: a new vector and document under a new nonce; the old answer no longer opens.
    let replacement = vectors(1, 9, EMBED);
    let new_document = Document {
        content: "rewritten".into(),
        meta_data: json!({"tag2": "memo"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        name: Some("new.pdf".into()),
    };
    client
        .update_records(
            &kb,
            &ctx,
            &[ids[3]],
            &replacement,
            std::slice::from_ref(&new_document),
            PRIVATE,
        )
        .unwrap();
    let options = SearchOptions {
        top_k: 1,
        records: PRIVATE,
        expect_count: Some(12),
        with_content: true,
        ..SearchOptions::default()
    };
    let hits = client
        .search_records(&kb, &ctx, &replacement[0], &options)
        .unwrap();
    assert_eq!((hits[0].chunk_id, hits[0].distance), (ids[3], 0));
    assert_eq!(hits[0].document.as_ref(), Some(&new_document));

    // A patch by metadata: filters on the new value match, and the sealed copy shows it.
    let mut patch = Map::new();
    patch.insert("tag5".into(), Value::String("reviewed".into()));
    let patched = client
        .patch_by_meta(&kb, &ctx, &json!({"tag2": "memo"}), &patch, PRIVATE)
        .unwrap();
    assert!(
        patched.contains(&ids[3]) && patched.len() > 1,
        "{patched:?}"
    );
    let found = client
        .find_records(&kb, &ctx, &json!({"tag5": "reviewed"}), PRIVATE)
        .unwrap();
    let mut found_ids: Vec<i64> = found.iter().map(|f| f.chunk_id).collect();
    found_ids.sort_unstable();
    let mut expected = patched.clone();
    expected.sort_unstable();
    assert_eq!(found_ids, expected);
    assert!(found
        .iter()
        .all(|f| f.document.meta_data["tag5"] == "reviewed"));
    client
        .search_records(&kb, &ctx, &stored[0], &options)
        .unwrap();

    // A delete by metadata, with its count.
    let would = client
        .delete_by_meta(&kb, &ctx, &json!({"tag5": "reviewed"}), PRIVATE, true)
        .unwrap();
    assert_eq!(would, patched.len() as u64);
    client
        .delete_by_meta(&kb, &ctx, &json!({"tag5": "reviewed"}), PRIVATE, false)
        .unwrap();
    let left = SearchOptions {
        expect_count: Some(12 - patched.len()),
        ..options
    };
    client.search_records(&kb, &ctx, &stored[0], &left).unwrap();
}
