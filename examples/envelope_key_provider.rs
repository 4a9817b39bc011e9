//! A user-written envelope (KMS-style) key provider.
//!
//! A "key management service" holds a master key that never leaves it. Each context gets a fresh
//! random data key; the file stores only that data key encrypted under the master key
//! (`wrapped_key`). Loading asks the service to unwrap it. Here the service is simulated
//! in-process with AES-256-GCM; a real one would call AWS KMS, GCP KMS, Vault ...
//!
//! ```text
//! cargo run --release --example envelope_key_provider
//! ```

use std::sync::Arc;

use paillier_gpu::context::{aes, DataKey, KeyProvider};
use paillier_gpu::{ContextOptions, Error, ExecutionContext, Result};

/// Stand-in for a remote KMS: wraps and unwraps data keys under a master key it keeps.
struct SimulatedKms {
    master_key: DataKey,
}

impl SimulatedKms {
    fn wrap(&self, key: &DataKey) -> Result<Vec<u8>> {
        Ok(aes::encrypt(&self.master_key, key.as_bytes())?.into_bytes())
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey> {
        let text = std::str::from_utf8(wrapped)
            .map_err(|_| Error::KeyProvider("wrapped key is not text".into()))?;
        let bytes = aes::decrypt(&self.master_key, text)
            .map_err(|_| Error::KeyProvider("the KMS refused to unwrap this data key".into()))?;
        let array: [u8; 32] = bytes[..]
            .try_into()
            .map_err(|_| Error::KeyProvider("unwrapped data key is not 32 bytes".into()))?;
        Ok(DataKey::new(array))
    }
}

/// The provider: a KMS handle plus, once created or unwrapped, a data key and its wrapped form.
struct EnvelopeKeyProvider {
    kms: Arc<SimulatedKms>,
    key: Option<(DataKey, Vec<u8>)>,
}

impl EnvelopeKeyProvider {
    /// A provider with a fresh data key (for a new context).
    fn create(kms: Arc<SimulatedKms>) -> Result<Self> {
        let key = DataKey::random();
        let wrapped = kms.wrap(&key)?;
        Ok(Self {
            kms,
            key: Some((key, wrapped)),
        })
    }

    /// A provider that can only unwrap (for loading).
    fn for_loading(kms: Arc<SimulatedKms>) -> Self {
        Self { kms, key: None }
    }
}

impl KeyProvider for EnvelopeKeyProvider {
    fn provider_id(&self) -> &str {
        "simulated_kms"
    }

    fn data_key(&self) -> Result<DataKey> {
        self.key
            .as_ref()
            .map(|(k, _)| k.clone())
            .ok_or_else(|| Error::KeyProvider("no data key: use reconstruct".into()))
    }

    fn wrapped_key(&self) -> Vec<u8> {
        self.key
            .as_ref()
            .map(|(_, w)| w.clone())
            .unwrap_or_default()
    }

    fn reconstruct(&self, wrapped: &[u8]) -> Result<Box<dyn KeyProvider>> {
        let key = self.kms.unwrap(wrapped)?;
        Ok(Box::new(Self {
            kms: self.kms.clone(),
            key: Some((key, wrapped.to_vec())),
        }))
    }
}

fn main() -> Result<()> {
    let kms = Arc::new(SimulatedKms {
        master_key: DataKey::random(),
    });
    let options = ContextOptions {
        key_len: 512,
        embed_len: 64,
        allow_insecure: true,
        ..Default::default()
    };
    let ctx = ExecutionContext::create(
        &options,
        Arc::new(EnvelopeKeyProvider::create(kms.clone())?),
    )?;
    let json = ctx.to_json()?;
    println!(
        "saved context {} with key_provider \"simulated_kms\"",
        &ctx.id()[..16]
    );

    let loaded = ExecutionContext::from_json(&json, &EnvelopeKeyProvider::for_loading(kms))?;
    assert_eq!(loaded, ctx);
    println!(
        "loaded it back through the KMS: same id {}",
        &loaded.id()[..16]
    );

    let other_kms = Arc::new(SimulatedKms {
        master_key: DataKey::random(),
    });
    match ExecutionContext::from_json(&json, &EnvelopeKeyProvider::for_loading(other_kms)) {
        Err(e) => println!("another KMS cannot open it: {e}"),
        Ok(_) => return Err(Error::KeyProvider("another KMS opened the context".into())),
    }
    Ok(())
}
