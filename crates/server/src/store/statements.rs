//! The statements both stores run as they are: SQLite and PostgreSQL agree on them. Written with
//! PostgreSQL's numbered parameters (`$1`); the SQLite store reads them as its own (`?1`, see
//! `sqlite::session::numbered`), renumbered once per connection. A statement the dialects write differently stays with its dialect.

/// The columns of an API key, in the order both stores' row readers take them.
macro_rules! api_key_columns {
    () => {
        "hash, org_id, name, description, first_n, revoked, created_at"
    };
}

/// The columns of a knowledge base, in the order both stores' row readers take them.
macro_rules! kb_columns {
    () => {
        "id, org_id, name, description, chunk_count, created_at, updated_at"
    };
}

/// The columns of a chunk, in the order both stores' row readers take them.
macro_rules! chunk_columns {
    () => {
        "kb_id, chunk_id, context_id, name, content, meta_data, pieces"
    };
}

pub(super) use chunk_columns;

// Organisations and keys.
pub(super) const INSERT_ORG: &str = "INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)";
pub(super) const INSERT_ADMIN_KEY: &str =
    "INSERT INTO admin_keys (hash, org_id, first_n, created_at) VALUES ($1, $2, $3, $4)";
pub(super) const ORG_OF_ADMIN_KEY: &str = "SELECT org_id FROM admin_keys WHERE hash = $1";
/// Stores nothing when the organisation has a key, revoked or not, with the same first
/// characters in any case (the SDK's CLI tells keys apart by them).
pub(super) const INSERT_API_KEY: &str = concat!(
    "INSERT INTO api_keys (",
    api_key_columns!(),
    ") SELECT $1, $2, $3, $4, CAST($5 AS TEXT), $6, $7 WHERE NOT EXISTS (SELECT 1 FROM api_keys \
     WHERE org_id = $2 AND lower(first_n) = lower(CAST($5 AS TEXT)))"
);
pub(super) const API_KEY: &str = concat!(
    "SELECT ",
    api_key_columns!(),
    " FROM api_keys WHERE hash = $1"
);
pub(super) const API_KEYS: &str = concat!(
    "SELECT ",
    api_key_columns!(),
    " FROM api_keys WHERE org_id = $1 ORDER BY created_at, hash"
);
pub(super) const REVOKE_API_KEY: &str =
    "UPDATE api_keys SET revoked = $3 WHERE org_id = $1 AND hash = $2";
pub(super) const PERMISSIONS: &str =
    "SELECT kb_id, permission FROM key_permissions WHERE key_hash = $1 ORDER BY kb_id";
pub(super) const SET_PERMISSION: &str =
    "INSERT INTO key_permissions (key_hash, kb_id, permission) VALUES ($1, $2, $3) \
     ON CONFLICT (key_hash, kb_id) DO UPDATE SET permission = excluded.permission";

// Knowledge bases.
pub(super) const INSERT_KB: &str =
    "INSERT INTO kbs (id, org_id, name, description, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const KB: &str = concat!(
    "SELECT ",
    kb_columns!(),
    " FROM kbs WHERE org_id = $1 AND id = $2"
);
pub(super) const KBS: &str = concat!(
    "SELECT ",
    kb_columns!(),
    " FROM kbs WHERE org_id = $1 ORDER BY created_at, id"
);
pub(super) const DELETE_KB: &str = "DELETE FROM kbs WHERE org_id = $1 AND id = $2";
pub(super) const KB_VERSION: &str = "SELECT version, rewritten FROM kbs WHERE id = $1";
pub(super) const RECORD_INSERT: &str =
    "UPDATE kbs SET next_chunk_id = $1, chunk_count = chunk_count + $2, updated_at = $3, \
     version = $4 WHERE id = $5";

// Bindings of knowledge bases and contexts.
pub(super) const CONTEXTS_OF_KB: &str =
    "SELECT context_id FROM bindings WHERE org_id = $1 AND kb_id = $2 ORDER BY context_id";
pub(super) const KBS_OF_CONTEXT: &str =
    "SELECT kb_id FROM bindings WHERE org_id = $1 AND context_id = $2 ORDER BY kb_id";
pub(super) const BIND: &str =
    "INSERT INTO bindings (org_id, kb_id, context_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub(super) const KBS_HOLDING_CONTEXT: &str =
    "SELECT kbs.id FROM kbs WHERE kbs.org_id = $1 AND EXISTS (SELECT 1 FROM chunks \
     WHERE chunks.kb_id = kbs.id AND chunks.context_id = $2) ORDER BY kbs.id";
pub(super) const UNBIND_CONTEXT: &str =
    "DELETE FROM bindings WHERE org_id = $1 AND context_id = $2";

// Contexts.
pub(super) const CONTEXT_DATA: &str =
    "SELECT data FROM contexts WHERE org_id = $1 AND context_id = $2";
pub(super) const CONTEXT: &str =
    "SELECT data, creator_key FROM contexts WHERE org_id = $1 AND context_id = $2";
pub(super) const CONTEXTS: &str =
    "SELECT context_id, creator_key FROM contexts WHERE org_id = $1 ORDER BY created_at, context_id";
pub(super) const INSERT_CONTEXT: &str =
    "INSERT INTO contexts (org_id, context_id, data, created_at, creator_key) \
     VALUES ($1, $2, $3, $4, $5)";
