//! Large answers written a block at a time on the blocking pool (formatting them is real work,
//! in JSON especially) into a streamed body, at most [`BLOCKS_AHEAD`] blocks ahead of what the
//! client has read, so that no answer is ever held whole twice; when the client goes, the
//! writing stops. The work slot is held until the last block is written.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

use crate::api_error::{ApiError, ApiResult};

/// Blocks written ahead of what the client has read.
const BLOCKS_AHEAD: usize = 2;

/// Items of a [`json_list`] per block.
const LIST_BLOCK_ITEMS: usize = 1024;

/// A body of `blocks` blocks, block `i` written by `write(i, out)` on the blocking pool.
pub fn blocks(
    blocks: usize,
    slot: OwnedSemaphorePermit,
    mut write: impl FnMut(usize, &mut Vec<u8>) + Send + 'static,
) -> Body {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(BLOCKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        for block in 0..blocks {
            let mut out = Vec::new();
            write(block, &mut out);
            if sender.blocking_send(Bytes::from(out)).is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let block = receiver.recv().await?;
        Some((Ok::<_, Infallible>(block), receiver))
    });
    Body::from_stream(stream)
}

/// A JSON answer `{head}[item, item, …]{tail}`, each item rendered by `render` as its block is
/// written: `head` and `tail` make the list a field of an object (`{"results":` and `,…}`), or
/// are empty for a bare list.
pub fn json_list<T: Send + 'static>(
    head: String,
    items: Vec<T>,
    tail: String,
    slot: OwnedSemaphorePermit,
    render: impl Fn(&T) -> Value + Send + 'static,
) -> ApiResult<Response> {
    let count = items.len();
    let body = blocks(
        count.div_ceil(LIST_BLOCK_ITEMS).max(1),
        slot,
        move |block, out| {
            let start = block * LIST_BLOCK_ITEMS;
            if start == 0 {
                out.extend_from_slice(head.as_bytes());
                out.push(b'[');
            }
            for (i, item) in items.iter().enumerate().skip(start).take(LIST_BLOCK_ITEMS) {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(render(item).to_string().as_bytes());
            }
            if start + LIST_BLOCK_ITEMS >= count {
                out.push(b']');
                out.extend_from_slice(tail.as_bytes());
            }
        },
    );
    Response::builder()
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| ApiError::Answer(e.to_string()))
}
