//! A context stored on the service under its id (the context file's JSON, secret key sealed),
//! as a driver: a service keeps the bytes first stored under an id and answers other bytes
//! with 409, and each sealing of a secret key differs, so on a 409 the stored context is
//! fetched and the push succeeds when it is this same context (it opens under this context's
//! key provider as its id, with the same public key). Any other context there keeps the 409.

use paillier_gpu_api as api;
use serde_json::value::RawValue;

use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use crate::context::ExecutionContext;
use crate::error::{Error, Result};

enum Phase {
    Start,
    Stored,
    /// The 409 a conflict answered, while the stored context is fetched.
    Fetched(Error),
    Over,
}

/// The push of a context (see the module's documentation); it ends with the id stored under.
pub struct ContextPush {
    context: ExecutionContext,
    json: Box<RawValue>,
    phase: Phase,
}

impl ContextPush {
    /// The push of `context` as `json`, its file form (sent as it is, key order and all).
    pub fn new(context: &ExecutionContext, json: &str) -> Result<Self> {
        let id = context.id();
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if id.is_empty() || !id.chars().all(plain) {
            return Err(Error::InvalidParameter(format!(
                "the id {id:?} is empty or holds characters other than letters, digits, '-', \
                 '_', '.'"
            )));
        }
        let json = RawValue::from_string(json.to_owned())
            .map_err(|e| Error::MalformedContext(format!("not JSON: {e}")))?;
        Ok(Self {
            context: context.clone(),
            json,
            phase: Phase::Start,
        })
    }
}

impl Driver for ContextPush {
    type Output = String;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<String>> {
        let id = self.context.id().to_owned();
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Start => {
                let body = api::StoreContext {
                    data: self.json.clone(),
                    context_id: id,
                };
                self.phase = Phase::Stored;
                Ok(Step::Send(
                    Request::new(Method::Post, "exec_context", String::new()).with_json(&body)?,
                ))
            }
            Phase::Stored => {
                let answer = expect_answer(answered, "exec_context", "")?;
                match answer.json::<api::ContextStored>("exec_context") {
                    Ok(stored) => Ok(Step::Done(stored.context_id.unwrap_or(id))),
                    Err(conflict @ Error::Remote { status: 409, .. }) => {
                        self.phase = Phase::Fetched(conflict);
                        let tail = format!("/{id}");
                        Ok(Step::Send(Request::new(Method::Get, "exec_context", tail)))
                    }
                    Err(other) => Err(other),
                }
            }
            Phase::Fetched(conflict) => {
                let same = match answered {
                    Some(Ok(answer)) if answer.check_status().is_ok() => {
                        let stored = String::from_utf8_lossy(&answer.body);
                        self.context.is_stored_as(&stored)
                    }
                    _ => false,
                };
                match same {
                    true => Ok(Step::Done(id)),
                    false => Err(conflict),
                }
            }
            Phase::Over => Err(Error::InvalidParameter(
                "the push is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}
