//! Contexts fetched from a service (`ExecutionContext::from_stored_json`): the genuine one opens;
//! one whose public key or configuration was replaced, or another whole context stored under the
//! owner's id, is refused, in our form and in the SDK's (its reference files).

use crate::common;

use common::{sdk_cases, small_options, SCHEMES};
use paillier_gpu::context::FileFormat;
use paillier_gpu::{ContextOptions, Error, ExecutionContext};
use serde_json::{Map, Value};

/// `json` with `field` set to `value`.
fn with_field(json: &str, field: &str, value: Value) -> String {
    let mut map: Map<String, Value> = serde_json::from_str(json).unwrap();
    map.insert(field.into(), value);
    serde_json::to_string(&map).unwrap()
}

/// The `field` of a context's JSON.
fn field_of(json: &str, field: &str) -> Value {
    let map: Map<String, Value> = serde_json::from_str(json).unwrap();
    map[field].clone()
}

/// Asserts a [`Error::ContextAltered`] for `id` whose reason holds `why`.
fn assert_altered(result: paillier_gpu::Result<ExecutionContext>, id: &str, why: &str) {
    match result {
        Err(Error::ContextAltered { context_id, reason }) => {
            assert_eq!(context_id, id);
            assert!(reason.contains(why), "{reason}");
            let message = Error::ContextAltered { context_id, reason }.to_string();
            assert!(message.contains("was altered"), "{message}");
            assert!(message.contains("store your own copy again"), "{message}");
        }
        Err(other) => panic!("expected ContextAltered, got {other}"),
        Ok(ctx) => panic!("an altered context opened as {}", ctx.id()),
    }
}

#[test]
fn sdk_files_open_under_their_id_and_refuse_another_public_key_or_config() {
    for case in sdk_cases() {
        let opened = ExecutionContext::from_stored_json_with_passphrase(
            &case.context_json,
            &case.context_id,
            &case.passphrase,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(opened.id(), case.context_id);
        // The SDK's form seals nothing but `sk`: the check against the public key catches it.
        if opened.key_len() <= 512 {
            let options = ContextOptions {
                scheme: opened.scheme(),
                key_len: opened.key_len(),
                embed_len: opened.embed_len(),
                alpha_len: opened.alpha_len().unwrap_or(64),
                allow_insecure: true,
                ..ContextOptions::default()
            };
            let theirs = ExecutionContext::create_with_passphrase(&options, &case.passphrase)
                .unwrap()
                .with_file_format(FileFormat::Sdk)
                .to_json()
                .unwrap();
            let forged = with_field(&case.context_json, "pk", field_of(&theirs, "pk"));
            assert_altered(
                ExecutionContext::from_stored_json_with_passphrase(
                    &forged,
                    &case.context_id,
                    &case.passphrase,
                ),
                &case.context_id,
                "public key does not match its secret key",
            );
            // Without the check, the same file is merely malformed: nothing says who changed it.
            assert!(matches!(
                ExecutionContext::from_json_with_passphrase(&forged, &case.passphrase),
                Err(Error::MalformedContext(_))
            ));
        }
        // A changed configuration keeps the keys: the id tells.
        let config = field_of(&case.context_json, "config");
        let smaller = config.as_str().unwrap().replacen(
            &format!("\"embed_len\": {}", case.embed_len),
            &format!("\"embed_len\": {}", case.embed_len - 1),
            1,
        );
        assert_ne!(smaller, config.as_str().unwrap());
        let forged = with_field(&case.context_json, "config", Value::String(smaller));
        assert_altered(
            ExecutionContext::from_stored_json_with_passphrase(
                &forged,
                &case.context_id,
                &case.passphrase,
            ),
            &case.context_id,
            "it opens as context",
        );
    }
}

#[test]
fn another_whole_context_under_the_owners_id_is_refused() {
    let cases = sdk_cases();
    // The SDK's reference contexts share a passphrase: one opens, as another id.
    let (owner, other) = (&cases[0], &cases[1]);
    assert_eq!(owner.passphrase, other.passphrase);
    assert_altered(
        ExecutionContext::from_stored_json_with_passphrase(
            &other.context_json,
            &owner.context_id,
            &owner.passphrase,
        ),
        &owner.context_id,
        &format!("it opens as context {}", other.context_id),
    );
    for scheme in SCHEMES {
        let owner =
            ExecutionContext::create_with_passphrase(&small_options(scheme, 8), "owner").unwrap();
        let same =
            ExecutionContext::create_with_passphrase(&small_options(scheme, 8), "owner").unwrap();
        assert_altered(
            ExecutionContext::from_stored_json_with_passphrase(
                &same.to_json().unwrap(),
                owner.id(),
                "owner",
            ),
            owner.id(),
            &format!("it opens as context {}", same.id()),
        );
        // Sealed under another passphrase, it cannot be told from a wrong passphrase.
        let theirs =
            ExecutionContext::create_with_passphrase(&small_options(scheme, 8), "theirs").unwrap();
        assert!(matches!(
            ExecutionContext::from_stored_json_with_passphrase(
                &theirs.to_json().unwrap(),
                owner.id(),
                "owner"
            ),
            Err(Error::WrongKey)
        ));
    }
}

#[test]
fn our_form_refuses_a_substituted_public_key_and_opens_the_genuine_one() {
    for scheme in SCHEMES {
        let owner =
            ExecutionContext::create_with_passphrase(&small_options(scheme, 8), "owner").unwrap();
        let json = owner.to_json().unwrap();
        let opened =
            ExecutionContext::from_stored_json_with_passphrase(&json, owner.id(), "owner").unwrap();
        assert_eq!(opened.id(), owner.id());
        assert_eq!(opened.file_format(), FileFormat::Authenticated);
        let theirs = ExecutionContext::create_with_passphrase(&small_options(scheme, 8), "theirs")
            .unwrap()
            .to_json()
            .unwrap();
        let forged = with_field(&json, "pk", field_of(&theirs, "pk"));
        assert_altered(
            ExecutionContext::from_stored_json_with_passphrase(&forged, owner.id(), "owner"),
            owner.id(),
            "does not match its sealed secret key",
        );
        // A wrong passphrase is still a wrong passphrase.
        assert!(matches!(
            ExecutionContext::from_stored_json_with_passphrase(&json, owner.id(), "wrong"),
            Err(Error::WrongKey)
        ));
    }
}
