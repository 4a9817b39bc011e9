//! What a public-only party pins covers every public parameter it uses: the fingerprint changes
//! with `alpha_len` and the vector layout, a pin of the first version's fingerprint is refused
//! saying why, old binary files still read, and public-key encryption under a short `alpha_len`
//! needs insecure parameters allowed, in the library and the CLI.

use crate::common;

use std::path::Path;

use common::cli::{fails, ok, run_with, small_context_args};
use paillier_gpu::formats::ciphertexts::{
    read_ciphertext_batch, write_ciphertext_batch, FINGERPRINT_OFFSET,
};
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::paillier::KeyFingerprint;
use paillier_gpu::{Error, ExecutionContext, PublicContext};
use serde_json::Value;

/// A context file's JSON with its `config` field edited by `edit`.
fn with_config(file: &Value, edit: impl Fn(&mut Value)) -> String {
    let mut file = file.clone();
    let mut config: Value = serde_json::from_str(file["config"].as_str().unwrap()).unwrap();
    edit(&mut config);
    file["config"] = Value::String(config.to_string());
    file.to_string()
}

fn lookup_file(dir: &Path) -> (ExecutionContext, Value) {
    let options = common::small_options(paillier_gpu::Scheme::PaillierLookup, 16);
    let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
    let path = dir.join("ctx.json");
    ctx.save_to_disk(&path).unwrap();
    let file = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (ctx, file)
}

#[test]
fn the_fingerprint_covers_alpha_len_and_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, file) = lookup_file(dir.path());
    let fingerprint = |json: &str| {
        PublicContext::from_public_json(json)
            .unwrap()
            .public_key()
            .fingerprint()
    };
    let original = fingerprint(&file.to_string());
    assert_eq!(original, ctx.public().public_key().fingerprint());
    let weaker = with_config(&file, |c| c["alpha_len"] = 1.into());
    let wider = with_config(&file, |c| c["embed_len"] = 32.into());
    assert_ne!(fingerprint(&weaker), original, "alpha_len");
    assert_ne!(fingerprint(&wider), original, "embed_len");

    // A pin of the first version's fingerprint is refused with the reason.
    let public = PublicContext::from_public_json(&weaker).unwrap();
    let key = public.public_key();
    let legacy = KeyFingerprint::legacy_v1(key);
    match KeyFingerprint::check_pin(key, &legacy, "the context") {
        Err(Error::KeyMismatch { expected, .. }) => {
            assert!(expected.contains("earlier version"), "{expected}")
        }
        other => panic!("a legacy pin must be refused: {other:?}"),
    }
    assert!(KeyFingerprint::check_pin(key, &original, "the context").is_err());
    assert!(KeyFingerprint::check_pin(key, &key.fingerprint(), "the context").is_ok());
}

#[test]
fn public_key_encryption_under_a_short_alpha_len_needs_an_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, file) = lookup_file(dir.path());
    let vectors = vec![vec![1u8; 16], vec![0u8; 16]];
    // Created with insecure parameters allowed: allowed.
    assert!(ctx.public_context().encrypt_check(&vectors).is_ok());
    // Loaded from its file (alpha_len 64): refused until allowed explicitly.
    let public = PublicContext::from_public_json(&file.to_string()).unwrap();
    match public.encrypt_check(&vectors) {
        Err(Error::InsecureParameters(message)) => assert!(message.contains("alpha_len 64")),
        other => panic!("expected a refusal: {other:?}"),
    }
    // Allowed when the context is built; a clone made before keeps refusing.
    let before = public.clone();
    let public = public.with_insecure_parameters_allowed();
    assert!(public.encrypt_check(&vectors).is_ok());
    assert!(matches!(
        before.encrypt_check(&vectors),
        Err(Error::InsecureParameters(_))
    ));
}

/// Public-key encryption of `vectors` under a public context, on the CPU.
trait EncryptCheck {
    fn encrypt_check(&self, vectors: &[Vec<u8>]) -> paillier_gpu::Result<()>;
}

