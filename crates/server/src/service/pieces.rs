//! The encrypted index a client sends (a chunk's, an update's, a query's): decoded from the
//! SDK's base64 pieces into one padded record, and checked, by the library, to be ciphertexts of
//! the context's key: each `0 < c < n²` and coprime to n (a piece sharing a factor with n is no
//! ciphertext, and one that did would reveal the factor). Errors name the chunk and the piece.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::service::{ServiceError, ServiceResult};
use paillier_gpu::formats::ciphertexts::CiphertextShape;
use paillier_gpu::paillier::{CiphertextBatch, PublicKey};

/// The pieces of one encrypted vector, base64 of little-endian bytes of any length up to the
/// ciphertext width (the SDK writes them without padding), as one padded record.
pub fn decode_pieces(
    pieces: &[String],
    shape: CiphertextShape,
    what: &str,
) -> ServiceResult<Vec<u8>> {
    if pieces.len() != shape.pieces {
        return Err(ServiceError::bad_input(format!(
            "{what} has {} ciphertext pieces; this context's vectors have {}",
            pieces.len(),
            shape.pieces
        )));
    }
    let mut record = Vec::with_capacity(shape.pieces * shape.piece_bytes);
    for (i, piece) in pieces.iter().enumerate() {
        let mut bytes = BASE64
            .decode(piece)
            .map_err(|e| ServiceError::bad_input(format!("{what}, piece {i}: not base64 ({e})")))?;
        if bytes.len() > shape.piece_bytes {
            let padding = bytes.len() - shape.piece_bytes;
            if bytes[shape.piece_bytes..].iter().any(|&b| b != 0) {
                return Err(ServiceError::bad_input(format!(
                    "{what}, piece {i}: a ciphertext of {} bytes, wider than n² ({} bytes)",
                    bytes.len() - padding,
                    shape.piece_bytes
                )));
            }
            bytes.truncate(shape.piece_bytes);
        }
        bytes.resize(shape.piece_bytes, 0);
        record.extend_from_slice(&bytes);
    }
    Ok(record)
}

/// An error naming `what` and the piece unless every piece of `record` (as [`decode_pieces`]
/// made it) is a ciphertext of `public_key`: `0 < c < n²` and sharing no factor with n. The
/// library checks both where bytes become ciphertexts ([`CiphertextBatch::from_le_bytes`]); read
/// here a piece to a record, its error names the piece.
pub fn check_pieces(
    public_key: &PublicKey,
    shape: CiphertextShape,
    record: &[u8],
    what: &str,
) -> ServiceResult<()> {
    match CiphertextBatch::from_le_bytes(public_key, 1, shape.piece_bytes, record, 0) {
        Ok(_) => Ok(()),
        Err(paillier_gpu::Error::InvalidCiphertext {
            index: piece,
            reason,
        }) => Err(ServiceError::bad_input(format!(
            "{what}, piece {piece}: {reason}"
        ))),
        Err(e) => Err(ServiceError::bad_input(format!("{what}: {e}"))),
    }
}

/// `record` (as [`decode_pieces`] made it) as a batch of one encrypted vector, each piece
/// checked once by the library as it becomes a ciphertext; an error names `what` and the piece.
pub fn checked_record(
    public_key: &PublicKey,
    shape: CiphertextShape,
    record: &[u8],
    what: &str,
) -> ServiceResult<CiphertextBatch> {
    match CiphertextBatch::from_le_bytes(public_key, shape.pieces, shape.piece_bytes, record, 0) {
        Ok(batch) => Ok(batch),
        // Refused: read again a piece to a record (the error path only) to name the piece.
        Err(paillier_gpu::Error::InvalidCiphertext { reason, .. }) => {
            check_pieces(public_key, shape, record, what)?;
            Err(ServiceError::bad_input(format!("{what}: {reason}")))
        }
        Err(e) => Err(ServiceError::bad_input(format!("{what}: {e}"))),
    }
}
