//! The owner's protocol with a service, as drivers that do no I/O (sans-I/O, as `quinn-proto`
//! is): each says which request to send next ([`Request`]), takes its answer ([`Answer`]) and
//! decides the next step, a retry included, until it ends with its outcome or an error. The
//! order of the steps (read the owner's digest, check it against the versions seen, plan,
//! send, retry, keep what was seen) is written here once; the Rust client and Python are each
//! one loop that carries the requests over HTTP.
//!
//! - [`DigestRead`]: the owner's digest read and checked against what this owner has seen.
//! - [`RecordsWrite`]: a write of records with the digest, planned by a [`Planner`], retried
//!   after another writer.
//! - [`DigestRebuild`]: the digest counted afresh from the records.
//! - [`SealVectors`]: a knowledge base of Paillier records moved to sealed vectors.
//! - [`DocumentsRead`], [`ChunksById`], [`StoredPairs`]: records' documents, chunks and
//!   verified pairs by id; [`DeleteById`], a delete by id's plan.
//!
//! What the owner keeps between operations is its [`OwnerState`]: the highest digest version
//! seen of each knowledge base and the rollbacks found, in a [`StateDir`] and in memory.

mod chunks;
mod context_push;
mod digest_read;
mod digest_rebuild;
mod documents;
mod edits;
mod every_id;
mod every_page;
mod find;
mod hamming_answer;
mod http;
mod partitions_rebuild;
mod partitions_sealed;
mod reseal;
mod seal_vectors;
mod seal_vectors_batch;
mod sealed_by_id;
mod sealed_checked;
mod sealed_edit;
mod search;
mod sent_pages;
mod state;
mod state_dir;
mod stored;
#[cfg(test)]
mod test_pages;
mod upload;
mod upload_batch;
mod upload_order;
mod write;
#[cfg(test)]
mod write_tests;

pub use chunks::{DeleteChunks, DeleteFound, InsertChunks, PatchChunks, ReplaceChunks};
pub use context_push::ContextPush;
pub use digest_read::{digest_write, Current, DigestFetch, DigestRead, Fetched};
pub use digest_rebuild::DigestRebuild;
pub use documents::{by_chunk_id, ChunksById, DocumentsRead};
pub use edits::{DeleteByMeta, PatchByMeta, UpdateById};
pub use find::{with_rebuild_hint, FindRecords, Found, FoundRecords, Page};
pub use hamming_answer::read_hamming_answer;
pub use http::{
    message_of, server_timing_us, Answer, Answered, Driver, Method, Request, Step, Unanswered,
};
pub use partitions_rebuild::PartitionsRebuildRun;
pub use reseal::ResealRecords;
pub use seal_vectors::{SealReport, SealVectors};
pub use search::{RecordSearch, SearchAsk, SearchHit, SearchOutcome, SearchTimes};
pub use state::OwnerState;
pub use state_dir::{SeenDigest, StateDir};
pub use stored::{stored_batch, DeleteById, StoredPairs};
pub use upload::{UploadPlacement, UploadRecords, UploadedRecords};
pub use write::{PlanWith, Planned, Planner, RecordsWrite, Written};
