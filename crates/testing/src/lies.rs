//! The lies `tools/tamper-proxy.py` tells about one verified search's answer, and how a client
//! must refuse each: shared by the Rust client's tests and the program's, so that both halves
//! try the same lies.

use paillier_gpu::verifiable::{FailureKind, RecordLayout};
use serde_json::{json, Value};

/// One lie and its refusal.
pub struct AnswerLie {
    /// What it does, for a failed test's message.
    pub name: &'static str,
    /// The proxy's attack ([`crate::tamper::TamperProxy::set`]).
    pub attack: Value,
    /// The record count the search is told to expect, when the lie needs one to be caught.
    pub expect_count: Option<usize>,
    /// The kind of failure it is refused as.
    pub kind: FailureKind,
    /// Words of the refusal's message.
    pub words: &'static str,
}

/// Where the lies strike: records of the knowledge base searched, by chunk id.
pub struct Targets {
    /// The record nearest the query.
    pub nearest: i64,
    /// The second nearest.
    pub second_nearest: i64,
    /// Another record, not the nearest.
    pub second: i64,
    /// A record far from the query.
    pub far: i64,
    /// How many records the knowledge base holds.
    pub records: usize,
}

/// The lies about an answer to `query` over records of `layout` under the public key `n`
/// (decimal): forged, altered slots, tag or bits above, the stored record without the query, a
/// guess of the query confirmed, relabelled, duplicated, the same id twice, dropped, and
/// swapped contents.
pub fn answer_lies(layout: &RecordLayout, n: &str, query: &[u8], at: &Targets) -> Vec<AnswerLie> {
    let tag_bit = layout.record_bits() - 128 + 9;
    let above_bit = layout.query_bits() + 2;
    let far = at.far;
    let lie = |name, attack, expect_count, kind, words| AnswerLie {
        name,
        attack,
        expect_count,
        kind,
        words,
    };
    let altered = |name, attack| lie(name, attack, None, FailureKind::InvalidRecord, "altered");
    vec![
        lie(
            "forge",
            json!({"kind": "forge", "chunk_id": far, "n": n}),
            None,
            FailureKind::InvalidRecord,
            "forged",
        ),
        altered(
            "shift a slot",
            json!({"kind": "shift", "chunk_id": far, "bit": 1, "n": n}),
        ),
        altered(
            "shift the tag",
            json!({"kind": "shift", "chunk_id": far, "bit": tag_bit, "n": n}),
        ),
        altered(
            "shift above",
            json!({"kind": "shift", "chunk_id": far, "bit": above_bit, "n": n}),
        ),
        altered(
            "subtract below zero",
            json!({"kind": "subtract", "chunk_id": far, "bit": 0, "n": n}),
        ),
        altered(
            "the stored record without the query",
            json!({"kind": "unquery", "chunk_id": far, "n": n}),
        ),
        // E(R)·E(Q)²·E(−C) with C the query itself as this layout would pack it: passes only
        // if C is all of the query's plaintext, nonce included.
        altered(
            "confirm a guess of the query",
            json!({"kind": "guess", "chunk_id": far, "guess": query, "n": n,
                   "layout": layout.kind().name()}),
        ),
        // Two records' answers exchanged relabel them: the owner's digest, which covers a
        // search of the whole knowledge base, refuses the answer before any content is fetched
        // (swapped contents alone are the content mismatch below).
        lie(
            "swap into the top k",
            json!({"kind": "swap", "a": at.nearest, "b": far}),
            None,
            FailureKind::DigestMismatch,
            "not the records the owner's digest counts",
        ),
        lie(
            "duplicate",
            json!({"kind": "duplicate", "source": at.nearest, "target": far}),
            None,
            FailureKind::DuplicatedRecord,
            "one record under several ids",
        ),
        lie(
            "the same id twice",
            json!({"kind": "same_id", "chunk_id": at.second}),
            None,
            FailureKind::DuplicatedId,
            "the same id twice",
        ),
        lie(
            "drop",
            json!({"kind": "drop", "chunk_id": far}),
            Some(at.records),
            FailureKind::Missing,
            "missing",
        ),
        lie(
            "swapped contents",
            json!({"kind": "content_swap", "a": at.nearest, "b": at.second_nearest}),
            None,
            FailureKind::ContentMismatch,
            "content mismatch",
        ),
    ]
}
