//! Encrypting a vector file of any size into a ciphertext file, in bounded memory, resumable.
//!
//! The job reads `batch` vectors at a time, encrypts them and appends them to `<output>.partial`.
//! After each batch the partial file is synced and `<output>.progress` is replaced atomically
//! with how many records and bytes are durable. A job stopped at any point (killed, power lost)
//! and started again with `resume` truncates the partial file to what the progress file vouches
//! for, skips that many input vectors and goes on: no record is lost, none is encrypted twice.
//! At the end the partial file is renamed over `output`, so `output` is only ever absent, the
//! old file, or the new complete one.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ciphertexts::{self, is_jsonl, CiphertextShape, COUNT_OFFSET, HEADER_BYTES};
use super::vectors::VectorReader;
use super::{write_atomic, Visibility};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::hamming::{encrypt_vectors, VectorLayout};
use crate::paillier::{PublicKey, SecretKey};

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

/// The progress file: what an interrupted job may resume from.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Progress {
    /// Records durable in the partial file.
    records: u64,
    /// Bytes of the partial file that hold them (header included).
    bytes: u64,
    /// All records written and the header final: only the rename is left.
    complete: bool,
    /// The job's identity: resuming with another input, key or form is refused.
    input: String,
    input_bytes: u64,
    public_key_sha256: String,
    jsonl: bool,
    chunk_bytes: usize,
    chunks: usize,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
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
    /// Encrypts `input` (JSON Lines or `.npy`) into `output` (binary, or `.jsonl`), calling
    /// `on_batch(records_done)` after each durable batch. With `resume`, continues an interrupted
    /// run of the same job; without it, any earlier partial output is discarded.
    pub fn run(
        &self,
        input: &Path,
        output: &Path,
        resume: bool,
        mut on_batch: impl FnMut(usize),
    ) -> Result<JobReport> {
        let input_bytes = std::fs::metadata(input)
            .map_err(|e| Error::io(input, e))?
            .len();
        let identity = Progress {
            records: 0,
            bytes: 0,
            complete: false,
            input: input.display().to_string(),
            input_bytes,
            public_key_sha256: hex(&Sha256::digest(self.public_key.n().to_bytes_le())),
            jsonl: is_jsonl(output),
            chunk_bytes: self.shape.chunk_bytes,
            chunks: self.shape.chunks,
        };
        let partial = partial_path(output);
        let progress_file = progress_path(output);
        let mut earlier = if resume {
            read_progress(&progress_file)?
        } else {
            None
        };
        if let Some(earlier) = &earlier {
            check_same_job(earlier, &identity)?;
            if earlier.complete && !partial.exists() && output.exists() {
                // Killed after the rename: the output is already final.
                remove_progress(&progress_file)?;
                return Ok(JobReport {
                    records: earlier.records as usize,
                    resumed_from: earlier.records as usize,
                });
            }
        }
        if earlier
            .as_ref()
            .is_some_and(|e| !e.complete && !partial.exists())
        {
            log::warn!("--resume: {} is gone; starting over", partial.display());
            earlier = None;
        }
        let (mut file, mut state) = match earlier {
            Some(earlier) => (reopen_partial(&partial, &earlier)?, earlier),
            None => (
                self.start_partial(&partial, identity.jsonl)?,
                Progress {
                    bytes: if identity.jsonl {
                        0
                    } else {
                        HEADER_BYTES as u64
                    },
                    ..identity
                },
            ),
        };
        let resumed_from = state.records as usize;
        if !state.complete {
            write_atomic_progress(&progress_file, &state)?;
            let mut reader = VectorReader::open(input, self.layout.embed_len())?;
            reader.skip(resumed_from)?;
            on_batch(resumed_from);
            loop {
                let first = reader.position();
                let vectors = reader.next_batch(self.batch.max(1))?;
                if vectors.is_empty() {
                    break;
                }
                let encrypted = encrypt_vectors(
                    self.backend,
                    self.public_key,
                    self.secret_key,
                    self.layout,
                    &vectors,
                )
                .map_err(|e| e.with_index_offset(first))?;
                let bytes = if state.jsonl {
                    ciphertexts::encode_jsonl(&encrypted, self.shape)
                } else {
                    ciphertexts::encode_binary_records(&encrypted, self.shape, first)
                }
                .map_err(|e| e.with_index_offset(first))?;
                file.write_all(&bytes).map_err(|e| Error::io(&partial, e))?;
                file.sync_data().map_err(|e| Error::io(&partial, e))?;
                state.records += vectors.len() as u64;
                state.bytes += bytes.len() as u64;
                write_atomic_progress(&progress_file, &state)?;
                on_batch(state.records as usize);
            }
            if !state.jsonl {
                let header = ciphertexts::binary_header(self.shape, state.records)?;
                file.seek(SeekFrom::Start(COUNT_OFFSET as u64))
                    .and_then(|_| file.write_all(&header[COUNT_OFFSET..]))
                    .and_then(|_| file.sync_all())
                    .map_err(|e| Error::io(&partial, e))?;
            }
            state.complete = true;
            write_atomic_progress(&progress_file, &state)?;
        }
        drop(file);
        std::fs::rename(&partial, output).map_err(|e| Error::io(output, e))?;
        sync_folder(output);
        remove_progress(&progress_file)?;
        Ok(JobReport {
            records: state.records as usize,
            resumed_from,
        })
    }

    /// A new, empty partial file (with a provisional header in the binary form).
    fn start_partial(&self, partial: &Path, jsonl: bool) -> Result<File> {
        let mut file = File::create(partial).map_err(|e| Error::io(partial, e))?;
        if !jsonl {
            let header = ciphertexts::binary_header(self.shape, 0)?;
            file.write_all(&header)
                .and_then(|_| file.sync_all())
                .map_err(|e| Error::io(partial, e))?;
        }
        Ok(file)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_progress(path: &Path) -> Result<Option<Progress>> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    if text.len() > 1 << 16 {
        return Err(job_malformed(format!("{} is too large", path.display())));
    }
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| job_malformed(format!("{}: {e}", path.display())))
}

