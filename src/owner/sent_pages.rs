//! A write's records sealed in pages as the service takes them: each page with its partition's
//! token, and each record's nonce (what its document is sealed to and the digest counts).

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use paillier_gpu_api as api;

use super::edits::not_started;
use crate::error::Result;
use crate::verifiable::{RecordCodec, RecordNonce};

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
