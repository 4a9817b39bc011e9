//! Pages of sealed vectors against a real `serve`: written with the owner's digest in
//! `POST /v1/records` (checked for what the service can see of them), read back by partition
//! token or chunk id through `POST /v1/sealed_pages` by the keys that may read the knowledge
//! base, dropped
//! with all their chunks and never with some (409), replaced by later pages of the same
//! chunks; compute_hamming over them refused.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use paillier_gpu::context::DataKey;
use paillier_gpu::verifiable::{RecordKeys, SealedPage};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::api::{self, DigestWrite, RecordWrites, SentPage};
use paillier_gpu_client::{Client, Error};
use paillier_gpu_testing::data::{sdk_pieces, small_context};
use paillier_gpu_testing::net::call;
use paillier_gpu_testing::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

const EMBED: usize = 64;

/// A page of chunks `ids` (vectors of `EMBED` bits) of partition `partition`.
fn page(ids: &[i64], partition: u32) -> Vec<u8> {
    let keys = RecordKeys::for_knowledge_base(&DataKey::new([3; 32]), "fp", "kb");
    let vectors: Vec<[u8; EMBED / 8]> = ids.iter().map(|&id| [id as u8; EMBED / 8]).collect();
    let records: Vec<(i64, &[u8])> = ids
        .iter()
        .zip(&vectors)
        .map(|(&id, v)| (id, &v[..]))
        .collect();
    SealedPage::seal(&keys, "kb", Some(partition), &records)
        .unwrap()
        .to_bytes()
}

fn sent(bytes: &[u8], token: &str) -> SentPage {
    SentPage {
        page: BASE64.encode(bytes),
        token: Some(token.to_owned()),
    }
}

/// `count` chunks of sealed vectors (no index), as an insert sends them.
fn sealed_chunks(count: usize) -> Vec<api::Chunk> {
    (0..count)
        .map(|i| api::Chunk {
            chunk_content: format!("c{i}"),
            index: Vec::new(),
            meta_data: Some(json!({ "tag1": "t" })),
            name: None,
        })
        .collect()
}

struct Owner {
    server: TestServer,
    client: Client,
    kb: String,
    key: String,
    ctx: ExecutionContext,
}

impl Owner {
    fn new(name: &str) -> Owner {
        let server = TestServer::start();
        let (kb, key) = server.kb_and_key(name);
        let ctx = small_context(EMBED);
        let client = Client::new(&server.url, &server.org, &key)
            .unwrap()
            .with_state_in_memory();
        client.push_context(&ctx).unwrap();
        Owner {
            server,
            client,
            kb,
            key,
            ctx,
        }
    }

    /// A write over digest version `expected` inserting `insert` from `first`, with `pages`.
    fn write(
        &self,
        expected: i64,
        first: Option<i64>,
        insert: &[api::Chunk],
        pages: &[SentPage],
    ) -> RecordWrites {
        RecordWrites {
            kb_id: self.kb.clone(),
            context_id: self.ctx.id().to_owned(),
            owner_digest: DigestWrite {
                expected_version: expected,
                version: expected + 1,
                sealed: BASE64.encode(format!("v{}", expected + 1)),
                link: None,
            },
            first_chunk_id: first,
            insert: (!insert.is_empty()).then(|| api::raw_list(insert).unwrap()),
            update: None,
            delete: Vec::new(),
            patch: None,
            pages: (!pages.is_empty()).then(|| api::raw_list(pages).unwrap()),
        }
    }

    /// The pages `tokens` select as `key` reads them: status and bytes.
    fn read(&self, key: Option<&str>, tokens: Option<&[&str]>) -> (u16, Vec<u8>) {
        let body = json!({"kb_id": self.kb, "context_id": self.ctx.id(), "tokens": tokens});
        self.read_with(key, &body)
    }

    /// The pages a read with `body` answers `key`: status and bytes.
    fn read_with(&self, key: Option<&str>, body: &Value) -> (u16, Vec<u8>) {
        let url = format!("{}/v1/sealed_pages/{}", self.server.url, self.server.org);
        let mut request = reqwest::blocking::Client::new().post(url).json(body);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let answer = request.send().unwrap();
        let status = answer.status().as_u16();
        if status == 200 {
            let kind = answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(kind, api::SEALED_PAGES_TYPE);
        }
        (status, answer.bytes().unwrap().to_vec())
    }
}

