//! Records' documents read by id: the chunks asked for in ascending id order (whatever order
//! the caller's records are in: a ranking, say, which the service must not learn),
//! [`IDS_PER_REQUEST`](api::IDS_PER_REQUEST) ids a request, and opened by the codec (sealed to
//! their nonce, sealed without one, or the SDK's content encryption).

use std::collections::HashMap;
use std::sync::Arc;

use paillier_gpu_api as api;
use serde_json::Value;

use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use crate::error::{Error, Result};
use crate::verifiable::{Document, FetchedRecord, RecordCodec, RecordNonce};

/// The chunks of some ids of a knowledge base, only the `projection`'s fields and `chunk_id`
/// (`GET chunk`); ids the service does not hold are absent.
#[derive(Debug)]
pub struct ChunksById {
    kb: String,
    ids: Vec<i64>,
    projection: &'static [&'static str],
    asked: usize,
    chunks: Vec<Value>,
}

impl ChunksById {
    /// The chunks `ids` of `kb` (asked for in ascending order, each once).
    pub fn new(kb: &str, ids: &[i64], projection: &'static [&'static str]) -> Self {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        Self {
            kb: kb.to_owned(),
            ids,
            projection,
            asked: 0,
            chunks: Vec::new(),
        }
    }

    fn next_request(&mut self) -> Request {
        let end = (self.asked + api::IDS_PER_REQUEST).min(self.ids.len());
        let mut request = Request::new(Method::Get, "chunk", String::new());
        request.query.push(("kb_id", self.kb.clone()));
        for id in &self.ids[self.asked..end] {
            request.query.push(("chunk_ids", id.to_string()));
        }
        for field in self.projection {
            request.query.push(("projection", (*field).to_owned()));
        }
        self.asked = end;
        request
    }
}

impl Driver for ChunksById {
    type Output = Vec<Value>;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Vec<Value>>> {
        if self.asked > 0 {
            let answer = expect_answer(answered, "chunk", "")?;
            match answer.json::<Value>("chunk")? {
                Value::Array(listed) => self.chunks.extend(listed),
                other => {
                    return Err(Error::Unreachable {
                        route: "chunk".into(),
                        detail: format!("expected a list of chunks, got {other}"),
                    })
                }
            }
        }
        match self.asked < self.ids.len() {
            true => Ok(Step::Send(self.next_request())),
            false => Ok(Step::Done(std::mem::take(&mut self.chunks))),
        }
    }
}

/// The documents of some records (chunk id, and nonce when verifiable), in their order,
/// checked against `filter` where they are sealed ([`RecordCodec::open`]). Only the content of
/// verifiable records is fetched: their sealed document holds the rest.
#[derive(Debug)]
pub struct DocumentsRead {
    codec: Arc<RecordCodec>,
    records: Vec<(i64, Option<RecordNonce>)>,
    filter: Option<Value>,
    chunks: ChunksById,
}

impl DocumentsRead {
    /// A read of `records`' documents.
    pub fn new(
        codec: Arc<RecordCodec>,
        records: Vec<(i64, Option<RecordNonce>)>,
        filter: Option<Value>,
    ) -> Self {
        let projection: &'static [&'static str] = match codec.options().verifiable {
            true => &["chunk_content"],
            false => &["chunk_content", "meta_data", "name"],
        };
        let ids: Vec<i64> = records.iter().map(|&(id, _)| id).collect();
        let chunks = ChunksById::new(codec.kb(), &ids, projection);
        Self {
            codec,
            records,
            filter,
            chunks,
        }
    }
}

impl Driver for DocumentsRead {
    type Output = Vec<Document>;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Vec<Document>>> {
        let chunks = match self.chunks.step(answered)? {
            Step::Send(request) => return Ok(Step::Send(request)),
            Step::Done(chunks) => chunks,
        };
        let by_id = by_chunk_id(&chunks);
        let verifiable = self.codec.options().verifiable;
        let mut fetched = Vec::with_capacity(self.records.len());
        for &(chunk_id, nonce) in &self.records {
            let chunk = by_id.get(&chunk_id).copied();
            let field = |name: &str| chunk.and_then(|c| c.get(name));
            let content = field("chunk_content").and_then(Value::as_str);
            // A verifiable record's missing content is a failure of the answer, which the codec
            // names; any other's is an answer this client cannot read.
            if content.is_none() && !verifiable {
                return Err(Error::Unreachable {
                    route: "chunk".into(),
                    detail: format!("chunk {chunk_id} came back without its content"),
                });
            }
            fetched.push(FetchedRecord {
                chunk_id,
                nonce,
                content,
                meta_data: field("meta_data").and_then(Value::as_object),
                name: field("name").and_then(Value::as_str),
            });
        }
        Ok(Step::Done(self.codec.open(&fetched, self.filter.as_ref())?))
    }
}

/// The service's chunks by their ids (the first where an id comes twice).
pub fn by_chunk_id(chunks: &[Value]) -> HashMap<i64, &Value> {
    let mut by_id = HashMap::with_capacity(chunks.len());
    for chunk in chunks {
        if let Some(id) = chunk.get("chunk_id").and_then(Value::as_i64) {
            by_id.entry(id).or_insert(chunk);
        }
    }
    by_id
}
