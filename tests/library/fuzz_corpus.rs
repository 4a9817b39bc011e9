//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same entry points the
//! fuzz targets use, so every input the fuzzer ever kept is rechecked by `cargo test`.
//!
//! `cargo test --release --test library fuzz_corpus:: -- --ignored` rewrites the hand-made seeds (`seed-*`)
//! from the SDK fixtures and small contexts.

use crate::common;

use std::path::{Path, PathBuf};

use common::sdk_cases;
use paillier_gpu::context::{DataKey, RawKeyProvider};
use paillier_gpu::formats::ciphertexts::{self, CiphertextShape};
use paillier_gpu::formats::numbers;
use paillier_gpu::fuzzing;
use paillier_gpu::{ContextOptions, ExecutionContext, PublicContext};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 8] = [
    ("context_file", fuzzing::context_file),
    ("ciphertexts_jsonl", fuzzing::ciphertexts_jsonl),
    ("ciphertexts_binary", fuzzing::ciphertexts_binary),
    ("vectors_jsonl", fuzzing::vectors_jsonl),
    ("vectors_npy", fuzzing::vectors_npy),
    ("lookup_tables", fuzzing::lookup_tables),
    ("numbers_encrypted", fuzzing::numbers_encrypted),
    ("numbers_plain", fuzzing::numbers_plain),
];

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

#[test]
fn the_fuzz_corpus_replays_without_a_panic() {
    let mut total = 0;
    for (target, run) in TARGETS {
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(corpus(target))
            .unwrap_or_else(|e| panic!("fuzz/corpus/{target}: {e}"))
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        assert!(
            inputs.iter().any(|p| p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))),
            "{target}: no seed"
        );
        for input in &inputs {
            run(&std::fs::read(input).unwrap());
        }
        total += inputs.len();
        eprintln!("{target}: {} inputs", inputs.len());
    }
    eprintln!("replayed {total} inputs");
}

/// The seeds reach past the first checks: a seed must parse where the target is about a valid
/// file (checked here for the context, ciphertext and vector seeds).
#[test]
fn the_seeds_are_valid_files() {
    let read = |target: &str, name: &str| std::fs::read(corpus(target).join(name)).unwrap();
    let raw = RawKeyProvider::new(DataKey::new([7; 32]));
    let ctx = read("context_file", "seed-raw-key-context.json");
    assert!(ExecutionContext::from_json(std::str::from_utf8(&ctx).unwrap(), &raw).is_ok());
    let shape = CiphertextShape {
        piece_bytes: 256,
        pieces: 2,
        key: Some(paillier_gpu::paillier::KeyFingerprint::from_bytes([7; 32])),
    };
    for name in ["seed-fixture.bin", "seed-fixture-v1.bin"] {
        let binary = read("ciphertexts_binary", name);
        assert_eq!(
            ciphertexts::read_binary(&binary[..], shape).unwrap().len(),
            3
        );
    }
    let jsonl = read("ciphertexts_jsonl", "seed-fixture.jsonl");
    assert_eq!(ciphertexts::read_jsonl(&jsonl[..], shape).unwrap().len(), 3);
    let tables = read("lookup_tables", "seed-tables.json");
    let public =
        PublicContext::from_public_json(include_str!("../../fuzz/lookup_context.json")).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&tables).unwrap();
    paillier_gpu::context::LookupTables::parse(
        &value,
        public.public_key(),
        public.config().message_chunks(),
    )
    .unwrap();
    let key = fuzzing::numbers_key().unwrap();
    let encrypted = read("numbers_encrypted", "seed-floats.pgnums");
    let array = numbers::decode_encrypted_numbers(&encrypted[..], None, &key).unwrap();
    assert_eq!(array.shape(), &[2, 3]);
    let packed = read("numbers_encrypted", "seed-packed.pgpack");
    let packed = numbers::decode_packed_numbers(&packed[..], None, &key).unwrap();
    assert_eq!(packed.shape(), [2, 3]);
    let jsonl = read("numbers_plain", "seed-rows.jsonl");
    assert_eq!(
        numbers::read_jsonl_numbers(&jsonl[..]).unwrap().shape,
        [2, 3]
    );
    let npy = read("numbers_plain", "seed-floats.npy");
    assert_eq!(
        numbers::read_npy_numbers(&npy[..], None).unwrap().shape,
        [2, 3]
    );
}

