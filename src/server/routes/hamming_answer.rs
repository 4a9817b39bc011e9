//! compute_hamming's answer, `[[pieces], chunk_id]` per aggregated record, written a block of
//! records at a time into a streamed body: msgpack with each piece as `bin` (little-endian
//! bytes), or JSON with each piece as an integer. The whole answer is never held twice.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use num_bigint::BigUint;

use crate::paillier::CiphertextBatch;

/// Records per block of the answer.
const BLOCK_RECORDS: usize = 4096;

/// The msgpack answer.
pub fn msgpack(responses: CiphertextBatch, chunk_ids: Vec<i64>, width: usize) -> Body {
    streamed(
        responses,
        chunk_ids,
        move |responses, chunk_ids, first, out| {
            if first == 0 {
                let _ = rmp::encode::write_array_len(out, chunk_ids.len() as u32);
            }
            let pieces = responses.chunks_per_record();
            let end = (first + BLOCK_RECORDS).min(chunk_ids.len());
            for (record, &chunk_id) in chunk_ids.iter().enumerate().take(end).skip(first) {
                let _ = rmp::encode::write_array_len(out, 2);
                let _ = rmp::encode::write_array_len(out, pieces as u32);
                for piece in 0..pieces {
                    let _ = rmp::encode::write_bin_len(out, width as u32);
                    put_piece(responses, record * pieces + piece, width, out);
                }
                let _ = rmp::encode::write_sint(out, chunk_id);
            }
        },
    )
}

/// The JSON answer.
pub fn json(responses: CiphertextBatch, chunk_ids: Vec<i64>, width: usize) -> Body {
    streamed(
        responses,
        chunk_ids,
        move |responses, chunk_ids, first, out| {
            if first == 0 {
                out.push(b'[');
            }
            let pieces = responses.chunks_per_record();
            let end = (first + BLOCK_RECORDS).min(chunk_ids.len());
            let mut bytes = Vec::with_capacity(width);
            for (record, &chunk_id) in chunk_ids.iter().enumerate().take(end).skip(first) {
                if record > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"[[");
                for piece in 0..pieces {
                    if piece > 0 {
                        out.push(b',');
                    }
                    bytes.clear();
                    put_piece(responses, record * pieces + piece, width, &mut bytes);
                    out.extend_from_slice(BigUint::from_bytes_le(&bytes).to_string().as_bytes());
                }
                out.extend_from_slice(format!("],{chunk_id}]").as_bytes());
            }
            if end == chunk_ids.len() {
                out.push(b']');
            }
        },
    )
}

/// One ciphertext as `width` little-endian bytes. Every response is below n², which fits the
/// context's width, so the writer cannot refuse it; should it ever, the piece is zero, which
/// the owner's decoding refuses (0 is no ciphertext), and the server says so in its log.
fn put_piece(responses: &CiphertextBatch, item: usize, width: usize, out: &mut Vec<u8>) {
    let start = out.len();
    if let Err(e) = responses.write_item_le_bytes(item, width, out) {
        log::error!("compute_hamming: response {item} sent as 0: {e}");
        out.truncate(start);
        out.resize(start + width, 0);
    }
}

/// A body of blocks: `write(responses, chunk_ids, first record, out)` writes the block that
/// starts at `first` (the opening with the first block, the closing with the last).
fn streamed(
    responses: CiphertextBatch,
    chunk_ids: Vec<i64>,
    write: impl Fn(&CiphertextBatch, &[i64], usize, &mut Vec<u8>) + Send + Sync + 'static,
) -> Body {
    let blocks = chunk_ids.len().div_ceil(BLOCK_RECORDS).max(1);
    let stream = futures_util::stream::iter((0..blocks).map(move |block| {
        let mut out = Vec::new();
        write(&responses, &chunk_ids, block * BLOCK_RECORDS, &mut out);
        Ok::<_, Infallible>(Bytes::from(out))
    }));
    Body::from_stream(stream)
}
