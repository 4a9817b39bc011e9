//! Reading a ciphertext file a block of records at a time, into a batch the caller reuses: a
//! database streams through a search backend without ever being held whole.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::binary::{check_body_length, read_binary_header};
use super::jsonl::{decode_piece_into, max_jsonl_line};
use super::{malformed, name_file, CiphertextForm, CiphertextShape};
use crate::error::{Error, Result};
use crate::formats::JsonLines;
use crate::paillier::{CiphertextBatch, KeyFingerprint, PublicKey};

/// Records converted per read of a binary file: bounds the reader's own buffer (and what a
/// header's lying count can make it allocate) whatever block the caller asks for.
const BINARY_PIECE_RECORDS: usize = 512;

/// A ciphertext file read block by block, each ciphertext checked once (`0 < c < n²`) as it is
/// read, errors naming the record (0-based) or the line and, when opened by path, the file.
///
/// ```no_run
/// # fn demo(ctx: &paillier_gpu::PublicContext) -> paillier_gpu::Result<()> {
/// use paillier_gpu::formats::ciphertexts::CiphertextReader;
/// use paillier_gpu::paillier::CiphertextBatch;
/// let shape = ctx.try_ciphertext_shape()?;
/// let mut reader = CiphertextReader::open("db.ct".as_ref(), shape, ctx.public_key())?;
/// let mut block = CiphertextBatch::new(ctx.public_key(), shape.pieces)?;
/// loop {
///     block.clear();
///     if reader.read_block(4096, &mut block)? == 0 {
///         break;
///     }
///     // ... use the block's records ...
/// }
/// # Ok(()) }
/// ```
pub struct CiphertextReader<'k, R> {
    public_key: &'k PublicKey,
    /// The key's fingerprint, computed once: every block's batch is matched against it.
    key: KeyFingerprint,
    shape: CiphertextShape,
    source: Source<R>,
    records_read: usize,
    /// The file, when opened by path: errors name it.
    path: Option<PathBuf>,
}

enum Source<R> {
    Binary {
        reader: R,
        /// The header's record count and the body's length in bytes.
        promised: u64,
        body_bytes: u64,
        piece: Vec<u8>,
    },
    JsonLines {
        lines: JsonLines<R>,
        spans: Vec<Range<usize>>,
        chunk: Vec<u8>,
    },
}

impl<'k> CiphertextReader<'k, BufReader<File>> {
    /// Opens a ciphertext file in the form its name says ([`CiphertextForm::of_path`]); a binary
    /// header is checked now (its key against `shape`'s, or `public_key`'s legacy fingerprint),
    /// and for a regular file its length against the header, before any record is read.
    pub fn open(path: &Path, shape: CiphertextShape, public_key: &'k PublicKey) -> Result<Self> {
        let (file, length) = crate::formats::open_input(path)?;
        let reader = BufReader::with_capacity(1 << 16, file);
        let opened = match CiphertextForm::of_path(path) {
            CiphertextForm::JsonLines => Self::json_lines(reader, shape, public_key),
            CiphertextForm::Binary => Self::binary(reader, shape, public_key).and_then(|r| {
                if let (Some(length), Source::Binary { body_bytes, .. }) = (length, &r.source) {
                    check_body_length(length, r.records_promised().unwrap_or(0), *body_bytes)?;
                }
                Ok(r)
            }),
        };
        let mut reader = opened.map_err(|e| name_file(e, path))?;
        reader.path = Some(path.to_path_buf());
        Ok(reader)
    }
}

impl<'k, R: BufRead> CiphertextReader<'k, R> {
    /// Reads the binary form from `reader`, checking its header against `shape` now.
    pub fn binary(
        mut reader: R,
        shape: CiphertextShape,
        public_key: &'k PublicKey,
    ) -> Result<Self> {
        let legacy = KeyFingerprint::legacy_v1(public_key);
        let (promised, body_bytes) = read_binary_header(&mut reader, shape, Some(legacy))?;
        Ok(Self::with_source(
            shape,
            public_key,
            Source::Binary {
                reader,
                promised,
                body_bytes,
                piece: Vec::new(),
            },
        ))
    }

