//! TEMPORARY transport stub, replaced by the server branch's.
use reqwest::Method;

use super::{answer_of, Client};
use crate::api;
use crate::error::{Error, Result};

impl Client {
    /// The owner's digest as stored.
    pub fn owner_digest(&self, kb_id: &str, context_id: &str) -> Result<api::OwnerDigest> {
        let address = format!("{}/{kb_id}/{context_id}", self.address("owner_digest", ""));
        let answer = self.json(self.request(Method::GET, &address), &address)?;
        answer_of(answer, &address)
    }

    /// Compare-and-set of the owner's digest.
    pub fn put_owner_digest(
        &self,
        kb_id: &str,
        context_id: &str,
        write: &api::DigestWrite,
    ) -> Result<api::RecordsWritten> {
        let address = format!("{}/{kb_id}/{context_id}", self.address("owner_digest", ""));
        let answer = self.json(self.request(Method::PUT, &address).json(write), &address)?;
        answer_of(answer, &address)
    }

    /// Records and the digest in one transaction.
    pub fn write_records(&self, writes: &api::RecordWrites) -> Result<api::RecordsWritten> {
        let address = self.address("records", "");
        let answer = self.json(self.request(Method::POST, &address).json(writes), &address)?;
        let _ = Error::DigestConflict {
            current_version: 0,
            next_chunk_id: 0,
        };
        answer_of(answer, &address)
    }
}
