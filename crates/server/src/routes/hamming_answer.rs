//! compute_hamming's answer, `[[pieces], chunk_id]` per aggregated record, written a block of
//! records at a time into a streamed body (`streamed.rs`): msgpack with each piece as `bin` (little-endian
//! bytes), or JSON with each piece as an integer. The whole answer is never held twice.

use std::ops::Range;

use axum::body::Body;
use num_bigint::BigUint;
use tokio::sync::OwnedSemaphorePermit;

use paillier_gpu::paillier::CiphertextBatch;

/// Records per block of the answer.
const BLOCK_RECORDS: usize = 4096;

/// The msgpack answer.
pub fn msgpack(
    responses: CiphertextBatch,
    chunk_ids: Vec<i64>,
    width: usize,
    slot: OwnedSemaphorePermit,
) -> Body {
    streamed(responses, chunk_ids, slot, move |block, out| {
        if block.first() {
            let _ = rmp::encode::write_array_len(out, block.chunk_ids.len() as u32);
        }
        for (record, chunk_id) in block.records() {
            let _ = rmp::encode::write_array_len(out, 2);
            let _ = rmp::encode::write_array_len(out, block.pieces() as u32);
            for item in block.pieces_of(record) {
                let _ = rmp::encode::write_bin_len(out, width as u32);
                put_piece(block.responses, item, width, out);
            }
            let _ = rmp::encode::write_sint(out, chunk_id);
        }
    })
}

/// The JSON answer.
pub fn json(
    responses: CiphertextBatch,
    chunk_ids: Vec<i64>,
    width: usize,
    slot: OwnedSemaphorePermit,
) -> Body {
    streamed(responses, chunk_ids, slot, move |block, out| {
        if block.first() {
            out.push(b'[');
        }
        let mut bytes = Vec::with_capacity(width);
        for (record, chunk_id) in block.records() {
            if record > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"[[");
            for (piece, item) in block.pieces_of(record).enumerate() {
                if piece > 0 {
                    out.push(b',');
                }
                bytes.clear();
                put_piece(block.responses, item, width, &mut bytes);
                out.extend_from_slice(BigUint::from_bytes_le(&bytes).to_string().as_bytes());
            }
            out.extend_from_slice(format!("],{chunk_id}]").as_bytes());
        }
        if block.last() {
            out.push(b']');
        }
    })
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

/// One block of the answer: the records `range` of `chunk_ids`, whose responses are
/// [`pieces`](Block::pieces) items each of `responses`.
struct Block<'a> {
    responses: &'a CiphertextBatch,
    chunk_ids: &'a [i64],
    range: Range<usize>,
}

impl Block<'_> {
    /// Whether the answer opens with this block.
    fn first(&self) -> bool {
        self.range.start == 0
    }

    /// Whether the answer closes with this block.
    fn last(&self) -> bool {
        self.range.end == self.chunk_ids.len()
    }

    /// Response items (ciphertext pieces) per record.
    fn pieces(&self) -> usize {
        self.responses.pieces_per_record()
    }

    /// The block's records and their chunk ids.
    fn records(&self) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.range
            .clone()
            .map(|record| (record, self.chunk_ids[record]))
    }

    /// The response items of `record`.
    fn pieces_of(&self, record: usize) -> Range<usize> {
        record * self.pieces()..(record + 1) * self.pieces()
    }
}

/// A body of blocks of [`BLOCK_RECORDS`] records: `write(block, out)` writes one (the opening
/// with the first block, the closing with the last), as [`streamed::blocks`] does.
fn streamed(
    responses: CiphertextBatch,
    chunk_ids: Vec<i64>,
    slot: OwnedSemaphorePermit,
    write: impl Fn(&Block<'_>, &mut Vec<u8>) + Send + Sync + 'static,
) -> Body {
    let count = chunk_ids.len();
    super::streamed::blocks(
        count.div_ceil(BLOCK_RECORDS).max(1),
        slot,
        move |block, out| {
            let start = block * BLOCK_RECORDS;
            let block = Block {
                responses: &responses,
                chunk_ids: &chunk_ids,
                range: start..(start + BLOCK_RECORDS).min(count),
            };
            write(&block, out);
        },
    )
}
