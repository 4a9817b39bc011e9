//! `compute_hamming` (the encrypted query times every selected record, on the service) into a
//! [`CiphertextBatch`], the owner's whole search on top of it, and metadata search.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use num_bigint::BigUint;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;

use super::Client;
use crate::api;
use crate::error::{Error, Result};
use paillier_gpu::context::{ExecutionContext, PublicContext};
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::Error as LibraryError;

/// What `compute_hamming` answered: one aggregated record per chunk, in the service's order.
#[derive(Debug)]
pub struct HammingAnswer {
    /// The chunk id of each record of `responses`.
    pub chunk_ids: Vec<i64>,
    /// The encrypted distances, one record per chunk (decode them with
    /// [`ExecutionContext::decode_batch`]).
    pub responses: CiphertextBatch,
}

impl Client {
    /// Asks the service to multiply `query` (one encrypted vector under `context`, stored as
    /// `context_id`) into every record of knowledge base `kb_id` that `filter` (the manual's
    /// metadata filter) and `range` (first and last chunk id) select.
    pub fn compute_hamming(
        &self,
        kb_id: &str,
        context_id: &str,
        context: &PublicContext,
        query: &CiphertextBatch,
        filter: Option<&Value>,
        range: Option<(i64, i64)>,
    ) -> Result<HammingAnswer> {
        if query.records() != 1 {
            return Err(LibraryError::ShapeMismatch(format!(
                "compute_hamming takes one encrypted query, not {}",
                query.records()
            ))
            .into());
        }
        let shape = context.try_ciphertext_shape()?;
        let mut bytes = Vec::new();
        query.write_record_le_bytes(0, shape.piece_bytes, &mut bytes)?;
        let pieces: Vec<String> = bytes
            .chunks(shape.piece_bytes)
            .map(|piece| BASE64.encode(piece))
            .collect();
        let body = api::ComputeHamming {
            kb_id: kb_id.to_owned(),
            context_id: context_id.to_owned(),
            query: pieces,
            meta_filter: filter.map(sent_filter).transpose()?,
            range: range.map(|(first, last)| vec![first, last]),
        };
        let address = self.address("compute_hamming", "");
        let request = self
            .request(Method::POST, &address)
            .header(ACCEPT, "application/x-msgpack, application/json")
            .json(&body);
        let response = self.send(request, &address)?;
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        let answer = response.bytes().map_err(|e| Error::RemoteUnreachable {
            url: address.clone(),
            detail: e.to_string(),
        })?;
        let width = PieceWidth::new(context, shape.piece_bytes);
        let (chunk_ids, records) = if is_json {
            read_json_answer(&answer, shape.pieces, width)
        } else {
            read_msgpack_answer(&answer, shape.pieces, width)
        }
        .map_err(|detail| Error::RemoteUnreachable {
            url: address.clone(),
            detail: format!("the compute_hamming answer: {detail}"),
        })?;
        let responses = CiphertextBatch::from_le_bytes(
            context.public_key(),
            shape.pieces,
            shape.piece_bytes,
            &records,
            0,
        )?;
        Ok(HammingAnswer {
            chunk_ids,
            responses,
        })
    }

    /// The owner's whole search: encrypts `vector` under `context` (stored on the service under
    /// its id), aggregates on the service, decodes here, and returns the `top_k` nearest chunks
    /// as `(chunk_id, Hamming distance)`, nearest first (ties by chunk id): records uploaded
    /// as the SDK does, unverified ([`search_records`](Self::search_records) does the rest).
    pub fn search(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vector: &[u8],
        filter: Option<&Value>,
        range: Option<(i64, i64)>,
        top_k: usize,
    ) -> Result<Vec<(i64, u32)>> {
        let options = crate::SearchOptions {
            filter: filter.cloned(),
            range,
            top_k,
            ..crate::SearchOptions::default()
        };
        let hits = self.search_records(kb_id, context, vector, &options)?;
        Ok(hits.iter().map(|h| (h.chunk_id, h.distance)).collect())
    }

    /// The chunks of `kb_id` whose metadata passes `filter`, as the service lists them: each
    /// with its `chunk_id`, name and metadata, and with `return_content` its `chunk_content`
    /// (still encrypted: open it with [`ExecutionContext::decrypt_content`]).
    pub fn meta_search(
        &self,
        kb_id: &str,
        context_id: &str,
        filter: &Value,
        return_content: bool,
    ) -> Result<Vec<Value>> {
        let address = self.address("chunk/meta", "");
        let body = api::MetaSearch {
            kb_id: kb_id.to_owned(),
            context_id: context_id.to_owned(),
            meta_filter: Some(sent_filter(filter)?),
            return_content,
            ..api::MetaSearch::default()
        };
        match self.json(self.request(Method::POST, &address).json(&body), &address)? {
            Value::Array(chunks) => Ok(chunks),
            other => Err(Error::RemoteUnreachable {
                url: address,
                detail: format!("expected a list of chunks, got {other}"),
            }),
        }
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

/// JSON: an array of `[[integer pieces], chunk_id]`.
fn read_json_answer(
    bytes: &[u8],
    chunks: usize,
    width: PieceWidth,
) -> std::result::Result<(Vec<i64>, Vec<u8>), String> {
    let entries: Vec<(Vec<Value>, i64)> =
        serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut ids = Vec::with_capacity(entries.len());
    // Entries are refused one by one below: reserve no more than the answer's own size.
    let mut records = Vec::with_capacity(bytes.len().min(entries.len() * chunks * width.wire));
    for (entry, (pieces, chunk_id)) in entries.into_iter().enumerate() {
        if pieces.len() != chunks {
            return Err(format!(
                "entry {entry} has {} pieces; expected {chunks}",
                pieces.len()
            ));
        }
        for piece in pieces {
            let digits = piece.to_string();
            // Parsing decimal digits takes time quadratic in their number: no more than a
            // ciphertext's (8·width·log10 2, rounded up) are read.
            if digits.len() > width.wire * 8 * 30_103 / 100_000 + 1 {
                return Err(format!(
                    "entry {entry}: a piece of {} digits; ciphertexts have {} bytes",
                    digits.len(),
                    width.wire
                ));
            }
            let value = BigUint::parse_bytes(digits.as_bytes(), 10)
                .ok_or_else(|| format!("entry {entry}: {digits} is not a whole number"))?;
            push_piece(&value.to_bytes_le(), width, &mut records)?;
        }
        ids.push(chunk_id);
    }
    Ok((ids, records))
}

/// A filter as the SDK sends it (a JSON string holding its JSON).
fn sent_filter(filter: &Value) -> Result<Box<serde_json::value::RawValue>> {
    api::filter_as_sent(filter)
        .map_err(|e| Error::InvalidSetting(format!("the filter does not serialise: {e}")))
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