pub(super) const DELETE_CONTEXT: &str =
    "DELETE FROM contexts WHERE org_id = $1 AND context_id = $2";

// Chunks.
pub(super) const INSERT_CHUNK: &str = concat!(
    "INSERT INTO chunks (",
    chunk_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
);
pub(super) const CHUNKS_OF_CONTEXT: &str = concat!(
    "SELECT ",
    chunk_columns!(),
    " FROM chunks WHERE kb_id = $1 AND context_id = $2 ORDER BY chunk_id"
);
pub(super) const INDEX_ROWS: &str = "SELECT chunk_id, meta_data, pieces FROM chunks \
     WHERE kb_id = $1 AND context_id = $2 AND chunk_id > $3 ORDER BY chunk_id";
pub(super) const CHUNK_META: &str =
    "SELECT meta_data FROM chunks WHERE kb_id = $1 AND chunk_id = $2 AND context_id = $3";
/// Marks a rewrite (a delete or an edit) of knowledge base `$3`, `$1` chunks fewer, at `$2`: see
/// [`KbVersion`](super::KbVersion).
pub(super) const REWROTE: &str = "UPDATE kbs SET version = version + 1, rewritten = version + 1, \
     chunk_count = chunk_count - $1, updated_at = $2 WHERE id = $3";
/// An edit of one chunk: what the patch leaves out keeps its value.
pub(super) const PATCH_CHUNK: &str =
    "UPDATE chunks SET name = COALESCE($3, name), content = COALESCE($4, content), \
     meta_data = $5, pieces = COALESCE($6, pieces) WHERE kb_id = $1 AND chunk_id = $2";

// The owner's digests.
pub(super) const OWNER_DIGEST: &str =
    "SELECT version, sealed FROM owner_digests WHERE kb_id = $1 AND context_id = $2";
/// Writes digest `$2` of knowledge base `$1` as version `$3`, sealed `$4`, at `$5`; the caller
/// has compared the version it replaces, in the same transaction.
pub(super) const PUT_OWNER_DIGEST: &str =
    "INSERT INTO owner_digests (kb_id, context_id, version, sealed, updated_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kb_id, context_id) DO UPDATE SET \
     version = excluded.version, sealed = excluded.sealed, updated_at = excluded.updated_at";
/// Keeps the link of version `$3` (written on `$4`, link `$5`) of digest `$2` of knowledge base
/// `$1`; a version written again (after a store was restored) replaces its link.
pub(super) const PUT_DIGEST_LINK: &str =
    "INSERT INTO owner_digest_links (kb_id, context_id, version, prev, link) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kb_id, context_id, version) DO UPDATE SET \
     prev = excluded.prev, link = excluded.link";
/// `(version, prev, link)` of digest `$2` of knowledge base `$1` after version `$3`, ascending,
/// at most `$4`.
pub(super) const DIGEST_LINKS: &str =
    "SELECT version, prev, link FROM owner_digest_links WHERE kb_id = $1 AND context_id = $2 \
     AND version > $3 ORDER BY version LIMIT $4";
/// `(next_chunk_id, chunk_count)` of knowledge base `$1`.
pub(super) const KB_NEXT_AND_COUNT: &str =
    "SELECT next_chunk_id, chunk_count FROM kbs WHERE id = $1";

// Pages of sealed vectors.
/// Stores page `$5` (first chunk `$3`, partition token `$4`) of `($1, $2)`; answers its number.
pub(super) const INSERT_PAGE: &str =
    "INSERT INTO sealed_pages (kb_id, context_id, first_id, token, page) \
     VALUES ($1, $2, $3, $4, $5) RETURNING page_no";
/// Names page `$3` the page of chunk `$2` of knowledge base `$1`, when stored under context `$4`.
pub(super) const LINK_PAGE: &str =
    "UPDATE chunks SET page_no = $3 WHERE kb_id = $1 AND chunk_id = $2 AND context_id = $4";
/// The page numbers of the chunks of knowledge base `$1` from id `$2` to `$3`.
pub(super) const PAGE_NOS_IN_RANGE: &str = "SELECT DISTINCT page_no FROM chunks \
     WHERE kb_id = $1 AND chunk_id >= $2 AND chunk_id <= $3 AND page_no IS NOT NULL";
/// `(first_id, page)` of page number `$3` when it is of `($1, $2)`.
pub(super) const PAGE_BY_NO: &str = "SELECT first_id, page FROM sealed_pages \
     WHERE kb_id = $1 AND context_id = $2 AND page_no = $3";
/// `(first_id, page)` of every page of `($1, $2)`, in chunk order.
pub(super) const PAGES_ALL: &str = "SELECT first_id, page FROM sealed_pages \
     WHERE kb_id = $1 AND context_id = $2 ORDER BY first_id";
/// `(first_id, page)` of the pages of `($1, $2)` of partition token `$3`, in chunk order.
pub(super) const PAGES_OF_TOKEN: &str = "SELECT first_id, page FROM sealed_pages \
     WHERE kb_id = $1 AND context_id = $2 AND token = $3 ORDER BY first_id";
/// `(first_id, page)` of the pages of `($1, $2)` whose first chunk id is above `$3`, in chunk
/// order, at most `$4`.
pub(super) const PAGES_AFTER: &str = "SELECT first_id, page FROM sealed_pages \
     WHERE kb_id = $1 AND context_id = $2 AND first_id > $3 ORDER BY first_id LIMIT $4";
