//! `encrypt`: vectors into ciphertexts, streamed and resumable.

use std::path::{Path, PathBuf};

use clap::Args;
use paillier_gpu::formats::encrypt_job::EncryptJob;
use paillier_gpu::formats::output::{prepare_output, OutputKind};
use paillier_gpu::hazmat::backend::backend_for;
use paillier_gpu::paillier::KeyFingerprint;
use paillier_gpu::{ExecutionContext, PublicContext, Result};

use super::{check_pinned_key, file_form, optional_passphrase, progress, spinner, wrote};
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
    let passphrase_path: Vec<&Path> = passphrase_file.into_iter().collect();
    let inputs = [&[context.as_path(), input.as_path()][..], &passphrase_path].concat();
    let target = prepare_output(&output, &inputs, OutputKind::Ciphertexts, force)?;
    if target.is_stream() && resume {
        return Err(paillier_gpu::Error::InvalidParameter(format!(
            "--resume: {} is a stream (a FIFO or a device), which cannot be resumed",
            output.display()
        )));
    }
    let public = PublicContext::load(&context)?;
    check_pinned_key(&public, expect_key)?;
    if insecure {
        public.public_key().allow_insecure_parameters();
    }
    // With the passphrase at hand, the public key must match the secret key (loading
    // checks it) before anything is encrypted under it.
    let owner = match optional_passphrase(passphrase_file)? {
        Some(passphrase) => Some(ExecutionContext::load_with_passphrase(
            &context,
            &passphrase,
        )?),
        None => None,
    };
    if let (Some(owner), true) = (&owner, insecure) {
        owner.public_key().allow_insecure_parameters();
    }
    let layout = public.layout()?;
    let backend = backend_for(device.device())?;
    let shape = public.ciphertext_shape()?;
    let batch = match batch {
        Some(batch) => batch,
        None => default_encrypt_batch(backend.as_ref(), &public, shape.chunks)?,
    };
    // The owner's faster path sends secrets to the backend: only to the CPU, or to a GPU
    // asked for by name.
    let secrets_allowed = device.device() == paillier_gpu::Device::Gpu
        || backend.device() == paillier_gpu::Device::Cpu;
    // Encrypt under the public key checked against the secret key, when there is one.
    let public_key: &paillier_gpu::paillier::PublicKey = match &owner {
        Some(ctx) => ctx.public_key(),
        None => public.public_key(),
    };
    let job = EncryptJob {
        public_key,
        secret_key: owner
            .as_ref()
            .filter(|_| secrets_allowed)
            .map(|ctx| &**ctx.secret_key()),
        layout: &layout,
        shape,
        backend: backend.as_ref(),
        batch,
    };
    // A bar with a total and an ETA when the input's header gives the count (.npy).
    let total = paillier_gpu::formats::vectors::VectorReader::open(&input, layout.embed_len())
        .ok()
        .and_then(|reader| reader.len_hint());
    let bar = match total {
        Some(total) => progress(total, "encrypting"),
        None => spinner("encrypting"),
    };
    let on_batch = |done: usize| bar.set_position(done as u64);
    let report = if target.is_stream() {
        job.run_to_stream(&input, &target.path, on_batch)?
    } else {
        job.run(&input, &target.path, resume, on_batch)?
    };
    bar.finish_and_clear();
    wrote(&format!(
        "{} encrypted vectors to {} ({}, key {})",
        report.records,
        output.display(),
        file_form(&output),
        public.public_key().fingerprint()
    ));
    if report.resumed_from > 0 {
        log::info!(
            "resumed after {} records; {} in all",
            report.resumed_from,
            report.records
        );
    }
    Ok(())
}

/// Vectors per encryption step when `--batch` is not given: `DEFAULT_BATCH` on the CPU; on a
/// GPU, after its warm-up, enough vectors of `chunks` ciphertexts to fill two calibrated chunks
/// (one computing while the other moves), and at least `DEFAULT_BATCH`.
fn default_encrypt_batch(
    backend: &dyn paillier_gpu::hazmat::backend::Backend,
    public: &PublicContext,
    chunks: usize,
) -> Result<usize> {
    use paillier_gpu::formats::encrypt_job::DEFAULT_BATCH;
    if backend.runs_on_cpu(usize::MAX) {
        return Ok(DEFAULT_BATCH);
    }
    gpu_chunk_items(public).map(|items| (2 * items).div_ceil(chunks.max(1)).max(DEFAULT_BATCH))
}

/// The chunk a warmed-up GPU runs at n²'s width.
#[cfg(feature = "gpu")]
fn gpu_chunk_items(public: &PublicContext) -> Result<usize> {
    let gpu = paillier_gpu::hazmat::backend::gpu::GpuBackend::shared()?;
    let calibration = gpu.warm_up(public.public_key().n_squared_modulus())?;
    log::info!(
        "GPU warm-up: {} numbers fill {}; chunks of {}",
        calibration.saturating_items,
        gpu.adapter_info().name,
        calibration.chunk_items
    );
    Ok(calibration.chunk_items)
}

#[cfg(not(feature = "gpu"))]
fn gpu_chunk_items(_: &PublicContext) -> Result<usize> {
    Ok(paillier_gpu::formats::encrypt_job::DEFAULT_BATCH)
}
