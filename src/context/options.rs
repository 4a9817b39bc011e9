//! What a new context is made of, and the configuration a context file stores.

use super::format::{field, parse_object, parse_usize, py_json_object};
use crate::error::{Error, Result};
use crate::hamming::VectorLayout;
use crate::hazmat::backend::Device;
use crate::paillier::{Scheme, MIN_SECURE_ALPHA_LEN, MIN_SECURE_KEY_LEN};

/// What a new context is made of.
#[derive(Clone, Debug)]
pub struct ContextOptions {
    /// `Paillier` (the default) or `PaillierLookup`.
    pub scheme: Scheme,
    /// Bits of each prime: 1024 by default (a 2048-bit n). Below 1024 needs `allow_insecure`.
    pub key_len: usize,
    /// Dimensions of the binary vectors: 512 by default.
    pub embed_len: usize,
    /// Lookup scheme only: bits of the noise subgroup order, at least 512 unless insecure.
    pub alpha_len: usize,
    /// Permit parameters below the secure minimums. For tests only.
    pub allow_insecure: bool,
    /// The compute device (not part of the id). Defaults to `Cpu`; the library never reads the
    /// environment (the CLI's `--device` and `PAILLIER_GPU_DEVICE` are the binary's).
    pub device: Device,
}

impl Default for ContextOptions {
    fn default() -> Self {
        Self {
            scheme: Scheme::Paillier,
            key_len: MIN_SECURE_KEY_LEN,
            embed_len: 512,
            alpha_len: MIN_SECURE_ALPHA_LEN,
            allow_insecure: false,
            device: Device::Cpu,
        }
    }
}

/// A context's configuration as stored in its `config` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextConfig {
    /// The scheme (from the context `type`).
    pub scheme: Scheme,
    /// Bits of each prime.
    pub key_len: usize,
    /// Dimensions of the vectors.
    pub embed_len: usize,
    /// Lookup scheme: bits of `a`.
    pub alpha_len: Option<usize>,
}

impl ContextConfig {
    /// Lookup scheme: 8-bit windows of a `2·key_len`-bit plaintext (the SDK's table rows).
    pub fn message_chunks(&self) -> usize {
        (2 * self.key_len).div_ceil(8)
    }

    /// The `config` JSON string, as the SDK writes it.
    pub fn to_json(&self) -> String {
        match self.scheme {
            Scheme::Paillier => py_json_object(&[
                ("embed_len", self.embed_len.to_string()),
                ("key_len", self.key_len.to_string()),
            ]),
            Scheme::PaillierLookup => py_json_object(&[
                ("message_chunks", self.message_chunks().to_string()),
                ("alpha_len", self.alpha_len.unwrap_or(0).to_string()),
                ("embed_len", self.embed_len.to_string()),
                ("key_len", self.key_len.to_string()),
            ]),
        }
    }

    pub(super) fn parse(scheme: Scheme, json: &str) -> Result<Self> {
        let map = parse_object(json, "config")?;
        let key_len = parse_usize(field(&map, "key_len", "config")?, "config key_len")?;
        let embed_len = parse_usize(field(&map, "embed_len", "config")?, "config embed_len")?;
        let alpha_len = match scheme {
            Scheme::Paillier => None,
            Scheme::PaillierLookup => Some(parse_usize(
                field(&map, "alpha_len", "config")?,
                "config alpha_len",
            )?),
        };
        let config = Self {
            scheme,
            key_len,
            embed_len,
            alpha_len,
        };
        if scheme == Scheme::PaillierLookup {
            if let Some(value) = map.get("message_chunks") {
                let chunks = parse_usize(value, "config message_chunks")?;
                if chunks != config.message_chunks() {
                    return Err(Error::MalformedContext(format!(
                        "config message_chunks {chunks} does not match key_len {key_len}"
                    )));
                }
            }
        }
        VectorLayout::new(embed_len, key_len.max(2))
            .map_err(|e| Error::MalformedContext(format!("config: {e}")))?;
        Ok(config)
    }
}

impl ContextConfig {
    /// What makes this configuration weak, one sentence each (empty for a sound one): a lookup
    /// `alpha_len` below [`MIN_SECURE_ALPHA_LEN`], a `key_len` below [`MIN_SECURE_KEY_LEN`].
    /// Loading such a context logs each as a warning; the Python package raises them through
    /// `warnings`.
    pub fn weaknesses(&self) -> Vec<String> {
        let mut found = Vec::new();
        if let Some(alpha) = self.alpha_len {
            if alpha < MIN_SECURE_ALPHA_LEN / 2 {
                found.push(format!(
                    "this lookup context has alpha_len {alpha} (< {MIN_SECURE_ALPHA_LEN}): its \
                     secret key can be recovered from the public key by a baby-step giant-step \
                     search over the ~2^{} subgroup; create a new context and re-encrypt",
                    alpha / 2
                ));
            } else if alpha < MIN_SECURE_ALPHA_LEN {
                found.push(format!(
                    "this lookup context has alpha_len {alpha} (< {MIN_SECURE_ALPHA_LEN}): the \
                     subgroup attack of Coron et al. (PKC 2011) recovers its secret key from the \
                     public key in about 2^{} operations, below 128-bit security; create a new \
                     context and re-encrypt",
                    crate::paillier::lookup_attack_work_bits(alpha)
                ));
            }
        }
        if self.key_len < MIN_SECURE_KEY_LEN {
            found.push(format!(
                "this context has key_len {} (< {MIN_SECURE_KEY_LEN}): n can be factored; use it \
                 for tests only",
                self.key_len
            ));
        }
        found
    }
}

pub(super) fn warn_if_weak(config: &ContextConfig) {
    for weakness in config.weaknesses() {
        log::warn!("{weakness}");
    }
}
