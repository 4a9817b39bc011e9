//! What a new user meets first, against a real `paillier-gpu serve`: API keys as the XTrace
//! SDK's CLI tells them apart, the weak contexts its `xtrace init` makes, the startup line and a
//! port already taken.

use crate::common;

use std::collections::HashSet;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::server::{small_context, Server};
use paillier_gpu_client::Client;
use paillier_gpu_server::StoreLocation;
use reqwest::Method;
use serde_json::{json, Value};

/// The SDK's CLI finds a key's hash by comparing `firstN` with the key's first five
/// characters, without case: every key's `firstN` must be exactly those, and no two of an
/// organisation's keys (revoked ones included) may share them.
#[test]
fn every_key_is_found_by_its_first_characters() {
    let server = Server::start(&[]);
    let mut secrets = Vec::new();
    for k in 0..24 {
        let (status, key) = server.admin(
            Method::POST,
            "keys",
            Some(json!({ "name": format!("k{k}") })),
        );
        assert_eq!(status, 200, "{key}");
        let secret = key["secretKey"].as_str().unwrap().to_owned();
        assert_eq!(secret.len(), 64, "{secret}");
        assert!(!secret.starts_with("xtr_"), "{secret}");
        assert_eq!(key["apiKey"]["firstN"].as_str().unwrap(), &secret[..5]);
        secrets.push((secret, key["apiKey"]["hash"].as_str().unwrap().to_owned()));
    }
    // A revoked key keeps its first characters taken.
    let (revoked, hash) = &secrets[0];
    let (status, answer) = server.admin(Method::PATCH, &format!("keys/{hash}/status/revoke"), None);
    assert_eq!(status, 200, "{answer}");

    let (status, listed) = server.admin(Method::GET, "keys", None);
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), secrets.len());
    let firsts: HashSet<String> = listed
        .iter()
        .map(|k| k["firstN"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(
        firsts.len(),
        listed.len(),
        "two keys share their first characters"
    );
    // The CLI's own lookup, as `_getHash.resolve_api_key_hash` does it, finds every key.
    for (secret, hash) in &secrets {
        let found = listed
            .iter()
            .find(|k| k["firstN"].as_str().unwrap().to_lowercase() == secret[..5].to_lowercase());
        assert_eq!(found.map(|k| &k["hash"]), Some(&Value::from(hash.as_str())));
    }
    assert!(listed
        .iter()
        .any(|k| k["firstN"] == revoked[..5] && k["status"] == "revoked"));
}

/// A context below the floors is refused with what the SDK's CLI does and the ways on.
#[test]
fn a_weak_context_is_refused_with_the_ways_on() {
    let server = Server::start(&[]);
    let (_, owner) = server.kb_and_key("docs");
    let ctx = small_context(16);
    let client = Client::new(&server.url, &server.org, &owner)
        .unwrap()
        .with_state_in_memory();
    let refused = client
        .push_context_json(ctx.id(), &ctx.to_json().unwrap())
        .unwrap_err()
        .to_string();
    for words in [
        "weaker than this server accepts",
        "key_len",
        "xtrace init",
        "key_len=1024",
        "save_to_remote",
        "context create --sdk-compatible",
        "context push",
        "--allow-weak-contexts",
    ] {
        assert!(refused.contains(words), "no {words:?} in: {refused}");
    }
    assert!(refused.contains("400"), "{refused}");
}

/// `server init` in a new folder: the folder.
fn initialised_folder() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let init = Command::new(env!("CARGO_BIN_EXE_paillier-gpu"))
        .args(["server", "init", "--org", "acme", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    data
}

fn serve(data: &std::path::Path, listen: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paillier-gpu"));
    command
        .args(["serve", "--device", "cpu", "--listen", listen, "--data-dir"])
        .arg(data);
    command
}

#[test]
fn the_startup_line_names_the_store() {
    let data = initialised_folder();
    let mut child = serve(data.path(), "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let read = BufReader::new(child.stderr.take().unwrap()).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    read.unwrap();
    let store = format!("store: SQLite in {}", data.path().display());
    assert!(
        line.contains("serving on") && line.contains(&store),
        "{line}"
    );
}

#[test]
fn a_postgres_store_is_named_without_its_password() {
    let named = |url: &str| {
        StoreLocation::new(Some(url), "unused".as_ref())
            .unwrap()
            .to_string()
    };
    let url = named("postgres://app:hunter2@db.internal:5433/paillier?connect_timeout=5");
    assert_eq!(url, "PostgreSQL app@db.internal:5433/paillier");
    let words = named("postgresql://app@db/paillier?password=hunter2");
    assert!(
        !words.contains("hunter2") && words.contains("app@db"),
        "{words}"
    );
}

#[test]
fn a_port_already_taken_is_said_as_such() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let data = initialised_folder();
    let refused = serve(data.path(), &address).output().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains(&format!("cannot listen on {address}")),
        "{said}"
    );
    assert!(!said.contains("store:"), "not the store's fault: {said}");
}
