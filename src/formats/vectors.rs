//! Binary vectors in: JSON Lines (one array of 0/1 per line) or NumPy `.npy` (2-D, `uint8`,
//! `int8` or `bool`).

use std::io::{BufRead, Read};
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

fn malformed(detail: String) -> Error {
    Error::MalformedFile {
        kind: "vectors",
        detail,
    }
}

/// Reads a vector file: `.npy` by its extension, JSON Lines otherwise. Every vector must have
/// `embed_len` entries of 0 or 1.
pub fn read_vectors(path: &Path, embed_len: usize) -> Result<Vec<Vec<u8>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        let mut bytes = Vec::new();
        std::io::BufReader::new(file)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, e))?;
        read_npy(&bytes, embed_len)
    } else {
        read_jsonl(std::io::BufReader::new(file), embed_len)
    }
}

/// Reads JSON Lines vectors. Blank lines are skipped; errors name the vector (0-based) and line.
pub fn read_jsonl(reader: impl BufRead, embed_len: usize) -> Result<Vec<Vec<u8>>> {
    // A line of embed_len one-digit values needs about 3 bytes each; allow generous whitespace
    // but never an unbounded allocation.
    let max_line = (64 * embed_len).max(1 << 20) as u64;
    let mut vectors = Vec::new();
    super::read_json_lines(reader, max_line, "vectors", |line_number, value| {
        let index = vectors.len();
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
        let mut vector = Vec::with_capacity(embed_len);
        for (position, item) in items.iter().enumerate() {
            match item.as_u64() {
                Some(bit @ (0 | 1)) => vector.push(bit as u8),
                _ => {
                    return Err(Error::NonBinaryValue {
                        index,
                        position,
                        value: item.to_string().chars().take(32).collect(),
                    })
                }
            }
        }
        vectors.push(vector);
        Ok(())
    })?;
    Ok(vectors)
}

/// Reads a 2-D `.npy` array of `uint8`, `int8` or `bool` (C or Fortran order).
pub fn read_npy(bytes: &[u8], embed_len: usize) -> Result<Vec<Vec<u8>>> {
    let file = npyz::NpyFile::new(bytes).map_err(|e| malformed(format!("npy header: {e}")))?;
    let descr = file.dtype().descr();
    if !matches!(descr.as_str(), "'|u1'" | "'|i1'" | "'|b1'") {
        return Err(malformed(format!(
            "npy dtype {descr} (expected uint8, int8 or bool)"
        )));
    }
    let shape = file.shape().to_vec();
    let [rows, cols] = shape[..] else {
        return Err(malformed(format!(
            "npy array of shape {shape:?} is not 2-D"
        )));
    };
    if cols != embed_len as u64 {
        return Err(Error::VectorLength {
            index: 0,
            expected: embed_len,
            found: cols as usize,
        });
    }
    let count = rows
        .checked_mul(cols)
        .filter(|&c| c <= bytes.len() as u64)
        .ok_or_else(|| malformed(format!("npy shape {shape:?} is larger than the file")))?
        as usize;
    // One-byte elements: the data is the file's last rows·cols bytes.
    let data = &bytes[bytes.len() - count..];
    let fortran = matches!(file.order(), npyz::Order::Fortran);
    let rows = rows as usize;
    let mut vectors = Vec::with_capacity(rows);
    for r in 0..rows {
        let mut vector = Vec::with_capacity(embed_len);
        for c in 0..embed_len {
            let byte = if fortran {
                data[c * rows + r]
            } else {
                data[r * embed_len + c]
            };
            if byte > 1 {
                let value = if descr == "'|i1'" {
                    (byte as i8).to_string()
                } else {
                    byte.to_string()
                };
                return Err(Error::NonBinaryValue {
                    index: r,
                    position: c,
                    value,
                });
            }
            vector.push(byte);
        }
        vectors.push(vector);
    }
    Ok(vectors)
}
