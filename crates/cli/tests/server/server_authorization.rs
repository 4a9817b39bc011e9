//! Which key may do what, tried against a real `paillier-gpu serve` as an attacker holding the
//! weakest key would: a read-only key, a key with no permission, another organisation's key,
//! no key, and the admin. A stored context is an identity that nobody can replace; reading it
//! needs read permission on a knowledge base it is bound to (or being its creator, or admin).

use crate::common;

use common::server::{small_context, vectors, Server};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::Client;
use reqwest::Method;
use serde_json::{json, Value};

const EMBED: usize = 64;

fn context() -> ExecutionContext {
    small_context(EMBED)
}

/// One request; the status and the JSON answer (null when none).
pub(crate) fn call(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = reqwest::blocking::Client::new().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let answer = request.send().unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A new API key with `permission` on `kb` (none when 0).
pub(crate) fn key_with(server: &Server, kb: &str, permission: u8) -> String {
    let (status, key) = server.admin(
        Method::POST,
        "keys",
        Some(json!({ "name": format!("p{permission}") })),
    );
    assert_eq!(status, 200, "{key}");
    if permission > 0 {
        let hash = key["apiKey"]["hash"].as_str().unwrap();
        let (status, answer) = server.admin(
            Method::PUT,
            &format!("keys/{hash}/permissions/{kb}"),
            Some(json!({ "permission": permission })),
        );
        assert_eq!(status, 200, "{answer}");
    }
    key["secretKey"].as_str().unwrap().to_owned()
}

/// A second organisation in the same store, with a knowledge base and a key holding every
/// permission on it: its key.
pub(crate) fn other_organisation(server: &Server) -> String {
    let mut init = std::process::Command::new(env!("CARGO_BIN_EXE_paillier-gpu"));
    init.args(["server", "init", "--org", "rival"]);
    server.store_args(&mut init);
    let init = init.output().unwrap();
    assert!(init.status.success());
    let org: Value = serde_json::from_slice(&init.stdout).unwrap();
    let admin = [
        ("x-xtrace-key", org["admin_key"].as_str().unwrap()),
        ("x-xtrace-org-id", org["org_id"].as_str().unwrap()),
    ];
    let api = format!("{}/api/v1", server.url);
    let (_, kb) = call(
        Method::POST,
        &format!("{api}/kbs"),
        &admin,
        Some(&json!({"name": "r"})),
    );
    let (_, key) = call(
        Method::POST,
        &format!("{api}/keys"),
        &admin,
        Some(&json!({"name": "r"})),
    );
    let hash = key["apiKey"]["hash"].as_str().unwrap();
    let kb_id = kb["id"].as_str().unwrap();
    let (status, _) = call(
        Method::PUT,
        &format!("{api}/keys/{hash}/permissions/{kb_id}"),
        &admin,
        Some(&json!({ "permission": 7 })),
    );
    assert_eq!(status, 200);
    key["secretKey"].as_str().unwrap().to_owned()
}

#[test]
fn only_the_contexts_owners_may_change_delete_bind_or_read_it() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (kb, owner) = server.kb_and_key("docs");
    let (elsewhere, _) = server.kb_and_key("elsewhere");
    let reader = key_with(&server, &kb, 1);
    let nobody = key_with(&server, &kb, 0);
    let writer_elsewhere = key_with(&server, &elsewhere, 3);
    let rival = other_organisation(&server);

    let ctx = context();
    let text = ctx.to_json().unwrap();
    let client = Client::new(&server.url, &server.org, &owner)
        .unwrap()
        .with_state_in_memory();
    client.push_context_json(ctx.id(), &text).unwrap();
    let stored = vectors(4, 1, EMBED);
    client
        .upload(&kb, &ctx, &ctx.encrypt_batch(&stored).unwrap(), &[])
        .unwrap();

    let attacker = context();
    let substitute = json!({
        "context_id": ctx.id(),
        "data": serde_json::from_str::<Value>(&attacker.to_json().unwrap()).unwrap(),
    });
    let contexts = format!("{}/v1/exec_context/{}", server.url, server.org);
    let one = format!("{contexts}/{}", ctx.id());
    let bind = format!("{contexts}/{elsewhere}/bind/{}", ctx.id());
    let bind_here = format!("{contexts}/{kb}/bind/{}", ctx.id());
    let admin = [
        ("x-xtrace-key", server.admin_key.as_str()),
        ("x-xtrace-org-id", server.org.as_str()),
    ];
    let as_key = |key: &str| vec![("x-api-key", key.to_owned())];
    let with = |key: &str, method: Method, url: &str, body: Option<&Value>| {
        let pairs = as_key(key);
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
        call(method, url, &borrowed, body)
    };

    // Nobody replaces it: not a read-only key, not a writer, not the admin (409 for those
    // allowed to store contexts at all; a key without write permission stores nothing).
    assert_eq!(
        with(&reader, Method::POST, &contexts, Some(&substitute)).0,
        403
    );
    assert_eq!(
        with(&nobody, Method::POST, &contexts, Some(&substitute)).0,
        403
    );
    assert_eq!(
        with(
            &writer_elsewhere,
            Method::POST,
            &contexts,
            Some(&substitute)
        )
        .0,
        409
    );
    assert_eq!(
        with(&owner, Method::POST, &contexts, Some(&substitute)).0,
        409
    );
    assert_eq!(
        call(Method::POST, &contexts, &admin, Some(&substitute)).0,
        409
    );
    assert_eq!(call(Method::POST, &contexts, &[], Some(&substitute)).0, 401);
    let stored_text = || {
        reqwest::blocking::Client::new()
            .get(&one)
            .header("x-api-key", &owner)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    assert_eq!(stored_text(), text);

    // Reading: the owner, the admin, and a reader of the knowledge base it is bound to (by the
    // upload) may; a key with no permission, another organisation and no key may not.
    for key in [&owner, &reader] {
        let (status, data) = with(key, Method::GET, &one, None);
        assert_eq!(
            (status, data.to_string()),
            (
                200,
                serde_json::from_str::<Value>(&text).unwrap().to_string()
            )
        );
        assert_eq!(
            with(key, Method::GET, &contexts, None).1["contexts"],
            json!([ctx.id()])
        );
    }
    assert_eq!(call(Method::GET, &one, &admin, None).0, 200);
    assert_eq!(with(&nobody, Method::GET, &one, None).0, 404);
    assert_eq!(with(&writer_elsewhere, Method::GET, &one, None).0, 404);
    assert_eq!(
        with(&nobody, Method::GET, &contexts, None).1["contexts"],
        json!([])
    );
    assert_eq!(with(&rival, Method::GET, &one, None).0, 404);
    assert_eq!(call(Method::GET, &one, &[], None).0, 401);
    let kbs_of = format!("{one}/kb");
    assert_eq!(with(&nobody, Method::GET, &kbs_of, None).0, 404);
    assert_eq!(
        with(&reader, Method::GET, &kbs_of, None).1["kb_ids"],
        json!([kb])
    );

    // Binding needs write permission on the knowledge base and read access to the context.
    assert_eq!(with(&reader, Method::POST, &bind, None).0, 403);
    assert_eq!(with(&reader, Method::POST, &bind_here, None).0, 403);
    assert_eq!(with(&writer_elsewhere, Method::POST, &bind, None).0, 404);
    assert_eq!(with(&rival, Method::POST, &bind, None).0, 404);
    assert_eq!(call(Method::POST, &bind, &[], None).0, 401);

    // Deleting: a reader may not, nor anyone who may not read it; and while chunks are stored
    // under it, not even its owner (409).
    assert_eq!(with(&reader, Method::DELETE, &one, None).0, 403);
    assert_eq!(with(&nobody, Method::DELETE, &one, None).0, 404);
    assert_eq!(with(&rival, Method::DELETE, &one, None).0, 404);
    assert_eq!(call(Method::DELETE, &one, &[], None).0, 401);
    assert_eq!(with(&owner, Method::DELETE, &one, None).0, 409);

    // Inference under it is reading it.
    let inference = json!({
        "scheme": "paillier",
        "context_id": ctx.id(),
        "model": { "weights": [[1.0]], "biases": [0.0] },
        "input_data": [[1.0]],
    });
    let infer = format!("{}/v1/ml-zk/fhe/inference/{}", server.url, server.org);
    assert_eq!(with(&nobody, Method::POST, &infer, Some(&inference)).0, 404);
    assert_eq!(with(&reader, Method::POST, &infer, Some(&inference)).0, 200);

    // The owner's context is untouched, and its data still searches under it.
    assert_eq!(stored_text(), text);
    let found = client.search(&kb, &ctx, &stored[2], None, None, 1).unwrap();
    assert_eq!(found, vec![(3, 0)]);
}
