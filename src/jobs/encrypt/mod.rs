//! Encrypting a vector file of any size into a ciphertext file, in bounded memory, resumable.
//!
//! The job reads `batch` vectors at a time, encrypts them and appends them to `<output>.partial`.
//! After each batch the partial file is synced and `<output>.progress` is replaced atomically
//! with how many records and bytes are durable. A job stopped at any point (killed, power lost)
//! and started again with `resume` checks the partial file against the progress file, truncates
//! it to what the progress file vouches for, re-reads the vectors already encrypted and checks
//! them against the keyed hash the progress file holds, and goes on: no record is lost, none is
//! encrypted twice, and an input edited anywhere before the resume point is refused. At the end
//! the partial file is renamed over `output`, so `output` is only ever absent, the old file, or
//! the new complete one.
//!
//! One run per output: `<output>.lock` is held with an exclusive lock for the whole run (a
//! second run fails at once, naming it) and keeps the run's random key for the input hash.
//! Every file the job writes beside the output is owner-only. A run that fails with an error (a
//! bad vector, a full disk) removes its partial, progress and lock files, so that no later run
//! takes them for its own; only a killed run leaves them.
//!
//! A FIFO or a character device as the output is written as a stream instead, with no partial,
//! progress or lock file and no resume.

mod progress;

use std::cell::Cell;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use self::progress::{
    check_same_input, check_same_job, read_progress, reopen_partial, write_progress, InputMac,
    Progress,
};
use crate::error::{Error, Result};
use crate::formats::ciphertexts::{self, is_jsonl, CiphertextShape, COUNT_OFFSET};
use crate::formats::vectors::VectorReader;
use crate::hamming::{encrypt_batch, VectorLayout};
use crate::hazmat::backend::Backend;
use crate::io::{open_private, with_suffix, Output, OutputLock};
use crate::paillier::{CiphertextBatch, PublicKey, SecretKey};

pub use crate::io::lock_path;

/// Vectors per batch when none is given: a few MiB of ciphertexts at key_len 1024.
pub const DEFAULT_BATCH: usize = 4096;

/// An encryption job from a vector file to a ciphertext file.
pub struct EncryptJob<'a> {
    /// The key to encrypt under.
    pub public_key: &'a PublicKey,
    /// The owner's key, for the faster encryption modulo p² and q² (None: public key only).
    pub secret_key: Option<&'a SecretKey>,
    /// How vectors pack into plaintexts.
    pub layout: &'a VectorLayout,
    /// The output's record shape.
    pub shape: CiphertextShape,
    /// Where the arithmetic runs.
    pub backend: &'a dyn Backend,
    /// Vectors per batch (memory is about `batch` plaintexts and ciphertexts).
    pub batch: usize,
}

/// What a finished job did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobReport {
    /// Records in the output.
    pub records: usize,
    /// Records found durable from an earlier run and not encrypted again.
    pub resumed_from: usize,
}

/// `<output>.partial`: the file a job appends to.
pub fn partial_path(output: &Path) -> PathBuf {
    with_suffix(output, ".partial")
}

/// `<output>.progress`: what the partial file durably holds.
pub fn progress_path(output: &Path) -> PathBuf {
    with_suffix(output, ".progress")
}

fn job_malformed(detail: String) -> Error {
    Error::MalformedFile {
        kind: "encryption progress",
        detail,
    }
}

