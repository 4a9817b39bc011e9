//! Contexts' parameters and parts: weak parameters refused when a context is made, the public
//! part and its file, clones, a scrypt cost the SDK cannot read, and the opt-in to insecure
//! parameters. The file format itself is in `context_file.rs`.

use crate::common;

use common::{small_context, small_options, SCHEMES};
use paillier_gpu::context::{FileFormat, PassphraseKeyProvider};
use paillier_gpu::{ContextOptions, Device, Error, ExecutionContext, PublicContext, Scheme};
use serde_json::Value;

#[test]
fn new_contexts_refuse_weak_parameters() {
    let weak_key = ContextOptions {
        key_len: 512,
        ..Default::default()
    };
    assert!(matches!(
        ExecutionContext::create_with_passphrase(&weak_key, "p"),
        Err(Error::InsecureParameters(_))
    ));
    let weak_alpha = ContextOptions {
        scheme: Scheme::PaillierLookup,
        alpha_len: 50,
        ..Default::default()
    };
    assert!(matches!(
        ExecutionContext::create_with_passphrase(&weak_alpha, "p"),
        Err(Error::InsecureParameters(_))
    ));
    let no_dims = ContextOptions {
        embed_len: 0,
        ..small_options(Scheme::Paillier, 40)
    };
    assert!(matches!(
        ExecutionContext::create_with_passphrase(&no_dims, "p"),
        Err(Error::InvalidParameter(_))
    ));
}

/// The public part alone: what `to_json` gives holds no secret, and reads back to the same key
/// and configuration.
#[test]
fn a_public_context_round_trips_through_its_public_json() {
    for scheme in SCHEMES {
        let ctx = small_context(scheme);
        let public = PublicContext::from_public_json(&ctx.to_json().unwrap()).unwrap();
        let json = public.to_public_json();
        let fields: serde_json::Map<String, Value> = serde_json::from_str(&json).unwrap();
        let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["config", "pk", "type"], "{scheme:?}");
        let again = PublicContext::from_public_json(&json).unwrap();
        assert_eq!(again.public_key(), ctx.public().public_key(), "{scheme:?}");
        assert_eq!(again.config(), ctx.public().config(), "{scheme:?}");
    }
}

/// An execution context's public part is the one its file gives.
#[test]
fn an_execution_context_hands_out_its_public_part() {
    for scheme in SCHEMES {
        let ctx = small_context(scheme);
        let public = ctx.public_context();
        let from_file = PublicContext::from_public_json(&ctx.to_json().unwrap()).unwrap();
        assert_eq!(
            public.to_public_json(),
            from_file.to_public_json(),
            "{scheme:?}"
        );
        assert_eq!(public.public_key(), ctx.public().public_key(), "{scheme:?}");
    }
}

/// A passphrase with a stronger scrypt cost has no SDK form: the SDK would take the cost tag for
/// salt and derive another key, so writing that form is refused rather than made unreadable.
#[test]
fn a_strong_scrypt_cost_has_no_sdk_form() {
    use paillier_gpu::context::ScryptCost;
    let provider = PassphraseKeyProvider::with_cost("p", ScryptCost::STRONG).unwrap();
    let ctx = ExecutionContext::create(
        &small_options(Scheme::Paillier, 8),
        std::sync::Arc::new(provider),
    )
    .unwrap();
    assert!(ctx.to_json().is_ok());
    let sdk = ctx.with_file_format(FileFormat::Sdk);
    assert!(
        matches!(sdk.to_json(), Err(Error::InvalidParameter(ref why)) if why.contains("scrypt")),
        "{:?}",
        sdk.to_json()
    );
}

/// A backend that counts the encryptions it runs by who runs them (the owner modulo p² and q²,
/// or the public key modulo n²), then runs them on the CPU.
#[derive(Debug, Default)]
struct CountingBackend {
    owner: std::sync::atomic::AtomicUsize,
    public: std::sync::atomic::AtomicUsize,
}

impl CountingBackend {
    /// (owner, public) encryptions since the last call.
    fn take(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.owner.swap(0, Relaxed), self.public.swap(0, Relaxed))
    }
}

impl paillier_gpu::hazmat::backend::Backend for CountingBackend {
    fn device(&self) -> Device {
        Device::Cpu
    }

    fn run(
        &self,
        operation: &paillier_gpu::hazmat::backend::Operation<'_>,
    ) -> paillier_gpu::hazmat::Result<paillier_gpu::hazmat::backend::Output> {
        use paillier_gpu::hazmat::backend::{Operation, Residues};
        use std::sync::atomic::Ordering::Relaxed;
        if let Operation::Encrypt(job) = operation {
            match job.residues {
                Residues::PrimeSquares { .. } => self.owner.fetch_add(1, Relaxed),
                Residues::NSquared(_) => self.public.fetch_add(1, Relaxed),
            };
        }
        paillier_gpu::hazmat::backend::cpu::CpuBackend::shared().run(operation)
    }
}

/// An encryption of vectors by one of the contexts compared.
type Encrypt<'a> = Box<dyn Fn(&[Vec<u8>]) -> paillier_gpu::paillier::CiphertextBatch + 'a>;

