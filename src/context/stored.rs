//! A context fetched from a service, opened only if it is the one its owner stored there.
//!
//! A service stores contexts under the id their owner gives, and anyone who may write the
//! organisation's contexts could replace one: with their own public key, so that what the owner
//! then encrypts is theirs to read. The id is SHA-256 over a form that holds the plaintext
//! secret key, so only the key holder can compute it; the secret key is sealed under the
//! owner's data key. A fetched context is therefore the owner's own when it opens with the
//! owner's key, its public key agrees with its secret key, and its id is the one asked for.

use super::sdk_json::parse_secret_key;
use super::*;
use crate::error::{Error, Result};

impl ExecutionContext {
    /// Opens the JSON a service returned for `context_id` (a context file's form), with the
    /// provider that holds its key, as [`from_json`](Self::from_json) does, and checks that it
    /// is the context stored under that id: [`Error::ContextAltered`] if its public key, type or
    /// configuration do not agree with its sealed secret key, or if it opens as another context.
    ///
    /// A wrong passphrase stays [`Error::WrongKey`] (or [`Error::SecretKeyAuthentication`] for a
    /// file without a key check): a whole context sealed under another passphrase fails the same
    /// way, and cannot be told apart from it.
    pub fn from_stored_json(
        json: &str,
        context_id: &str,
        key_provider: &dyn KeyProvider,
    ) -> Result<Self> {
        let altered = |reason: String| Error::ContextAltered {
            context_id: context_id.to_owned(),
            reason,
        };
        let (map, provider) = Self::parse_with_provider(json, key_provider)?;
        let (public, sk_json, file_format) =
            Self::unseal(&map, provider.as_ref()).map_err(|e| match e {
                // The key check passed, so the key is right: `pk`, `type` or `config` (sealed with
                // the secret key in our form) or `sk` itself was changed.
                Error::SecretKeyTampered => altered(
                    "its public key, type or configuration does not match its sealed secret key"
                        .into(),
                ),
                other => other,
            })?;
        // The secret key unsealed, so it is the owner's (AES-GCM authenticates it); any
        // disagreement with the public key means the public part was replaced. The SDK's form
        // seals nothing else, so this is what catches a substituted `pk` there.
        let secret_key = parse_secret_key(&public.public_key, &sk_json).map_err(|e| {
            altered(format!(
                "its public key does not match its secret key ({})",
                match e {
                    Error::MalformedContext(why) => why,
                    other => other.to_string(),
                }
            ))
        })?;
        let context = Self::from_keys(public, secret_key, provider, file_format)?;
        // A configuration changed in the SDK's form, or a whole other context sealed under the
        // same passphrase: it opens, but as another id.
        if context.id() != context_id {
            return Err(altered(format!("it opens as context {}", context.id())));
        }
        Ok(context)
    }

    /// [`from_stored_json`](Self::from_stored_json) with a passphrase.
    pub fn from_stored_json_with_passphrase(
        json: &str,
        context_id: &str,
        passphrase: &str,
    ) -> Result<Self> {
        Self::from_stored_json(
            json,
            context_id,
            &PassphraseKeyProvider::with_salt(passphrase, SDK_DEFAULT_SALT),
        )
    }
}

impl ExecutionContext {
    /// Whether `json`, what a service holds under this context's id, is this context: it opens
    /// with this context's key provider as [`from_stored_json`](Self::from_stored_json) requires
    /// (so it is the id's own context, not a substitute) and holds the same public key. Each
    /// sealing of the secret key draws a new nonce, so two pushes of one context differ in
    /// bytes; a service that keeps the first bytes under an id answers the second with a
    /// conflict, and this says whether that conflict is only a sealing of the same context.
    pub fn is_stored_as(&self, json: &str) -> bool {
        Self::from_stored_json(json, self.id(), self.key_provider().as_ref()).is_ok_and(|stored| {
            stored.public().public_key().fingerprint() == self.public().public_key().fingerprint()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ContextOptions {
        ContextOptions {
            key_len: 256,
            embed_len: 8,
            allow_insecure: true,
            ..ContextOptions::default()
        }
    }

    /// `json` with its `field` replaced by `other`'s.
    fn with_field_of(json: &str, other: &str, field: &str) -> String {
        let mut map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).unwrap();
        let theirs: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(other).unwrap();
        map.insert(field.into(), theirs[field].clone());
        serde_json::to_string(&map).unwrap()
    }

    #[test]
    fn a_substituted_public_key_is_refused_in_both_forms_and_the_genuine_one_opens() {
        for form in [FileFormat::Authenticated, FileFormat::Sdk] {
            let owner = ExecutionContext::create_with_passphrase(&options(), "pw")
                .unwrap()
                .with_file_format(form);
            let attacker = ExecutionContext::create_with_passphrase(&options(), "theirs")
                .unwrap()
                .with_file_format(form);
            let json = owner.to_json().unwrap();
            let opened =
                ExecutionContext::from_stored_json_with_passphrase(&json, owner.id(), "pw")
                    .unwrap();
            assert_eq!(opened.id(), owner.id());
            let forged = with_field_of(&json, &attacker.to_json().unwrap(), "pk");
            match ExecutionContext::from_stored_json_with_passphrase(&forged, owner.id(), "pw") {
                Err(Error::ContextAltered { context_id, reason }) => {
                    assert_eq!(context_id, owner.id(), "{form:?}");
                    assert!(reason.contains("public key"), "{form:?}: {reason}");
                }
                other => panic!("{form:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn another_sealing_of_the_same_context_is_the_stored_one_and_another_context_is_not() {
        let owner = ExecutionContext::create_with_passphrase(&options(), "pw").unwrap();
        let other = ExecutionContext::create_with_passphrase(&options(), "pw").unwrap();
        let first = owner.to_json().unwrap();
        assert_ne!(first, owner.to_json().unwrap(), "each sealing differs");
        assert!(owner.is_stored_as(&first));
        let reopened = ExecutionContext::from_json_with_passphrase(&first, "pw").unwrap();
        assert!(reopened.is_stored_as(&owner.to_json().unwrap()));
        assert!(!other.is_stored_as(&first));
        assert!(!owner.is_stored_as("{}"));
        let forged = with_field_of(&first, &other.to_json().unwrap(), "pk");
        assert!(!owner.is_stored_as(&forged));
    }
}
