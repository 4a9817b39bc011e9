//! Bad context files and key material never panic: a wrong passphrase, a tampered or mismatched
//! secret key, malformed fields and unbounded scrypt costs are typed errors. Bad ciphertext and
//! vector files are in `bad_input.rs`.

use crate::common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{sdk_cases, small_context};
use paillier_gpu::{Error, ExecutionContext, PublicContext, Scheme};
use serde_json::Value;

fn fixture_context() -> (String, String) {
    let case = sdk_cases()
        .into_iter()
        .find(|c| c.name == "paillier_512")
        .unwrap();
    (case.context_json, case.passphrase)
}

fn edit(json: &str, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut map: serde_json::Map<String, Value> = serde_json::from_str(json).unwrap();
    f(&mut map);
    serde_json::to_string(&map).unwrap()
}

fn load(json: &str, passphrase: &str) -> Error {
    ExecutionContext::from_json_with_passphrase(json, passphrase).unwrap_err()
}

#[test]
fn our_files_tell_a_wrong_passphrase_from_a_tampered_sk() {
    let ctx = small_context(Scheme::Paillier);
    let json = ctx.to_json().unwrap();
    let load = |json: &str, pass: &str| {
        ExecutionContext::from_json(
            json,
            &paillier_gpu::context::PassphraseKeyProvider::new(pass),
        )
    };
    assert_eq!(&load(&json, "test passphrase").unwrap(), ctx);
    assert!(matches!(load(&json, "wrong"), Err(Error::WrongKey)));
    // Every byte of the nonce, tag and body: a flipped bit is tampering, never a wrong key.
    let raw = {
        let map: serde_json::Map<String, Value> = serde_json::from_str(&json).unwrap();
        BASE64.decode(map["sk"].as_str().unwrap()).unwrap()
    };
    for position in [0, 15, 16, 31, 32, raw.len() / 2, raw.len() - 1] {
        let tampered = edit(&json, |m| {
            let mut bytes = raw.clone();
            bytes[position] ^= 0x80;
            m["sk"] = Value::String(BASE64.encode(bytes));
        });
        assert!(
            matches!(
                load(&tampered, "test passphrase"),
                Err(Error::SecretKeyTampered)
            ),
            "byte {position}"
        );
    }
    // A damaged key check reads as a wrong key (it can no longer vouch for the key);
    // a malformed one is a malformed file.
    let bad_check = edit(&json, |m| m["key_check"] = BASE64.encode([0u8; 16]).into());
    assert!(matches!(
        load(&bad_check, "test passphrase"),
        Err(Error::WrongKey)
    ));
    let not_base64 = edit(&json, |m| m["key_check"] = "%%".into());
    assert!(matches!(
        load(&not_base64, "test passphrase"),
        Err(Error::MalformedContext(_))
    ));
    // Without the key check (as the SDK writes files) the two cannot be told apart.
    let sdk_like = edit(&json, |m| {
        m.remove("key_check");
    });
    assert!(matches!(
        load(&sdk_like, "wrong"),
        Err(Error::SecretKeyAuthentication)
    ));
}

#[test]
fn sdk_files_fail_authentication_on_a_wrong_passphrase_or_tampered_sk() {
    let (json, pass) = fixture_context();
    assert!(matches!(
        load(&json, "not the passphrase"),
        Error::SecretKeyAuthentication
    ));
    let tampered = edit(&json, |m| {
        let mut raw = BASE64.decode(m["sk"].as_str().unwrap()).unwrap();
        raw[40] ^= 0x01;
        m["sk"] = Value::String(BASE64.encode(raw));
    });
    assert!(matches!(
        load(&tampered, &pass),
        Error::SecretKeyAuthentication
    ));
    let short = edit(&json, |m| m["sk"] = Value::String(BASE64.encode([0u8; 20])));
    assert!(matches!(load(&short, &pass), Error::MalformedContext(_)));
    let not_b64 = edit(&json, |m| m["sk"] = Value::String("***".into()));
    assert!(matches!(load(&not_b64, &pass), Error::MalformedContext(_)));
}

