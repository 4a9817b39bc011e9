//! `admin kb|key`: knowledge bases, API keys and permissions made with the CLI against a real
//! `serve`, the admin key read from PAILLIER_GPU_ADMIN_KEY only, and the key it makes working
//! on the data plane until it is revoked.

use serde_json::Value;

use crate::common::cli::{fails, ok, run_with};
use crate::common::server::Server;

/// The CLI against `server` with `admin_key` as PAILLIER_GPU_ADMIN_KEY (none: unset) and
/// `api_key` as PAILLIER_GPU_API_KEY.
fn admin(
    server: &Server,
    admin_key: Option<&str>,
    api_key: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("PAILLIER_GPU_REMOTE", server.url.as_str()),
        ("PAILLIER_GPU_ORG", server.org.as_str()),
    ];
    env.extend(admin_key.map(|k| ("PAILLIER_GPU_ADMIN_KEY", k)));
    env.extend(api_key.map(|k| ("PAILLIER_GPU_API_KEY", k)));
    run_with(dir.path(), None, args, &env)
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_cli_makes_knowledge_bases_and_keys_and_grants_and_revokes() {
    let server = Server::start(&[]);
    let key = Some(server.admin_key.as_str());

    let missing = fails(admin(&server, None, None, &["admin", "kb", "list"]));
    assert!(missing.contains("PAILLIER_GPU_ADMIN_KEY"), "{missing}");
    let wrong = fails(admin(&server, Some("0123"), None, &["admin", "kb", "list"]));
    assert!(wrong.contains("answered 401"), "{wrong}");

    let kb = &lines(&ok(admin(
        &server,
        key,
        None,
        &["admin", "kb", "create", "--name", "docs"],
    )))[0];
    let kb_id = kb["id"].as_str().unwrap().to_owned();
    assert_eq!(kb["name"], "docs");
    let listed = lines(&ok(admin(&server, key, None, &["admin", "kb", "list"])));
    assert!(
        listed.iter().any(|k| k["id"] == kb_id.as_str()),
        "{listed:?}"
    );
    let shown = &lines(&ok(admin(
        &server,
        key,
        None,
        &["admin", "kb", "show", &kb_id],
    )))[0];
    assert_eq!(shown["numberOfVectors"], 0);

    let made = &lines(&ok(admin(
        &server,
        key,
        None,
        &["admin", "key", "create", "--name", "ingest"],
    )))[0];
    let secret = made["secretKey"].as_str().unwrap().to_owned();
    let hash = made["apiKey"]["hash"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);
    let keys = ok(admin(&server, key, None, &["admin", "key", "list"]));
    assert!(keys.contains(&hash) && !keys.contains(&secret), "{keys}");

    // Without a permission the key reaches no knowledge base; granted, it does.
    let granted = &lines(&ok(admin(
        &server,
        key,
        None,
        &["admin", "key", "grant", &hash, &kb_id, "read,write"],
    )))[0];
    assert_eq!(granted["permission"], 3);
    let all = &lines(&ok(admin(
        &server,
        key,
        None,
        &["admin", "key", "grant", &hash, &kb_id, "all"],
    )))[0];
    assert_eq!(all["permission"], 7);
    let permissions = lines(&ok(admin(
        &server,
        key,
        None,
        &["admin", "key", "permissions", &hash],
    )));
    assert_eq!(permissions.len(), 1);
    assert_eq!(permissions[0]["knowledgeBaseId"], kb_id.as_str());
    assert_eq!(permissions[0]["permission"], 7);
    let misspelt = admin(
        &server,
        key,
        None,
        &["admin", "key", "grant", &hash, &kb_id, "reed"],
    );
    assert_eq!(misspelt.status.code(), Some(2));
    let mixed = fails(admin(
        &server,
        key,
        None,
        &["admin", "key", "grant", &hash, &kb_id, "none,read"],
    ));
    assert!(mixed.contains("none"), "{mixed}");
    let unknown = fails(admin(
        &server,
        key,
        None,
        &["admin", "key", "grant", &hash, "no-such-kb", "read"],
    ));
    assert!(unknown.contains("answered 404"), "{unknown}");
    ok(admin(&server, None, Some(&secret), &["context", "list"]));

    let revoked = &lines(&ok(admin(
        &server,
        key,
        None,
        &["admin", "key", "revoke", &hash],
    )))[0];
    assert_eq!(revoked["status"], "revoked");
    let refused = fails(admin(&server, None, Some(&secret), &["context", "list"]));
    assert!(refused.contains("answered 401"), "{refused}");

    ok(admin(
        &server,
        key,
        None,
        &["admin", "kb", "delete", &kb_id],
    ));
    let gone = fails(admin(&server, key, None, &["admin", "kb", "show", &kb_id]));
    assert!(gone.contains("answered 404"), "{gone}");
    // The admin key is never a command-line value.
    let flag = admin(
        &server,
        None,
        None,
        &["admin", "kb", "list", "--admin-key", "x"],
    );
    assert_eq!(flag.status.code(), Some(2));
}