    /// Reads JSON Lines from `reader` (blank lines are skipped).
    pub fn json_lines(
        reader: R,
        shape: CiphertextShape,
        public_key: &'k PublicKey,
    ) -> Result<Self> {
        let lines = JsonLines::new(reader, max_jsonl_line(shape), "ciphertexts");
        Ok(Self::with_source(
            shape,
            public_key,
            Source::JsonLines {
                lines,
                spans: Vec::new(),
                chunk: Vec::new(),
            },
        ))
    }

    fn with_source(shape: CiphertextShape, public_key: &'k PublicKey, source: Source<R>) -> Self {
        Self {
            public_key,
            key: public_key.fingerprint(),
            shape,
            source,
            records_read: 0,
            path: None,
        }
    }

    /// The record count a binary header promises (None for JSON Lines, which has no header).
    pub fn records_promised(&self) -> Option<u64> {
        match &self.source {
            Source::Binary { promised, .. } => Some(*promised),
            Source::JsonLines { .. } => None,
        }
    }

    /// Records read so far.
    pub fn records_read(&self) -> usize {
        self.records_read
    }

    /// Appends up to `max_records` records to `batch` (made for the same key and shape);
    /// returns how many, 0 at the end of the file. On an error the batch keeps what it held
    /// before the call, and the reader should not be used again.
    pub fn read_block(&mut self, max_records: usize, batch: &mut CiphertextBatch) -> Result<usize> {
        if batch.key() != self.key || batch.pieces_per_record() != self.shape.pieces {
            return Err(Error::InvalidParameter(
                "a block is read into a batch of the reader's key and shape".into(),
            ));
        }
        let before = batch.records();
        let read = if matches!(self.source, Source::Binary { .. }) {
            self.read_binary_block(max_records, batch)
        } else {
            let read = self.read_jsonl_block(max_records, batch);
            // Pushed piece by piece, each below n²: one check that none shares a factor with n,
            // for all of them (they come before any error, so a bad one among them is first).
            batch
                .check_units_from(
                    self.public_key,
                    before * self.shape.pieces,
                    self.records_read,
                )
                .and(read)
        };
        match read {
            Ok(records) => {
                self.records_read += records;
                Ok(records)
            }
            Err(e) => {
                batch.truncate_records(before);
                Err(match &self.path {
                    Some(path) => name_file(e, path),
                    None => e,
                })
            }
        }
    }

    /// Every record left, in one batch.
    pub fn read_all(mut self) -> Result<CiphertextBatch> {
        let mut batch = CiphertextBatch::new(self.public_key, self.shape.pieces)?;
        while self.read_block(usize::MAX, &mut batch)? > 0 {}
        Ok(batch)
    }

    fn read_binary_block(
        &mut self,
        max_records: usize,
        batch: &mut CiphertextBatch,
    ) -> Result<usize> {
        let Source::Binary {
            reader,
            promised,
            body_bytes,
            piece,
        } = &mut self.source
        else {
            unreachable!("read_binary_block is only called on a binary source");
        };
        let record_bytes = self.shape.piece_bytes * self.shape.pieces;
        let left = usize::try_from(*promised).unwrap_or(usize::MAX) - self.records_read;
        let wanted = left.min(max_records);
        let mut records = 0;
        while records < wanted {
            let count = (wanted - records).min(BINARY_PIECE_RECORDS);
            piece.resize(count * record_bytes, 0);
            let filled = fill(reader, piece).map_err(|e| malformed(e.to_string()))?;
            if filled < piece.len() {
                let found = (self.records_read + records) * record_bytes + filled;
                return Err(short_body(*promised, *body_bytes, &found.to_string()));
            }
            let first = self.records_read + records;
            batch.push_le_records(self.public_key, self.shape.piece_bytes, piece, first)?;
            records += count;
        }
        if records == left {
            // The end the header promises: nothing may follow it.
            let mut extra = [0u8; 1];
            if fill(reader, &mut extra).map_err(|e| malformed(e.to_string()))? > 0 {
                return Err(short_body(*promised, *body_bytes, "more"));
            }
        }
        Ok(records)
    }