#[test]
fn malformed_context_files_are_rejected() {
    let (json, pass) = fixture_context();
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "empty"),
        ("[1, 2]".into(), "not an object"),
        (json[..json.len() / 2].into(), "truncated"),
        (
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            "deeply nested",
        ),
        (
            edit(&json, |m| {
                m.remove("pk");
            }),
            "missing pk",
        ),
        (
            edit(&json, |m| {
                m["config"] = Value::from(5);
            }),
            "config not a string",
        ),
        (
            edit(&json, |m| {
                m["config"] = "{\"embed_len\": 100, \"key_len\": 1000000000}".into();
            }),
            "key_len 10^9",
        ),
        (
            edit(&json, |m| {
                m["config"] = "{\"embed_len\": 100, \"key_len\": 1024}".into();
            }),
            "key_len does not match n",
        ),
        (
            edit(&json, |m| {
                m["config"] = "{\"embed_len\": 0, \"key_len\": 512}".into();
            }),
            "embed_len 0",
        ),
        (
            edit(&json, |m| {
                m["config"] = "{\"embed_len\": -1, \"key_len\": 512}".into();
            }),
            "negative",
        ),
        (
            edit(&json, |m| {
                m["pk"] = "{\"g\": \"4\", \"n\": \"3\", \"n_squared\": \"9\"}".into();
            }),
            "tiny n",
        ),
        (
            edit(&json, |m| {
                m["pk"] = format!("{{\"g\": \"1\", \"n\": \"{}\"}}", "9".repeat(100_000)).into();
            }),
            "huge n",
        ),
        (
            edit(&json, |m| {
                let pk: Value = serde_json::from_str(m["pk"].as_str().unwrap()).unwrap();
                m["pk"] = format!(
                    "{{\"g\": \"5\", \"n\": {}, \"n_squared\": {}}}",
                    pk["n"], pk["n_squared"]
                )
                .into();
            }),
            "g is not n + 1",
        ),
        (
            edit(&json, |m| {
                let pk: Value = serde_json::from_str(m["pk"].as_str().unwrap()).unwrap();
                m["pk"] = format!(
                    "{{\"g\": {}, \"n\": {}, \"n_squared\": \"12\"}}",
                    pk["g"], pk["n"]
                )
                .into();
            }),
            "n_squared is not n^2",
        ),
        (
            edit(&json, |m| {
                m["wrapped_key"] = "%%%".into();
            }),
            "wrapped_key not base64",
        ),
    ];
    for (text, what) in cases {
        let err = load(&text, &pass);
        assert!(matches!(err, Error::MalformedContext(_)), "{what}: {err}");
    }
    let unknown = edit(&json, |m| {
        m["type"] = "ElGamalClient".into();
    });
    assert!(matches!(load(&unknown, &pass), Error::UnknownContextType(t) if t == "ElGamalClient"));
    let kms = edit(&json, |m| {
        m["key_provider"] = "aws_kms".into();
    });
    assert!(matches!(load(&kms, &pass), Error::KeyProvider(_)));
    assert!(matches!(
        PublicContext::from_public_json("{}"),
        Err(Error::MalformedContext(_))
    ));
}

#[test]
fn secret_keys_that_do_not_match_the_public_key_are_rejected() {
    use paillier_gpu::context::{DataKey, RawKeyProvider};
    use std::sync::Arc;
    let ctx = small_context(Scheme::Paillier);
    let provider = Arc::new(RawKeyProvider::new(DataKey::random()));
    let plain: serde_json::Map<String, Value> = serde_json::from_str(&ctx.to_plain_json()).unwrap();
    for bad_sk in [
        "{\"phi\": \"12\", \"inv\": \"1\"}",
        "{\"phi\": \"x\"}",
        "not json",
        "{\"inv\": \"1\"}",
    ] {
        let mut map = plain.clone();
        map["sk"] = bad_sk.into();
        let json = serde_json::to_string(&map).unwrap();
        let err = ExecutionContext::from_plain_json(&json, provider.clone()).unwrap_err();
        assert!(matches!(err, Error::MalformedContext(_)), "{bad_sk}: {err}");
    }
}

#[test]
fn legacy_weak_contexts_still_load() {
    for case in sdk_cases() {
        let ctx = ExecutionContext::from_json_with_passphrase(&case.context_json, &case.passphrase)
            .unwrap();
        if ctx.scheme() == Scheme::PaillierLookup {
            assert_eq!(ctx.alpha_len(), Some(50));
        }
    }
}

#[test]
fn a_stated_scrypt_cost_is_bounded() {
    use paillier_gpu::context::{KeyProvider, PassphraseKeyProvider, ScryptCost};
    let provider = PassphraseKeyProvider::new("p");
    let stated = |log_n: u8, r: u32, p: u32| {
        let mut wrapped = b"paillier-gpu/scrypt/2\0".to_vec();
        wrapped.push(log_n);
        wrapped.extend_from_slice(&r.to_be_bytes());
        wrapped.extend_from_slice(&p.to_be_bytes());
        wrapped.extend_from_slice(&[9; 16]);
        wrapped
    };
    // 2^30 · 128 · 8 bytes: far above the memory limit; r = 0 and p = 0 are not scrypt. Above
    // the strong cost's work too: N = 2^20, r = 8, p = 16 (a gigabyte for half a minute before
    // "wrong passphrase"), and anything past 2^17 · 8 · 1.
    for (log_n, r, p) in [
        (30, 8, 1),
        (21, 8, 1),
        (14, 0, 1),
        (14, 8, 0),
        (64, 8, 1),
        (20, 8, 16),
        (18, 8, 1),
        (17, 8, 2),
        (17, 16, 1),
    ] {
        assert!(
            matches!(
                provider.reconstruct(&stated(log_n, r, p)),
                Err(Error::KeyProvider(_))
            ),
            "log_n {log_n}, r {r}, p {p}"
        );
    }
    let mut no_salt = stated(14, 8, 1);
    no_salt.truncate(no_salt.len() - 16);
    assert!(provider.reconstruct(&no_salt).is_err());
    // A strong cost round-trips through wrapped_key; the plain salt means the SDK's cost.
    let strong = PassphraseKeyProvider::with_cost("p", ScryptCost::STRONG).unwrap();
    let again = provider.reconstruct(&strong.wrapped_key()).unwrap();
    assert_eq!(again.wrapped_key(), strong.wrapped_key());
    assert_eq!(
        provider.reconstruct(&[1; 16]).unwrap().wrapped_key(),
        vec![1; 16]
    );
}
