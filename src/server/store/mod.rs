//! What the server keeps: organisations and their keys, knowledge bases, execution contexts and
//! chunks. [`Store`] is the seam a PostgreSQL store can follow behind; [`SqliteStore`] is the
//! embedded default. Every write returns only once it is committed.

mod chunk_rows;
mod context_rows;
mod files;
mod schema;
mod sqlite;
#[cfg(test)]
mod tests;

pub use sqlite::SqliteStore;

use crate::error::Result;

/// The largest metadata of one chunk, as JSON text: inserts are refused past it by the routes,
/// and patches by the store, which alone sees the merged result.
pub const MAX_META_BYTES: usize = 64 << 10;

/// The current time, ISO 8601 in UTC to the second.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// An organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub id: String,
    pub name: String,
}

/// A knowledge base, with the number of chunks it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnowledgeBase {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: String,
    pub chunks: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// An API key as listed: never the key itself, only its hash and first characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub hash: String,
    pub org_id: String,
    pub name: String,
    pub description: String,
    pub first_n: String,
    pub revoked: bool,
    pub created_at: String,
}

/// A stored chunk. `pieces` holds its encrypted index, each piece little-endian and zero-padded
/// to the context's ciphertext width, one after the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub kb_id: String,
    pub chunk_id: i64,
    pub context_id: String,
    pub name: String,
    pub content: String,
    pub meta_data: String,
    pub pieces: Vec<u8>,
}

/// What the resident index keeps of a chunk: its id, metadata and encrypted index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexRow {
    pub chunk_id: i64,
    pub meta_data: String,
    pub pieces: Vec<u8>,
}

/// A chunk to insert: everything but its id, which the store gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChunk {
    pub name: String,
    pub content: String,
    pub meta_data: String,
    pub pieces: Vec<u8>,
}

/// A change to some fields of a chunk; `None` keeps a field as it is. `meta_data` is merged
/// into the chunk's metadata key by key (a `null` value removes the key).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChunkPatch {
    pub name: Option<String>,
    pub content: Option<String>,
    pub meta_data: Option<serde_json::Map<String, serde_json::Value>>,
    pub pieces: Option<Vec<u8>>,
}

/// A stored execution context: its JSON exactly as received, and who stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredContext {
    pub data: String,
    /// The hash of the API key that stored it; `None` for an organisation's admin (or a
    /// context stored before creators were recorded).
    pub creator_key: Option<String>,
}

/// What storing a context did. A context id names one content for good: the same bytes again
/// change nothing, other bytes are refused until the context is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutContext {
    Created,
    Unchanged,
    Conflict,
}

/// What deleting a context did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteContext {
    Deleted,
    Missing,
    /// Chunks of these knowledge bases are encrypted under it: nothing was deleted.
    InUse(Vec<String>),
}

/// The server's storage. Implementations commit every write before returning.
pub trait Store: Send + Sync {
    /// Creates an organisation and its admin key (stored as `admin_key_hash`).
    fn create_org(&self, name: &str, admin_key_hash: &str, first_n: &str) -> Result<Org>;
    /// The organisation whose admin key hashes to `hash`.
    fn org_of_admin_key(&self, hash: &str) -> Result<Option<String>>;

    fn create_api_key(&self, key: &ApiKey) -> Result<()>;
    fn api_key(&self, hash: &str) -> Result<Option<ApiKey>>;
    fn api_keys(&self, org_id: &str) -> Result<Vec<ApiKey>>;
    fn revoke_api_key(&self, org_id: &str, hash: &str) -> Result<bool>;
    /// `(kb_id, permission)` of a key.
    fn permissions(&self, hash: &str) -> Result<Vec<(String, u8)>>;
    fn set_permission(&self, hash: &str, kb_id: &str, permission: u8) -> Result<()>;

    fn create_kb(&self, kb: &KnowledgeBase) -> Result<()>;
    fn kb(&self, org_id: &str, kb_id: &str) -> Result<Option<KnowledgeBase>>;
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
    fn context(&self, org_id: &str, context_id: &str) -> Result<Option<StoredContext>>;
    /// Every context of the organisation: `(context_id, creator_key)`, oldest first.
    fn contexts(&self, org_id: &str) -> Result<Vec<(String, Option<String>)>>;
    /// Deletes a context and its bindings, unless chunks are stored under it.
    fn delete_context(&self, org_id: &str, context_id: &str) -> Result<DeleteContext>;
    fn bind(&self, org_id: &str, kb_id: &str, context_id: &str) -> Result<()>;
    fn contexts_of_kb(&self, org_id: &str, kb_id: &str) -> Result<Vec<String>>;
    fn kbs_of_context(&self, org_id: &str, context_id: &str) -> Result<Vec<String>>;

    /// Inserts chunks in one transaction, numbering them on from the knowledge base's last id,
    /// and binds the context to the knowledge base; returns their ids. In the same transaction
    /// the context must still be stored as `context_data` (the bytes the chunks were checked
    /// against): `None`, and nothing written, when it was deleted or replaced meanwhile.
    fn insert_chunks(
        &self,
        kb_id: &str,
        context_id: &str,
        context_data: &str,
        chunks: &[NewChunk],
    ) -> Result<Option<Vec<i64>>>;
    fn chunks_by_id(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<Chunk>>;
    /// `(chunk_id, context_id)` of the chunks of `ids` that exist.
    fn chunk_contexts(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<(i64, String)>>;
    /// Every chunk of a knowledge base under one context, in id order.
    fn chunks_of(&self, kb_id: &str, context_id: &str) -> Result<Vec<Chunk>>;
    /// The index rows of a knowledge base under one context, in id order, handed to `visit` at
    /// most `page` at a time (so that building an index never holds the whole table twice). An
    /// error from `visit` stops the read and is returned.
    fn index_rows(
        &self,
        kb_id: &str,
        context_id: &str,
        page: usize,
        visit: &mut dyn FnMut(&[IndexRow]) -> Result<()>,
    ) -> Result<()>;
    /// Deletes chunks; returns how many were there.
    fn delete_chunks(&self, kb_id: &str, ids: &[i64]) -> Result<usize>;
    /// Applies patches in one transaction to chunks stored under `context_id`; returns the ids
    /// that were there (the others are left out, and nothing is written if any is missing and
    /// `all_or_nothing`). A patch whose merged metadata would pass [`MAX_META_BYTES`] is an
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter), and nothing is written.
    fn patch_chunks(
        &self,
        kb_id: &str,
        context_id: &str,
        patches: &[(i64, ChunkPatch)],
        all_or_nothing: bool,
    ) -> Result<Vec<i64>>;
}
