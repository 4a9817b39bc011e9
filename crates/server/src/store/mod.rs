//! What the server keeps: organisations and their keys, knowledge bases, execution contexts,
//! chunks and their owners' sealed digests. [`Store`] is the seam; [`SqliteStore`] is the embedded default, [`PostgresStore`] the
//! one several replicas share. Both are one store written once (`sql_store`, `chunk_writes`) over
//! what their SQL dialects write differently (`dialect`). Every write returns only once it is
//! committed.

mod chunk_writes;
mod dialect;
mod files;
mod location;
mod owner_digests;
mod patches;
mod postgres;
mod rows;
mod schema_version;
mod sealed_pages;
mod sql_store;
mod sqlite;
mod statements;
#[cfg(test)]
mod tests;

pub use location::{backup, migrate, open_store, StoreLocation};
pub use owner_digests::{
    DigestConflict, DigestState, DigestSwap, DigestWritten, RecordBatch, StoredLink,
};
pub use postgres::PostgresStore;
pub use sealed_pages::{NewPage, PageSelection, PagesRead};
pub use sqlite::SqliteStore;

use crate::error::Result;

/// The largest metadata of one chunk, as JSON text: inserts are refused past it by the routes,
/// and patches by the store, which alone sees the merged result. The library's number, which
/// our clients check before they send.
pub const MAX_META_BYTES: usize = paillier_gpu::verifiable::MAX_META_BYTES;

/// The current time, ISO 8601 in UTC to the second.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// An organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    /// Its id, the `{org_id}` of every data-plane path.
    pub id: String,
    /// Its name, as given to `server init`.
    pub name: String,
}

/// A knowledge base, with the number of chunks it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnowledgeBase {
    /// Its id, unique across organisations.
    pub id: String,
    /// The organisation it belongs to.
    pub org_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// How many chunks it holds (kept by the writes).
    pub chunks: u64,
    /// When it was made (ISO 8601, UTC).
    pub created_at: String,
    /// When its chunks last changed (ISO 8601, UTC).
    pub updated_at: String,
}

/// An API key as listed: never the key itself, only its hash and first characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// The hash of the key, its id.
    pub hash: String,
    /// The organisation it belongs to.
    pub org_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The key's first characters, to tell keys apart.
    pub first_n: String,
    /// Revoked keys are refused everywhere.
    pub revoked: bool,
    /// When it was made (ISO 8601, UTC).
    pub created_at: String,
}

/// A stored chunk. `pieces` holds its encrypted index, each piece little-endian and zero-padded
/// to the context's ciphertext width, one after the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The knowledge base it belongs to.
    pub kb_id: String,
    /// Its id within the knowledge base.
    pub chunk_id: i64,
    /// The context its index is encrypted under.
    pub context_id: String,
    /// Its name.
    pub name: String,
    /// Its content, as the client sent it (the SDK encrypts it).
    pub content: String,
    /// Its metadata, a JSON object's text.
    pub meta_data: String,
    /// Its encrypted index (see the type's documentation).
    pub pieces: Vec<u8>,
}

/// What the resident index keeps of a chunk: its id, metadata and encrypted index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexRow {
    /// The chunk's id.
    pub chunk_id: i64,
    /// Its metadata, a JSON object's text.
    pub meta_data: String,
    /// Its encrypted index, as in [`Chunk`].
    pub pieces: Vec<u8>,
}

/// A chunk to insert: everything but its id, which the store gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChunk {
    /// Its name.
    pub name: String,
    /// Its content.
    pub content: String,
    /// Its metadata, a JSON object's text.
    pub meta_data: String,
    /// Its encrypted index, as in [`Chunk`].
    pub pieces: Vec<u8>,
}

/// A change to some fields of a chunk; `None` keeps a field as it is. `meta_data` is merged
/// into the chunk's metadata key by key (a `null` value removes the key).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChunkPatch {
    /// A new name.
    pub name: Option<String>,
    /// New content.
    pub content: Option<String>,
    /// Keys to merge into the metadata (`null` removes one).
    pub meta_data: Option<serde_json::Map<String, serde_json::Value>>,
    /// A new encrypted index.
    pub pieces: Option<Vec<u8>>,
}

/// A stored execution context: its JSON exactly as received, and who stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredContext {
    /// The context's JSON, exactly as received.
    pub data: String,
    /// The hash of the API key that stored it; `None` for an organisation's admin (or a
    /// context stored before creators were recorded).
    pub creator_key: Option<String>,
}

