//! Encrypting a vector file into a ciphertext file from a context, in one call: the output
//! checks, the owner's key or the public key (by the contexts' one rule), the batch size from
//! the backend, and the resumable job. The CLI's `encrypt` and Python's `encrypt_file` are this.

use std::path::Path;

use super::{ExecutionContext, PublicContext};
use crate::error::{Error, Result};
use crate::formats::ciphertexts::CiphertextShape;
use crate::hamming::VectorLayout;
use crate::hazmat::backend::{encryption_batch, Backend};
use crate::io::{Output, OutputKind};
use crate::jobs::encrypt::{EncryptJob, JobReport, DEFAULT_BATCH};
use crate::paillier::{PublicKey, SecretKey};

/// What to encrypt where, and how.
///
/// ```no_run
/// use paillier_gpu::context::EncryptFile;
/// # fn main() -> paillier_gpu::Result<()> {
/// let public = paillier_gpu::PublicContext::load("ctx.json")?;
/// let report = public.encrypt_file(&EncryptFile::new("vectors.npy", "db.bin"), |_| {})?;
/// println!("{} records", report.records);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct EncryptFile<'a> {
    /// Vectors: JSON Lines or `.npy`.
    pub input: &'a Path,
    /// Ciphertexts: `.jsonl`, or the binary form for any other name; a FIFO or a device is
    /// written as a stream.
    pub output: &'a Path,
    /// Continue an interrupted run of the same job.
    pub resume: bool,
    /// Records per step; `None` for the backend's choice ([`encryption_batch`]).
    pub batch: Option<usize>,
    /// Replace an existing output that is not a ciphertext file (an input never is).
    pub overwrite: bool,
    /// Other files the caller read for this job (the context file, a passphrase file): the
    /// output may not be any of them.
    pub other_inputs: &'a [&'a Path],
}

impl<'a> EncryptFile<'a> {
    /// `input` into `output`, from the start, with the backend's batch size.
    pub fn new(
        input: &'a (impl AsRef<Path> + ?Sized),
        output: &'a (impl AsRef<Path> + ?Sized),
    ) -> Self {
        Self {
            input: input.as_ref(),
            output: output.as_ref(),
            resume: false,
            batch: None,
            overwrite: false,
            other_inputs: &[],
        }
    }
}

impl PublicContext {
    /// Encrypts a vector file with the public key, calling `on_batch(records_done)` after each
    /// durable step (see [`EncryptJob`] for what a run guarantees).
    /// [`ExecutionContext::encrypt_file`](super::ExecutionContext::encrypt_file) encrypts as the
    /// owner: the same ciphertexts.
    pub fn encrypt_file(
        &self,
        job: &EncryptFile<'_>,
        on_batch: impl FnMut(usize),
    ) -> Result<JobReport> {
        self.encrypt_file_as(None, job, on_batch)
    }

    /// [`encrypt_file`](Self::encrypt_file) by `owner`'s secret key where given, else by the
    /// public key.
    pub(super) fn encrypt_file_as(
        &self,
        owner: Option<&SecretKey>,
        job: &EncryptFile<'_>,
        on_batch: impl FnMut(usize),
    ) -> Result<JobReport> {
        let keys = Keys {
            public_key: &self.public_key,
            secret_key: owner,
            layout: &self.try_layout()?,
            shape: self.try_ciphertext_shape()?,
        };
        run(&keys, self.backend()?.as_ref(), job, on_batch)
    }
}

impl ExecutionContext {
    /// Encrypts a vector file, calling `on_batch(records_done)` after each durable step (see
    /// [`EncryptJob`] for what a run guarantees): as the owner where the secret key may go to
    /// this context's backend (the CPU, or a GPU asked for by name), else with the public key.
    pub fn encrypt_file(
        &self,
        job: &EncryptFile<'_>,
        on_batch: impl FnMut(usize),
    ) -> Result<JobReport> {
        self.public.encrypt_file_as(self.owner()?, job, on_batch)
    }
}

struct Keys<'a> {
    public_key: &'a PublicKey,
    secret_key: Option<&'a SecretKey>,
    layout: &'a VectorLayout,
    shape: CiphertextShape,
}

fn run(
    keys: &Keys<'_>,
    backend: &dyn Backend,
    job: &EncryptFile<'_>,
    on_batch: impl FnMut(usize),
) -> Result<JobReport> {
    let inputs: Vec<&Path> = std::iter::once(job.input)
        .chain(job.other_inputs.iter().copied())
        .collect();
    let target = Output::prepare(job.output, &inputs, OutputKind::Ciphertexts, job.overwrite)?;
    if target.is_stream() && job.resume {
        return Err(Error::InvalidParameter(format!(
            "resume: {} is a stream (a FIFO or a device), which cannot be resumed",
            job.output.display()
        )));
    }
    let batch = match job.batch {
        Some(0) => return Err(Error::InvalidParameter("batch must be at least 1".into())),
        Some(batch) => batch,
        None => encryption_batch(
            backend,
            keys.public_key.n_squared_modulus(),
            keys.shape.pieces,
            DEFAULT_BATCH,
        )?,
    };
    let encrypt = EncryptJob {
        public_key: keys.public_key,
        secret_key: keys.secret_key,
        layout: keys.layout,
        shape: keys.shape,
        backend,
        batch,
    };
    if target.is_stream() {
        encrypt.run_to_stream(job.input, target, on_batch)
    } else {
        encrypt.run(job.input, target, job.resume, on_batch)
    }
}
