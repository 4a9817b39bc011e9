//! Bad input never panics: every parser and entry point returns a typed error.

mod common;

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{npy_bytes, sdk_cases, small_context};
use paillier_gpu::formats::ciphertexts::{self, CiphertextShape};
use paillier_gpu::formats::vectors;
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
        PublicContext::from_json("{}"),
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

fn shape() -> CiphertextShape {
    CiphertextShape {
        chunk_bytes: 64,
        chunks: 1,
        key: None,
    }
}

#[test]
fn malformed_binary_ciphertext_files_are_rejected() {
    let ctx = small_context(Scheme::Paillier);
    let shape = CiphertextShape {
        chunk_bytes: ctx.public_key().ciphertext_bytes(),
        chunks: 1,
        key: Some(ctx.public_key().fingerprint()),
    };
    let good = ciphertexts::encode_binary(
        &ctx.encrypt_vectors(&[vec![1u8; 64], vec![0u8; 64]])
            .unwrap(),
        shape,
    )
    .unwrap();
    assert_eq!(
        ciphertexts::read_binary(Cursor::new(&good), shape)
            .unwrap()
            .len(),
        2
    );
    let mut huge_count = good.clone();
    huge_count[24..32].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let mut overflow = good.clone();
    overflow[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    let mut bad_version = good.clone();
    bad_version[8] = 9;
    let mut extra = good.clone();
    extra.push(0);
    for (bytes, what) in [
        (good[..good.len() - 1].to_vec(), "truncated record"),
        (good[..10].to_vec(), "truncated header"),
        (good[..40].to_vec(), "truncated key fingerprint"),
        (huge_count, "huge record count"),
        (overflow, "overflowing record count"),
        (bad_magic, "bad magic"),
        (bad_version, "bad version"),
        (extra, "trailing bytes"),
    ] {
        let err = ciphertexts::read_binary(Cursor::new(bytes), shape).unwrap_err();
        assert!(
            matches!(
                err,
                Error::MalformedFile {
                    kind: "ciphertexts",
                    ..
                }
            ),
            "{what}: {err}"
        );
    }
    let other_width = CiphertextShape {
        chunk_bytes: 32,
        chunks: 1,
        ..shape
    };
    assert!(ciphertexts::read_binary(Cursor::new(&good), other_width).is_err());
    // A file made under another key is refused by its fingerprint, whatever its records hold.
    let other_key = CiphertextShape {
        key: Some(paillier_gpu::paillier::KeyFingerprint::from_bytes([1; 32])),
        ..shape
    };
    assert!(matches!(
        ciphertexts::read_binary(Cursor::new(&good), other_key),
        Err(Error::KeyMismatch { .. })
    ));
    // Version 1 files (no fingerprint) still read under any key.
    let v1 = ciphertexts::encode_binary(
        &ciphertexts::read_binary(Cursor::new(&good), shape).unwrap(),
        CiphertextShape { key: None, ..shape },
    )
    .unwrap();
    assert_eq!(&v1[8..10], &1u16.to_le_bytes());
    assert_eq!(
        ciphertexts::read_binary(Cursor::new(&v1), other_key)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn malformed_jsonl_ciphertext_files_are_rejected() {
    let s = shape();
    let wide = BASE64.encode([1u8; 65]);
    let cases = [
        ("{\"a\": 1}\n", "not an array"),
        ("[1]\n", "chunk not a string"),
        ("[\"@@@\"]\n", "not base64"),
        ("[\"AA\n", "broken JSON"),
    ];
    for (text, what) in cases {
        let err = ciphertexts::read_jsonl(Cursor::new(text), s).unwrap_err();
        assert!(matches!(err, Error::MalformedFile { .. }), "{what}: {err}");
    }
    let err = ciphertexts::read_jsonl(Cursor::new(format!("[\"{wide}\"]\n")), s).unwrap_err();
    assert!(
        matches!(err, Error::InvalidCiphertext { index: 0, .. }),
        "{err}"
    );
    let err =
        ciphertexts::read_jsonl(Cursor::new("[\"AAAA\"]\n[\"AAAA\", \"AAAA\"]\n"), s).unwrap_err();
    assert!(
        matches!(err, Error::InvalidCiphertext { index: 1, .. }),
        "{err}"
    );
    let long_line = format!("[\"{}\"]\n", "A".repeat(10 << 20));
    assert!(matches!(
        ciphertexts::read_jsonl(Cursor::new(long_line), s),
        Err(Error::MalformedFile { .. })
    ));
    // Shorter chunks are zero-padded, as the SDK accepts them.
    let short = ciphertexts::read_jsonl(Cursor::new("[\"AQ==\"]\n\n"), s).unwrap();
    assert_eq!(short[0].chunks[0].as_biguint(), &1u32.into());
}

#[test]
fn malformed_vector_files_are_rejected() {
    let read = |text: &str| vectors::read_jsonl(Cursor::new(text.to_owned()), 3);
    assert_eq!(
        read("[0, 1, 1]\n\n[1,0,0]").unwrap(),
        vec![vec![0, 1, 1], vec![1, 0, 0]]
    );
    assert!(matches!(
        read("[0, 1]\n"),
        Err(Error::VectorLength {
            index: 0,
            expected: 3,
            found: 2
        })
    ));
    for (bad, value) in [
        ("[0, 2, 1]", "2"),
        ("[0, -1, 1]", "-1"),
        ("[0, 0.5, 1]", "0.5"),
        ("[0, \"1\", 1]", "\"1\""),
        ("[0, true, 1]", "true"),
    ] {
        let err = read(&format!("[1, 1, 1]\n{bad}\n")).unwrap_err();
        assert!(
            matches!(&err, Error::NonBinaryValue { index: 1, position: 1, value: v } if v == value),
            "{bad}: {err}"
        );
    }
    assert!(matches!(
        read("[0, 1, 1\n"),
        Err(Error::MalformedFile {
            kind: "vectors",
            ..
        })
    ));
    assert!(matches!(
        read("{\"v\": [0, 1, 1]}\n"),
        Err(Error::MalformedFile { .. })
    ));
}

#[test]
fn npy_vectors_are_read_and_checked() {
    let data = [0u8, 1, 1, 1, 0, 0];
    for descr in ["|u1", "|i1", "|b1"] {
        let v = vectors::read_npy(&npy_bytes(descr, 2, 3, &data, false), 3).unwrap();
        assert_eq!(v, vec![vec![0, 1, 1], vec![1, 0, 0]], "{descr}");
    }
    // Fortran order: column-major data.
    let fortran = vectors::read_npy(&npy_bytes("|u1", 2, 3, &[0, 1, 1, 0, 1, 0], true), 3).unwrap();
    assert_eq!(fortran, vec![vec![0, 1, 1], vec![1, 0, 0]]);
    let err =
        vectors::read_npy(&npy_bytes("|i1", 2, 3, &[0, 1, 0xff, 1, 0, 0], false), 3).unwrap_err();
    assert!(
        matches!(&err, Error::NonBinaryValue { index: 0, position: 2, value } if value == "-1"),
        "{err}"
    );
    assert!(matches!(
        vectors::read_npy(&npy_bytes("|u1", 2, 3, &data, false), 4),
        Err(Error::VectorLength { .. })
    ));
    for (bytes, what) in [
        (npy_bytes("<f8", 1, 1, &[0; 8], false), "float dtype"),
        (
            npy_bytes("|u1", 1000, 3, &data, false),
            "shape larger than the data",
        ),
        (b"\x93NUMPY garbage".to_vec(), "bad header"),
        (Vec::new(), "empty"),
    ] {
        let err = vectors::read_npy(&bytes, 3).unwrap_err();
        assert!(
            matches!(
                err,
                Error::MalformedFile {
                    kind: "vectors",
                    ..
                }
            ),
            "{what}: {err}"
        );
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
    // 2^30 · 128 · 8 bytes: far above the memory limit; r = 0 and p = 0 are not scrypt.
    for (log_n, r, p) in [(30, 8, 1), (21, 8, 1), (14, 0, 1), (14, 8, 0), (64, 8, 1)] {
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
