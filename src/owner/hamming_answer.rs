//! `compute_hamming`'s answer read into a [`CiphertextBatch`]: msgpack (an array of
//! `[[bin pieces], chunk_id]`) or JSON (`[[integer pieces], chunk_id]`), each piece checked to
//! be a ciphertext's width before it is padded, so that a small answer cannot fill the owner's
//! memory or time.

use num_bigint::BigUint;
use serde_json::Value;

use crate::context::PublicContext;
use crate::error::{Error, Result};
use crate::paillier::CiphertextBatch;

/// The records of `compute_hamming`'s answer `body` (msgpack when `msgpack`, else JSON) under
/// `context`: their chunk ids, in the service's order, and the batch; `Err` says what does not
/// read (the caller decides whether that is a lie or an answer it cannot read).
pub fn read_hamming_answer(
    context: &PublicContext,
    body: &[u8],
    msgpack: bool,
) -> Result<std::result::Result<(Vec<i64>, CiphertextBatch), String>> {
    let shape = context.try_ciphertext_shape()?;
    let width = PieceWidth::new(context, shape.piece_bytes);
    let read = match msgpack {
        true => read_msgpack_answer(body, shape.pieces, width),
        false => read_json_answer(body, shape.pieces, width),
    };
    let (chunk_ids, records) = match read {
        Ok(read) => read,
        Err(detail) => return Ok(Err(detail)),
    };
    let batch = CiphertextBatch::from_le_bytes(
        context.public_key(),
        shape.pieces,
        shape.piece_bytes,
        &records,
        0,
    );
    match batch {
        Ok(batch) => Ok(Ok((chunk_ids, batch))),
        // A piece out of range or sharing a factor with n: named by its record's chunk id.
        Err(Error::InvalidCiphertext { index, reason }) => match chunk_ids.get(index) {
            Some(chunk_id) => Ok(Err(format!("chunk {chunk_id}: {reason}"))),
            None => Ok(Err(reason)),
        },
        Err(other) => Err(other),
    }
}

/// The widths of the answer's pieces: `wire` bytes each once padded, and at least `least`
/// significant bytes (half of n²'s: a ciphertext below n² is shorter with a negligible chance,
/// and padding shorter pieces would let a small answer fill the client's memory).
#[derive(Clone, Copy)]
struct PieceWidth {
    wire: usize,
    least: usize,
}

impl PieceWidth {
    fn new(context: &PublicContext, wire: usize) -> Self {
        let n_squared_bytes = (2 * context.public_key().n().bits() as usize).div_ceil(8);
        Self {
            wire,
            least: n_squared_bytes / 2,
        }
    }
}

/// Appends one piece, little-endian, zero-padded to the wire width (the service may send it
/// shorter, never under [`PieceWidth::least`]).
fn push_piece(
    piece: &[u8],
    width: PieceWidth,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    let PieceWidth { wire: width, least } = width;
    let significant = piece.len() - piece.iter().rev().take_while(|&&b| b == 0).count();
    if significant > width {
        return Err(format!(
            "a piece of {} bytes; ciphertexts have {width}",
            piece.len()
        ));
    }
    if significant < least {
        return Err(format!(
            "a piece of {significant} significant bytes; a ciphertext has at least {least}"
        ));
    }
    out.extend_from_slice(&piece[..significant]);
    out.resize(out.len() + width - significant, 0);
    Ok(())
}

/// msgpack: an array of `[[bin pieces], chunk_id]`.
fn read_msgpack_answer(
    mut bytes: &[u8],
    chunks: usize,
    width: PieceWidth,
) -> std::result::Result<(Vec<i64>, Vec<u8>), String> {
    let reader = &mut bytes;
    let count = rmp::decode::read_array_len(reader).map_err(|e| e.to_string())? as usize;
    // Each entry takes at least two array headers, a chunk id and half a ciphertext a piece:
    // the count, and what is reserved for it, are bounded by what arrived.
    let least_entry = 3 + chunks * (2 + width.least);
    if count > reader.len() / least_entry {
        return Err(format!("{count} entries in {} bytes", reader.len()));
    }
    let mut ids = Vec::with_capacity(count);
    let mut records = Vec::with_capacity(count * chunks * width.wire);
    for entry in 0..count {
        let fields = rmp::decode::read_array_len(reader).map_err(|e| e.to_string())?;
        let pieces = rmp::decode::read_array_len(reader).map_err(|e| e.to_string())? as usize;
        if fields != 2 || pieces != chunks {
            return Err(format!(
                "entry {entry} has {fields} fields and {pieces} pieces; expected 2 and {chunks}"
            ));
        }
        for _ in 0..pieces {
            let length = rmp::decode::read_bin_len(reader).map_err(|e| e.to_string())? as usize;
            if length > reader.len() {
                return Err(format!("entry {entry}: a piece runs past the end"));
            }
            let (piece, rest) = reader.split_at(length);
            push_piece(piece, width, &mut records)?;
            *reader = rest;
        }
        ids.push(rmp::decode::read_int::<i64, _>(reader).map_err(|e| e.to_string())?);
    }
    Ok((ids, records))
}

