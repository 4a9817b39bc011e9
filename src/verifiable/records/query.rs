//! A query of verifiable records: the vector, encrypted with a fresh nonce above the records'
//! fields, kept by the owner to check the answer.

use std::fmt;

use zeroize::Zeroizing;

use crate::paillier::CiphertextBatch;
use crate::verifiable::records::layout::QueryNonce;
use crate::verifiable::records::record_layout::RecordLayout;

/// A query the owner sent: what the service gets ([`encrypted`](Self::encrypted)) and what the
/// answer is checked against (the vector and the nonce, which never leave). Debug shows
/// neither.
pub struct VerifiableQuery {
    pub(in crate::verifiable) vector: Zeroizing<Vec<u8>>,
    pub(in crate::verifiable) nonce: QueryNonce,
    pub(in crate::verifiable) encrypted: CiphertextBatch,
    /// The records' layout it was made for: its answer is decoded under it.
    pub(in crate::verifiable) layout: Option<RecordLayout>,
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
