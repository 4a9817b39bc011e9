//! `encrypt`: vectors into ciphertexts, streamed and resumable.

use std::path::{Path, PathBuf};

use clap::Args;
use paillier_gpu::context::EncryptFile;
use paillier_gpu::formats::vectors::VectorReader;
use paillier_gpu::paillier::KeyFingerprint;
use paillier_gpu::{ExecutionContext, PublicContext, Result};

use super::interrupt::{explain_interruption, Durable};
use super::{
    check_pinned_key, counted, file_form, is_stream, optional_passphrase, progress, spinner, wrote,
};
use crate::DeviceArg;

/// The arguments of `encrypt` (its description is the `Command` variant's).
#[derive(Args, Debug)]
pub struct EncryptArgs {
    /// The context file (only its public key is used without a passphrase).
    #[arg(long, value_name = "CTX")]
    pub context: PathBuf,
    /// Vectors: JSON Lines (one array of 0/1 per line) or a 2-D .npy of uint8/int8/bool.
    #[arg(long, value_name = "VECTORS")]
    pub input: PathBuf,
    /// Ciphertexts: .jsonl for base64 JSON Lines, any other name for the binary form.
    #[arg(long, value_name = "CIPHERTEXTS")]
    pub output: PathBuf,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Continue an interrupted run from OUTPUT.partial and OUTPUT.progress instead of
    /// starting over: records already written are neither redone nor lost.
    #[arg(long)]
    pub resume: bool,
    /// Refuse to encrypt unless the context's public key has this fingerprint (64 hex digits,
    /// as `context show` prints it): pins the key you were given.
    #[arg(long, value_name = "FINGERPRINT")]
    pub expect_key: Option<KeyFingerprint>,
    /// Vectors read, encrypted and written per step (memory grows with it). Default: 4096
    /// on the CPU; on a GPU, enough to fill two of the chunks its warm-up calibrated, and at
    /// least 4096.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch: Option<usize>,
    /// Replace OUTPUT even when it is not a ciphertext file (a ciphertext file, an empty file,
    /// a FIFO or a device is written without it; an input never is).
    #[arg(long)]
    pub force: bool,
    /// Allow public-key encryption under a lookup context whose alpha_len is below 512 (its
    /// noise is too short: for tests and old data only).
    #[arg(long)]
    pub insecure: bool,
}

pub(super) fn run(args: EncryptArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let EncryptArgs {
        context,
        input,
        output,
        device,
        resume,
        expect_key,
        batch,
        force,
        insecure,
    } = args;
    // With the passphrase at hand, the public key must match the secret key (loading checks
    // it) before anything is encrypted under it; the owner's context then encrypts, and its
    // public part (the same key) is what the pin is checked against. `--insecure` is chosen as
    // each context is built.
    let owner = match optional_passphrase(passphrase_file)? {
        Some(passphrase) => {
            let owner = ExecutionContext::load_with_passphrase(&context, &passphrase)?
                .with_device(device.device());
            Some(if insecure {
                owner.with_insecure_parameters_allowed()
            } else {
                owner
            })
        }
        None => None,
    };
    let public = match &owner {
        Some(owner) => owner.public_context(),
        None => {
            let public = PublicContext::load(&context)?.with_device(device.device());
            if insecure {
                public.with_insecure_parameters_allowed()
            } else {
                public
            }
        }
    };
    check_pinned_key(&public, &context, expect_key)?;
    let other_inputs: Vec<&Path> = std::iter::once(context.as_path())
        .chain(passphrase_file)
        .collect();
    let job = EncryptFile {
        resume,
        batch,
        overwrite: force,
        other_inputs: &other_inputs,
        ..EncryptFile::new(&input, &output)
    };
    // A bar with a total and an ETA when the input's header gives the count (.npy).
    let total = public
        .try_layout()
        .ok()
        .and_then(|layout| VectorReader::open(&input, layout.embed_len()).ok())
        .and_then(|reader| reader.len_hint());
    let bar = match total {
        Some(total) => progress(total, "encrypting"),
        None => spinner("encrypting"),
    };
    let durable = Durable::default();
    if !is_stream(&output) {
        explain_interruption(&output, &durable);
    }
    // The first call says where the run starts: past the records an earlier run kept.
    let started = std::cell::Cell::new(false);
    let on_batch = |done: usize| {
        if !started.replace(true) && done > 0 {
            bar.suspend(|| {
                eprintln!(
                    "paillier-gpu: resuming {}: {} kept from the interrupted run, going on \
                     from record {}",
                    output.display(),
                    counted(done, "record", "records"),
                    done + 1
                )
            });
            // The rate counts this run's records only.
            bar.set_position(done as u64);
            bar.reset_elapsed();
            bar.reset_eta();
        }
        durable.set(done);
        bar.set_position(done as u64);
    };
    let report = match &owner {
        Some(owner) => owner.encrypt_file(&job, on_batch)?,
        None => public.encrypt_file(&job, on_batch)?,
    };
    bar.finish_and_clear();
    wrote(&format!(
        "{} to {} ({}, key {})",
        counted(report.records, "encrypted vector", "encrypted vectors"),
        output.display(),
        file_form(&output),
        public.public_key().fingerprint()
    ));
    Ok(())
}
