//! A client that trusts the search service with nothing: answers the owner can check, and
//! metadata the service cannot read. Both are the owner's alone; the service stores and
//! multiplies as it always does.
//!
//! * **Verifiable records** (the classic scheme): each record's plaintext carries, above its
//!   slots, a random 128-bit nonce r and a 128-bit tag τ = PRF(kb, r, piece, bits) under a key
//!   derived from the data key ([`TaggedLayout`], [`RecordKeys`]). Decoding an answer reads the
//!   whole plaintext (both primes) and checks that nothing is set above the fields, that each
//!   slot minus the query's bit is 0 or 1, the tag, and across the answer that no record and no
//!   chunk id comes twice, ids lie in the asked range, and (given a count) none is missing
//!   ([`ExecutionContext::verify_answer`]). A record's content, metadata and name are sealed
//!   with (kb, r) as associated data ([`seal_document`]), so a verified search that opens its
//!   top k's contents also catches an answer or a content swapped into the top k.
//! * **Private metadata**: `tag1`–`tag5` and `facets` values become keyed tokens
//!   ([`tokenise_metadata`]) and filters are tokenised the same way ([`tokenise_filter`]).
//! * **Partitions**: a record's partition ([`PARTITION_FIELD`]) is sealed with its document and
//!   sent as a token; the owner's digest counts it per value and keeps the centroids
//!   ([`Partitioning`]), so a search over a few partitions is checked complete for each.
//! * **[`RecordCodec`]**: these rules as a client applies them, with no I/O: what each record
//!   sends, the filter sent, an answer ranked and verified, the fetched documents opened and
//!   checked. The Rust client and the Python one only carry its output over HTTP.
//!
//! A knowledge base written this way is for our clients: the SDK's decoder would read the extra
//! plaintext bits as slots, and its content as undecryptable.
//!
//! ```
//! use paillier_gpu::{ContextOptions, ExecutionContext};
//! use paillier_gpu::hamming::Selection;
//! use paillier_gpu::verifiable::Expectation;
//!
//! # fn main() -> paillier_gpu::Result<()> {
//! // Small INSECURE parameters keep the example fast; use ContextOptions::default() for real.
//! let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
//! let ctx = ExecutionContext::create_with_passphrase(&options, "passphrase")?;
//! let (records, nonces) = ctx.encrypt_records("kb-1", &[[0u8, 1, 1, 0, 1, 0, 0, 1]])?;
//! let mut index = ctx.new_index()?;                          // the service's side
//! index.insert_batch(&records)?;
//! let query = ctx.encrypt_query(&[0u8, 1, 1, 0, 1, 0, 0, 0])?; // a fresh nonce, kept here
//! let answer = index.aggregate_batch(query.encrypted(), &Selection::All)?;
//! let verified = ctx.verify_answer("kb-1", &query, &answer, &[7], &Expectation::default())?;
//! assert_eq!((verified.distances[0], verified.nonces[0]), (1, nonces[0]));
//! // The same answer is not kb-2's.
//! assert!(ctx.verify_answer("kb-2", &query, &answer, &[7], &Expectation::default()).is_err());
//! # Ok(()) }
//! ```
//!
//! [`ExecutionContext::verify_answer`]: crate::ExecutionContext::verify_answer

mod digest;
mod keys;
mod metadata;
mod partitions;
mod records;
mod sniff;

pub use crate::error::{AnswerFailure, AnswerRejection, FailureKind};
pub use digest::chain::DigestLink;
pub use digest::coverage::{covered_tally, covers_filter};
pub use digest::owner::OwnerDigest;
pub use digest::partitioning::{partition_value, Partitioning};
pub use digest::rebuild::DigestRebuild;
pub use digest::rules::{
    check_countable, counted_value, CountedRecord, DigestChange, WRITE_ATTEMPTS,
};
pub use digest::write::{PlannedWrite, RecordWrite, WriteAttempts};
pub use keys::{KeyDerivation, RecordKeys};
pub use metadata::filter::tokenise_filter;
pub use metadata::tokens::{check_private_sort, metadata_token, tokenise_metadata, PRIVATE_FIELDS};
pub use partitions::decoys::{decoy_group_size, MAX_DECOY_GROUP};
pub use partitions::field::{
    check_unreserved, document_partition, in_partition, partitions_filter, PARTITION_FIELD,
};
pub use partitions::placement::{PartitionCount, PlacedWrite, UploadPartitions};
pub use partitions::probe::{Probe, SearchAsked};
pub use partitions::rebuild::{
    PartitionsRebuild, RebuildRecord, RebuildReport, RebuildStep, RebuildWrite,
};
pub(crate) use records::answer::refused;
pub use records::answer::{check_filter, filter_selects, Expectation, VerifiedRecords};
pub use records::check::DecodedRecord;
pub use records::codec::{RecordCodec, RecordOptions};
pub use records::layout::{
    AnswerFields, QueryNonce, RecordNonce, TaggedLayout, NONCE_BITS, QUERY_NONCE_BITS, TAG_BITS,
};
pub use records::one_bit::OneBitLayout;
pub use records::query::VerifiableQuery;
pub use records::read::{FetchedRecord, Ranked, StoredRecords};
pub use records::record_layout::{LayoutKind, RecordLayout};
pub use records::seal::{open_document, open_records, seal_document, Document};
pub use records::sealed_page::{OpenedPage, SealedPage, PAGE_RECORDS};
pub use records::sealed_read::{OpenedSealed, SealedRecord};
pub use records::sealed_stored::PagedRecords;
pub use records::sent::{EncryptedRecords, SentRecord, MAX_META_BYTES};
pub use records::tally::Tally;
pub use sniff::{compares_private_values, explain_failure, holds_tokens, is_token};

/// A verifiable codec of knowledge base "kb" under a small insecure context: what the digest's
/// unit tests write and read with.
#[cfg(test)]
pub(crate) fn test_codec() -> RecordCodec {
    let options = crate::ContextOptions {
        key_len: 256,
        embed_len: 8,
        allow_insecure: true,
        ..Default::default()
    };
    let ctx =
        crate::ExecutionContext::create_with_passphrase(&options, "pw").expect("a test context");
    let records = RecordOptions {
        verifiable: true,
        private_meta: false,
    };
    RecordCodec::new(&ctx, "kb", records)
}

/// A partition model of `partitions` trained over 64 small vectors of the test codec's 8
/// dimensions: what the partitions' unit tests place, probe and install.
#[cfg(test)]
pub(crate) fn test_model(partitions: usize) -> crate::partitions::PartitionModel {
    let vectors: Vec<Vec<u8>> = (0..64u8)
        .map(|i| (0..8).map(|b| (i >> (b % 6)) & 1).collect())
        .collect();
    let options = crate::partitions::TrainOptions {
        partitions,
        ..Default::default()
    };
    crate::partitions::PartitionModel::train(&vectors, &options)
        .expect("a test model")
        .0
}