fn check_same_job(earlier: &Progress, now: &Progress) -> Result<()> {
    let differs = |what: &str| {
        Err(Error::InvalidParameter(format!(
            "--resume: the interrupted job had another {what}; remove the .partial and .progress files to start over"
        )))
    };
    if earlier.input != now.input || earlier.input_bytes != now.input_bytes {
        return differs("input");
    }
    if earlier.public_key_sha256 != now.public_key_sha256 {
        return differs("public key");
    }
    if (earlier.jsonl, earlier.chunk_bytes, earlier.chunks)
        != (now.jsonl, now.chunk_bytes, now.chunks)
    {
        return differs("output form");
    }
    Ok(())
}

/// Opens the partial file and cuts it to the bytes the progress file vouches for (anything
/// after them is a batch that was never confirmed).
fn reopen_partial(partial: &Path, progress: &Progress) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(partial)
        .map_err(|e| Error::io(partial, e))?;
    let length = file.metadata().map_err(|e| Error::io(partial, e))?.len();
    if length < progress.bytes {
        return Err(job_malformed(format!(
            "{} holds {length} bytes but {} were confirmed",
            partial.display(),
            progress.bytes
        )));
    }
    file.set_len(progress.bytes)
        .and_then(|_| file.seek(SeekFrom::End(0)))
        .map_err(|e| Error::io(partial, e))?;
    Ok(file)
}

fn write_atomic_progress(path: &Path, progress: &Progress) -> Result<()> {
    let text = serde_json::to_vec(progress).map_err(|e| job_malformed(e.to_string()))?;
    write_atomic(path, &text, Visibility::Shared)
}

fn remove_progress(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn sync_folder(path: &Path) {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
}
