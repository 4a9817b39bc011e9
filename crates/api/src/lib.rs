//! The XTrace API's request bodies and the JSON answers our client reads, written once: the
//! client (`paillier-gpu-client`, which re-exports this crate as `api`) sends the requests and
//! reads the answers, `paillier-gpu serve` does the reverse, and neither links the other: this
//! crate holds types and serde only, no HTTP. Fields the server reads only after it has checked the caller (a filter, a
//! batch of chunks, a context) are kept as the raw JSON text sent, so that a caller without the
//! right is refused before anything large is expanded.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// `POST /v1/compute_hamming/{org}`: multiply `query` into the knowledge base's records that
/// `meta_filter` and `range` select.
#[derive(Debug, Serialize, Deserialize)]
pub struct ComputeHamming {
    /// The knowledge base.
    pub kb_id: String,
    /// The context the query and the records are encrypted under.
    pub context_id: String,
    /// The encrypted query: one base64 string per piece, each the ciphertext's little-endian
    /// bytes.
    pub query: Vec<String>,
    /// The metadata filter, as the SDK sends it: a JSON string holding the filter's JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_filter: Option<Box<RawValue>>,
    /// The first and last chunk id aggregated, both included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Vec<i64>>,
}

/// `POST /v1/chunk/{org}`: a batch of chunks, each [`Chunk`], as the raw JSON list sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct InsertChunks {
    /// The knowledge base.
    pub kb_id: String,
    /// The context the chunks are encrypted under.
    pub context_id: String,
    /// A JSON list of [`Chunk`]s.
    pub chunks: Box<RawValue>,
}

/// One chunk of an insert.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Chunk {
    /// The chunk's content, as the owner sealed it (the SDK's AES-GCM base64).
    #[serde(default)]
    pub chunk_content: String,
    /// The encrypted vector: one base64 string per piece.
    pub index: Vec<String>,
    /// Its metadata (`tag1`–`tag5`, `facets`).
    #[serde(default)]
    pub meta_data: Option<Value>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `POST /v1/exec_context/{org}`: a context as its file holds it (the secret key sealed).
#[derive(Debug, Serialize, Deserialize)]
pub struct StoreContext {
    /// The context file's JSON object, as sent.
    pub data: Box<RawValue>,
    /// The id it is stored under.
    pub context_id: String,
}

/// `POST /v1/chunk/meta/{org}` and its paged and by-metadata forms: the chunks whose metadata
/// pass `meta_filter`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MetaSearch {
    /// The knowledge base.
    pub kb_id: String,
    /// The context.
    pub context_id: String,
    /// The metadata filter: its JSON, or a JSON string holding it (as the SDK sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_filter: Option<Box<RawValue>>,
    /// The fields of each chunk to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<Vec<String>>,
    /// Whether to answer each chunk's content.
    #[serde(default)]
    pub return_content: bool,
    /// Paged search: at most this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Paged search: from this position.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: usize,
    /// Paged search: `asc` or `desc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    /// Paged search: the field sorted by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// Patch by metadata: the fields to merge into each chunk's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Box<RawValue>>,
    /// Delete or patch by metadata: only count what would change.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
}

/// The answer to [`InsertChunks`]: the new chunks' ids, in the order sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct Inserted {
    /// One id per chunk sent.
    pub chunk_ids: Vec<i64>,
    /// How many were inserted (our server says; XTrace's own answer need not).
    #[serde(default)]
    pub inserted: usize,
}

/// The answer to [`StoreContext`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ContextStored {
    /// The id the context is stored under (our server says; a client falls back to the id it
    /// sent where a service does not).
    #[serde(default)]
    pub context_id: Option<String>,
}

/// The answer to `GET /v1/exec_context/{org}`: the stored contexts the caller may read.
#[derive(Debug, Serialize, Deserialize)]
pub struct Contexts {
    /// Their ids.
    pub contexts: Vec<String>,
}

/// The answer to `GET /v1/exec_context/{org}/{kb_id}/context`: the contexts bound to a
/// knowledge base.
#[derive(Debug, Serialize, Deserialize)]
pub struct ContextsOfKb {
    /// Their ids.
    pub context_ids: Vec<String>,
}

/// The answer to `GET /v1/exec_context/{org}/{context_id}/kb`: the knowledge bases a context is
/// bound to that the caller holds a permission on.
#[derive(Debug, Serialize, Deserialize)]
pub struct KbsOfContext {
    /// Their ids.
    pub kb_ids: Vec<String>,
}

/// The answer to `POST /v1/exec_context/{org}/{kb_id}/bind/{context_id}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bound {
    /// The knowledge base.
    pub kb_id: String,
    /// The context now bound to it.
    pub context_id: String,
}

