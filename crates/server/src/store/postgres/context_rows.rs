//! The execution-context statements of [`PostgresStore`](super::PostgresStore): a context id
//! names one content for good, and a context that chunks are stored under is not deleted, with
//! replicas writing at once.

use crate::store::statements::*;
use r2d2_postgres::postgres::{Client, Error};

use crate::store::{now, DeleteContext, PutContext};

pub(super) fn put_context(
    c: &mut Client,
    org_id: &str,
    context_id: &str,
    data: &str,
    creator_key: Option<&str>,
) -> Result<PutContext, Error> {
    let mut t = c.transaction()?;
    // Of two writers of one id, one inserts and the other waits, then finds its row.
    let created = t.execute(
        "INSERT INTO contexts (org_id, context_id, data, created_at, creator_key) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        &[&org_id, &context_id, &data, &now(), &creator_key],
    )?;
    let outcome = if created == 1 {
        PutContext::Created
    } else {
        let held: Option<String> = t
            .query_opt(CONTEXT_DATA, &[&org_id, &context_id])?
            .map(|r| r.get(0));
        match held {
            Some(held) if held == data => PutContext::Unchanged,
            _ => PutContext::Conflict,
        }
    };
    t.commit()?;
    Ok(outcome)
}

/// Binds the context to the knowledge base if the context is stored, holding it `FOR SHARE`
/// meanwhile: a delete of it waits, then deletes the binding too.
pub(super) fn bind(
    c: &mut Client,
    org_id: &str,
    kb_id: &str,
    context_id: &str,
) -> Result<bool, Error> {
    let mut t = c.transaction()?;
    let stored = t
        .query_opt(
            "SELECT 1 FROM contexts WHERE org_id = $1 AND context_id = $2 FOR SHARE",
            &[&org_id, &context_id],
        )?
        .is_some();
    if stored {
        t.execute(BIND, &[&org_id, &kb_id, &context_id])?;
    }
    t.commit()?;
    Ok(stored)
}

pub(super) fn delete_context(
    c: &mut Client,
    org_id: &str,
    context_id: &str,
) -> Result<DeleteContext, Error> {
    let mut t = c.transaction()?;
    // Waits for inserts under it (they hold it FOR SHARE); the next statement then sees their
    // chunks, and inserts after this one find it gone.
    let held = t.query_opt(
        "SELECT 1 FROM contexts WHERE org_id = $1 AND context_id = $2 FOR UPDATE",
        &[&org_id, &context_id],
    )?;
    if held.is_none() {
        return Ok(DeleteContext::Missing);
    }
    let in_use: Vec<String> = t
        .query(KBS_HOLDING_CONTEXT, &[&org_id, &context_id])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !in_use.is_empty() {
        return Ok(DeleteContext::InUse(in_use));
    }
    t.execute(DELETE_CONTEXT, &[&org_id, &context_id])?;
    t.execute(UNBIND_CONTEXT, &[&org_id, &context_id])?;
    t.commit()?;
    Ok(DeleteContext::Deleted)
}
