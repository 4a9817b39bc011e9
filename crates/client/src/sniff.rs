//! A sample of a knowledge base's stored metadata for a search that found nothing (a reader
//! in the wrong mode is told the mode by the library's find).

use paillier_gpu::verifiable::{holds_tokens, PRIVATE_FIELDS};
use reqwest::Method;
use serde_json::{json, Value};

use super::Client;
use crate::api;
use crate::error::{Error, Result};

impl Client {
    /// Whether the knowledge base's records hold private metadata's tokens, by the first record
    /// with a private field (one metadata search of one record): for a reader whose filter in
    /// plain words found nothing.
    pub fn stores_private_metadata(&self, kb_id: &str, context_id: &str) -> Result<bool> {
        let any: Vec<Value> = PRIVATE_FIELDS
            .iter()
            .map(|field| json!({ *field: { "$exists": true } }))
            .collect();
        let address = self.address("chunk/meta/page", "");
        let body = api::MetaSearch {
            kb_id: kb_id.to_owned(),
            context_id: context_id.to_owned(),
            meta_filter: Some(
                api::filter_as_sent(&json!({ "$or": any }))
                    .map_err(|e| Error::InvalidSetting(format!("the probe's filter: {e}")))?,
            ),
            limit: Some(1),
            sort_by: Some("chunk_id".into()),
            sort_order: Some("asc".into()),
            ..api::MetaSearch::default()
        };
        let answer = self.json(self.request(Method::POST, &address).json(&body), &address)?;
        Ok(answer
            .get("results")
            .and_then(Value::as_array)
            .and_then(|chunks| chunks.first())
            .and_then(|chunk| chunk.get("meta_data"))
            .and_then(Value::as_object)
            .is_some_and(holds_tokens))
    }
}
