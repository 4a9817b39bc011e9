//! The owner's digest on the service (our server's routes, beside the XTrace API): read, replaced
//! by compare-and-set, and written in one transaction with the records it covers. Transport
//! only: what the digest holds, and its keys, are the caller's.

use reqwest::Method;

use super::{answer_of, message_of, Client};
use crate::api;
use crate::error::{Error, Result};

impl Client {
    /// The owner's digest of knowledge base `kb_id` under context `context_id`, with the
    /// knowledge base's next chunk id and count (read at one instant). Needs read permission.
    /// A raw read, as are the two writes below: nothing is checked against, or kept as, the
    /// versions this owner has seen (the records' methods do that).
    pub fn owner_digest(&self, kb_id: &str, context_id: &str) -> Result<api::OwnerDigest> {
        let address = self.digest_address(kb_id, context_id)?;
        let answer = self.json(self.request(Method::GET, &address), &address)?;
        answer_of(answer, &address)
    }

    /// [`owner_digest`](Self::owner_digest) with the links the service keeps of every version
    /// after `since` (asked for page by page, [`api::MAX_DIGEST_LINKS`] at a time), ascending:
    /// what a machine that saw version `since` checks a later version against. The digest is
    /// the first page's.
    pub fn owner_digest_since(
        &self,
        kb_id: &str,
        context_id: &str,
        since: i64,
    ) -> Result<api::OwnerDigest> {
        self.digest_address(kb_id, context_id)?;
        let fetch = paillier_gpu::owner::DigestFetch::since(kb_id, context_id, since);
        Ok(self.drive(fetch)?.stored)
    }

    /// Replaces the owner's digest of `(kb_id, context_id)` by compare-and-set;
    /// [`Error::DigestConflict`], with nothing written, when the service holds another version
    /// than `write.expected_version`. Never sent twice: when its answer does not come, the
    /// error says the digest may have been written.
    pub fn put_owner_digest(
        &self,
        kb_id: &str,
        context_id: &str,
        write: &api::DigestWrite,
    ) -> Result<api::PutOwnerDigest> {
        let address = self.digest_address(kb_id, context_id)?;
        self.digest_call(self.request(Method::PUT, &address).json(write), &address)
    }

    /// Inserts, updates and deletes records under one context and replaces the owner's digest,
    /// in one transaction on the service, or none of it: [`Error::DigestConflict`] when the
    /// digest's version or the first chunk id is not the one expected. Never sent twice: when
    /// its answer does not come, the error says the write may have been committed (the digest's
    /// version, read again, tells).
    pub fn write_records(&self, writes: &api::RecordWrites) -> Result<api::RecordsWritten> {
        let address = self.address("records", "");
        self.digest_call(self.request(Method::POST, &address).json(writes), &address)
    }

    /// `/v1/owner_digest/{org}/{kb_id}/{context_id}`, the ids checked to be one path segment.
    fn digest_address(&self, kb_id: &str, context_id: &str) -> Result<String> {
        for (what, id) in [("knowledge base", kb_id), ("context", context_id)] {
            if id.is_empty() || id.contains(['/', '?', '#', '%']) {
                return Err(Error::InvalidSetting(format!(
                    "the {what} id {id:?} is empty or holds a character a path cannot carry"
                )));
            }
        }
        Ok(self.address("owner_digest", &format!("/{kb_id}/{context_id}")))
    }

    /// Sends a digest write once and reads its answer: a 409 that carries the digest's version
    /// is [`Error::DigestConflict`]; another error answer is [`Error::Remote`].
    fn digest_call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::blocking::RequestBuilder,
        address: &str,
    ) -> Result<T> {
        let response = request.send().map_err(|e| outcome_unknown(address, &e))?;
        let status = response.status();
        let text = response.text().map_err(|e| outcome_unknown(address, &e))?;
        if status.is_success() {
            let answer = serde_json::from_str(&text).map_err(|e| Error::RemoteUnreachable {
                url: address.to_owned(),
                detail: format!("the answer is not JSON ({e}); the write was committed"),
            })?;
            return answer_of(answer, address);
        }
        if status.as_u16() == 409 {
            if let Ok(conflict) = serde_json::from_str::<api::DigestConflict>(&text) {
                return Err(Error::DigestConflict {
                    current_version: conflict.current_version,
                    next_chunk_id: conflict.next_chunk_id,
                });
            }
        }
        Err(Error::Remote {
            status: status.as_u16(),
            message: message_of(&text, status.canonical_reason().unwrap_or("error")),
        })
    }
}

/// A write whose answer never came may have been committed: it is not sent again (the same
/// compare-and-set again would be refused, or, after another writer, apply twice), and the error
/// says so.
fn outcome_unknown(address: &str, error: &reqwest::Error) -> Error {
    Error::RemoteUnreachable {
        url: address.to_owned(),
        detail: format!(
            "{error}; the write got no answer and may have been committed: it is not sent \
             again (read the owner's digest: its version says whether it was)"
        ),
    }
}