#[test]
fn pages_are_stored_with_their_chunks_and_read_by_token_by_readers_only() {
    let owner = Owner::new("pages");
    let (first, second) = (page(&[1, 3], 0), page(&[2], 5));
    let write = owner.write(
        0,
        Some(1),
        &sealed_chunks(3),
        &[sent(&first, "tok-0"), sent(&second, "tok-5")],
    );
    let written = owner.client.write_records(&write).unwrap();
    assert_eq!(written.chunk_ids, [1, 2, 3]);
    let key = Some(owner.key.as_str());
    // In chunk order, whatever the order of the tokens asked.
    let both = [first.clone(), second.clone()].concat();
    assert_eq!(owner.read(key, None), (200, both.clone()));
    assert_eq!(owner.read(key, Some(&["tok-5", "tok-0"])), (200, both));
    assert_eq!(owner.read(key, Some(&["tok-5"])), (200, second.clone()));
    assert_eq!(owner.read(key, Some(&["tok-9"])), (200, Vec::new()));
    // Every page a few at a time: those after a first chunk id, until none.
    let after = |id: i64| json!({"kb_id": owner.kb, "context_id": owner.ctx.id(), "after": id});
    assert_eq!(
        owner.read_with(key, &after(i64::MIN)),
        (200, [first.clone(), second.clone()].concat())
    );
    assert_eq!(owner.read_with(key, &after(1)), (200, second.clone()));
    assert_eq!(owner.read_with(key, &after(2)), (200, Vec::new()));
    let both =
        json!({"kb_id": owner.kb, "context_id": owner.ctx.id(), "after": 0, "tokens": ["tok-0"]});
    assert_eq!(owner.read_with(key, &both).0, 400);
    // By chunk id: each page holding one of them, once and whole, in chunk order.
    let ids = |ids: Value| json!({"kb_id": owner.kb, "context_id": owner.ctx.id(), "ids": ids});
    assert_eq!(owner.read_with(key, &ids(json!([3]))), (200, first.clone()));
    assert_eq!(
        owner.read_with(key, &ids(json!([3, 2, 1, 3, 99]))),
        (200, [first.clone(), second.clone()].concat())
    );
    assert_eq!(owner.read_with(key, &ids(json!([99]))), (200, Vec::new()));
    let many: Vec<i64> = (0..=api::MAX_SEALED_IDS as i64).collect();
    assert_eq!(owner.read_with(key, &ids(json!(many))).0, 400);
    let two = json!({"kb_id": owner.kb, "context_id": owner.ctx.id(), "ids": [1], "tokens": []});
    assert_eq!(owner.read_with(key, &two).0, 400);
    // By range: each page holding a chunk of it.
    let range = |first: i64, last: i64| json!({"kb_id": owner.kb, "context_id": owner.ctx.id(), "range": [first, last]});
    assert_eq!(owner.read_with(key, &range(3, 3)), (200, first.clone()));
    assert_eq!(
        owner.read_with(key, &range(2, 9)),
        (200, [first.clone(), second.clone()].concat())
    );
    assert_eq!(owner.read_with(key, &range(4, 9)), (200, Vec::new()));
    assert_eq!(owner.read_with(key, &range(3, 2)).0, 400);
    let other_context = json!({"kb_id": owner.kb, "context_id": "other", "ids": [1]});
    assert_ne!(owner.read_with(key, &other_context).0, 200);

    // Who may read them, whichever the selection: the keys that may read the knowledge base.
    let reader = owner.server.key_with(&owner.kb, 1);
    assert_eq!(
        owner.read(Some(&reader), Some(&["tok-5"])),
        (200, second.clone())
    );
    assert_eq!(
        owner.read_with(Some(&reader), &ids(json!([2]))),
        (200, second.clone())
    );
    assert_eq!(owner.read_with(Some(&reader), &range(2, 2)), (200, second));
    let rival = owner.server.other_organisation();
    let other_kb = owner.server.kb_and_key("elsewhere").1;
    let tokens = json!({"kb_id": owner.kb, "context_id": owner.ctx.id(), "tokens": ["tok-5"]});
    for selection in [tokens, after(i64::MIN), ids(json!([1])), range(1, 3)] {
        assert_eq!(owner.read_with(Some(&rival), &selection).0, 404);
        assert_eq!(owner.read_with(None, &selection).0, 401);
        assert_eq!(owner.read_with(Some(&other_kb), &selection).0, 403);
    }

    // compute_hamming over them is refused, saying why.
    let url = format!(
        "{}/v1/compute_hamming/{}",
        owner.server.url, owner.server.org
    );
    let query = json!({
        "kb_id": owner.kb,
        "context_id": owner.ctx.id(),
        "query": sdk_pieces(&owner.ctx, &[0; EMBED]),
    });
    let (status, answer) = call(
        Method::POST,
        &url,
        &[("x-api-key", &owner.key)],
        Some(&query),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("sealed vectors"),
        "{answer}"
    );
}

