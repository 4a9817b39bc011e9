//! Plain numbers in and out: NumPy `.npy` (integers, floats or booleans, any shape), JSON Lines
//! (a number per line, or an array of numbers per line: one row each), or one JSON document (a
//! number, an array of numbers, or an array of arrays: the inference service's `input_data`).

use std::io::Read;
use std::path::Path;

use npyz::WriterBuilder;

use super::super::npy::{self, is_npy};
pub use super::json::{read_json_numbers, read_jsonl_numbers};
use super::plain_array::malformed;
pub use super::plain_array::{PlainArray, PlainValues};
use crate::error::{Error, Result};
use crate::formats::Destination;
use crate::numbers::Decrypted;

/// Reads numbers from `.npy`, a JSON document (`.json`), or (any other name) JSON Lines.
pub fn read_numbers(path: &Path) -> Result<PlainArray> {
    let (file, length) = crate::formats::open_input(path)?;
    let reader = std::io::BufReader::new(file);
    if is_npy(path) {
        read_npy_numbers(reader, length)
    } else if super::json::is_json(path) {
        read_json_numbers(reader)
    } else {
        read_jsonl_numbers(reader)
    }
    .map_err(|e| e.in_file(path))
}

/// Numbers from `.npy`: little-endian or one-byte integers, booleans, `float32` or `float64`, C or
/// Fortran order (Fortran for at most two dimensions); `length`, when known, is checked against
/// the header before the data is read.
pub fn read_npy_numbers(mut reader: impl Read, length: Option<u64>) -> Result<PlainArray> {
    let (header, header_bytes) = npy::read_header(&mut reader, "numbers")?;
    let descr = header.dtype().descr();
    let shape: Vec<usize> = header
        .shape()
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| malformed(format!("npy dimension {d} is too large")))
        })
        .collect::<Result<_>>()?;
    let count = crate::numbers::element_count(&shape)?;
    let item = match descr.trim_matches('\'') {
        "|b1" | "|u1" | "|i1" => 1,
        "<i2" | "<u2" => 2,
        "<i4" | "<u4" | "<f4" => 4,
        "<i8" | "<u8" | "<f8" => 8,
        other => {
            return Err(malformed(format!(
                "npy dtype {other} (expected little-endian integers, bool, float32 or float64)"
            )))
        }
    };
    let data_bytes = (count as u64)
        .checked_mul(item)
        .ok_or_else(|| malformed(format!("npy shape {shape:?} overflows")))?;
    if let Some(length) = length {
        let available = length.saturating_sub(header_bytes as u64);
        if available != data_bytes {
            return Err(malformed(format!(
                "npy shape {shape:?} needs {data_bytes} data bytes; the file has {available}"
            )));
        }
    }
    let mut data = Vec::new();
    reader
        .take(data_bytes)
        .read_to_end(&mut data)
        .map_err(|e| malformed(format!("npy data: {e}")))?;
    if data.len() as u64 != data_bytes {
        return Err(malformed(format!(
            "npy data: {} bytes where the shape needs {data_bytes}",
            data.len()
        )));
    }
    let fortran = matches!(header.order(), npyz::Order::Fortran) && shape.len() > 1;
    if fortran && shape.len() > 2 {
        return Err(malformed(
            "npy Fortran order with more than 2 dimensions: save the array in C order".into(),
        ));
    }
    let values = decode_npy_values(descr.trim_matches('\''), &data)?;
    let values = if fortran {
        transpose(values, shape[0], shape[1])
    } else {
        values
    };
    Ok(PlainArray { values, shape })
}