/// One chunk's new fields in an update (`PUT /v1/chunk/{org}`'s `chunk_updates` items, and
/// [`RecordWrites::update`]'s); a field left out keeps its value (an update carries `index`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChunkUpdate {
    /// The chunk.
    pub chunk_id: i64,
    /// Its new content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_content: Option<String>,
    /// Its new encrypted vector: one base64 string per piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Vec<String>>,
    /// Its new metadata, merged key by key (`null` removes a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<Value>,
    /// Its new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The answer to `GET /v1/owner_digest/{org}/{kb_id}/{context_id}` (ours, not XTrace's): the
/// owner's sealed digest of a knowledge base's records under one context, and where the
/// knowledge base stands, read at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerDigest {
    /// The digest's version; 0 when none is stored.
    pub version: i64,
    /// The sealed digest, standard base64; `None` when none is stored.
    pub sealed: Option<String>,
    /// The id the knowledge base's next inserted chunk will get.
    pub next_chunk_id: i64,
    /// How many chunks the knowledge base holds (under every context).
    pub chunks: u64,
    /// Asked for with `?since=N`: the links the service keeps of the versions after N, in
    /// ascending order, at most [`MAX_DIGEST_LINKS`] of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<DigestLink>,
    /// More links follow the last one given: ask again with `since` set to its version.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more_links: bool,
}

/// Chunks per insert request, as the SDK sends them; a write of verifiable records sends this
/// many at most, each batch one transaction with the owner's digest.
pub const UPLOAD_BATCH: usize = 500;

/// Records per write of sealed vectors: more than [`UPLOAD_BATCH`], since a write seals its
/// records in pages of one partition each, and the fewer writes a partition's records are
/// spread over, the fuller its pages (fewer bytes a record, fewer pages a search reads).
pub const SEALED_UPLOAD_BATCH: usize = 8192;

/// Ids per `GET /v1/chunk` request: keeps the address short.
pub const IDS_PER_REQUEST: usize = 200;

/// The most links one answer to `GET /v1/owner_digest/...?since=N` carries.
pub const MAX_DIGEST_LINKS: usize = 4096;

/// The most links a client gathers for one digest read (256 pages): past it the read stops, and
/// a later version it does not reach is refused as unlinked rather than read for ever.
pub const MAX_LINKS_READ: usize = 256 * MAX_DIGEST_LINKS;

/// One version of the owner's digest in the knowledge base's history, as the service keeps it
/// for the owner's other machines: the version, the version it was written on, and its 32-byte
/// link (standard base64), which the owner's sealed digest chains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestLink {
    /// The version.
    pub version: i64,
    /// The version it was written on.
    pub prev: i64,
    /// Its link, standard base64 of 32 bytes.
    pub link: String,
}

/// A compare-and-set of the owner's digest: the body of `PUT /v1/owner_digest/{org}/{kb_id}/
/// {context_id}`, and [`RecordWrites::owner_digest`]. Written only when the stored version (0
/// when none) is `expected_version` and `version` is above it (by one for a write, further for
/// a rebuild past a version its owner saw elsewhere); otherwise a 409 carrying a
/// [`DigestConflict`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestWrite {
    /// The version the writer read.
    pub expected_version: i64,
    /// The version written: above `expected_version`.
    pub version: i64,
    /// The sealed digest, standard base64 (at most 4 MiB decoded).
    pub sealed: String,
    /// The version's link, kept for the owner's other machines (its `version` is this write's);
    /// left out by a writer that does not chain its digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<DigestLink>,
}

/// The answer to `PUT /v1/owner_digest/{org}/{kb_id}/{context_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutOwnerDigest {
    /// The digest's version now.
    pub version: i64,
    /// The id the knowledge base's next inserted chunk will get.
    pub next_chunk_id: i64,
}

/// `POST /v1/records/{org}` (ours): chunks inserted, updated, patched and deleted under one
/// context, committed in one transaction with the owner's digest, or none of it. The lists are
/// the raw JSON sent (read once the caller may write); each may be left out.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordWrites {
    /// The knowledge base.
    pub kb_id: String,
    /// The context the chunks are encrypted under.
    pub context_id: String,
    /// The digest's compare-and-set.
    pub owner_digest: DigestWrite,
    /// The id the first inserted chunk must get (the knowledge base's next id, as the owner
    /// read it): required when `insert` holds chunks, which get ids from it on, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_chunk_id: Option<i64>,
    /// A JSON list of [`Chunk`]s to insert, as `POST /v1/chunk/{org}`'s `chunks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert: Option<Box<RawValue>>,
    /// A JSON list of [`ChunkUpdate`]s, each a whole chunk as `PUT /v1/chunk/{org}` replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Box<RawValue>>,
    /// The ids of chunks to delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<i64>,
    /// A JSON list of [`ChunkUpdate`]s, each some fields of a chunk stored under the context, as
    /// `PATCH /v1/chunk/{org}` changes them (typically `meta_data` alone, merged key by key;
    /// `null` removes a key). Left out when `None`, so that a write without patches is the
    /// bytes it was before patches existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Box<RawValue>>,
    /// A JSON list of [`SentPage`]s: the sealed vectors of chunks this write inserts with an
    /// empty `index` (or of chunks stored, sealed again). A page replaces every stored page
    /// holding one of its chunks; deleting a chunk drops its page. Left out when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Box<RawValue>>,
}

