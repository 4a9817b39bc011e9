//! Every record's id of a knowledge base under one context, from the service's metadata search
//! with an empty filter (what a partitions rebuild and a move to sealed vectors read first), or
//! those a filter selects (what a filtered search of sealed vectors reads first).

use paillier_gpu_api as api;
use serde_json::Value;

use super::find::sent_filter;
use super::http::{expect_answer, Answered, Method, Request};
use crate::error::{Error, Result};
use crate::verifiable::RecordCodec;

/// The request for the list of every record of `codec`'s knowledge base.
pub(super) fn every_id_request(codec: &RecordCodec) -> Result<Request> {
    ids_request(codec, &serde_json::json!({}))
}

/// The request for the list of the records of `codec`'s knowledge base that `filter` (the
/// owner's, not its tokens) selects.
pub(super) fn ids_request(codec: &RecordCodec, filter: &Value) -> Result<Request> {
    let body = api::MetaSearch {
        kb_id: codec.kb().to_owned(),
        context_id: codec.context().id().to_owned(),
        meta_filter: Some(sent_filter(codec, filter)?),
        ..api::MetaSearch::default()
    };
    Request::new(Method::Post, "chunk/meta", String::new()).with_json(&body)
}

/// The ids its answer lists, ascending.
pub(super) fn listed_ids(answered: Option<Answered>) -> Result<Vec<i64>> {
    let unreadable = |detail: String| Error::Unreachable {
        route: "chunk/meta".into(),
        detail,
    };
    let answer = expect_answer(answered, "chunk/meta", "")?;
    let Value::Array(listed) = answer.json::<Value>("chunk/meta")? else {
        return Err(unreadable("the list of chunks is not a list".into()));
    };
    let mut ids = Vec::with_capacity(listed.len());
    for chunk in &listed {
        let id = chunk.get("chunk_id").and_then(Value::as_i64);
        ids.push(
            id.ok_or_else(|| unreadable(format!("a listed chunk without a chunk_id: {chunk}")))?,
        );
    }
    ids.sort_unstable();
    Ok(ids)
}