impl EncryptJob<'_> {
    /// Encrypts `input` (JSON Lines or `.npy`) into `output`, a regular file (binary, or
    /// `.jsonl` by its name), calling `on_batch(records_done)` after each durable batch. With
    /// `resume`, continues an interrupted run of the same job; without it, any earlier partial
    /// output is discarded. `output`'s lock is held throughout.
    pub fn run(
        &self,
        input: &Path,
        mut output: Output,
        resume: bool,
        on_batch: impl FnMut(usize),
    ) -> Result<JobReport> {
        if output.is_stream() {
            return Err(Error::InvalidParameter(format!(
                "{} is a stream (a FIFO or a device): encrypt into it with run_to_stream",
                output.requested().display()
            )));
        }
        // Set once this run owns the job's files: from then on an error removes them. Before,
        // they are an earlier run's (a refused resume keeps them for a resume done right).
        let claimed = Cell::new(false);
        let result = self.run_locked(&mut output, &claimed, input, resume, on_batch);
        if result.is_err() && claimed.get() {
            // An error, not a kill: what was written is not a run anyone may resume.
            let _ = std::fs::remove_file(output.side_file(".partial"));
            let _ = remove_if_present(&output.side_file(".progress"));
        }
        // Dropping the output lets go of its lock, removing the lock file where this run
        // claimed it (a finished run, or one that failed after claiming).
        result
    }

    fn run_locked(
        &self,
        output: &mut Output,
        claimed: &Cell<bool>,
        input: &Path,
        resume: bool,
        on_batch: impl FnMut(usize),
    ) -> Result<JobReport> {
        let target = output.path().to_path_buf();
        let partial = output.side_file(".partial");
        let progress_file = output.side_file(".progress");
        let lock_file = output.side_file(".lock");
        let identity = Progress {
            records: 0,
            bytes: 0,
            complete: false,
            input: input.display().to_string(),
            input_bytes: std::fs::metadata(input)
                .map_err(|e| Error::io(input, e))?
                .len(),
            input_mac: String::new(),
            public_key: self.public_key.fingerprint().to_string(),
            jsonl: is_jsonl(output.requested()),
            piece_bytes: self.shape.piece_bytes,
            pieces: self.shape.pieces,
        };
        let earlier = if resume {
            read_progress(&progress_file)?
        } else {
            None
        };
        if let Some(earlier) = &earlier {
            check_same_job(earlier, &identity)?;
            if earlier.complete && !partial.exists() && output_is(&target, earlier) {
                // Killed after the rename: the output is already final.
                remove_if_present(&progress_file)?;
                job_lock(output)?.claim();
                return Ok(JobReport {
                    records: earlier.records as usize,
                    resumed_from: earlier.records as usize,
                });
            }
        }
        let (earlier, key) = match earlier {
            Some(earlier) if !earlier.complete && !partial.exists() => {
                log::warn!("--resume: {} is gone; starting over", partial.display());
                claimed.set(true);
                (None, job_lock(output)?.new_key()?)
            }
            Some(earlier) => match job_lock(output)?.stored_key()? {
                Some(key) if !earlier.input_mac.is_empty() => (Some(earlier), key),
                _ => {
                    return Err(Error::InvalidParameter(format!(
                        "--resume: nothing binds {} to the input it was made from (no key in \
                         {}, or a progress file of an earlier version); run without --resume to \
                         start over",
                        partial.display(),
                        lock_file.display()
                    )))
                }
            },
            None => {
                claimed.set(true);
                (None, job_lock(output)?.new_key()?)
            }
        };
        let (state, resumed_from) = self.encrypt_into(
            input,
            &partial,
            &progress_file,
            earlier,
            identity,
            InputMac::new(key.as_ref()),
            claimed,
            on_batch,
        )?;
        output.install(&partial)?;
        remove_if_present(&progress_file)?;
        job_lock(output)?.claim();
        Ok(JobReport {
            records: state.records as usize,
            resumed_from,
        })
    }

    /// Writes (or completes) the partial file; returns the final progress and where it resumed.
    #[allow(clippy::too_many_arguments)]
    fn encrypt_into(
        &self,
        input: &Path,
        partial: &Path,
        progress_file: &Path,
        earlier: Option<Progress>,
        identity: Progress,
        mut mac: InputMac,
        claimed: &Cell<bool>,
        mut on_batch: impl FnMut(usize),
    ) -> Result<(Progress, usize)> {
        let mut reader = VectorReader::open(input, self.layout.embed_len())?;
        let (mut file, mut state) = match earlier {
            Some(earlier) => {
                let file = reopen_partial(partial, &earlier, self.shape)?;
                // The vectors already encrypted must be the ones the input holds now.
                let mut seen = 0;
                while seen < earlier.records as usize {
                    let step = (earlier.records as usize - seen).min(self.batch.max(1));
                    let vectors = reader.next_batch(step)?;
                    if vectors.is_empty() {
                        break;
                    }
                    seen += vectors.len();
                    mac.update(&vectors);
                }
                check_same_input(&earlier, &mac, input)?;
                claimed.set(true);
                (file, earlier)
            }
            None => (
                self.start_partial(partial, identity.jsonl)?,
                Progress {
                    bytes: if identity.jsonl {
                        0
                    } else {
                        self.shape.header_bytes() as u64
                    },
                    input_mac: mac.hex(),
                    ..identity
                },
            ),
        };
        let resumed_from = state.records as usize;
        if !state.complete {
            write_progress(progress_file, &state)?;
            on_batch(resumed_from);
            loop {
                let first = reader.position();
                let vectors = reader.next_batch(self.batch.max(1))?;
                if vectors.is_empty() {
                    break;
                }
                let bytes = self.encrypt_records(&vectors, first, state.jsonl)?;
                file.write_all(&bytes).map_err(|e| Error::io(partial, e))?;
                file.sync_data().map_err(|e| Error::io(partial, e))?;
                mac.update(&vectors);
                state.records += vectors.len() as u64;
                state.bytes += bytes.len() as u64;
                state.input_mac = mac.hex();
                write_progress(progress_file, &state)?;
                on_batch(state.records as usize);
            }
            if !state.jsonl {
                let header = ciphertexts::binary_header(self.shape, state.records)?;
                file.seek(SeekFrom::Start(COUNT_OFFSET as u64))
                    .and_then(|_| file.write_all(&header[COUNT_OFFSET..COUNT_OFFSET + 8]))
                    .and_then(|_| file.sync_all())
                    .map_err(|e| Error::io(partial, e))?;
            }
            state.complete = true;
            write_progress(progress_file, &state)?;
        }
        Ok((state, resumed_from))
    }

    /// Encrypts `input` into `stream` (a FIFO, a character device, a pipe) in one pass: no
    /// partial file, no progress, no resume. The binary form states its record count first, so
    /// the input is counted (and checked) before anything is written.
    pub fn run_to_stream(
        &self,
        input: &Path,
        output: Output,
        mut on_batch: impl FnMut(usize),
    ) -> Result<JobReport> {
        if !output.is_stream() {
            return Err(Error::InvalidParameter(format!(
                "{} is a regular file: encrypt into it with run",
                output.requested().display()
            )));
        }
        let stream = output.path();
        let jsonl = is_jsonl(output.requested());
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(stream)
            .map_err(|e| Error::io(stream, e))?;
        if !jsonl {
            let count = count_vectors(input, self.layout.embed_len(), self.batch)?;
            let header = ciphertexts::binary_header(self.shape, count as u64)?;
            out.write_all(&header).map_err(|e| Error::io(stream, e))?;
        }
        let mut reader = VectorReader::open(input, self.layout.embed_len())?;
        loop {
            let first = reader.position();
            let vectors = reader.next_batch(self.batch.max(1))?;
            if vectors.is_empty() {
                break;
            }
            let bytes = self.encrypt_records(&vectors, first, jsonl)?;
            out.write_all(&bytes).map_err(|e| Error::io(stream, e))?;
            on_batch(reader.position());
        }
        out.flush().map_err(|e| Error::io(stream, e))?;
        Ok(JobReport {
            records: reader.position(),
            resumed_from: 0,
        })
    }

    /// One batch of vectors as the output's bytes; errors name positions in the input.
    fn encrypt_records(&self, vectors: &[Vec<u8>], first: usize, jsonl: bool) -> Result<Vec<u8>> {
        let encrypted: CiphertextBatch = encrypt_batch(
            self.backend,
            self.public_key,
            self.secret_key,
            self.layout,
            vectors,
        )
        .map_err(|e| e.with_index_offset(first))?;
        if jsonl {
            ciphertexts::encode_jsonl_batch(&encrypted, self.shape)
        } else {
            let mut records = Vec::new();
            encrypted
                .write_le_bytes(self.shape.piece_bytes, &mut records)
                .map(|()| records)
        }
        .map_err(|e| e.with_index_offset(first))
    }

    /// A new, empty partial file (owner-only while it is written, with a provisional header in
    /// the binary form).
    fn start_partial(&self, partial: &Path, jsonl: bool) -> Result<File> {
        let (mut file, _) = open_private(partial)?;
        file.set_len(0).map_err(|e| Error::io(partial, e))?;
        if !jsonl {
            let header = ciphertexts::binary_header(self.shape, 0)?;
            file.write_all(&header)
                .and_then(|_| file.sync_all())
                .map_err(|e| Error::io(partial, e))?;
        }
        Ok(file)
    }
}

/// Vectors in `input`, each checked (the first bad one is the error).
fn count_vectors(input: &Path, embed_len: usize, batch: usize) -> Result<usize> {
    let mut reader = VectorReader::open(input, embed_len)?;
    while !reader.next_batch(batch.max(1))?.is_empty() {}
    Ok(reader.position())
}

/// True when `output` is the file a complete job renamed into place (its length matches).
fn output_is(output: &Path, progress: &Progress) -> bool {
    std::fs::metadata(output).is_ok_and(|meta| meta.is_file() && meta.len() == progress.bytes)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The lock of a file output (every output `run` accepts has one).
fn job_lock(output: &mut Output) -> Result<&mut OutputLock> {
    let named = output.requested().to_path_buf();
    output.lock_mut().ok_or_else(|| Error::UnsupportedOutput {
        path: named,
        reason: "a stream holds no lock".into(),
    })
}
