//! Encrypting a vector file of any size into a ciphertext file, in bounded memory, resumable.
//!
//! The job reads `batch` vectors at a time, encrypts them and appends them to `<output>.partial`.
//! After each batch the partial file is synced and `<output>.progress` is replaced atomically
//! with how many records and bytes are durable. A job stopped at any point (killed, power lost)
//! and started again with `resume` truncates the partial file to what the progress file vouches
//! for, skips that many input vectors and goes on: no record is lost, none is encrypted twice.
//! At the end the partial file is renamed over `output`, so `output` is only ever absent, the
//! old file, or the new complete one.
//!
//! A resume must be the same job: the same input (path, size and the SHA-256 of its first MiB),
//! key and output form, or it is refused with what differs; with nothing recorded to resume it
//! starts over, and an existing output stays whole until the new one replaces it. A run that fails with an error (a bad vector, a full disk) removes its partial and
//! progress files, so that no later run takes them for its own; only a killed run leaves them.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ciphertexts::{self, is_jsonl, CiphertextShape, COUNT_OFFSET};
use super::vectors::VectorReader;
use super::{write_atomic, Visibility};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::hamming::{encrypt_batch, VectorLayout};
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
    /// SHA-256 of the input's first MiB (an edited input of the same size differs here).
    #[serde(default)]
    input_head_sha256: String,
    /// The key's [`KeyFingerprint`](crate::paillier::KeyFingerprint).
    #[serde(default)]
    public_key: String,
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
        on_batch: impl FnMut(usize),
    ) -> Result<JobReport> {
        super::parent_folder(output)?;
        let input_bytes = std::fs::metadata(input)
            .map_err(|e| Error::io(input, e))?
            .len();
        let identity = Progress {
            records: 0,
            bytes: 0,
            complete: false,
            input: input.display().to_string(),
            input_bytes,
            input_head_sha256: head_digest(input)?,
            public_key: self.public_key.fingerprint().to_string(),
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
        let result =
            self.encrypt_into(input, &partial, &progress_file, earlier, identity, on_batch);
        let (state, resumed_from) = match result {
            Ok(done) => done,
            Err(e) => {
                // An error, not a kill: what was written is not a run anyone may resume.
                let _ = std::fs::remove_file(&partial);
                let _ = remove_progress(&progress_file);
                return Err(e);
            }
        };
        std::fs::rename(&partial, output).map_err(|e| Error::io(output, e))?;
        sync_folder(output);
        remove_progress(&progress_file)?;
        Ok(JobReport {
            records: state.records as usize,
            resumed_from,
        })
    }

    /// Writes (or completes) the partial file; returns the final progress and where it resumed.
    fn encrypt_into(
        &self,
        input: &Path,
        partial: &Path,
        progress_file: &Path,
        earlier: Option<Progress>,
        identity: Progress,
        mut on_batch: impl FnMut(usize),
    ) -> Result<(Progress, usize)> {
        let (mut file, mut state) = match earlier {
            Some(earlier) => (reopen_partial(partial, &earlier)?, earlier),
            None => (
                self.start_partial(partial, identity.jsonl)?,
                Progress {
                    bytes: if identity.jsonl {
                        0
                    } else {
                        self.shape.header_bytes() as u64
                    },
                    ..identity
                },
            ),
        };
        let resumed_from = state.records as usize;
        if !state.complete {
            write_atomic_progress(progress_file, &state)?;
            let mut reader = VectorReader::open(input, self.layout.embed_len())?;
            reader.skip(resumed_from)?;
            on_batch(resumed_from);
            loop {
                let first = reader.position();
                let vectors = reader.next_batch(self.batch.max(1))?;
                if vectors.is_empty() {
                    break;
                }
                let encrypted = encrypt_batch(
                    self.backend,
                    self.public_key,
                    self.secret_key,
                    self.layout,
                    &vectors,
                )
                .map_err(|e| e.with_index_offset(first))?;
                let bytes = if state.jsonl {
                    ciphertexts::encode_jsonl_batch(&encrypted, self.shape)
                } else {
                    let mut records = Vec::new();
                    encrypted
                        .write_le_bytes(self.shape.chunk_bytes, &mut records)
                        .map(|()| records)
                }
                .map_err(|e| e.with_index_offset(first))?;
                file.write_all(&bytes).map_err(|e| Error::io(partial, e))?;
                file.sync_data().map_err(|e| Error::io(partial, e))?;
                state.records += vectors.len() as u64;
                state.bytes += bytes.len() as u64;
                write_atomic_progress(progress_file, &state)?;
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
            write_atomic_progress(progress_file, &state)?;
        }
        Ok((state, resumed_from))
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

/// SHA-256 of the first MiB of `path`.
fn head_digest(path: &Path) -> Result<String> {
    use std::io::Read;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = Vec::new();
    file.take(1 << 20)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    Ok(hex(&Sha256::digest(&head)))
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
    let differs = |what: String| {
        Err(Error::InvalidParameter(format!(
            "--resume: the interrupted job had {what}; resume with those, or run without --resume \
             to start over (which discards the .partial and .progress files)"
        )))
    };
    if earlier.input != now.input {
        return differs(format!(
            "the input {:?}, not {:?}",
            earlier.input, now.input
        ));
    }
    if earlier.input_bytes != now.input_bytes || earlier.input_head_sha256 != now.input_head_sha256
    {
        return differs(format!(
            "another version of {:?} ({} bytes then, {} now, or other contents)",
            now.input, earlier.input_bytes, now.input_bytes
        ));
    }
    if earlier.public_key != now.public_key {
        return differs(format!(
            "the public key {}, not this context's {}",
            if earlier.public_key.is_empty() {
                "of an older version"
            } else {
                &earlier.public_key
            },
            now.public_key
        ));
    }
    let form = |p: &Progress| {
        format!(
            "{} output, {} chunk(s) of {} bytes",
            if p.jsonl { "JSON Lines" } else { "binary" },
            p.chunks,
            p.chunk_bytes
        )
    };
    if form(earlier) != form(now) {
        return differs(format!("{}, not {}", form(earlier), form(now)));
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
