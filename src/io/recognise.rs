//! Whether an existing file is, as a whole, the kind of file a writer makes, and so may be
//! replaced without `force`. Binary forms are judged by their whole header against the file's
//! length; text forms by every line. A file of another kind, or too large to judge, is not
//! replaceable. The library judges its own kinds ([`OutputKind`]); a caller's kinds are judged
//! by the caller's [`Recognise`].

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use base64::Engine;

use super::{OutputKind, Visibility};
use crate::error::{Error, Result};
use crate::formats::ciphertexts::MAGIC as CIPHERTEXTS_MAGIC;
use crate::formats::numbers::{NUMBERS_MAGIC, PACKED_MAGIC};

/// The longest line a text form is judged by; a longer one is not ours.
const MAX_LINE: u64 = 64 << 20;
/// The largest whole-document form (a top-k answer) that is parsed to judge it.
const MAX_DOCUMENT: u64 = 64 << 20;
/// The fewest bytes a ciphertext piece decodes to (n² of the smallest key tests use).
const MIN_PIECE_BYTES: usize = 8;
/// How much of an existing file's start a recogniser is handed.
const HEAD_BYTES: u64 = 4096;

/// A kind of file written through an [`Output`](super::Output): who may read it, and which
/// existing file it may replace without `force`. The library's own kinds are [`OutputKind`]; a
/// program that writes files of its own (reports, backups) recognises them itself, so that the
/// library knows nothing of its callers' files.
pub trait Recognise {
    /// Who may read what this writer makes.
    fn visibility(&self) -> Visibility;

    /// True when `existing` is, as a whole, a file of this kind: its whole header against its
    /// length, or every line, never a prefix alone. Called only for a regular file that holds
    /// more than whitespace (one that holds nothing else is always replaceable).
    fn is_replaceable(&self, existing: &ExistingFile<'_>) -> Result<bool>;
}

/// An existing regular file at an output's path, as a [`Recognise`] is shown it.
#[derive(Debug)]
pub struct ExistingFile<'a> {
    path: &'a Path,
    head: Vec<u8>,
    length: u64,
}

impl<'a> ExistingFile<'a> {
    /// Reads the length and the first bytes of the regular file at `path`.
    pub fn read(path: &'a Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let length = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut head = Vec::new();
        file.take(HEAD_BYTES)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self { path, head, length })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.path
    }

    /// Its first bytes: 4096, or the whole file when shorter.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Its length in bytes.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The file opened for reading from its start, to judge more than its head.
    pub fn open(&self) -> Result<File> {
        File::open(self.path).map_err(|e| Error::io(self.path, e))
    }
}

impl Recognise for OutputKind {
    fn visibility(&self) -> Visibility {
        OutputKind::visibility(*self)
    }

    fn is_replaceable(&self, existing: &ExistingFile<'_>) -> Result<bool> {
        own_kind(*self, existing)
    }
}

/// True when the existing regular file at `path` may be replaced by a writer of `kind` without
/// `force`: it holds only whitespace, or it is that kind of file as a whole.
pub(super) fn replaceable(path: &Path, kind: &dyn Recognise) -> Result<bool> {
    let existing = ExistingFile::read(path)?;
    if only_whitespace(existing.open()?).map_err(|e| Error::io(path, e))? {
        return Ok(true);
    }
    kind.is_replaceable(&existing)
}

/// Whether `existing` is, as a whole, a file of the library's `kind`.
fn own_kind(kind: OutputKind, existing: &ExistingFile<'_>) -> Result<bool> {
    let (head, length) = (existing.head(), existing.length());
    let open = || existing.open();
    let lines = || Ok::<_, Error>(BufReader::new(open()?));
    Ok(match kind {
        OutputKind::Context => false,
        OutputKind::Ciphertexts => {
            binary_ciphertexts(head, length) || every_line(lines()?, ciphertext_line_judge())
        }
        OutputKind::EncryptedNumbers => encrypted_numbers(head, length),
        OutputKind::Numbers => {
            if head.starts_with(b"\x93NUMPY") {
                decrypted_npy(head, length)
            } else {
                let mut any_not_bit = false;
                every_line(lines()?, |line| numbers_line(line, &mut any_not_bit)) && any_not_bit
            }
        }
        OutputKind::Distances => {
            every_line(lines()?, |line| line.parse::<u64>().is_ok())
                || (length <= MAX_DOCUMENT && top_k_document(open()?))
        }
    })
}

/// True when the whole stream is whitespace (read until the first other byte).
fn only_whitespace(file: File) -> std::io::Result<bool> {
    let mut reader = BufReader::new(file);
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(true);
        }
        if !buffer.iter().all(u8::is_ascii_whitespace) {
            return Ok(false);
        }
        let consumed = buffer.len();
        reader.consume(consumed);
    }
}