/// What storing a context did. A context id names one content for good: the same bytes again
/// change nothing, other bytes are refused until the context is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutContext {
    /// Stored anew.
    Created,
    /// The same bytes were stored under the id already: nothing changed.
    Unchanged,
    /// Other bytes are stored under the id: nothing changed.
    Conflict,
}

/// What deleting a context did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteContext {
    /// Deleted, with its bindings.
    Deleted,
    /// No such context.
    Missing,
    /// Chunks of these knowledge bases are encrypted under it: nothing was deleted.
    InUse(Vec<String>),
}

/// Where a knowledge base stands in its history of chunk writes: `version` counts them (every
/// insert, delete and edit adds one, in commit order); `rewritten` is the version of the last
/// write that was not an append. A resident index at version `v` is current when `v` is the
/// store's version, catches up by reading the chunks above its last id when `rewritten <= v`,
/// and is rebuilt otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KbVersion {
    /// Chunk writes committed so far.
    pub version: i64,
    /// The version of the last delete or edit (0: none).
    pub rewritten: i64,
}

/// What an insert did: the chunks' ids and the knowledge base's version after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inserted {
    /// The new chunks' ids, in the order sent.
    pub ids: Vec<i64>,
    /// The knowledge base's version with them.
    pub version: i64,
}

/// The server's storage. Implementations commit every write before returning; chunk ids grow
/// with the commit order within a knowledge base (several writers, even in several processes,
/// included), so that chunks above an id are exactly the ones committed after it.
pub trait Store: Send + Sync {
    /// Creates an organisation and its admin key (stored as `admin_key_hash`).
    fn create_org(&self, name: &str, admin_key_hash: &str, first_n: &str) -> Result<Org>;
    /// The organisation whose admin key hashes to `hash`.
    fn org_of_admin_key(&self, hash: &str) -> Result<Option<String>>;

    /// Stores a new API key (an error if its hash is stored already), unless the organisation
    /// has a key, revoked or not, whose `first_n` equals this one's without case: then it
    /// stores nothing and answers false (draw another key). Key creations of one organisation
    /// are serialised (SQLite's one writer; PostgreSQL's advisory lock), so two at once cannot
    /// both pass the check.
    fn create_api_key(&self, key: &ApiKey) -> Result<bool>;
    /// The API key whose hash is `hash`.
    fn api_key(&self, hash: &str) -> Result<Option<ApiKey>>;
    /// The organisation's API keys, oldest first.
    fn api_keys(&self, org_id: &str) -> Result<Vec<ApiKey>>;
    /// Revokes one of the organisation's keys; false when it has no such key.
    fn revoke_api_key(&self, org_id: &str, hash: &str) -> Result<bool>;
    /// `(kb_id, permission)` of a key.
    fn permissions(&self, hash: &str) -> Result<Vec<(String, u8)>>;
    /// Sets a key's permission bits on a knowledge base (replacing any before).
    fn set_permission(&self, hash: &str, kb_id: &str, permission: u8) -> Result<()>;

    /// Stores a new knowledge base (an error if its id is used already).
    fn create_kb(&self, kb: &KnowledgeBase) -> Result<()>;
    /// One of the organisation's knowledge bases.
    fn kb(&self, org_id: &str, kb_id: &str) -> Result<Option<KnowledgeBase>>;
    /// The organisation's knowledge bases, oldest first.
    fn kbs(&self, org_id: &str) -> Result<Vec<KnowledgeBase>>;
    /// Deletes a knowledge base with its chunks, permissions and bindings.
    fn delete_kb(&self, org_id: &str, kb_id: &str) -> Result<bool>;

    /// Stores a context's JSON as received, unless the id already names other bytes (in one
    /// transaction, so that two writers of one id cannot both create it).
    fn put_context(
        &self,
        org_id: &str,
        context_id: &str,
        data: &str,
        creator_key: Option<&str>,
    ) -> Result<PutContext>;
    /// One of the organisation's contexts.
    fn context(&self, org_id: &str, context_id: &str) -> Result<Option<StoredContext>>;
    /// Every context of the organisation: `(context_id, creator_key)`, oldest first.
    fn contexts(&self, org_id: &str) -> Result<Vec<(String, Option<String>)>>;
    /// Deletes a context and its bindings, unless chunks are stored under it.
    fn delete_context(&self, org_id: &str, context_id: &str) -> Result<DeleteContext>;
    /// Records that chunks of the knowledge base may be encrypted under the context (once), in
    /// one statement with the check that the context is stored; false (nothing bound) when it
    /// is not.
    fn bind(&self, org_id: &str, kb_id: &str, context_id: &str) -> Result<bool>;
    /// The contexts bound to a knowledge base, by id.
    fn contexts_of_kb(&self, org_id: &str, kb_id: &str) -> Result<Vec<String>>;
    /// The knowledge bases a context is bound to, by id.
    fn kbs_of_context(&self, org_id: &str, context_id: &str) -> Result<Vec<String>>;

