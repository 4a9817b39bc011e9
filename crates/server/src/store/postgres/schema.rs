//! The PostgreSQL schema, as numbered migrations (the same tables as SQLite's, in PostgreSQL's
//! types): `schema_version` holds how many were applied. Replicas starting together migrate one
//! at a time under an advisory lock; a store written by a newer version is refused.

/// The advisory lock every migration holds (any constant of this program's own).
pub(super) const MIGRATION_LOCK: i64 = 0x7061_696c_6c69_6572;

/// Each migration's statements, in order.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE admin_keys (
    hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    first_n TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE api_keys (
    hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    first_n TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);
CREATE TABLE kbs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    next_chunk_id BIGINT NOT NULL DEFAULT 1,
    chunk_count BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 0,
    rewritten BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE key_permissions (
    key_hash TEXT NOT NULL REFERENCES api_keys(hash),
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    permission SMALLINT NOT NULL,
    PRIMARY KEY (key_hash, kb_id)
);
CREATE TABLE contexts (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    context_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    creator_key TEXT,
    PRIMARY KEY (org_id, context_id)
);
CREATE TABLE bindings (
    org_id TEXT NOT NULL,
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    PRIMARY KEY (org_id, kb_id, context_id)
);
CREATE INDEX bindings_by_context ON bindings (org_id, context_id);
CREATE TABLE chunks (
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    chunk_id BIGINT NOT NULL,
    context_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content TEXT NOT NULL,
    meta_data TEXT NOT NULL,
    pieces BYTEA NOT NULL,
    PRIMARY KEY (kb_id, chunk_id)
);
CREATE INDEX chunks_by_context ON chunks (kb_id, context_id, chunk_id);
"#,
    // The owner's sealed digest of each (knowledge base, context): opaque bytes and a version,
    // written by compare-and-set (alone, or with the records it covers), gone with its
    // knowledge base.
    r#"
CREATE TABLE owner_digests (
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    sealed BYTEA NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kb_id, context_id)
);
"#,
    // Each version's link in the history of the owner's digest of a (knowledge base, context),
    // kept for the owner's other machines to check that a later version extends the one they
    // saw; gone with its knowledge base.
    r#"
CREATE TABLE owner_digest_links (
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    prev BIGINT NOT NULL,
    link BYTEA NOT NULL,
    PRIMARY KEY (kb_id, context_id, version)
);
"#,
    // Pages of sealed vectors: each the owner's AES-GCM seal of some chunks' bit vectors
    // (opaque but for its clear header), selected by its partition token; each chunk names
    // the page holding it. Page numbers are never reused, so a chunk's stale link names none.
    r#"
CREATE TABLE sealed_pages (
    page_no BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    first_id BIGINT NOT NULL,
    token TEXT,
    page BYTEA NOT NULL
);
CREATE INDEX sealed_pages_by_token ON sealed_pages (kb_id, context_id, token, first_id);
ALTER TABLE chunks ADD COLUMN page_no BIGINT;
CREATE INDEX chunks_by_page ON chunks (kb_id, page_no);
"#,
];
