//! The execution-context statements of [`SqliteStore`](super::SqliteStore): a context id names
//! one content for good, and a context that chunks are stored under is not deleted.

use super::numbered;
use crate::store::statements::*;
use rusqlite::{params, Connection, OptionalExtension};

use crate::store::{now, DeleteContext, PutContext, StoredContext};

pub(super) fn put_context(
    c: &mut Connection,
    org_id: &str,
    context_id: &str,
    data: &str,
    creator_key: Option<&str>,
) -> rusqlite::Result<PutContext> {
    let t = c.transaction()?;
    let held: Option<String> = t
        .query_row(&numbered(CONTEXT_DATA), params![org_id, context_id], |r| {
            r.get(0)
        })
        .optional()?;
    let outcome = match held {
        Some(held) if held == data => PutContext::Unchanged,
        Some(_) => PutContext::Conflict,
        None => {
            t.execute(
                "INSERT INTO contexts (org_id, context_id, data, created_at, creator_key) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![org_id, context_id, data, now(), creator_key],
            )?;
            PutContext::Created
        }
    };
    t.commit()?;
    Ok(outcome)
}

pub(super) fn context(
    c: &mut Connection,
    org_id: &str,
    context_id: &str,
) -> rusqlite::Result<Option<StoredContext>> {
    c.query_row(&numbered(CONTEXT), params![org_id, context_id], |r| {
        Ok(StoredContext {
            data: r.get(0)?,
            creator_key: r.get(1)?,
        })
    })
    .optional()
}

pub(super) fn contexts(
    c: &mut Connection,
    org_id: &str,
) -> rusqlite::Result<Vec<(String, Option<String>)>> {
    c.prepare(&numbered(CONTEXTS))?
        .query_map([org_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// Binds the context to the knowledge base if the context is stored (one write transaction).
pub(super) fn bind(
    c: &mut Connection,
    org_id: &str,
    kb_id: &str,
    context_id: &str,
) -> rusqlite::Result<bool> {
    let t = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let stored = t
        .query_row(
            "SELECT 1 FROM contexts WHERE org_id = ?1 AND context_id = ?2",
            params![org_id, context_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if stored {
        t.execute(&numbered(BIND), params![org_id, kb_id, context_id])?;
    }
    t.commit()?;
    Ok(stored)
}

pub(super) fn delete_context(
    c: &mut Connection,
    org_id: &str,
    context_id: &str,
) -> rusqlite::Result<DeleteContext> {
    let t = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let in_use: Vec<String> = t
        .prepare(&numbered(KBS_HOLDING_CONTEXT))?
        .query_map(params![org_id, context_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if !in_use.is_empty() {
        return Ok(DeleteContext::InUse(in_use));
    }
    let deleted = t.execute(&numbered(DELETE_CONTEXT), params![org_id, context_id])?;
    t.execute(&numbered(UNBIND_CONTEXT), params![org_id, context_id])?;
    t.commit()?;
    Ok(if deleted > 0 {
        DeleteContext::Deleted
    } else {
        DeleteContext::Missing
    })
}
