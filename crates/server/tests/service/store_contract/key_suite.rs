//! The store's contract for organisations, API keys and their permissions, as either store must
//! keep it (the rest is in `store_suite.rs`).

use std::sync::Arc;

use paillier_gpu_server::store::{ApiKey, Store};

use super::store_suite::kb;
use super::Opener;

pub fn organisations_keys_and_permissions(open: &Opener) {
    let store = open();
    let org = store.create_org("acme", "admin-hash", "xtr_a").unwrap();
    let other = store.create_org("globex", "other-hash", "xtr_b").unwrap();
    assert_ne!(org.id, other.id);
    assert_eq!(
        store.org_of_admin_key("admin-hash").unwrap(),
        Some(org.id.clone())
    );
    assert_eq!(store.org_of_admin_key("nobody").unwrap(), None);
    let key = ApiKey {
        hash: "key-hash".into(),
        org_id: org.id.clone(),
        name: "reader".into(),
        description: "reads".into(),
        first_n: "xtr_k".into(),
        revoked: false,
        created_at: "2026-11-24T00:00:00Z".into(),
    };
    assert!(store.create_api_key(&key).unwrap());
    let same_first = |hash: &str, org_id: &str, first_n: &str| ApiKey {
        hash: hash.into(),
        org_id: org_id.into(),
        first_n: first_n.into(),
        ..key.clone()
    };
    assert!(
        store
            .create_api_key(&same_first("key-hash", &org.id, "other"))
            .is_err(),
        "a hash is stored once"
    );
    // The SDK's CLI tells an organisation's keys apart by their first characters, without case.
    assert!(
        !store
            .create_api_key(&same_first("clash", &org.id, "XTR_K"))
            .unwrap(),
        "first characters already used in the organisation (in another case)"
    );
    assert_eq!(store.api_key("clash").unwrap(), None);
    assert!(
        store
            .create_api_key(&same_first("elsewhere", &other.id, "xtr_k"))
            .unwrap(),
        "another organisation's keys do not count"
    );
    assert_eq!(store.api_key("key-hash").unwrap(), Some(key.clone()));
    assert_eq!(store.api_keys(&org.id).unwrap(), vec![key.clone()]);
    assert_eq!(store.api_keys(&other.id).unwrap().len(), 1);
    store.create_kb(&kb(&org.id, "kb-1")).unwrap();
    store.set_permission("key-hash", "kb-1", 1).unwrap();
    store.set_permission("key-hash", "kb-1", 3).unwrap();
    assert_eq!(
        store.permissions("key-hash").unwrap(),
        vec![("kb-1".to_owned(), 3)]
    );
    assert!(
        !store.revoke_api_key(&other.id, "key-hash").unwrap(),
        "not theirs"
    );
    assert!(store.revoke_api_key(&org.id, "key-hash").unwrap());
    assert!(store.api_key("key-hash").unwrap().unwrap().revoked);
    assert!(
        !store
            .create_api_key(&same_first("after-revoke", &org.id, "xtr_k"))
            .unwrap(),
        "a revoked key's first characters stay taken"
    );
}

/// Keys created at once, through two handles (replicas), all with the same first characters
/// in one case or another: exactly one is stored (the SDK's CLI tells keys apart by them).
pub fn concurrent_key_creations_never_share_first_characters(open: &Opener) {
    let first = open();
    let org = first.create_org("acme", "admin-hash", "adm01").unwrap().id;
    let replicas: Vec<Arc<dyn Store>> = vec![first, open()];
    let stored: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|w| {
                let (store, org) = (replicas[w % 2].clone(), org.clone());
                scope.spawn(move || {
                    (0..10)
                        .filter(|k| {
                            let key = ApiKey {
                                hash: format!("hash-{w}-{k}"),
                                org_id: org.clone(),
                                name: "k".into(),
                                description: String::new(),
                                first_n: if k % 2 == 0 { "abcde" } else { "ABCDE" }.into(),
                                revoked: false,
                                created_at: "now".into(),
                            };
                            store.create_api_key(&key).unwrap()
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(stored, 1, "keys sharing their first characters were stored");
}