fn decode_npy_values(descr: &str, data: &[u8]) -> Result<PlainValues> {
    fn each<const N: usize, T>(data: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        data.chunks_exact(N)
            .map(|c| {
                let mut b = [0u8; N];
                b.copy_from_slice(c);
                f(b)
            })
            .collect()
    }
    Ok(match descr {
        "|b1" | "|u1" => PlainValues::Integers(data.iter().map(|&b| i64::from(b)).collect()),
        "|i1" => PlainValues::Integers(data.iter().map(|&b| i64::from(b as i8)).collect()),
        "<i2" => PlainValues::Integers(each(data, |b| i64::from(i16::from_le_bytes(b)))),
        "<u2" => PlainValues::Integers(each(data, |b| i64::from(u16::from_le_bytes(b)))),
        "<i4" => PlainValues::Integers(each(data, |b| i64::from(i32::from_le_bytes(b)))),
        "<u4" => PlainValues::Integers(each(data, |b| i64::from(u32::from_le_bytes(b)))),
        "<i8" => PlainValues::Integers(each(data, i64::from_le_bytes)),
        "<u8" => {
            let values = each(data, u64::from_le_bytes);
            if let Some(i) = values.iter().position(|&v| i64::try_from(v).is_err()) {
                return Err(malformed(format!(
                    "npy element {} (counting from 1): {} does not fit in a signed 64-bit integer",
                    i + 1,
                    values[i]
                )));
            }
            PlainValues::Integers(values.into_iter().map(|v| v as i64).collect())
        }
        "<f4" => finite(each(data, |b| f64::from(f32::from_le_bytes(b))))?,
        "<f8" => finite(each(data, f64::from_le_bytes))?,
        other => return Err(malformed(format!("npy dtype {other}"))),
    })
}

fn finite(values: Vec<f64>) -> Result<PlainValues> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(malformed(format!(
            "npy element {} (counting from 1, row-major): {} is not a finite number",
            i + 1,
            values[i]
        ))),
        None => Ok(PlainValues::Floats(values)),
    }
}

/// Column-major `rows × cols` values in row-major order.
fn transpose(values: PlainValues, rows: usize, cols: usize) -> PlainValues {
    fn t<T: Copy>(v: &[T], rows: usize, cols: usize) -> Vec<T> {
        (0..rows)
            .flat_map(|r| (0..cols).map(move |c| v[c * rows + r]))
            .collect()
    }
    match values {
        PlainValues::Integers(v) => PlainValues::Integers(t(&v, rows, cols)),
        PlainValues::Floats(v) => PlainValues::Floats(t(&v, rows, cols)),
    }
}

/// Writes decrypted numbers of `shape`, owner-only (they are the owner's plaintexts): `.npy`
/// (`int64` or `float64`, C order) or JSON Lines (one line per row of the first dimension: a
/// number for a 1-D array, a flat array of the row's numbers otherwise).
pub fn write_numbers(output: impl Destination, values: &Decrypted, shape: &[usize]) -> Result<()> {
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let named = output.requested().to_path_buf();
    let npy_output = is_npy(&named);
    output.write_with(|mut out| {
        let out = out.writer();
        let written = if npy_output {
            match values {
                Decrypted::Integers(v) => write_npy(out, &dims, v),
                Decrypted::Floats(v) => write_npy(out, &dims, v),
            }
        } else {
            let rows = shape.first().copied().unwrap_or(1).max(1);
            match values {
                Decrypted::Integers(v) => write_jsonl(out, v, rows, shape.len()),
                Decrypted::Floats(v) => write_jsonl(out, v, rows, shape.len()),
            }
        };
        written.map_err(|e| Error::io(&named, e))
    })
}

fn write_npy<T: npyz::AutoSerialize + Copy>(
    out: &mut dyn std::io::Write,
    shape: &[u64],
    values: &[T],
) -> std::io::Result<()> {
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(out)
        .begin_nd()?;
    writer.extend(values.iter().copied())?;
    writer.finish()
}

fn write_jsonl<T: serde::Serialize>(
    out: &mut dyn std::io::Write,
    values: &[T],
    rows: usize,
    dimensions: usize,
) -> std::io::Result<()> {
    let per_row = values.len() / rows;
    for row in values.chunks(per_row.max(1)) {
        if dimensions <= 1 {
            serde_json::to_writer(&mut *out, &row[0])?;
        } else {
            serde_json::to_writer(&mut *out, row)?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}
