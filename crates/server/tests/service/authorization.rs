//! Which key may do what, tried against a real `paillier-gpu serve` as an attacker holding the
//! weakest key would: a read-only key, a key with no permission, another organisation's key,
//! no key, and the admin. A stored context is an identity that nobody can replace; reading it
//! needs read permission on a knowledge base it is bound to (or being its creator, or admin).

use paillier_gpu::ExecutionContext;
use paillier_gpu_client::Client;
use paillier_gpu_testing::data::{small_context, vectors};
use paillier_gpu_testing::net::call;
use paillier_gpu_testing::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

const EMBED: usize = 64;

fn context() -> ExecutionContext {
    small_context(EMBED)
}

#[test]
fn only_the_contexts_owners_may_change_delete_bind_or_read_it() {
    let server = TestServer::start();
    let (kb, owner) = server.kb_and_key("docs");
    let (elsewhere, _) = server.kb_and_key("elsewhere");
    let reader = server.key_with(&kb, 1);
    let nobody = server.key_with(&kb, 0);
    let writer_elsewhere = server.key_with(&elsewhere, 3);
    let rival = server.other_organisation();

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
