//! Helpers shared by the integration tests, the library's and the program's
//! (`crates/cli/tests`, which add their own in `crates/cli/tests/support`).
#![allow(dead_code)]

#[cfg(feature = "gpu")]
pub mod gpu;

use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use paillier_gpu::hamming::EncryptedVector;
use paillier_gpu::paillier::{
    generate_keypair, Ciphertext, CiphertextBatch, KeyGenOptions, PublicKey, SecretKey,
};
use serde_json::Value;

/// One classic (`g = n + 1`) key pair of 256 bits per test binary, for the number tests.
pub fn classic_keys() -> &'static (Arc<PublicKey>, SecretKey) {
    static KEYS: OnceLock<(Arc<PublicKey>, SecretKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (pk, sk) =
            generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
        (Arc::new(pk), sk)
    })
}

/// One case of the Python SDK's reference file.
pub struct SdkCase {
    pub name: String,
    pub passphrase: String,
    /// The context file's JSON, as the SDK's save_to_disk writes it.
    pub context_json: String,
    pub context_id: String,
    pub embed_len: usize,
    pub database: Vec<Vec<u8>>,
    pub query: Vec<u8>,
    pub enc_database: Vec<EncryptedVector>,
    pub enc_query: EncryptedVector,
    pub aggregated: Vec<EncryptedVector>,
    pub hamming: Vec<u32>,
}

/// The repository's root (the workspace's, which holds Cargo.lock), whichever crate's tests
/// include this file.
pub fn repo_root() -> &'static std::path::Path {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|folder| folder.join("Cargo.lock").exists())
        .unwrap_or(here)
}

/// The same file from the working directory: test binaries carried to a GPU machine run from
/// the repository's root there (`tools/gpu-tests.sh`), not where they were built.
const FIXTURES_HERE: &str = "tests/fixtures/xtrace_reference.json";

fn vector(v: &Value) -> EncryptedVector {
    EncryptedVector::new(
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| Ciphertext::from_le_bytes(&BASE64.decode(c.as_str().unwrap()).unwrap()))
            .collect(),
    )
}

/// The SDK's per-vector ciphertexts as one batch under `public_key`, as they enter the library.
pub fn sdk_batch(public_key: &PublicKey, vectors: &[EncryptedVector]) -> CiphertextBatch {
    let chunks = vectors.first().map_or(1, |v| v.chunks.len());
    EncryptedVector::to_batch(public_key, chunks, vectors).unwrap()
}

fn bits(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect()
}

pub fn sdk_cases() -> Vec<SdkCase> {
    let text = std::fs::read_to_string(repo_root().join(FIXTURES_HERE))
        .or_else(|_| std::fs::read_to_string(FIXTURES_HERE))
        .unwrap();
    let all: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    all.into_iter()
        .map(|(name, case)| SdkCase {
            passphrase: case["passphrase"].as_str().unwrap().to_owned(),
            context_json: serde_json::to_string(&case["context"]).unwrap(),
            context_id: case["context_id"].as_str().unwrap().to_owned(),
            embed_len: case["embed_len"].as_u64().unwrap() as usize,
            database: case["database"]
                .as_array()
                .unwrap()
                .iter()
                .map(bits)
                .collect(),
            query: bits(&case["query"]),
            enc_database: case["enc_database_le_b64"]
                .as_array()
                .unwrap()
                .iter()
                .map(vector)
                .collect(),
            enc_query: vector(&case["enc_query_le_b64"]),
            aggregated: case["aggregated_le_b64"]
                .as_array()
                .unwrap()
                .iter()
                .map(vector)
                .collect(),
            hamming: case["hamming"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_u64().unwrap() as u32)
                .collect(),
            name,
        })
        .collect()
}

/// The Hamming distance computed directly.
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as u32
}

use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};

/// A small INSECURE context (fast keys) per scheme, shared by a test binary.
pub fn small_context(scheme: Scheme) -> &'static ExecutionContext {
    static CLASSIC: OnceLock<ExecutionContext> = OnceLock::new();
    static LOOKUP: OnceLock<ExecutionContext> = OnceLock::new();
    let cell = match scheme {
        Scheme::Paillier => &CLASSIC,
        Scheme::PaillierLookup => &LOOKUP,
    };
    cell.get_or_init(|| {
        ExecutionContext::create_with_passphrase(&small_options(scheme, 64), "test passphrase")
            .unwrap()
    })
}

/// Options of a small INSECURE context: key_len 256, alpha_len 64, `embed_len` dimensions.
pub fn small_options(scheme: Scheme, embed_len: usize) -> ContextOptions {
    ContextOptions {
        scheme,
        key_len: 256,
        embed_len,
        alpha_len: 64,
        allow_insecure: true,
        ..ContextOptions::default()
    }
}

/// An integer of a context file: a JSON number or a decimal string (the SDK writes both).
pub fn json_int(v: &Value) -> num_bigint::BigUint {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.to_string().parse().unwrap(),
    }
}

pub const SCHEMES: [Scheme; 2] = [Scheme::Paillier, Scheme::PaillierLookup];

