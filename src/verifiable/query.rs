//! A query of verifiable records: the vector, encrypted with a fresh nonce above the records'
//! fields, kept by the owner to check the answer.

use std::fmt;

use zeroize::Zeroizing;

use super::layout::QueryNonce;
use super::record_layout::RecordLayout;
use crate::paillier::CiphertextBatch;

/// A query the owner sent: what the service gets ([`encrypted`](Self::encrypted)) and what the
/// answer is checked against (the vector and the nonce, which never leave). Debug shows
/// neither.
pub struct VerifiableQuery {
    pub(super) vector: Zeroizing<Vec<u8>>,
    pub(super) nonce: QueryNonce,
    pub(super) encrypted: CiphertextBatch,
    /// The records' layout it was made for: its answer is decoded under it.
    pub(super) layout: Option<RecordLayout>,
}

impl VerifiableQuery {
    /// The encrypted query, one record of one piece, as `compute_hamming` takes it.
    pub fn encrypted(&self) -> &CiphertextBatch {
        &self.encrypted
    }

    /// The query's vector.
    pub fn vector(&self) -> &[u8] {
        &self.vector
    }

    /// The layout of the records it asks (none: a query of the SDK's records).
    pub fn layout(&self) -> Option<&RecordLayout> {
        self.layout.as_ref()
    }
}

impl fmt::Debug for VerifiableQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiableQuery").finish_non_exhaustive()
    }
}
