//! The secrets of an execution context: key providers (raw keys and passphrases) round-trip and
//! refuse the wrong key, content encryption detects tampering, and Debug output never shows a
//! secret.

use crate::common;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{json_int, small_context, small_options, SCHEMES};
use paillier_gpu::context::{DataKey, KeyProvider, PassphraseKeyProvider, RawKeyProvider};
use paillier_gpu::{Error, ExecutionContext, Scheme};
use serde_json::Value;

#[test]
fn encrypted_and_raw_key_providers_round_trip() {
    let key = DataKey::random();
    let raw: Arc<dyn KeyProvider> = Arc::new(RawKeyProvider::new(key.clone()));
    let ctx =
        ExecutionContext::create(&small_options(Scheme::PaillierLookup, 40), raw.clone()).unwrap();
    let json = ctx.to_json().unwrap();
    assert!(json.contains("\"key_provider\": \"raw\""));
    assert_eq!(
        ExecutionContext::from_json(&json, raw.as_ref()).unwrap(),
        ctx
    );
    // The SDK's encrypted dict form.
    let dict = ctx.to_encrypted_dict().unwrap();
    assert!(!dict.contains("key_provider"));
    assert_eq!(
        ExecutionContext::from_encrypted_dict(&dict, raw.clone()).unwrap(),
        ctx
    );
    // Another key fails the key check; a passphrase provider is refused by name.
    let other = RawKeyProvider::new(DataKey::random());
    assert!(matches!(
        ExecutionContext::from_json(&json, &other),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        ExecutionContext::from_json(&json, &PassphraseKeyProvider::new("x")),
        Err(Error::KeyProvider(_))
    ));
    assert!(!format!("{key:?} {ctx:?}").contains(&format!("{:?}", key.as_bytes())));
}

#[test]
fn content_encryption_round_trips_and_detects_tampering() {
    let ctx = small_context(Scheme::Paillier);
    let blob = ctx.encrypt_content(b"chunk text").unwrap();
    assert_eq!(&ctx.decrypt_content(&blob).unwrap()[..], b"chunk text");
    let mut raw = BASE64.decode(&blob).unwrap();
    assert_eq!(raw.len(), 16 + 16 + 10, "nonce16 | tag16 | ciphertext");
    *raw.last_mut().unwrap() ^= 1;
    assert!(matches!(
        ctx.decrypt_content(&BASE64.encode(raw)),
        Err(Error::ContentAuthentication)
    ));
    assert!(matches!(
        ctx.decrypt_content("not base64!"),
        Err(Error::InvalidParameter(_))
    ));
}

#[test]
fn debug_output_never_shows_secrets() {
    for scheme in SCHEMES {
        let ctx = small_context(scheme);
        let plain: Value = serde_json::from_str(&ctx.to_plain_json()).unwrap();
        let sk: serde_json::Map<String, Value> =
            serde_json::from_str(plain["sk"].as_str().unwrap()).unwrap();
        let debug = format!(
            "{ctx:?} {:?} {:?}",
            ctx.secret_key(),
            ctx.key_provider().data_key().unwrap()
        );
        for value in sk.values() {
            let digits = json_int(value).to_string();
            assert!(
                !debug.contains(&digits[..digits.len().min(16)]),
                "secret digits in Debug output"
            );
        }
        assert!(debug.contains("redacted"));
    }
}