/// One page of sealed vectors in a write ([`RecordWrites::pages`]): the owner's AES-256-GCM
/// seal of some chunks' bit vectors, one partition a page. The service reads only the page's
/// clear header (its format, partition, nonce, count and chunk ids) and keeps the rest opaque.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentPage {
    /// The page, standard base64 of its wire form (see [`SealedPages`]).
    pub page: String,
    /// The token its chunks carry in the partition field, by which a search selects it; none
    /// for a knowledge base without partitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `POST /v1/sealed_pages/{org}` (ours): the pages of sealed vectors of a knowledge base under
/// one context: those of the partitions `tokens` name, those holding the chunks `ids` name or
/// a chunk in `range`, a few of every page `after` an id, or else all of them (one selection
/// at most). The answer is
/// binary ([`SEALED_PAGES_TYPE`]): the pages one after another in their wire form, in the order
/// of their first chunk id, each
///
/// ```text
/// format (1 byte, 1) | partition (u32 BE; u32::MAX: none) | GCM nonce (12) | count (u32 BE)
/// | chunk ids (count × i64 BE) | sealed vectors (count × vector bytes) | GCM tag (16)
/// ```
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SealedPages {
    /// The knowledge base.
    pub kb_id: String,
    /// The context its records are written under.
    pub context_id: String,
    /// The partition tokens whose pages to send (at most [`MAX_SEALED_TOKENS`]); none: every
    /// page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<String>>,
    /// Every page a few at a time (no `tokens` with it): those whose first chunk id is above
    /// this, in that order, at most [`PAGES_A_READ`] of them and about 64 MiB; ask again from
    /// the last one's first chunk id until an answer holds none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    /// The pages holding these chunks (at most [`MAX_SEALED_IDS`]), each page once and whole,
    /// the chunks not asked for included: what an owner reads back by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<i64>>,
    /// The pages holding a chunk from the first id to the last (both included), each once and
    /// whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<(i64, i64)>,
}

/// The most chunk ids one [`SealedPages`] request names.
pub const MAX_SEALED_IDS: usize = 4096;

/// The most bytes of pages one [`SealedPages`] answer holds (413 past it), but with `after`.
pub const MAX_SEALED_ANSWER_BYTES: usize = 256 << 20;

/// The most pages one [`SealedPages`] read with `after` answers.
pub const PAGES_A_READ: usize = 256;

/// The content type of an answer of sealed pages.
pub const SEALED_PAGES_TYPE: &str = "application/octet-stream";

/// The most partition tokens one [`SealedPages`] request names.
pub const MAX_SEALED_TOKENS: usize = 4096;

/// The answer to [`RecordWrites`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsWritten {
    /// The ids of the chunks inserted, in the order sent.
    pub chunk_ids: Vec<i64>,
    /// The digest's version now.
    pub version: i64,
    /// The id the knowledge base's next inserted chunk will get.
    pub next_chunk_id: i64,
}

/// What a 409 answer to a digest write carries beside its `message` (the digest's version, or
/// the first chunk id, was not the one expected): where to read again from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestConflict {
    /// The digest's version stored; 0 when none.
    pub current_version: i64,
    /// The id the knowledge base's next inserted chunk will get.
    pub next_chunk_id: i64,
}

/// A list of items as the raw JSON a request's list field holds ([`RecordWrites::insert`],
/// [`RecordWrites::update`], [`RecordWrites::patch`], [`InsertChunks::chunks`]).
pub fn raw_list<T: Serialize>(items: &[T]) -> serde_json::Result<Box<RawValue>> {
    serde_json::value::to_raw_value(items)
}

/// A filter as the SDK sends it: a JSON string holding the filter's JSON.
pub fn filter_as_sent(filter: &Value) -> serde_json::Result<Box<RawValue>> {
    serde_json::value::to_raw_value(&filter.to_string())
}

// Fields left out of a request when they hold their default, so that a request carries only
// what the SDK's own would.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}