/// True when every line passes `judge`: no blank line but a final newline, none too long.
fn every_line(mut reader: impl BufRead, mut judge: impl FnMut(&str) -> bool) -> bool {
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE + 1).read_line(&mut line) {
            Ok(0) => return true,
            Ok(read) if read as u64 > MAX_LINE => return false,
            Ok(_) => {}
            Err(_) => return false,
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() || !judge(text) {
            return false;
        }
    }
}

/// A judge of ciphertext JSON Lines: an array of base64 pieces, as many on every line.
fn ciphertext_line_judge() -> impl FnMut(&str) -> bool {
    let mut pieces = None;
    move |line| {
        let Ok(row) = serde_json::from_str::<Vec<String>>(line) else {
            return false;
        };
        let decodes = row.iter().all(|piece| {
            base64::engine::general_purpose::STANDARD
                .decode(piece)
                .is_ok_and(|bytes| bytes.len() >= MIN_PIECE_BYTES)
        });
        !row.is_empty() && decodes && *pieces.get_or_insert(row.len()) == row.len()
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as u64)
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// The binary ciphertext form: magic, a known version, and a body of exactly the records its
/// header counts.
fn binary_ciphertexts(head: &[u8], length: u64) -> bool {
    let judge = || {
        let header = match u16_at(head, 8)? {
            1 => 32,
            2 => 64,
            _ => return None,
        };
        let width = u32_at(head, 12)?;
        let chunks = u32_at(head, 16)?;
        let records = u64_at(head, 24)?;
        let body = records.checked_mul(chunks)?.checked_mul(width)?;
        Some(width > 0 && chunks > 0 && body.checked_add(header)? == length)
    };
    head.starts_with(CIPHERTEXTS_MAGIC) && judge().unwrap_or(false)
}

/// An encrypted-numbers or packed-numbers file whose header accounts for its whole length
/// (the layouts in [`crate::formats::numbers`]).
fn encrypted_numbers(head: &[u8], length: u64) -> bool {
    let numbers = || {
        let width = u32_at(head, 12)?;
        let dimensions = u32_at(head, 16)?;
        let elements = u64_at(head, 24)?;
        let per_element = *head.get(11)? == 1;
        let exponents = if per_element { 4 * elements } else { 0 };
        let total = 64u64
            .checked_add(8 * dimensions)?
            .checked_add(exponents)?
            .checked_add(elements.checked_mul(width)?)?;
        Some(u16_at(head, 8)? == 1 && dimensions <= 32 && width > 0 && total == length)
    };
    let packed = || {
        let width = u32_at(head, 12)?;
        let slots = u32_at(head, 24)?;
        let bound = u32_at(head, 28)?;
        let samples = u64_at(head, 32)?;
        let columns = u64_at(head, 40)?;
        let groups = samples.div_ceil(slots.max(1));
        let total = 80u64
            .checked_add(bound)?
            .checked_add(groups.checked_mul(columns)?.checked_mul(width)?)?;
        Some(u16_at(head, 8)? == 1 && slots > 0 && width > 0 && total == length)
    };
    (head.starts_with(NUMBERS_MAGIC) && numbers().unwrap_or(false))
        || (head.starts_with(PACKED_MAGIC) && packed().unwrap_or(false))
}

/// An `int64` or `float64` `.npy` whose header's shape accounts for its whole length.
fn decrypted_npy(head: &[u8], length: u64) -> bool {
    let Ok((header, data_at)) = crate::formats::npy::read_header(head, "numbers") else {
        return false;
    };
    let eight_bytes = matches!(header.dtype().descr().trim_matches('\''), "<i8" | "<f8");
    let elements = header
        .shape()
        .iter()
        .try_fold(1u64, |total, &d| total.checked_mul(d));
    eight_bytes
        && elements
            .and_then(|e| e.checked_mul(8))
            .and_then(|body| body.checked_add(data_at as u64))
            == Some(length)
}

/// A line of decrypted numbers: a number, or a flat array of numbers. Notes whether any value is
/// other than 0 or 1: rows of bits are the owner's vectors, not decrypted numbers.
fn numbers_line(line: &str, any_not_bit: &mut bool) -> bool {
    let values = match serde_json::from_str::<f64>(line) {
        Ok(value) => vec![value],
        Err(_) => match serde_json::from_str::<Vec<f64>>(line) {
            Ok(row) => row,
            Err(_) => return false,
        },
    };
    *any_not_bit |= values.iter().any(|&v| v != 0.0 && v != 1.0);
    true
}

/// A top-k document: one object with the same number of integer ids and distances.
fn top_k_document(file: File) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TopK {
        ids: Vec<u64>,
        distances: Vec<u64>,
    }
    serde_json::from_reader::<_, TopK>(BufReader::new(file))
        .is_ok_and(|top| top.ids.len() == top.distances.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(folder: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = folder.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn npy(descr: &str, elements: usize) -> Vec<u8> {
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({elements},), }}");
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let padded = (10 + header.len() + 1).next_multiple_of(64) - 10;
        bytes.extend((padded as u16).to_le_bytes());
        bytes.extend(format!("{header:<width$}\n", width = padded - 1).bytes());
        bytes.extend(vec![0u8; 8 * elements]);
        bytes
    }

    #[test]
    fn each_writer_recognises_its_own_files_whole() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let piece = "AAECAwQFBgcICQ==";
        let jsonl = file(
            d,
            "c.jsonl",
            format!("[\"{piece}\", \"{piece}\"]\n").as_bytes(),
        );
        let distances = file(d, "d.txt", b"3\n17\n");
        let top = file(d, "t.json", b"{\"ids\": [1], \"distances\": [0]}\n");
        let vectors = file(d, "v.jsonl", b"[0, 1, 1]\n");
        let context = file(d, "ctx.json", b"{\"pk\": \"x\", \"sk\": \"y\"}");
        let empty = file(d, "e", b"");
        let yes = |path: &Path, kind: OutputKind| replaceable(path, &kind).unwrap();
        assert!(yes(&jsonl, OutputKind::Ciphertexts));
        assert!(yes(&distances, OutputKind::Distances));
        assert!(yes(&top, OutputKind::Distances));
        assert!(yes(&empty, OutputKind::Ciphertexts));
        assert!(!yes(&vectors, OutputKind::Ciphertexts));
        assert!(!yes(&context, OutputKind::Ciphertexts));
        assert!(!yes(&context, OutputKind::Distances));
        assert!(!yes(&jsonl, OutputKind::Distances));
        for existing in [&distances, &empty] {
            let context = super::super::Output::prepare(existing, &[], OutputKind::Context, false);
            assert!(matches!(context, Err(Error::WouldOverwrite(_))));
        }
        let numbers = file(d, "n.jsonl", b"[1.5, -2]\n");
        assert!(yes(&numbers, OutputKind::Numbers));
        assert!(yes(&distances, OutputKind::Numbers));
        assert!(!yes(&context, OutputKind::Numbers));
        assert!(!yes(&jsonl, OutputKind::Numbers));
        assert!(!yes(&vectors, OutputKind::Numbers));
        assert!(yes(&file(d, "f.npy", &npy("<f8", 3)), OutputKind::Numbers));
        assert!(yes(&file(d, "i.npy", &npy("<i8", 2)), OutputKind::Numbers));
        assert!(!yes(&file(d, "u.npy", &npy("|u1", 8)), OutputKind::Numbers));
        let mut short = npy("<f8", 3);
        short.pop();
        assert!(!yes(&file(d, "s.npy", &short), OutputKind::Numbers));
    }

    #[test]
    fn a_recognisable_first_line_is_not_enough() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let context = "{\"pk\": \"x\", \"sk\": \"y\"}";
        // Whitespace past any prefix a sniffer would look at, then a context.
        let padded = file(
            d,
            "p.json",
            format!("{}{context}", "\n".repeat(70_000)).as_bytes(),
        );
        for kind in [
            OutputKind::Distances,
            OutputKind::Ciphertexts,
            OutputKind::Numbers,
        ] {
            assert!(!replaceable(&padded, &kind).unwrap(), "{kind:?}");
        }
        let integer_then = file(d, "i.txt", format!("7\n{context}\n").as_bytes());
        assert!(!replaceable(&integer_then, &OutputKind::Distances).unwrap());
        let names = file(d, "names.json", b"[\"alice\", \"bob\"]\n");
        assert!(!replaceable(&names, &OutputKind::Ciphertexts).unwrap());
        let uneven = file(
            d,
            "u.jsonl",
            b"[\"AAECAwQFBgcICQ==\"]\n[\"AAECAwQFBgcICQ==\", \"AAECAwQFBgcICQ==\"]\n",
        );
        assert!(!replaceable(&uneven, &OutputKind::Ciphertexts).unwrap());
        let mut binary = CIPHERTEXTS_MAGIC.to_vec();
        binary.extend([
            2, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        ]);
        binary.resize(64, 0);
        binary.extend([7u8; 8]);
        let ours = file(d, "c.bin", &binary);
        assert!(replaceable(&ours, &OutputKind::Ciphertexts).unwrap());
        binary.extend(context.bytes());
        let magic_then_more = file(d, "m.bin", &binary);
        assert!(!replaceable(&magic_then_more, &OutputKind::Ciphertexts).unwrap());
    }
}
