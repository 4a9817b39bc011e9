//! The SDK's JSON for keys, and the context id computed over it.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::format::{field, parse_integer, parse_object, py_json_object, py_json_string};
use super::*;
use crate::error::{Error, Result};
use crate::paillier::{PublicKey, Scheme, SchemeSecrets, SecretKey};

pub(super) fn public_key_json(pk: &PublicKey) -> String {
    match pk.scheme() {
        // Decimal strings for the classic scheme, bare numbers for the lookup scheme: the SDK's.
        Scheme::Paillier => py_json_object(&[
            ("g", py_json_string(&pk.g().to_string())),
            ("n", py_json_string(&pk.n().to_string())),
            ("n_squared", py_json_string(&pk.n_squared().to_string())),
        ]),
        Scheme::PaillierLookup => py_json_object(&[
            ("g", pk.g().to_string()),
            ("n", pk.n().to_string()),
            ("n_squared", pk.n_squared().to_string()),
            ("g_n", pk.g_n().map(ToString::to_string).unwrap_or_default()),
        ]),
    }
}

pub(super) fn secret_key_json(sk: &SecretKey) -> Zeroizing<String> {
    Zeroizing::new(match sk.secrets() {
        SchemeSecrets::Classic { inv } => py_json_object(&[
            ("phi", py_json_string(&sk.phi().to_string())),
            ("inv", py_json_string(&inv.to_string())),
        ]),
        SchemeSecrets::Lookup { a, g_a_inv } => py_json_object(&[
            ("phi", sk.phi().to_string()),
            ("a", a.to_string()),
            ("g_a_inv", g_a_inv.to_string()),
        ]),
    })
}

pub(super) fn parse_public_key(config: &ContextConfig, json: &str) -> Result<PublicKey> {
    let map = parse_object(json, "pk")?;
    let n = parse_integer(field(&map, "n", "pk")?, "pk n")?;
    if let Some(n_squared) = map.get("n_squared") {
        if parse_integer(n_squared, "pk n_squared")? != &n * &n {
            return Err(Error::MalformedContext("pk n_squared is not n^2".into()));
        }
    }
    let g = parse_integer(field(&map, "g", "pk")?, "pk g")?;
    match config.scheme {
        Scheme::Paillier => {
            if g != &n + 1u32 {
                return Err(Error::MalformedContext(
                    "pk g is not n + 1 for a PaillierClient context".into(),
                ));
            }
            PublicKey::paillier(config.key_len, n)
        }
        Scheme::PaillierLookup => {
            let g_n = parse_integer(field(&map, "g_n", "pk")?, "pk g_n")?;
            PublicKey::paillier_lookup(config.key_len, config.alpha_len.unwrap_or(0), n, g, g_n)
        }
    }
}

pub(super) fn parse_secret_key(pk: &PublicKey, json: &str) -> Result<SecretKey> {
    let map = parse_object(json, "sk")?;
    let phi = parse_integer(field(&map, "phi", "sk")?, "sk phi")?;
    match pk.scheme() {
        Scheme::Paillier => {
            let inv = parse_integer(field(&map, "inv", "sk")?, "sk inv")?;
            SecretKey::paillier(pk, phi, inv)
        }
        Scheme::PaillierLookup => {
            let a = parse_integer(field(&map, "a", "sk")?, "sk a")?;
            let g_a_inv = parse_integer(field(&map, "g_a_inv", "sk")?, "sk g_a_inv")?;
            SecretKey::paillier_lookup(pk, phi, a, g_a_inv)
        }
    }
}

/// hex SHA-256 of Python's `json.dumps({"sk": sk, "pk": pk, "type": type, "config": config})`.
pub(super) fn context_id(
    sk_json: &str,
    pk_json: &str,
    type_name: &str,
    config_json: &str,
) -> String {
    let plain = Zeroizing::new(py_json_object(&[
        ("sk", py_json_string(sk_json)),
        ("pk", py_json_string(pk_json)),
        ("type", py_json_string(type_name)),
        ("config", py_json_string(config_json)),
    ]));
    let digest = Sha256::digest(plain.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