#[test]
#[ignore = "writes the seed corpus; run by hand"]
fn write_seeds() {
    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::create_dir_all(corpus(target)).unwrap();
        std::fs::write(corpus(target).join(format!("seed-{name}")), bytes).unwrap();
    };
    let cases = sdk_cases();
    for case in &cases {
        write(
            "context_file",
            &format!("{}.json", case.name),
            case.context_json.as_bytes(),
        );
    }
    let options = ContextOptions {
        key_len: 256,
        embed_len: 16,
        allow_insecure: true,
        ..ContextOptions::default()
    };
    let raw = std::sync::Arc::new(RawKeyProvider::new(DataKey::new([7; 32])));
    let ctx = ExecutionContext::create(&options, raw).unwrap();
    write(
        "context_file",
        "raw-key-context.json",
        ctx.to_json().unwrap().as_bytes(),
    );
    write(
        "context_file",
        "plain-context.json",
        ctx.to_plain_json().as_bytes(),
    );

    // Ciphertexts of the key_len-512 fixture, two chunks per vector.
    let case = cases.iter().find(|c| c.name == "paillier_512").unwrap();
    let vectors: Vec<_> = case
        .enc_database
        .chunks(2)
        .take(3)
        .map(|pair| {
            paillier_gpu::hamming::EncryptedVector::new(
                pair.iter().flat_map(|v| v.chunks.clone()).collect(),
            )
        })
        .collect();
    let shape = CiphertextShape {
        piece_bytes: 256,
        pieces: 2,
        key: Some(paillier_gpu::paillier::KeyFingerprint::from_bytes([7; 32])),
    };
    write(
        "ciphertexts_jsonl",
        "fixture.jsonl",
        &ciphertexts::encode_jsonl(&vectors, shape).unwrap(),
    );
    write(
        "ciphertexts_binary",
        "fixture.bin",
        &ciphertexts::encode_binary(&vectors, shape).unwrap(),
    );
    let v1 = CiphertextShape { key: None, ..shape };
    write(
        "ciphertexts_binary",
        "fixture-v1.bin",
        &ciphertexts::encode_binary(&vectors, v1).unwrap(),
    );

    let mut jsonl = vec![case.database[0].len() as u8];
    for row in &case.database {
        jsonl.extend(serde_json::to_vec(row).unwrap());
        jsonl.push(b'\n');
    }
    write("vectors_jsonl", "fixture.jsonl", &jsonl);
    let flat: Vec<u8> = case.database.iter().flatten().copied().collect();
    for (name, fortran) in [("c-order.npy", false), ("fortran.npy", true)] {
        let mut npy = vec![case.database[0].len() as u8];
        npy.extend(common::npy_bytes(
            "|u1",
            case.database.len(),
            case.database[0].len(),
            &flat,
            fortran,
        ));
        write("vectors_npy", name, &npy);
    }

    // The lookup tables of fuzz/lookup_context.json need its secret-free public key only:
    // build them as the SDK lays them out (g^(j·2^(8i)) mod n², noise = g_n^r).
    let public =
        PublicContext::from_public_json(include_str!("../../fuzz/lookup_context.json")).unwrap();
    let pk = public.public_key();
    let n2 = pk.n_squared();
    let mut g_table = serde_json::Map::new();
    let mut base = pk.g() % n2;
    for row in 0..public.config().message_chunks() {
        let mut entry = num_bigint::BigUint::from(1u32);
        let mut entries = Vec::new();
        for _ in 0..256 {
            entries.push(serde_json::Value::Number(
                entry.to_string().parse().unwrap(),
            ));
            entry = entry * &base % n2;
        }
        base = entry;
        g_table.insert(row.to_string(), serde_json::Value::Array(entries));
    }
    let g_n = pk.g_n().unwrap();
    let noise: Vec<serde_json::Value> = (1u32..=256)
        .map(|r| serde_json::Value::Number(g_n.modpow(&r.into(), n2).to_string().parse().unwrap()))
        .collect();
    let tables = serde_json::json!({"g_table": g_table, "noise_table": noise});
    write(
        "lookup_tables",
        "tables.json",
        &serde_json::to_vec(&tables).unwrap(),
    );

    // Numbers: six floats as an encrypted-numbers file under the fuzzing key, as JSON Lines
    // rows, and as a float64 `.npy`.
    let key = fuzzing::numbers_key().unwrap();
    let floats = [1.5, -2.25, 3e-7, 0.0, -1e12, 42.0];
    let array = paillier_gpu::numbers::EncryptedArray::encrypt(
        &key,
        paillier_gpu::hazmat::backend::cpu::CpuBackend::shared().as_ref(),
        paillier_gpu::numbers::Numbers::Floats(&floats),
        vec![2, 3],
        None,
    )
    .unwrap();
    write(
        "numbers_encrypted",
        "floats.pgnums",
        &numbers::encode_encrypted_numbers(&array).unwrap(),
    );
    write_packed_seed();
    write(
        "numbers_plain",
        "rows.jsonl",
        b"[1.5, -2.25, 3e-7]\n[0, -1e12, 42]\n",
    );
    let bytes: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
    write(
        "numbers_plain",
        "floats.npy",
        &common::npy_bytes("<f8", 2, 3, &bytes, false),
    );
}

/// The packed-numbers seed: the same six floats as two samples of three, packed, under the
/// fuzzing key (the numbers target reads both encrypted-numbers formats).
#[test]
#[ignore = "writes the packed seed; run by hand"]
fn write_packed_seed() {
    let key = fuzzing::numbers_key().unwrap();
    let options = paillier_gpu::numbers::PackOptions::new(1e12).with_precision(1e-7);
    let packed = paillier_gpu::numbers::PackedArray::encrypt(
        &key,
        paillier_gpu::hazmat::backend::cpu::CpuBackend::shared().as_ref(),
        paillier_gpu::numbers::Numbers::Floats(&[1.5, -2.25, 3e-7, 0.0, -1e12, 42.0]),
        3,
        &options,
    )
    .unwrap();
    let target = corpus("numbers_encrypted");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(
        target.join("seed-packed.pgpack"),
        numbers::encode_packed_numbers(&packed).unwrap(),
    )
    .unwrap();
}
