//! Binary vectors in: JSON Lines (one array of 0/1 per line) or NumPy `.npy` (2-D, `uint8`,
//! `int8` or `bool`), read whole or streamed batch by batch with [`VectorReader`].

use std::io::{BufRead, Read};
use std::path::Path;

use serde_json::Value;

use super::npy::is_npy;
use super::JsonLines;
use crate::error::{Error, Result};

fn malformed(detail: String) -> Error {
    Error::MalformedFile {
        kind: "vectors",
        detail,
    }
}

/// Reads vectors one batch at a time, so that memory stays bounded whatever the input's size.
///
/// ```
/// use paillier_gpu::formats::vectors::VectorReader;
/// let text = "[0, 1, 1]\n[1, 0, 0]\n[1, 1, 1]\n";
/// let mut reader = VectorReader::jsonl(std::io::Cursor::new(text), 3);
/// assert_eq!(reader.next_batch(2)?, vec![vec![0, 1, 1], vec![1, 0, 0]]);
/// assert_eq!(reader.next_batch(2)?, vec![vec![1, 1, 1]]);
/// assert!(reader.next_batch(2)?.is_empty());
/// # Ok::<(), paillier_gpu::Error>(())
/// ```
pub struct VectorReader<R> {
    embed_len: usize,
    /// Vectors returned so far (the index of the next one).
    position: usize,
    /// The file, when opened by [`open`](VectorReader::open): errors about a vector then name it.
    path: Option<std::path::PathBuf>,
    source: Source<R>,
}

enum Source<R> {
    Jsonl(JsonLines<R>),
    Npy(NpyRows<R>),
}

/// The data of a one-byte-element `.npy` array after its header.
struct NpyRows<R> {
    reader: R,
    rows: usize,
    signed: bool,
    /// Fortran order: the whole array, column-major (it cannot be read row by row).
    column_major: Option<Vec<u8>>,
}

impl<R: BufRead> VectorReader<R> {
    /// JSON Lines vectors of `embed_len` dimensions. Blank lines are skipped.
    pub fn jsonl(reader: R, embed_len: usize) -> Self {
        // A line of embed_len one-digit values needs about 3 bytes each; allow generous
        // whitespace but never an unbounded allocation.
        let max_line = (64 * embed_len).max(1 << 20) as u64;
        Self {
            embed_len,
            position: 0,
            path: None,
            source: Source::Jsonl(JsonLines::new(reader, max_line, "vectors")),
        }
    }

    /// A 2-D `.npy` array of `uint8`, `int8` or `bool` with `embed_len` columns. The header is
    /// read and checked now; `data_bytes`, when known (the file's length less the header),
    /// must match the shape.
    pub fn npy(mut reader: R, embed_len: usize, data_bytes: Option<u64>) -> Result<Self> {
        let (header, header_bytes) = super::npy::read_header(&mut reader, "vectors")?;
        let descr = header.dtype().descr();
        if !matches!(descr.as_str(), "'|u1'" | "'|i1'" | "'|b1'") {
            return Err(malformed(format!(
                "npy dtype {descr} (expected uint8, int8 or bool)"
            )));
        }
        let shape = header.shape().to_vec();
        let [rows, cols] = shape[..] else {
            return Err(malformed(format!(
                "npy array of shape {shape:?} is not 2-D"
            )));
        };
        if cols != embed_len as u64 {
            return Err(Error::VectorLength {
                index: 0,
                expected: embed_len,
                found: usize::try_from(cols).unwrap_or(usize::MAX),
            });
        }
        let total = rows
            .checked_mul(cols)
            .ok_or_else(|| malformed(format!("npy shape {shape:?} overflows")))?;
        if let Some(available) = data_bytes.map(|b| b.saturating_sub(header_bytes as u64)) {
            if available != total {
                return Err(malformed(format!(
                    "npy shape {shape:?} needs {total} data bytes; the file has {available}"
                )));
            }
        }
        let rows = usize::try_from(rows)
            .map_err(|_| malformed(format!("npy shape {shape:?} is too large")))?;
        let column_major = if matches!(header.order(), npyz::Order::Fortran) {
            let mut data = Vec::new();
            (&mut reader)
                .take(total)
                .read_to_end(&mut data)
                .map_err(|e| malformed(format!("npy data: {e}")))?;
            if data.len() as u64 != total {
                return Err(malformed(format!(
                    "npy data: {} bytes where the shape needs {total}",
                    data.len()
                )));
            }
            Some(data)
        } else {
            None
        };
        Ok(Self {
            embed_len,
            position: 0,
            path: None,
            source: Source::Npy(NpyRows {
                reader,
                rows,
                signed: descr == "'|i1'",
                column_major,
            }),
        })
    }

    /// Vectors returned so far.
    pub fn position(&self) -> usize {
        self.position
    }

    /// How many vectors the input holds, when its header says (`.npy`); None for JSON Lines.
    pub fn len_hint(&self) -> Option<usize> {
        match &self.source {
            Source::Jsonl(_) => None,
            Source::Npy(npy) => Some(npy.rows),
        }
    }

