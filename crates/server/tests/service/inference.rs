//! The FHE service's inference call on `paillier-gpu serve`: its own example (3.5) with plain
//! `input_data` encrypted by the server and with input the caller encrypted, and the mistakes a
//! caller makes, each a 4xx with a message while the server keeps serving.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use paillier_gpu::formats::numbers::{decode_encrypted_numbers, encode_encrypted_numbers};
use paillier_gpu::numbers::{EncryptedArray, Numbers};
use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};
use paillier_gpu_client::Client;
use paillier_gpu_testing::TestServer;
use serde_json::{json, Value};

const MODEL: &str = r#"{"weights": [[0.1, 0.2, 0.3, 0.4]], "biases": [0.5]}"#;

fn context(scheme: Scheme) -> ExecutionContext {
    let options = ContextOptions {
        scheme,
        key_len: 512,
        embed_len: 64,
        alpha_len: 64,
        allow_insecure: true,
        ..ContextOptions::default()
    };
    ExecutionContext::create_with_passphrase(&options, "pw").unwrap()
}

fn decrypted(ctx: &ExecutionContext, answer: &Value) -> Vec<f64> {
    let bytes = BASE64
        .decode(answer["encrypted_result"].as_str().unwrap())
        .unwrap();
    let array = decode_encrypted_numbers(
        bytes.as_slice(),
        Some(bytes.len() as u64),
        ctx.public().public_key(),
    )
    .unwrap();
    array
        .decrypt_f64(ctx.secret_key(), ctx.public().backend().unwrap().as_ref())
        .unwrap()
}

fn model() -> Value {
    serde_json::from_str(MODEL).unwrap()
}

#[test]
fn the_services_example_runs_on_plain_and_on_encrypted_input() {
    let server = TestServer::start();
    let (_, key) = server.kb_and_key("models");
    let ctx = context(Scheme::Paillier);
    Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory()
        .push_context(&ctx)
        .unwrap();

    // Plain input, encrypted by the server under the stored context's public key.
    let (status, answer) = server.post(
        "/v1/ml-zk/fhe/inference",
        &key,
        &json!({
            "scheme": "paillier",
            "context_id": ctx.id(),
            "model": model(),
            "input_data": [[1.0, 2.0, 3.0, 4.0]],
        }),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_shape"], json!([1, 1]));
    assert!(answer["computation_time_ms"].as_f64().unwrap() >= 0.0);
    let y = decrypted(&ctx, &answer);
    assert!((y[0] - 3.5).abs() < 1e-9, "{y:?}");

    // Input the caller encrypted (an encrypted-numbers file, base64), two samples, through the
    // path that names the organisation.
    let x = EncryptedArray::encrypt(
        ctx.public().public_key(),
        ctx.public().backend().unwrap().as_ref(),
        Numbers::Floats(&[1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 2.5, 10.0]),
        vec![2, 4],
        None,
    )
    .unwrap();
    let (status, answer) = server.post(
        &format!("/v1/ml-zk/fhe/inference/{}", server.org),
        &key,
        &json!({
            "scheme": "Paillier",
            "context_id": ctx.id(),
            "model": model(),
            "input_data": BASE64.encode(encode_encrypted_numbers(&x).unwrap()),
        }),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result_shape"], json!([2, 1]));
    let y = decrypted(&ctx, &answer);
    let expected = [3.5, -0.1 + 0.75 + 4.0 + 0.5];
    for (got, want) in y.iter().zip(expected) {
        assert!((got - want).abs() < 1e-9, "{y:?}");
    }
}

#[test]
fn a_callers_mistakes_are_4xx_with_a_message() {
    let server = TestServer::start();
    let (_, key) = server.kb_and_key("models");
    let ctx = context(Scheme::Paillier);
    let lookup = context(Scheme::PaillierLookup);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    client.push_context(&lookup).unwrap();
    let other = context(Scheme::Paillier);
    let foreign = EncryptedArray::encrypt(
        other.public().public_key(),
        other.public().backend().unwrap().as_ref(),
        Numbers::Floats(&[1.0, 2.0, 3.0, 4.0]),
        vec![1, 4],
        None,
    )
    .unwrap();
    let body = |context_id: &str, model: Value, input: Value, scheme: &str| json!({ "scheme": scheme, "context_id": context_id, "model": model, "input_data": input });
    let sample = json!([[1.0, 2.0, 3.0, 4.0]]);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            body(ctx.id(), model(), sample.clone(), "ckks"),
            400,
            "paillier",
        ),
        (
            body("no-such-context", model(), sample.clone(), "paillier"),
            404,
            "no execution context",
        ),
        (
            body(lookup.id(), model(), sample.clone(), "paillier"),
            400,
            "classic paillier",
        ),
        (
            body(ctx.id(), model(), json!("%%%not base64"), "paillier"),
            400,
            "base64",
        ),
        (
            body(
                ctx.id(),
                model(),
                json!(BASE64.encode(b"PGPUNUMS garbage")),
                "paillier",
            ),
            400,
            "input_data",
        ),
        (
            body(
                ctx.id(),
                model(),
                json!(BASE64.encode(encode_encrypted_numbers(&foreign).unwrap())),
                "paillier",
            ),
            400,
            "key",
        ),
        (
            body(ctx.id(), model(), json!([[1.0, 2.0, 3.0]]), "paillier"),
            400,
            "model",
        ),
        (
            body(
                ctx.id(),
                json!({"weights": [[0.1, 0.2, 0.3, 0.4]], "biases": [0.5, 0.1]}),
                sample.clone(),
                "paillier",
            ),
            400,
            "biases",
        ),
        (
            body(ctx.id(), model(), json!([["a"]]), "paillier"),
            400,
            "input_data",
        ),
        (json!({ "scheme": "paillier" }), 400, "context_id"),
    ];
    for (request, status, says) in cases {
        let (got, answer) = server.post("/v1/ml-zk/fhe/inference", &key, &request);
        let message = answer["message"].as_str().unwrap_or_default().to_owned();
        assert_eq!(got, status, "{request} → {answer}");
        assert!(message.contains(says), "{request} → {message}");
    }
    let valid = body(ctx.id(), model(), sample.clone(), "paillier");
    let (status, answer) = server.post("/v1/ml-zk/fhe/inference", "xtr_wrong", &valid);
    assert_eq!(status, 401, "{answer}");
    // Still serving.
    let (status, _) = server.post(
        "/v1/ml-zk/fhe/inference",
        &key,
        &body(ctx.id(), model(), sample, "paillier"),
    );
    assert_eq!(status, 200);
}
