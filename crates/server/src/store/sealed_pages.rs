//! Pages of sealed vectors: each the owner's AES-GCM seal of some chunks' bit vectors, stored
//! opaque beside its partition token and first chunk id, and named by each chunk it holds. A
//! page written replaces the pages holding any of its chunks; a chunk deleted, or given a new
//! Paillier index, takes its page with it, and so such a write must also delete or seal again
//! every other chunk of that page ([`Error::SharedPage`] otherwise). Page numbers are never reused, so the stale link of
//! a chunk whose page went names none.

use std::cell::Cell;
use std::collections::{BTreeSet, HashSet};

use super::dialect::{Arg, Begin, Dialect, End, Row, Session};
use super::statements::{
    INSERT_PAGE, LINK_PAGE, PAGES_AFTER, PAGES_ALL, PAGES_OF_TOKEN, PAGE_BY_NO, PAGE_NOS_IN_RANGE,
};
use crate::error::{Error, Result};
use Arg::{Int, Text};

/// A page to store: its chunks (in its order), the partition token it is selected by and its
/// wire form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPage {
    /// Its chunks' ids, in the page's order.
    pub ids: Vec<i64>,
    /// The token of its partition; none in a knowledge base without partitions.
    pub token: Option<String>,
    /// The page as sent.
    pub bytes: Vec<u8>,
}

/// Which pages a read selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSelection<'a> {
    /// Every page.
    All,
    /// The pages of these partition tokens.
    Tokens(&'a [String]),
    /// The pages whose first chunk id is above this, at most this many: every page, a few
    /// at a time.
    After(i64, usize),
    /// The pages holding these chunks, each once.
    Ids(&'a [i64]),
    /// The pages holding a chunk from the first id to the last, each once.
    Range(i64, i64),
}

/// The pages a selection read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PagesRead {
    /// The pages' wire forms one after another, in order of their first chunk id.
    Pages(Vec<u8>),
    /// More than the bytes allowed: nothing read past them.
    TooLarge,
}

/// Drops the pages holding chunks `ids` of knowledge base `kb_id`, in the caller's transaction,
/// unless a page holds a chunk outside `going` (the chunks the write deletes, re-indexes or
/// seals again): its sealed vector would go with it, and nothing keeps another copy.
pub(super) fn drop_pages_of<D: Dialect>(
    s: &mut dyn Session,
    kb_id: &str,
    ids: &[i64],
    going: &HashSet<i64>,
) -> Result<()> {
    let mut stranded = Vec::new();
    s.select_ids(D::PAGE_MATES, kb_id, ids, &mut |r| {
        let id = r.int(0)?;
        if !going.contains(&id) {
            stranded.push(id);
        }
        Ok(())
    })?;
    if !stranded.is_empty() {
        stranded.sort_unstable();
        stranded.dedup();
        let shown: Vec<String> = stranded.iter().take(20).map(i64::to_string).collect();
        return Err(Error::SharedPage(format!(
            "sealed vectors: the pages of these chunks also hold chunks {}{}, whose vectors \
             would go with them; the owner's client deletes or changes such chunks (sealing the \
             rest again): nothing was written",
            shown.join(", "),
            if stranded.len() > 20 { " and more" } else { "" }
        )));
    }
    s.execute_ids(D::DROP_PAGES_OF, kb_id, ids).map(drop)
}

/// Stores `pages` under `(kb_id, context_id)` in the caller's transaction, each replacing the
/// pages holding its chunks (each of whose chunks must be in `going`: [`drop_pages_of`]); the
/// ids of the pages' chunks not stored under the context (the
/// caller rolls back when there is any).
pub(super) fn put_pages<D: Dialect>(
    s: &mut dyn Session,
    kb_id: &str,
    context_id: &str,
    pages: &[NewPage],
    going: &HashSet<i64>,
) -> Result<Vec<i64>> {
    let mut missing = Vec::new();
    for page in pages {
        let first = *page
            .ids
            .first()
            .ok_or_else(|| Error::Store("a page of sealed vectors holds no chunk".into()))?;
        drop_pages_of::<D>(s, kb_id, &page.ids, going)?;
        let row = [
            Text(kb_id),
            Text(context_id),
            Int(first),
            Arg::OptText(page.token.as_deref()),
            Arg::OptBytes(Some(&page.bytes)),
        ];
        let page_no = s
            .one(INSERT_PAGE, &row, |r| r.int(0))?
            .ok_or_else(|| Error::Store("a page was stored without a number".into()))?;
        for &id in &page.ids {
            let link = [Text(kb_id), Int(id), Int(page_no), Text(context_id)];
            if s.execute(LINK_PAGE, &link)? == 0 {
                missing.push(id);
            }
        }
    }
    Ok(missing)
}

/// The pages of `(kb_id, context_id)` that `selection` selects, in one snapshot, unless they
/// pass `max_bytes`; read [`After`](PageSelection::After) an id, as many as fit (at least one).
pub(super) fn read_pages<D: Dialect>(
    store: &D,
    kb_id: &str,
    context_id: &str,
    selection: PageSelection<'_>,
    max_bytes: usize,
) -> Result<PagesRead> {
    store.transaction(Begin::Snapshot, |s| {
        let mut pages: Vec<(i64, Vec<u8>)> = Vec::new();
        let (mut bytes, over) = (0usize, Cell::new(false));
        let mut visit = |r: &dyn Row| {
            // Past the bound, the rest of the rows are passed over, not held.
            if !over.get() {
                let page = r.bytes(1)?;
                bytes += page.len();
                over.set(bytes > max_bytes);
                pages.push((r.int(0)?, page));
            }
            Ok(())
        };
        let (kb, context) = (Text(kb_id), Text(context_id));
        match selection {
            PageSelection::All => s.select(PAGES_ALL, &[kb, context], &mut visit)?,
            PageSelection::Tokens(tokens) => tokens.iter().try_for_each(|token| {
                s.select(PAGES_OF_TOKEN, &[kb, context, Text(token)], &mut visit)
            })?,
            PageSelection::After(after, most) => {
                let args = [kb, context, Int(after), Int(most as i64)];
                s.select(PAGES_AFTER, &args, &mut visit)?;
                // What fits, and the page that passed the bound: the next read goes on.
                over.set(false);
            }
            PageSelection::Ids(_) | PageSelection::Range(..) => {
                let mut page_nos = BTreeSet::new();
                let mut add = |r: &dyn Row| {
                    page_nos.insert(r.int(0)?);
                    Ok(())
                };
                match selection {
                    PageSelection::Ids(ids) => {
                        s.select_ids(D::PAGE_NOS_OF, kb_id, ids, &mut add)?
                    }
                    PageSelection::Range(first, last) => {
                        s.select(PAGE_NOS_IN_RANGE, &[kb, Int(first), Int(last)], &mut add)?
                    }
                    _ => {}
                }
                for page_no in page_nos {
                    s.select(PAGE_BY_NO, &[kb, context, Int(page_no)], &mut visit)?;
                    if over.get() {
                        break;
                    }
                }
            }
        }
        if over.get() {
            return Ok(End::Commit(PagesRead::TooLarge));
        }
        // Tokens' pages interleave in chunk order.
        pages.sort_unstable_by_key(|(first, _)| *first);
        let mut answer = Vec::with_capacity(bytes);
        for (_, page) in pages {
            answer.extend_from_slice(&page);
        }
        Ok(End::Commit(PagesRead::Pages(answer)))
    })
}