    /// Up to `max` more vectors (fewer only at the end; none once the input is exhausted).
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<Vec<u8>>> {
        let mut batch = Vec::with_capacity(max.min(1 << 16));
        while batch.len() < max {
            match self.next_vector()? {
                Some(v) => batch.push(v),
                None => break,
            }
        }
        Ok(batch)
    }

    /// Reads and checks `count` vectors without keeping them (to resume a job); fails if the
    /// input holds fewer.
    pub fn skip(&mut self, count: usize) -> Result<()> {
        for _ in 0..count {
            if self.next_vector()?.is_none() {
                return Err(malformed(format!(
                    "the input ends after {} vectors, before the {count} to skip",
                    self.position
                )));
            }
        }
        Ok(())
    }

    fn next_vector(&mut self) -> Result<Option<Vec<u8>>> {
        let index = self.position;
        let embed_len = self.embed_len;
        let vector = match &mut self.source {
            Source::Jsonl(lines) => match lines.next_value()? {
                None => None,
                Some((line_number, value)) => Some(
                    jsonl_vector(value, line_number, index, embed_len)
                        .map_err(|e| locate(e, self.path.as_deref(), "line", line_number))?,
                ),
            },
            Source::Npy(npy) => npy
                .row(index, embed_len)
                .map_err(|e| locate(e, self.path.as_deref(), "row", index + 1))?,
        };
        if vector.is_some() {
            self.position += 1;
        }
        Ok(vector)
    }

    /// Every remaining vector.
    pub fn read_all(mut self) -> Result<Vec<Vec<u8>>> {
        self.next_batch(usize::MAX)
    }
}

/// A bad vector's error, naming its file and 1-based line (or `.npy` row) when the file is known.
fn locate(error: Error, path: Option<&Path>, unit: &'static str, number: usize) -> Error {
    match (error, path) {
        (e @ (Error::VectorLength { .. } | Error::NonBinaryValue { .. }), Some(path)) => {
            Error::BadVector {
                path: path.to_path_buf(),
                unit,
                number,
                source: Box::new(e),
            }
        }
        (e, _) => e,
    }
}

fn jsonl_vector(
    value: Value,
    line_number: usize,
    index: usize,
    embed_len: usize,
) -> Result<Vec<u8>> {
    let Value::Array(items) = value else {
        return Err(malformed(format!("line {line_number}: not a JSON array")));
    };
    if items.len() != embed_len {
        return Err(Error::VectorLength {
            index,
            expected: embed_len,
            found: items.len(),
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(position, item)| match item.as_u64() {
            Some(bit @ (0 | 1)) => Ok(bit as u8),
            _ => Err(Error::NonBinaryValue {
                index,
                position,
                value: item.to_string().chars().take(32).collect(),
            }),
        })
        .collect()
}

impl<R: BufRead> NpyRows<R> {
    fn row(&mut self, index: usize, cols: usize) -> Result<Option<Vec<u8>>> {
        if index >= self.rows {
            return Ok(None);
        }
        let row = match &self.column_major {
            Some(data) => (0..cols).map(|c| data[c * self.rows + index]).collect(),
            None => {
                let mut row = vec![0u8; cols];
                self.reader.read_exact(&mut row).map_err(|_| {
                    malformed(format!(
                        "npy data ends at row {index} of the {} the header promises",
                        self.rows
                    ))
                })?;
                row
            }
        };
        if let Some(position) = row.iter().position(|&b| b > 1) {
            let byte = row[position];
            return Err(Error::NonBinaryValue {
                index,
                position,
                value: if self.signed {
                    (byte as i8).to_string()
                } else {
                    byte.to_string()
                },
            });
        }
        Ok(Some(row))
    }
}

impl VectorReader<std::io::BufReader<std::fs::File>> {
    /// Opens a vector file: `.npy` by its extension, JSON Lines otherwise.
    pub fn open(path: &Path, embed_len: usize) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let length = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let reader = std::io::BufReader::new(file);
        let opened = if is_npy(path) {
            Self::npy(reader, embed_len, Some(length))?
        } else {
            Self::jsonl(reader, embed_len)
        };
        Ok(Self {
            path: Some(path.to_path_buf()),
            ..opened
        })
    }
}

/// Reads a whole vector file: `.npy` by its extension, JSON Lines otherwise. Every vector must
/// have `embed_len` entries of 0 or 1. For large files, stream with [`VectorReader::open`].
pub fn read_vectors(path: &Path, embed_len: usize) -> Result<Vec<Vec<u8>>> {
    VectorReader::open(path, embed_len)?.read_all()
}

/// Reads JSON Lines vectors. Blank lines are skipped; errors name the vector (0-based) and line.
pub fn read_jsonl(reader: impl BufRead, embed_len: usize) -> Result<Vec<Vec<u8>>> {
    VectorReader::jsonl(reader, embed_len).read_all()
}

/// Reads a 2-D `.npy` array of `uint8`, `int8` or `bool` (C or Fortran order).
pub fn read_npy(bytes: &[u8], embed_len: usize) -> Result<Vec<Vec<u8>>> {
    VectorReader::npy(bytes, embed_len, Some(bytes.len() as u64))?.read_all()
}
