//! Sealed vectors: the pages a write stores, checked for what the service can see of them (the
//! owner's seal it cannot open), and the pages a read selects: by partition token (a search),
//! by chunk id (the owner's reads back) or every page.

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{ChunkPatch, NewChunk, NewPage, PageSelection, PagesRead};
use paillier_gpu::verifiable::SealedPage;
use paillier_gpu::PublicContext;
pub use paillier_gpu_api::MAX_SEALED_ANSWER_BYTES;
use paillier_gpu_api::{self as api, MAX_SEALED_IDS, MAX_SEALED_TOKENS, PAGES_A_READ};

/// The longest partition token taken (the owner's are 43 characters of base64).
const MAX_TOKEN_CHARS: usize = 256;

/// The pages a write sends, each read as a page of `context`'s vectors, with no chunk in two of
/// them; every chunk `inserted` (numbered from `first_chunk_id`) or `updated` without an index
/// in exactly one, and none with one. Chunks of the pages that are not inserted here must be
/// stored (the store checks it in the write's transaction).
pub fn checked_pages(
    context: &PublicContext,
    sent: Vec<api::SentPage>,
    first_chunk_id: Option<i64>,
    inserted: &[NewChunk],
    updated: &[(i64, ChunkPatch)],
) -> ServiceResult<Vec<NewPage>> {
    let vector_bytes = context.config().embed_len.div_ceil(8);
    let mut paged = HashSet::new();
    let mut pages = Vec::with_capacity(sent.len());
    for (i, page) in sent.into_iter().enumerate() {
        let what = format!("page {i}");
        if page
            .token
            .as_ref()
            .is_some_and(|t| t.len() > MAX_TOKEN_CHARS)
        {
            return Err(ServiceError::bad_input(format!(
                "{what}: a token of more than {MAX_TOKEN_CHARS} characters"
            )));
        }
        let bytes = BASE64
            .decode(page.page.as_bytes())
            .map_err(|e| ServiceError::bad_input(format!("{what}: not base64 ({e})")))?;
        let (read, used) = SealedPage::from_bytes(&bytes, vector_bytes)
            .map_err(|e| ServiceError::bad_input(format!("{what}: {e}")))?;
        if used != bytes.len() {
            return Err(ServiceError::bad_input(format!(
                "{what}: {} bytes after the page",
                bytes.len() - used
            )));
        }
        for &id in read.ids() {
            if !paged.insert(id) {
                return Err(ServiceError::bad_input(format!(
                    "chunk {id} is in two pages of this write"
                )));
            }
        }
        pages.push(NewPage {
            ids: read.ids().to_vec(),
            token: page.token,
            bytes,
        });
    }
    let first = first_chunk_id.unwrap_or(0);
    for (i, chunk) in inserted.iter().enumerate() {
        let id = first.saturating_add(i as i64);
        match (chunk.pieces.is_empty(), paged.contains(&id)) {
            (true, false) => {
                return Err(ServiceError::bad_input(format!(
                    "chunk {i} has no index and no page holds its sealed vector"
                )))
            }
            (false, true) => {
                return Err(ServiceError::bad_input(format!(
                    "chunk {i} has an index and a sealed vector: it holds one or the other"
                )))
            }
            _ => {}
        }
    }
    for (id, patch) in updated {
        let sealed = patch.pieces.as_ref().is_some_and(Vec::is_empty);
        if sealed != paged.contains(id) {
            return Err(ServiceError::bad_input(match sealed {
                true => format!("chunk {id} is updated with no index and no page holds its vector"),
                false => format!("chunk {id} is updated with an index and a sealed vector"),
            }));
        }
    }
    Ok(pages)
}

/// The most bytes of pages one read `after` an id answers (at least one page).
const PAGES_A_READ_BYTES: usize = 64 << 20;

/// `named` sorted, each once.
fn unique<T: Ord>(mut named: Vec<T>) -> Vec<T> {
    named.sort_unstable();
    named.dedup();
    named
}

/// The pages of sealed vectors that `asked` selects (see [`api::SealedPages`]), one after
/// another in chunk order.
pub fn read(state: &AppState, asked: &api::SealedPages) -> ServiceResult<Vec<u8>> {
    let chosen = [
        asked.tokens.is_some(),
        asked.after.is_some(),
        asked.ids.is_some(),
        asked.range.is_some(),
    ];
    if chosen.iter().filter(|&&c| c).count() > 1 {
        return Err(ServiceError::bad_input(
            "tokens, ids, range and after each select pages: name one at most",
        ));
    }
    if let Some((first, last)) = asked.range {
        if first > last {
            return Err(ServiceError::bad_input(format!(
                "the range's first id {first} is above its last {last}"
            )));
        }
    }
    if let Some(tokens) = &asked.tokens {
        if tokens.len() > MAX_SEALED_TOKENS {
            return Err(ServiceError::bad_input(format!(
                "{} tokens; at most {MAX_SEALED_TOKENS}",
                tokens.len()
            )));
        }
        if tokens.iter().any(|t| t.len() > MAX_TOKEN_CHARS) {
            return Err(ServiceError::bad_input(format!(
                "a token of more than {MAX_TOKEN_CHARS} characters"
            )));
        }
    }
    if let Some(ids) = &asked.ids {
        if ids.len() > MAX_SEALED_IDS {
            return Err(ServiceError::bad_input(format!(
                "{} chunk ids; at most {MAX_SEALED_IDS}",
                ids.len()
            )));
        }
    }
    // A token or id named twice selects its pages once.
    let tokens = asked.tokens.clone().map(unique);
    let ids = asked.ids.clone().map(unique);
    let selection = match (&tokens, asked.after, &ids, asked.range) {
        (_, Some(after), _, _) => PageSelection::After(after, PAGES_A_READ),
        (Some(tokens), ..) => PageSelection::Tokens(tokens),
        (None, None, Some(ids), _) => PageSelection::Ids(ids),
        (None, None, None, Some((first, last))) => PageSelection::Range(first, last),
        (None, None, None, None) => PageSelection::All,
    };
    let max_bytes = match selection {
        PageSelection::After(..) => PAGES_A_READ_BYTES,
        _ => MAX_SEALED_ANSWER_BYTES,
    };
    let (kb_id, context_id) = (&asked.kb_id, &asked.context_id);
    match state
        .store
        .sealed_pages(kb_id, context_id, selection, max_bytes)?
    {
        PagesRead::Pages(pages) => Ok(pages),
        PagesRead::TooLarge => Err(ServiceError::too_large(format!(
            "the pages selected pass {} MiB; probe fewer partitions, name fewer chunks, or read \
             every page with `after`",
            MAX_SEALED_ANSWER_BYTES >> 20
        ))),
    }
}