    fn read_jsonl_block(
        &mut self,
        max_records: usize,
        batch: &mut CiphertextBatch,
    ) -> Result<usize> {
        let Source::JsonLines {
            lines,
            spans,
            chunk,
        } = &mut self.source
        else {
            unreachable!("read_jsonl_block is only called on a JSON Lines source");
        };
        let (shape, public_key) = (self.shape, self.public_key);
        let mut records = 0;
        while records < max_records {
            let Some((line_number, text)) = lines.next_line()? else {
                break;
            };
            let index = self.records_read + records;
            let mut push = |encoded: &str| {
                decode_piece_into(encoded, shape, index, chunk)?;
                batch.push_le_piece(public_key, chunk, index)
            };
            if plain_string_array(text, spans) {
                check_piece_count(spans.len(), shape, index)?;
                for span in spans.iter() {
                    push(&text[span.clone()])?;
                }
            } else {
                // Escapes, nesting or a syntax error: the general parser reads it, or says what
                // is wrong.
                let value: Value = serde_json::from_str(text)
                    .map_err(|e| malformed(format!("line {line_number}: {e}")))?;
                let Value::Array(items) = value else {
                    return Err(malformed(format!("line {line_number}: not a JSON array")));
                };
                check_piece_count(items.len(), shape, index)?;
                for item in &items {
                    let Value::String(encoded) = item else {
                        return Err(malformed(format!(
                            "line {line_number}: a chunk is not a string"
                        )));
                    };
                    push(encoded)?;
                }
            }
            records += 1;
        }
        Ok(records)
    }
}

fn check_piece_count(found: usize, shape: CiphertextShape, index: usize) -> Result<()> {
    if found != shape.pieces {
        return Err(Error::InvalidCiphertext {
            index,
            reason: format!("{found} chunks where {} are expected", shape.pieces),
        });
    }
    Ok(())
}

fn short_body(promised: u64, body_bytes: u64, found: &str) -> Error {
    malformed(format!(
        "the header promises {promised} records ({body_bytes} bytes) but {found} bytes follow"
    ))
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// True when `line` is a flat JSON array of strings without escapes (the form every writer of
/// ciphertext files uses), with the strings' spans (between the quotes) in `spans`. Anything else
/// gives false, for the general JSON parser to read. (A control character inside a string, which
/// JSON forbids, is left to the base64 decoder to refuse, except at the ends, where trimming
/// would hide it.)
fn plain_string_array(line: &str, spans: &mut Vec<Range<usize>>) -> bool {
    let bytes = line.as_bytes();
    let skip_space = |mut i: usize| {
        while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            i += 1;
        }
        i
    };
    spans.clear();
    let mut i = skip_space(0);
    if bytes.get(i) != Some(&b'[') {
        return false;
    }
    i = skip_space(i + 1);
    if bytes.get(i) == Some(&b']') {
        return skip_space(i + 1) == bytes.len();
    }
    loop {
        if bytes.get(i) != Some(&b'"') {
            return false;
        }
        let start = i + 1;
        // `find` of one character and `contains` of one byte both run as memchr.
        let Some(length) = line[start..].find('"') else {
            return false;
        };
        let end = start + length;
        let text = &bytes[start..end];
        let control_at_an_end = |b: Option<&u8>| b.is_some_and(|&b| b < 0x20);
        if text.contains(&b'\\')
            || control_at_an_end(text.first())
            || control_at_an_end(text.last())
        {
            return false;
        }
        spans.push(start..end);
        i = skip_space(end + 1);
        match bytes.get(i) {
            Some(b',') => i = skip_space(i + 1),
            Some(b']') => return skip_space(i + 1) == bytes.len(),
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain_string_array;

    #[test]
    fn the_fast_scan_takes_plain_arrays_and_leaves_the_rest_to_serde() {
        let mut spans = Vec::new();
        let line = r#" [ "QUJD" ,"REVG"] "#;
        assert!(plain_string_array(line, &mut spans));
        let texts: Vec<&str> = spans.iter().map(|s| &line[s.clone()]).collect();
        assert_eq!(texts, vec!["QUJD", "REVG"]);
        assert!(plain_string_array("[]", &mut spans) && spans.is_empty());
        for other in [
            r#"["a\/b"]"#,
            r#"["a",]"#,
            r#"["a"] x"#,
            r#"[["a"]]"#,
            r#"{"a":1}"#,
            r#"["a""#,
            r#"["a" "b"]"#,
            "[\"\ta\"]",
            "[1]",
            "",
        ] {
            assert!(!plain_string_array(other, &mut spans), "{other}");
        }
    }
}