impl EncryptCheck for PublicContext {
    fn encrypt_check(&self, vectors: &[Vec<u8>]) -> paillier_gpu::Result<()> {
        let backend = paillier_gpu::hazmat::backend::backend_for(paillier_gpu::Device::Cpu)?;
        paillier_gpu::hamming::encrypt_batch(
            backend.as_ref(),
            self.public_key(),
            None,
            &self.try_layout()?,
            vectors,
        )
        .map(|_| ())
    }
}

#[test]
fn binary_files_written_under_the_first_fingerprint_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = common::small_context(paillier_gpu::Scheme::Paillier);
    let vectors = vec![vec![1u8; 64], vec![0u8; 64]];
    let batch = ctx.encrypt_batch(&vectors).unwrap();
    let path = dir.path().join("db.bin");
    let output = Output::new(&path, OutputKind::Ciphertexts).unwrap();
    write_ciphertext_batch(output, &batch, ctx.ciphertext_shape()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let header = FINGERPRINT_OFFSET..FINGERPRINT_OFFSET + 32;
    bytes[header.clone()]
        .copy_from_slice(KeyFingerprint::legacy_v1(ctx.public().public_key()).as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let read =
        read_ciphertext_batch(&path, ctx.ciphertext_shape(), ctx.public().public_key()).unwrap();
    assert_eq!(read.records(), 2);
    bytes[header].copy_from_slice(&[7; 32]);
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        read_ciphertext_batch(&path, ctx.ciphertext_shape(), ctx.public().public_key()),
        Err(Error::KeyMismatch { .. })
    ));
}

#[test]
fn the_cli_pins_every_public_parameter_and_refuses_short_noise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |passphrase: Option<&str>, args: &[&str]| {
        run_with(d, passphrase, args, &[("PAILLIER_GPU_DEVICE", "cpu")])
    };
    let mut args = small_context_args("8", "--output", "ctx.json");
    // The spelling before the scheme names were made one (`paillier_lookup`) is still accepted.
    args.extend(["--type", "paillier-lookup", "--alpha-len", "64"]);
    let created: Value = serde_json::from_str(&ok(run(Some("pass"), &args))).unwrap();
    let pin = created["fingerprint"].as_str().unwrap().to_owned();
    std::fs::write(d.join("v.jsonl"), "[0,1,0,1,0,1,0,1]\n").unwrap();
    let encrypt = |ctx: &str, extra: &[&str]| {
        let mut args = vec![
            "encrypt",
            "--context",
            ctx,
            "--input",
            "v.jsonl",
            "--output",
            "c.bin",
        ];
        args.extend_from_slice(extra);
        run(None, &args)
    };
    // Short noise without the passphrase: refused unless --insecure.
    let message = fails(encrypt("ctx.json", &[]));
    assert!(
        message.contains("alpha_len 64") && message.contains("--insecure"),
        "{message}"
    );
    ok(encrypt("ctx.json", &["--insecure", "--expect-key", &pin]));

    // alpha_len set to 1 in the file: the pin no longer matches.
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ctx.json")).unwrap()).unwrap();
    std::fs::write(
        d.join("weak.json"),
        with_config(&file, |c| c["alpha_len"] = 1.into()),
    )
    .unwrap();
    let message = fails(encrypt("weak.json", &["--insecure", "--expect-key", &pin]));
    assert!(message.contains(&pin), "{message}");

    // A pin made under the first fingerprint: refused, saying why.
    let public = PublicContext::load(d.join("ctx.json")).unwrap();
    let legacy = KeyFingerprint::legacy_v1(public.public_key()).to_string();
    let message = fails(encrypt(
        "ctx.json",
        &["--insecure", "--expect-key", &legacy],
    ));
    assert!(message.contains("earlier version"), "{message}");
}

#[test]
fn the_first_fingerprint_is_what_version_1_wrote() {
    // SHA-256 of the v1 domain and the SDK fixture's type, n and g, computed independently
    // (Python's hashlib over the same length-prefixed fields): old files' headers carry it.
    let case = common::sdk_cases()
        .into_iter()
        .find(|c| c.name == "paillier_512")
        .unwrap();
    let public = PublicContext::from_public_json(&case.context_json).unwrap();
    assert_eq!(
        KeyFingerprint::legacy_v1(public.public_key()).to_string(),
        "1b8a0cfd7351ed014cfe9080bab865ea52b02634a8bfe6f4d456613834c3c24d"
    );
}
