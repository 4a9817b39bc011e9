//! The SQLite schema, as numbered migrations: a store opened by a newer version is brought up
//! to date in one transaction, and one written by a newer version than this is refused.

/// Each migration's statements, in order; `PRAGMA user_version` counts those applied.
pub(in crate::store) const MIGRATIONS: &[&str] = &[
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
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE kbs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    next_chunk_id INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE key_permissions (
    key_hash TEXT NOT NULL REFERENCES api_keys(hash),
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    permission INTEGER NOT NULL,
    PRIMARY KEY (key_hash, kb_id)
);
CREATE TABLE contexts (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    context_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, context_id)
);
CREATE TABLE bindings (
    org_id TEXT NOT NULL,
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    PRIMARY KEY (org_id, kb_id, context_id)
);
CREATE TABLE chunks (
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    chunk_id INTEGER NOT NULL,
    context_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content TEXT NOT NULL,
    meta_data TEXT NOT NULL,
    pieces BLOB NOT NULL,
    PRIMARY KEY (kb_id, chunk_id)
);
CREATE INDEX chunks_by_context ON chunks (kb_id, context_id, chunk_id);
"#,
    // Each knowledge base's chunk count, kept by the writes, so that looking one up (every request
    // does) does not count its chunks.
    r#"
ALTER TABLE kbs ADD COLUMN chunk_count INTEGER NOT NULL DEFAULT 0;
UPDATE kbs SET chunk_count = (SELECT COUNT(*) FROM chunks WHERE chunks.kb_id = kbs.id);
"#,
    // Who stored each context (the API key's hash; NULL for an admin, or a context stored before
    // this was kept), and a binding for every knowledge base that already holds chunks under a
    // context, since inserting chunks now binds (readers of the knowledge base may read it).
    r#"
ALTER TABLE contexts ADD COLUMN creator_key TEXT;
INSERT OR IGNORE INTO bindings (org_id, kb_id, context_id)
    SELECT DISTINCT kbs.org_id, chunks.kb_id, chunks.context_id
    FROM chunks JOIN kbs ON kbs.id = chunks.kb_id;
"#,
    // Each knowledge base's place in its history of chunk writes (see `KbVersion`), so that a
    // resident index can tell whether it is current and how to catch up.
    r#"
ALTER TABLE kbs ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kbs ADD COLUMN rewritten INTEGER NOT NULL DEFAULT 0;
"#,
    // The owner's sealed digest of each (knowledge base, context): opaque bytes and a version,
    // written by compare-and-set (alone, or with the records it covers), gone with its
    // knowledge base.
    r#"
CREATE TABLE owner_digests (
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
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
    version INTEGER NOT NULL,
    prev INTEGER NOT NULL,
    link BLOB NOT NULL,
    PRIMARY KEY (kb_id, context_id, version)
);
"#,
    // Pages of sealed vectors: each the owner's AES-GCM seal of some chunks' bit vectors
    // (opaque but for its clear header), selected by its partition token; each chunk names
    // the page holding it. Page numbers are never reused, so a chunk's stale link names none.
    r#"
CREATE TABLE sealed_pages (
    page_no INTEGER PRIMARY KEY AUTOINCREMENT,
    kb_id TEXT NOT NULL REFERENCES kbs(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    first_id INTEGER NOT NULL,
    token TEXT,
    page BLOB NOT NULL
);
CREATE INDEX sealed_pages_by_token ON sealed_pages (kb_id, context_id, token, first_id);
ALTER TABLE chunks ADD COLUMN page_no INTEGER;
CREATE INDEX chunks_by_page ON chunks (kb_id, page_no);
"#,
];
