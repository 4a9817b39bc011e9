//! What the owner drivers' unit tests feed them: pages of sealed vectors as the service sends
//! them, and answers carrying them.

use super::http::{Answer, Answered};
use crate::verifiable::{RecordCodec, SealedPage};

/// A page of chunks `ids` of 8-bit vectors (each its id's low byte), sealed afresh.
pub(super) fn page(codec: &RecordCodec, ids: &[i64]) -> Vec<u8> {
    let vectors: Vec<[u8; 1]> = ids.iter().map(|&id| [id as u8]).collect();
    let records: Vec<(i64, &[u8])> = ids
        .iter()
        .zip(&vectors)
        .map(|(&id, v)| (id, &v[..]))
        .collect();
    SealedPage::seal(codec.keys().unwrap(), codec.kb(), None, &records)
        .unwrap()
        .to_bytes()
}

/// A 200 answer of `body`.
pub(super) fn answered(body: Vec<u8>) -> Option<Answered> {
    Some(Ok(Answer {
        status: 200,
        body,
        ..Answer::default()
    }))
}
