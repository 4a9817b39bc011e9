//! Our clients check the contexts they fetch: a stored context replaced behind the owner's back
//! (another public key, or another whole context under the owner's id, written straight into the
//! store's SQLite file as anyone able to write the organisation's contexts could) is refused by
//! the library's `pull_context` and by `paillier-gpu context pull`, which writes no file.

use crate::common;

use std::path::Path;

use common::cli::{fails, ok};
use common::server::Server;
use paillier_gpu::context::PassphraseKeyProvider;
use paillier_gpu::{ContextOptions, Error, ExecutionContext, Scheme};
use paillier_gpu_client::Client;
use paillier_gpu_client::Error as ClientError;
use serde_json::{Map, Value};

fn context(passphrase: &str) -> ExecutionContext {
    let options = ContextOptions {
        scheme: Scheme::Paillier,
        key_len: 256,
        embed_len: 16,
        allow_insecure: true,
        ..ContextOptions::default()
    };
    ExecutionContext::create_with_passphrase(&options, passphrase).unwrap()
}

/// Replaces the stored JSON of `context_id` in the server's store.
fn overwrite_stored(server: &Server, context_id: &str, data: &str) {
    if let Some(url) = &server.store {
        let mut store = postgres::Client::connect(url, postgres::NoTls).unwrap();
        let changed = store
            .execute(
                "UPDATE contexts SET data = $1 WHERE org_id = $2 AND context_id = $3",
                &[&data, &server.org, &context_id],
            )
            .unwrap();
        assert_eq!(changed, 1);
        return;
    }
    let store =
        rusqlite::Connection::open(server.data.path().join("paillier-gpu.sqlite3")).unwrap();
    store
        .busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let changed = store
        .execute(
            "UPDATE contexts SET data = ?1 WHERE org_id = ?2 AND context_id = ?3",
            (data, &server.org, context_id),
        )
        .unwrap();
    assert_eq!(changed, 1);
}

/// `owner`'s JSON with `attacker`'s public key.
fn with_public_key_of(owner: &str, attacker: &ExecutionContext) -> String {
    let mut map: Map<String, Value> = serde_json::from_str(owner).unwrap();
    let theirs: Map<String, Value> = serde_json::from_str(&attacker.to_json().unwrap()).unwrap();
    map.insert("pk".into(), theirs["pk"].clone());
    serde_json::to_string(&map).unwrap()
}

fn assert_altered(result: Result<ExecutionContext, impl Into<ClientError>>, id: &str) {
    match result.map_err(Into::into) {
        Err(ClientError::Library(Error::ContextAltered { context_id, .. })) => {
            assert_eq!(context_id, id)
        }
        Err(other) => panic!("expected ContextAltered, got {other}"),
        Ok(ctx) => panic!("an altered context opened as {}", ctx.id()),
    }
}

#[test]
fn the_library_client_refuses_a_context_altered_in_the_store() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (_, key) = server.kb_and_key("docs");
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    let owner = context("owner");
    let text = owner.to_json().unwrap();
    client.push_context_json(owner.id(), &text).unwrap();
    let provider = PassphraseKeyProvider::new("owner");
    let (opened, pulled) = client.pull_context_json(owner.id(), &provider).unwrap();
    assert_eq!((opened.id(), pulled.as_str()), (owner.id(), text.as_str()));

    // The attacker's public key in the owner's context.
    let attacker = context("owner");
    overwrite_stored(&server, owner.id(), &with_public_key_of(&text, &attacker));
    assert_altered(client.pull_context(owner.id(), &provider), owner.id());
    // The attacker's whole context under the owner's id, sealed under the same passphrase.
    overwrite_stored(&server, owner.id(), &attacker.to_json().unwrap());
    assert_altered(client.pull_context(owner.id(), &provider), owner.id());
    // Under another passphrase it cannot be told from a wrong passphrase, and is refused too.
    let stranger = context("stranger");
    overwrite_stored(&server, owner.id(), &stranger.to_json().unwrap());
    let result = client
        .pull_context(owner.id(), &provider)
        .map(|c| c.id().to_owned());
    assert!(
        matches!(result, Err(ClientError::Library(Error::WrongKey))),
        "{result:?}"
    );
    // The genuine one again opens.
    overwrite_stored(&server, owner.id(), &text);
    assert_eq!(
        client.pull_context(owner.id(), &provider).unwrap().id(),
        owner.id()
    );
}

fn cli(
    d: &Path,
    server: &Server,
    key: &str,
    passphrase: &str,
    args: &[&str],
) -> std::process::Output {
    server.cli(d, passphrase, Some(key), args)
}

#[test]
fn context_pull_refuses_a_context_altered_in_the_store_and_writes_nothing() {
    let server = Server::start(&["--allow-weak-contexts"]);
    let (_, key) = server.kb_and_key("docs");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let owner = context("pass");
    owner.save_to_disk(d.join("ctx.json")).unwrap();
    let text = std::fs::read_to_string(d.join("ctx.json")).unwrap();
    let pushed = ok(cli(
        d,
        &server,
        &key,
        "pass",
        &["context", "push", "--context", "ctx.json"],
    ));
    assert!(pushed.contains(owner.id()), "{pushed}");
    let pull = [
        "context",
        "pull",
        "--id",
        owner.id(),
        "--output",
        "pulled.json",
    ];

    for altered in [
        with_public_key_of(&text, &context("pass")),
        context("pass").to_json().unwrap(),
    ] {
        overwrite_stored(&server, owner.id(), &altered);
        let message = fails(cli(d, &server, &key, "pass", &pull));
        assert!(
            message.contains(&format!("the stored context {} was altered", owner.id())),
            "{message}"
        );
        assert!(message.contains("store your own copy again"), "{message}");
        assert!(!d.join("pulled.json").exists());
    }
    // A wrong passphrase is refused as such, with nothing written either.
    overwrite_stored(&server, owner.id(), &text);
    let message = fails(cli(d, &server, &key, "wrong", &pull));
    assert!(message.contains("wrong passphrase"), "{message}");
    assert!(!d.join("pulled.json").exists());
    // The genuine one is written byte for byte.
    ok(cli(d, &server, &key, "pass", &pull));
    assert_eq!(
        std::fs::read_to_string(d.join("pulled.json")).unwrap(),
        text
    );
}