/// Bytes of a C-order 2-D `.npy` file with one-byte elements of `descr` (`|u1`, `|i1`, `|b1`).
pub fn npy_bytes(descr: &str, rows: usize, cols: usize, data: &[u8], fortran: bool) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': ({rows}, {cols}), }}",
        if fortran { "True" } else { "False" }
    );
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Gives Mesa the private runtime folder it wants (as the binary does for itself) when
/// XDG_RUNTIME_DIR is unset, so that its "XDG_RUNTIME_DIR is invalid" does not fill the test
/// output. Every test that opens an adapter calls this (or [`gpu_required`]) first.
pub fn quiet_mesa() {
    static RUNTIME_DIR: std::sync::Once = std::sync::Once::new();
    RUNTIME_DIR.call_once(|| {
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            let dir =
                std::env::temp_dir().join(format!("paillier-gpu-tests-{}", std::process::id()));
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
            }
            std::env::set_var("XDG_RUNTIME_DIR", dir);
        }
    });
}

/// True when `PAILLIER_GPU_REQUIRE_ADAPTER=1`: GPU tests must then fail, not skip, without one.
/// Calls [`quiet_mesa`]: every GPU helper calls this before opening an adapter.
pub fn gpu_required() -> bool {
    quiet_mesa();
    std::env::var("PAILLIER_GPU_REQUIRE_ADAPTER").is_ok_and(|v| v == "1")
}

/// The process-wide GPU backend, or None (with the reason printed) when no adapter answers and
/// none is required.
#[cfg(feature = "gpu")]
pub fn shared_gpu() -> Option<std::sync::Arc<paillier_gpu::hazmat::backend::gpu::GpuBackend>> {
    let required = gpu_required();
    match paillier_gpu::hazmat::backend::gpu::GpuBackend::shared() {
        Ok(gpu) => Some(gpu),
        Err(e) if required => panic!("PAILLIER_GPU_REQUIRE_ADAPTER=1 but no GPU: {e}"),
        Err(e) => {
            eprintln!("skipping the GPU part: {e}");
            None
        }
    }
}

/// A backend like [`shared_gpu`]'s but the caller's own, or None as there: its call and byte
/// counts are the caller's alone, which the shared one's are not while other tests run beside it.
#[cfg(feature = "gpu")]
pub fn own_gpu() -> Option<std::sync::Arc<paillier_gpu::hazmat::backend::gpu::GpuBackend>> {
    use paillier_gpu::hazmat::backend::gpu::{GpuBackend, GpuOptions};
    let required = gpu_required();
    match GpuBackend::new(&GpuOptions::default()) {
        Ok(gpu) => Some(std::sync::Arc::new(gpu)),
        Err(e) if required => panic!("PAILLIER_GPU_REQUIRE_ADAPTER=1 but no GPU: {e}"),
        Err(e) => {
            eprintln!("skipping the GPU part: {e}");
            None
        }
    }
}

use num_bigint::RandBigInt;
use paillier_gpu::hazmat::backend::{Exponents, LimbBatch, Secrecy};
use paillier_gpu::hazmat::bigint::MontgomeryModulus;
use rand::rngs::StdRng;

/// A random odd modulus of exactly `bits` bits.
pub fn modulus(rng: &mut StdRng, bits: u64) -> MontgomeryModulus {
    let mut m = rng.gen_biguint(bits);
    m.set_bit(bits - 1, true);
    m.set_bit(0, true);
    MontgomeryModulus::new(&m).unwrap()
}

/// `count` random residues below `m`.
pub fn batch(rng: &mut StdRng, m: &MontgomeryModulus, count: usize) -> LimbBatch {
    let mut b = LimbBatch::new(m.len());
    let modulus = m.modulus();
    for _ in 0..count {
        b.push(&m.limbs_of(&rng.gen_biguint_below(&modulus)).unwrap())
            .unwrap();
    }
    b
}

/// `count` random public exponents of at most `bits` bits.
pub fn exponents(rng: &mut StdRng, count: usize, bits: usize) -> Exponents {
    let limbs = bits.div_ceil(64).max(1);
    let mut values = LimbBatch::new(limbs);
    for _ in 0..count {
        let mut e = rng.gen_biguint(bits as u64).to_u64_digits();
        e.resize(limbs, 0);
        values.push(&e).unwrap();
    }
    Exponents {
        values,
        bits,
        secrecy: Secrecy::Public,
    }
}

/// Odd, coprime p and q of `bits` bits each (primality is not needed by the arithmetic).
pub fn odd_pair(
    rng: &mut rand::rngs::StdRng,
    bits: u64,
) -> (num_bigint::BigUint, num_bigint::BigUint) {
    loop {
        let mut p = num_bigint::RandBigInt::gen_biguint(rng, bits);
        let mut q = num_bigint::RandBigInt::gen_biguint(rng, bits);
        for x in [&mut p, &mut q] {
            x.set_bit(bits - 1, true);
            x.set_bit(0, true);
        }
        if num_integer::Integer::gcd(&p, &q) == 1u32.into() && p != q {
            return (p, q);
        }
    }
}