/// A clone is the same context: an execution context's clone encrypts as the owner, as the
/// context does; a clone of the public part it dereferences to (and `public_context()`)
/// encrypts with the public key, as that part does; each is equal to what it was cloned from,
/// and every encryption decodes to the same distances. The secret key is never copied: the
/// public part holds none, and dropping the context leaves its public clones working.
#[test]
fn a_clone_is_the_same_context() {
    use paillier_gpu::paillier::CiphertextBatch;
    use paillier_gpu::Selection;
    use std::sync::Arc;
    for scheme in SCHEMES {
        let counting = Arc::new(CountingBackend::default());
        let ctx = ExecutionContext::create_with_passphrase(&small_options(scheme, 16), "p")
            .unwrap()
            .with_backend(counting.clone());
        let database = [vec![0u8; 16], vec![1u8; 16], [[0u8, 1]; 8].concat()];
        let query = vec![1u8; 16];
        // Distances of `query`'s encryption against `records`, decoded by the owner.
        let distances = |records: &CiphertextBatch, query: &CiphertextBatch| {
            let mut index = ctx.new_index().unwrap();
            index.insert_batch(records).unwrap();
            let responses = index.aggregate_batch(query, &Selection::All).unwrap();
            ctx.decode_batch(&responses).unwrap()
        };
        let expected = vec![16, 0, 8];
        let public: &PublicContext = ctx.public();
        // Who encrypts, and whether as the owner.
        let clones: Vec<(&str, Encrypt<'_>, bool)> = vec![
            (
                "the context",
                Box::new(|v| ctx.encrypt_batch(v).unwrap()),
                true,
            ),
            (
                "its clone",
                Box::new(|v| ctx.clone().encrypt_batch(v).unwrap()),
                true,
            ),
            (
                "its public part",
                Box::new(|v| public.encrypt_batch(v).unwrap()),
                false,
            ),
            (
                "a clone of its public part",
                Box::new(|v| public.clone().encrypt_batch(v).unwrap()),
                false,
            ),
            (
                "public_context()",
                Box::new(|v| ctx.public_context().encrypt_batch(v).unwrap()),
                false,
            ),
        ];
        for (what, encrypt, as_owner) in &clones {
            counting.take();
            let records = encrypt(&database);
            let encrypted_query = encrypt(std::slice::from_ref(&query));
            let (owner, public) = counting.take();
            assert_eq!(
                (owner > 0, public > 0),
                (*as_owner, !as_owner),
                "{scheme:?}, {what}: {owner} encryptions as the owner, {public} with the public key"
            );
            assert_eq!(
                distances(&records, &encrypted_query),
                expected,
                "{scheme:?}, {what}"
            );
        }
        // Each clone equals what it was cloned from.
        assert_eq!(ctx.clone(), ctx);
        assert_eq!(public.clone(), *public);
        assert_eq!(ctx.public_context(), *public);
        assert_eq!(format!("{:?}", public.clone()), format!("{public:?}"));

        // The public part holds no secret: cloning it shares nothing of the secret key, which
        // only the execution context (and its own clones) hold.
        assert_eq!(Arc::strong_count(ctx.secret_key()), 1);
        let public_clone = public.clone();
        assert_eq!(Arc::strong_count(ctx.secret_key()), 1);
        let twin = ctx.clone();
        assert_eq!(Arc::strong_count(ctx.secret_key()), 2);
        drop(twin);
        let weak = Arc::downgrade(ctx.secret_key());
        drop(clones);
        drop(ctx);
        assert!(
            weak.upgrade().is_none(),
            "{scheme:?}: the secret key outlived its context"
        );
        // The public clone still encrypts, with the public key.
        counting.take();
        public_clone.encrypt_batch(&database).unwrap();
        assert_eq!(counting.take().0, 0, "{scheme:?}");
    }
}

/// Insecure parameters are allowed when a context is built, never by changing a key others hold:
/// a weak lookup context read from its file refuses public-key encryption until it is built
/// with them allowed, and a clone made before keeps refusing. The owner's own encryption never
/// depends on it.
#[test]
fn insecure_parameters_are_allowed_when_a_context_is_built() {
    let ctx = small_context(Scheme::PaillierLookup);
    let vectors = [vec![1u8; 64]];
    let refused = |result: paillier_gpu::Result<_>| matches!(result, Err(Error::InsecureParameters(ref why)) if why.contains("alpha_len 64"));
    let public = PublicContext::from_public_json(&ctx.public().to_public_json()).unwrap();
    assert!(refused(public.encrypt_batch(&vectors)));
    let before = public.clone();
    let allowed = public.with_insecure_parameters_allowed();
    assert!(allowed.public_key().insecure_parameters_allowed());
    assert!(allowed.encrypt_batch(&vectors).is_ok());
    assert!(!before.public_key().insecure_parameters_allowed());
    assert!(refused(before.encrypt_batch(&vectors)));
    assert_eq!(allowed, before, "the same context either way");

    let loaded =
        ExecutionContext::from_json_with_passphrase(&ctx.to_json().unwrap(), "test passphrase")
            .unwrap();
    assert!(
        loaded.encrypt_batch(&vectors).is_ok(),
        "the owner's encryption"
    );
    assert!(refused(loaded.public_context().encrypt_batch(&vectors)));
    let loaded = loaded.with_insecure_parameters_allowed();
    assert!(loaded.public_context().encrypt_batch(&vectors).is_ok());
}