#[test]
fn a_page_goes_only_with_all_its_chunks_and_gives_way_to_a_later_page_of_them() {
    let owner = Owner::new("replaced");
    let first = page(&[1, 2, 3], 0);
    let write = owner.write(0, Some(1), &sealed_chunks(3), &[sent(&first, "t")]);
    owner.client.write_records(&write).unwrap();
    let key = Some(owner.key.as_str());
    // Chunks 1 and 2 sealed again alone would take chunk 3's vector with their page: refused.
    let again = page(&[1, 2], 0);
    let write = owner.write(1, None, &[], &[sent(&again, "t")]);
    match owner.client.write_records(&write) {
        Err(Error::Remote {
            status: 409,
            message,
        }) => assert!(message.contains("chunks 3"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(owner.read(key, None), (200, first));
    // All three sealed again, in two pages: the page of all three goes.
    let third = page(&[3], 0);
    let write = owner.write(1, None, &[], &[sent(&again, "t"), sent(&third, "t")]);
    owner.client.write_records(&write).unwrap();
    assert_eq!(
        owner.read(key, None),
        (200, [again.clone(), third.clone()].concat())
    );
    // The SDK's delete of chunk 2 would take chunk 1's vector with its page: refused; of both,
    // their page goes.
    match owner.client.delete_chunks(&owner.kb, &[2]) {
        Err(Error::Remote { status: 409, .. }) => {}
        other => panic!("{other:?}"),
    }
    owner.client.delete_chunks(&owner.kb, &[1, 2]).unwrap();
    assert_eq!(owner.read(key, None), (200, third.clone()));
    // A page of a chunk not stored refuses the write: nothing written.
    let write = owner.write(2, None, &[], &[sent(&page(&[3, 9], 0), "t")]);
    match owner.client.write_records(&write) {
        Err(Error::Remote {
            status: 404,
            message,
        }) => assert!(message.contains('9'), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(owner.read(key, None), (200, third));
}

#[test]
fn malformed_pages_and_selections_are_refused() {
    let owner = Owner::new("malformed");
    let url = format!("{}/v1/records/{}", owner.server.url, owner.server.org);
    let key = [("x-api-key", owner.key.as_str())];
    let good = page(&[1, 2], 0);
    let paillier = api::Chunk {
        index: sdk_pieces(&owner.ctx, &[1; EMBED]),
        ..sealed_chunks(1).remove(0)
    };
    let body = |insert: Vec<api::Chunk>, pages: Value| {
        let mut body = json!(owner.write(0, Some(1), &insert, &[]));
        body["pages"] = pages;
        body
    };
    let cases = [
        // Not base64; not a page; bytes after the page; a long token.
        body(sealed_chunks(2), json!([{"page": "@@", "token": "t"}])),
        body(
            sealed_chunks(2),
            json!([{"page": BASE64.encode(&good[..30])}]),
        ),
        body(
            sealed_chunks(2),
            json!([{"page": BASE64.encode([&good[..], &[0]].concat())}]),
        ),
        body(
            sealed_chunks(2),
            json!([{"page": BASE64.encode(&good), "token": "t".repeat(300)}]),
        ),
        // A chunk in two pages; a chunk with no index and no page; one with both.
        body(
            sealed_chunks(2),
            json!([sent(&good, "t"), sent(&page(&[2], 1), "u")]),
        ),
        body(sealed_chunks(3), json!([sent(&good, "t")])),
        body(
            vec![sealed_chunks(1).remove(0), paillier],
            json!([sent(&good, "t")]),
        ),
        body(sealed_chunks(2), json!("not a list")),
    ];
    for case in &cases {
        let (status, answer) = call(Method::POST, &url, &key, Some(case));
        assert_eq!(status, 400, "{case}: {answer}");
    }
    // The selection: too many tokens, or too long a token.
    let read = format!("{}/v1/sealed_pages/{}", owner.server.url, owner.server.org);
    let many: Vec<String> = (0..=api::MAX_SEALED_TOKENS)
        .map(|i| i.to_string())
        .collect();
    for tokens in [json!(many), json!(["t".repeat(300)]), json!("t")] {
        let body = json!({"kb_id": owner.kb, "context_id": owner.ctx.id(), "tokens": tokens});
        let (status, answer) = call(Method::POST, &read, &key, Some(&body));
        assert_eq!(status, 400, "{answer}");
    }
    // Nothing was written: the knowledge base is empty, with no digest.
    let held = owner
        .client
        .owner_digest(&owner.kb, owner.ctx.id())
        .unwrap();
    assert_eq!((held.version, held.chunks), (0, 0));
}
