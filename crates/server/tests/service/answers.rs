//! compute_hamming's answer, streamed in blocks, on a real `paillier-gpu serve`: more records
//! than one block, the same ciphertexts in msgpack (through the library's client) and in JSON
//! (asked for with `Accept`), and distances equal to the plaintext ones.

use base64::Engine;
use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};
use paillier_gpu_client::Client;
use paillier_gpu_testing::data::{hamming, vectors};
use paillier_gpu_testing::TestServer;
use serde_json::{json, Value};

#[test]
fn an_answer_of_many_blocks_is_the_same_in_msgpack_and_json() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("many");
    let options = ContextOptions {
        scheme: Scheme::Paillier,
        key_len: 256,
        // Several ciphertexts a record, so that the JSON's commas between pieces are checked.
        embed_len: 512,
        allow_insecure: true,
        ..ContextOptions::default()
    };
    let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    // More records than one block of the streamed answer (4,096).
    let stored = vectors(9000, 5, 512);
    client
        .upload(&kb, &ctx, &ctx.encrypt_batch(&stored).unwrap(), &[])
        .unwrap();
    let query = ctx.encrypt_batch(&[&stored[17]]).unwrap();
    let answer = client
        .compute_hamming(&kb, ctx.id(), &ctx.public_context(), &query, None, None)
        .unwrap();
    assert_eq!(answer.chunk_ids, (1..=9000).collect::<Vec<i64>>());
    let distances = ctx.decode_batch(&answer.responses).unwrap();
    let plain: Vec<u32> = stored.iter().map(|v| hamming(v, &stored[17])).collect();
    assert_eq!(distances, plain);

    // The query as the SDK sends it: one base64 string a ciphertext.
    let query_pieces: Vec<String> = (0..query.pieces_per_record())
        .map(|item| {
            let mut bytes = Vec::new();
            query
                .write_item_le_bytes(item, ctx.ciphertext_shape().piece_bytes, &mut bytes)
                .unwrap();
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        })
        .collect();
    let body = json!({
        "kb_id": kb,
        "context_id": ctx.id(),
        "query": query_pieces,
    });
    let text = reqwest::blocking::Client::new()
        .post(format!("{}/v1/compute_hamming/{}", server.url, server.org))
        .header("x-api-key", &key)
        .header("accept", "application/json")
        .json(&body)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let entries: Vec<(Vec<Value>, i64)> = serde_json::from_str(&text).unwrap();
    assert_eq!(entries.len(), 9000);
    let pieces = answer.responses.pieces_per_record();
    assert!(pieces >= 2, "{pieces} ciphertexts a record");
    for (record, (integers, chunk_id)) in entries.iter().enumerate() {
        assert_eq!(*chunk_id, record as i64 + 1);
        assert_eq!(integers.len(), pieces);
        for (piece, integer) in integers.iter().enumerate() {
            let item = answer.responses.ciphertext(record * pieces + piece);
            assert_eq!(integer.to_string(), item.as_biguint().to_string());
        }
    }
}