/// JSON: an array of `[[integer pieces], chunk_id]`, each chunk id an integer from 0 to
/// 2^63 - 1 and each piece a positive integer; what does not read is named by its chunk id
/// (or its position, where the chunk id is not one).
fn read_json_answer(
    bytes: &[u8],
    chunks: usize,
    width: PieceWidth,
) -> std::result::Result<(Vec<i64>, Vec<u8>), String> {
    let entries = match serde_json::from_slice(bytes).map_err(|e| e.to_string())? {
        Value::Array(entries) => entries,
        other => return Err(format!("not a list of records: {}", shown(&other))),
    };
    let mut ids = Vec::with_capacity(entries.len());
    // Entries are refused one by one below: reserve no more than the answer's own size.
    let mut records = Vec::with_capacity(bytes.len().min(entries.len() * chunks * width.wire));
    for (position, entry) in entries.iter().enumerate() {
        let (pieces, chunk_id) = match entry.as_array().map(Vec::as_slice) {
            Some([pieces, chunk_id]) => (pieces, chunk_id),
            _ => {
                return Err(format!(
                    "the compute_hamming answer's record {position} is not [pieces, chunk_id]: {}",
                    shown(entry)
                ))
            }
        };
        let chunk_id = chunk_id.as_i64().filter(|&id| id >= 0).ok_or_else(|| {
            format!(
                "the compute_hamming answer's record {position} has the chunk id {}: not an \
                 integer from 0 to 2^63 - 1",
                shown(chunk_id)
            )
        })?;
        let pieces = match pieces.as_array() {
            Some(pieces) if pieces.len() == chunks => pieces,
            other => {
                let count = other.map_or("no list of".to_owned(), |p| p.len().to_string());
                return Err(format!(
                    "chunk {chunk_id}: {count} pieces where the context has {chunks}"
                ));
            }
        };
        for (k, piece) in pieces.iter().enumerate() {
            let not_one = || {
                format!(
                    "chunk {chunk_id}, piece {k}: {} is not a ciphertext (a positive integer \
                     below n²)",
                    shown(piece)
                )
            };
            let digits = match piece {
                Value::Number(_) => piece.to_string(),
                _ => return Err(not_one()),
            };
            // Parsing decimal digits takes time quadratic in their number: no more than a
            // ciphertext's (8·width·log10 2, rounded up) are read.
            if digits.len() > width.wire * 8 * 30_103 / 100_000 + 1 {
                return Err(format!(
                    "chunk {chunk_id}, piece {k}: a piece of {} digits; ciphertexts have {} bytes",
                    digits.len(),
                    width.wire
                ));
            }
            let value = BigUint::parse_bytes(digits.as_bytes(), 10)
                .filter(|value| *value > BigUint::ZERO)
                .ok_or_else(not_one)?;
            push_piece(&value.to_bytes_le(), width, &mut records)
                .map_err(|why| format!("chunk {chunk_id}, piece {k}: {why}"))?;
        }
        ids.push(chunk_id);
    }
    Ok((ids, records))
}

/// The start of a value, for a message.
fn shown(value: &Value) -> String {
    value.to_string().chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces padded to 512 bytes, of at least 128 (n² of 2,048 bits).
    const WIDTH: PieceWidth = PieceWidth {
        wire: 512,
        least: 128,
    };

    fn msgpack(entries: &[(Vec<Vec<u8>>, i64)]) -> Vec<u8> {
        let mut out = Vec::new();
        rmp::encode::write_array_len(&mut out, entries.len() as u32).unwrap();
        for (pieces, id) in entries {
            rmp::encode::write_array_len(&mut out, 2).unwrap();
            rmp::encode::write_array_len(&mut out, pieces.len() as u32).unwrap();
            for piece in pieces {
                rmp::encode::write_bin(&mut out, piece).unwrap();
            }
            rmp::encode::write_sint(&mut out, *id).unwrap();
        }
        out
    }

    #[test]
    fn pieces_of_a_ciphertexts_size_are_read_and_padded() {
        let piece = vec![7u8; 256];
        let (ids, records) = read_msgpack_answer(&msgpack(&[(vec![piece], 4)]), 1, WIDTH).unwrap();
        assert_eq!((ids, records.len()), (vec![4], 512));
        let digits = BigUint::from_bytes_le(&[7u8; 256]).to_string();
        let json = format!("[[[{digits}], 4]]");
        let (ids, from_json) = read_json_answer(json.as_bytes(), 1, WIDTH).unwrap();
        assert_eq!((ids, from_json), (vec![4], records));
    }

    /// Answers that would cost the client far more memory or time than their own size.
    #[test]
    fn short_pieces_and_long_numbers_are_refused() {
        let empty_pieces: Vec<(Vec<Vec<u8>>, i64)> =
            (0..10_000).map(|i| (vec![vec![]], i)).collect();
        let why = read_msgpack_answer(&msgpack(&empty_pieces), 1, WIDTH).unwrap_err();
        assert!(why.contains("10000 entries"), "{why}");
        let short = msgpack(&[(vec![vec![1u8; 127]], 1), (vec![vec![1u8; 256]], 2)]);
        let why = read_msgpack_answer(&short, 1, WIDTH).unwrap_err();
        assert!(why.contains("at least 128"), "{why}");
        let json = b"[[[12], 1]]";
        assert!(read_json_answer(json, 1, WIDTH).is_err());
        let long = format!("[[[{}], 1]]", "9".repeat(100_000));
        let why = read_json_answer(long.as_bytes(), 1, WIDTH).unwrap_err();
        assert!(why.contains("100000 digits"), "{why}");
    }
}
