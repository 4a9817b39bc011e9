//! `<output>.progress`: what an interrupted job may resume from, and the checks a resume
//! passes before it trusts the partial file and the input.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::job_malformed;
use crate::error::{Error, Result};
use crate::formats::ciphertexts::{CiphertextShape, MAGIC};
use crate::io::refuse_unless_own_file;
use crate::io::replace_side_file;
use crate::io::Visibility;

/// The progress file (owner-only: it describes the owner's input).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Progress {
    /// Records durable in the partial file.
    pub records: u64,
    /// Bytes of the partial file that hold them (header included).
    pub bytes: u64,
    /// All records written and the header final: only the rename is left.
    pub complete: bool,
    /// The job's identity: resuming with another input, key or form is refused.
    pub input: String,
    pub input_bytes: u64,
    /// HMAC-SHA256, under the run's key (kept in the lock file), of the `records` vectors
    /// consumed so far: a resume re-reads them and must find the same (empty: a progress file
    /// from before this binding, which cannot be resumed).
    #[serde(default)]
    pub input_mac: String,
    /// The key's [`KeyFingerprint`](crate::paillier::KeyFingerprint).
    #[serde(default)]
    pub public_key: String,
    pub jsonl: bool,
    /// Bytes per ciphertext piece; the file's field keeps its first name.
    #[serde(rename = "chunk_bytes")]
    pub piece_bytes: usize,
    /// Ciphertext pieces per record; the file's field keeps its first name.
    #[serde(rename = "chunks")]
    pub pieces: usize,
}

/// The keyed hash of the vectors a job has consumed, in order.
#[derive(Clone)]
pub(super) struct InputMac(Hmac<Sha256>);

impl InputMac {
    pub fn new(key: &[u8]) -> Self {
        // HMAC takes a key of any length.
        Self(Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!()))
    }

    /// Adds vectors (0/1 bytes), each length-prefixed and packed eight dimensions to a byte.
    pub fn update(&mut self, vectors: &[Vec<u8>]) {
        let mut packed = Vec::new();
        for vector in vectors {
            packed.clear();
            packed.extend(
                vector
                    .chunks(8)
                    .map(|bits| bits.iter().fold(0u8, |acc, &b| (acc << 1) | (b & 1))),
            );
            self.0.update(&(vector.len() as u64).to_le_bytes());
            self.0.update(&packed);
        }
    }

    /// The hash of everything added so far, as hex (the state goes on).
    pub fn hex(&self) -> String {
        self.0
            .clone()
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

pub(super) fn read_progress(path: &Path) -> Result<Option<Progress>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, (1 << 16) + 1), &mut text)
        .map_err(|e| Error::io(path, e))?;
    if text.len() > 1 << 16 {
        return Err(job_malformed(format!("{} is too large", path.display())));
    }
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| job_malformed(format!("{}: {e}", path.display())))
}

pub(super) fn write_progress(path: &Path, progress: &Progress) -> Result<()> {
    refuse_unless_own_file(path)?;
    let text = serde_json::to_vec(progress).map_err(|e| job_malformed(e.to_string()))?;
    replace_side_file(path, &text, Visibility::Private)
}

pub(super) fn check_same_job(earlier: &Progress, now: &Progress) -> Result<()> {
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
    if earlier.input_bytes != now.input_bytes {
        return differs(format!(
            "another version of {:?} ({} bytes then, {} now)",
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
            p.pieces,
            p.piece_bytes
        )
    };
    if form(earlier) != form(now) {
        return differs(format!("{}, not {}", form(earlier), form(now)));
    }
    Ok(())
}

/// Refuses a resume whose input changed where it was already consumed: `now` is the hash of
/// the first `progress.records` vectors of the input as it is today.
pub(super) fn check_same_input(progress: &Progress, now: &InputMac, input: &Path) -> Result<()> {
    use subtle::ConstantTimeEq;
    if bool::from(progress.input_mac.as_bytes().ct_eq(now.hex().as_bytes())) {
        Ok(())
    } else {
        Err(Error::InvalidParameter(format!(
            "--resume: {} changed within the {} vectors already encrypted; run without --resume \
             to start over",
            input.display(),
            progress.records
        )))
    }
}

/// Opens the partial file, checks that its first `progress.bytes` hold exactly
/// `progress.records` records of `shape` (a progress file that lies is refused), and cuts off
/// anything after them (a batch that was never confirmed).
pub(super) fn reopen_partial(
    partial: &Path,
    progress: &Progress,
    shape: CiphertextShape,
) -> Result<File> {
    refuse_unless_own_file(partial)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(partial)
        .map_err(|e| Error::io(partial, e))?;
    let length = file.metadata().map_err(|e| Error::io(partial, e))?.len();
    let lie = |why: String| {
        job_malformed(format!(
            "{} does not hold the {} records its progress file vouches for: {why}; run \
             without --resume to start over",
            partial.display(),
            progress.records
        ))
    };
    if length < progress.bytes {
        return Err(lie(format!(
            "it holds {length} bytes, {} were confirmed",
            progress.bytes
        )));
    }
    let mut head = Vec::new();
    (&file)
        .take(progress.bytes)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(partial, e))?;
    if progress.jsonl {
        let lines = head.iter().filter(|&&b| b == b'\n').count() as u64;
        if lines != progress.records || head.last().is_some_and(|&b| b != b'\n') {
            return Err(lie(format!("{lines} complete lines")));
        }
    } else {
        let record = (shape.piece_bytes * shape.pieces) as u64;
        let expected = shape.header_bytes() as u64 + progress.records * record;
        if !head.starts_with(MAGIC) || progress.bytes != expected {
            return Err(lie(format!(
                "{} bytes where a header and {} records take {expected}",
                progress.bytes, progress.records
            )));
        }
    }
    file.set_len(progress.bytes)
        .and_then(|_| file.seek(SeekFrom::End(0)))
        .map_err(|e| Error::io(partial, e))?;
    Ok(file)
}
