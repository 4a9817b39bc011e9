//! A write's records sealed in pages as the service takes them: each page with its partition's
//! token, and each record's nonce (what its document is sealed to and the digest counts); and
//! a stored record's chunk as such a write sends it.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use paillier_gpu_api as api;

use serde_json::value::RawValue;
use serde_json::Value;

use super::write::{not_started, raw};
use crate::error::{Error, Result};
use crate::verifiable::{Document, RecordCodec, RecordNonce};

/// `records` (chunk id, vector of 0/1 values, partition) sealed in pages under fresh nonces
/// ([`RecordCodec::seal_pages`]): the pages to send, and each record's nonce, in the records'
/// order.
pub(super) fn sealed_for_sending(
    codec: &RecordCodec,
    records: &[(i64, &[u8], Option<u32>)],
) -> Result<(Vec<api::SentPage>, Vec<RecordNonce>)> {
    let pages = codec.seal_pages(records)?;
    let mut nonce_of = HashMap::with_capacity(records.len());
    let mut sent = Vec::with_capacity(pages.len());
    for page in &pages {
        nonce_of.extend(page.ids().iter().copied().zip(page.nonces()));
        let token = match page.partition() {
            Some(partition) => codec.partition_tokens(&[partition])?.pop(),
            None => None,
        };
        sent.push(api::SentPage {
            page: BASE64.encode(page.to_bytes()),
            token,
        });
    }
    let nonces = records
        .iter()
        .map(|(id, _, _)| nonce_of.get(id).copied().ok_or_else(not_started))
        .collect::<Result<Vec<_>>>()?;
    Ok((sent, nonces))
}

/// The chunk update of record `chunk_id` sealed again: no Paillier index (a page holds its
/// vector), `document` sealed to its new `nonce`.
pub(super) fn sealed_update(
    codec: &RecordCodec,
    chunk_id: i64,
    nonce: RecordNonce,
    document: &Document,
) -> Result<Box<RawValue>> {
    let sent = codec.fields(0, Some(nonce), Some(document))?;
    let chunk = api::ChunkUpdate {
        chunk_id,
        chunk_content: Some(sent.content),
        index: Some(Vec::new()),
        meta_data: Some(Value::Object(sent.meta_data)),
        name: sent.name,
    };
    let chunk = serde_json::to_value(&chunk)
        .map_err(|e| Error::InvalidParameter(format!("a record does not serialise: {e}")))?;
    raw(&chunk)
}
