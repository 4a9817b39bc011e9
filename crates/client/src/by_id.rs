//! Chunks by id: read (with a projection) and deleted.

use reqwest::Method;
use serde_json::Value;

use super::Client;
use crate::error::{Error, Result};

use crate::api::IDS_PER_REQUEST;

impl Client {
    /// The chunks `chunk_ids` of `kb_id` as the service lists them (only the `projection`'s
    /// fields and `chunk_id`; all fields when it is empty). Ids the service does not hold are
    /// absent.
    pub fn chunks_by_id(
        &self,
        kb_id: &str,
        chunk_ids: &[i64],
        projection: &[&str],
    ) -> Result<Vec<Value>> {
        let address = self.address("chunk", "");
        let mut chunks = Vec::with_capacity(chunk_ids.len());
        for ids in chunk_ids.chunks(IDS_PER_REQUEST) {
            let mut query: Vec<(&str, String)> = vec![("kb_id", kb_id.to_owned())];
            query.extend(ids.iter().map(|id| ("chunk_ids", id.to_string())));
            query.extend(projection.iter().map(|p| ("projection", (*p).to_owned())));
            let request = self.request(Method::GET, &address).query(&query);
            match self.json(request, &address)? {
                Value::Array(listed) => chunks.extend(listed),
                other => {
                    return Err(Error::RemoteUnreachable {
                        url: address,
                        detail: format!("expected a list of chunks, got {other}"),
                    })
                }
            }
        }
        Ok(chunks)
    }

    /// Deletes the chunks `chunk_ids` of `kb_id`; how many the service says it deleted.
    pub fn delete_chunks(&self, kb_id: &str, chunk_ids: &[i64]) -> Result<u64> {
        self.drive(paillier_gpu::owner::DeleteChunks::new(kb_id, chunk_ids))
    }
}