    /// Inserts chunks in one transaction, numbering them on from the knowledge base's last id,
    /// and binds the context to the knowledge base; returns their ids and the new version. In
    /// the same transaction the context must still be stored as `context_data` (the bytes the
    /// chunks were checked against): `None`, and nothing written, when it was deleted or
    /// replaced meanwhile.
    fn insert_chunks(
        &self,
        kb_id: &str,
        context_id: &str,
        context_data: &str,
        chunks: &[NewChunk],
    ) -> Result<Option<Inserted>>;
    /// The knowledge base's version; `None` when it does not exist.
    fn kb_version(&self, kb_id: &str) -> Result<Option<KbVersion>>;
    /// The chunks of `ids` that exist, in the order asked for.
    fn chunks_by_id(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<Chunk>>;
    /// `(chunk_id, context_id)` of the chunks of `ids` that exist, in the order asked for.
    fn chunk_contexts(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<(i64, String)>>;
    /// Every chunk of a knowledge base under one context, in id order.
    fn chunks_of(&self, kb_id: &str, context_id: &str) -> Result<Vec<Chunk>>;
    /// The index rows of a knowledge base under one context with ids above `after`, in id
    /// order, handed to `visit` at most `page` at a time (so that building an index never holds
    /// the whole table twice), and the knowledge base's version they are the rows of (read in
    /// the same snapshot). An error from `visit` stops the read and is returned.
    fn index_rows(
        &self,
        kb_id: &str,
        context_id: &str,
        after: i64,
        page: usize,
        visit: &mut dyn FnMut(&[IndexRow]) -> Result<()>,
    ) -> Result<KbVersion>;
    /// Deletes chunks; returns how many were there. A rewrite (see [`KbVersion`]).
    fn delete_chunks(&self, kb_id: &str, ids: &[i64]) -> Result<usize>;
    /// Applies patches in one transaction to chunks stored under `context_id`; returns the ids
    /// that were there (the others are left out, and nothing is written if any is missing and
    /// `all_or_nothing`). A patch whose merged metadata would pass [`MAX_META_BYTES`] is an
    /// [`Error::RefusedValue`](crate::Error::RefusedValue), and nothing is written. A
    /// rewrite (see [`KbVersion`]) when anything is written.
    fn patch_chunks(
        &self,
        kb_id: &str,
        context_id: &str,
        patches: &[(i64, ChunkPatch)],
        all_or_nothing: bool,
    ) -> Result<Vec<i64>>;

    /// The owner's digest of `(kb_id, context_id)` with the knowledge base's next chunk id and
    /// count, read at one instant, with the links of its versions after `links_after`'s version
    /// (at most its count of them); `None` when the knowledge base does not exist.
    fn owner_digest(
        &self,
        kb_id: &str,
        context_id: &str,
        links_after: Option<(i64, usize)>,
    ) -> Result<Option<DigestState>>;
    /// Replaces the owner's digest of `(kb_id, context_id)` by compare-and-set (see
    /// [`DigestSwap`]); [`DigestWritten::Conflict`], and nothing written, when the stored
    /// version is not the one expected.
    fn put_owner_digest(
        &self,
        kb_id: &str,
        context_id: &str,
        swap: &DigestSwap,
    ) -> Result<DigestWritten>;
    /// In one transaction: the digest's compare-and-set as [`put_owner_digest`](Self::put_owner_digest)
    /// (Self::put_owner_digest), the batch's updates and deletes (every id stored under
    /// `context_id`, all of them), and its inserts numbered from exactly its `first_chunk_id`
    /// under the context as stored as `context_data`; all of it committed, or none (the outcome
    /// says why). Updates and deletes are a rewrite and inserts an append (see [`KbVersion`]):
    /// a batch with both moves the version twice, in one commit.
    fn write_records(
        &self,
        kb_id: &str,
        context_id: &str,
        context_data: &str,
        swap: &DigestSwap,
        batch: &RecordBatch,
    ) -> Result<DigestWritten>;

    /// The pages of sealed vectors of `(kb_id, context_id)` that `selection` selects, one
    /// after another in order of their first chunk id, read in one snapshot;
    /// [`PagesRead::TooLarge`] past `max_bytes` (a read after an id answers what fits).
    fn sealed_pages(
        &self,
        kb_id: &str,
        context_id: &str,
        selection: PageSelection<'_>,
        max_bytes: usize,
    ) -> Result<PagesRead>;
}
