//! Execution contexts on the service: stored with the secret key sealed (the service never sees
//! a passphrase or a plaintext key), read back byte for byte and opened only if they are the
//! owner's (the service, or anyone who may write to it, could have replaced them), listed,
//! deleted, bound to knowledge bases.

use reqwest::Method;
use serde_json::value::RawValue;

use super::{answer_of, Client};
use crate::api;
use crate::error::{Error, Result};
use paillier_gpu::context::{ExecutionContext, KeyProvider};
use paillier_gpu::Error as LibraryError;

impl Client {
    /// Stores `context` under its id (as the SDK's `save_to_remote`): the context file's own
    /// JSON, secret key sealed. Returns the id. Storing the same context again succeeds and
    /// changes nothing, as [`push_context_file`](Self::push_context_file) says.
    pub fn push_context(&self, context: &ExecutionContext) -> Result<String> {
        self.push_context_file(context, &context.to_json()?)
    }

    /// Stores `context_json`, the file form of `context`, as it is under the context's id. A
    /// service keeps the bytes first stored under an id and answers other bytes with 409; each
    /// sealing of a secret key differs, so on a 409 the stored context is fetched and the push
    /// succeeds when it is this same context (it opens under this context's key provider as
    /// its id, with the same public key). Any other context there keeps the 409.
    pub fn push_context_file(
        &self,
        context: &ExecutionContext,
        context_json: &str,
    ) -> Result<String> {
        self.drive(paillier_gpu::owner::ContextPush::new(
            context,
            context_json,
        )?)
    }

    /// Stores a context file's JSON as it is under `context_id`, so that
    /// [`pull_context`](Self::pull_context) gives the same bytes back.
    pub fn push_context_json(&self, context_id: &str, context_json: &str) -> Result<String> {
        let data = RawValue::from_string(context_json.to_owned())
            .map_err(|e| LibraryError::MalformedContext(format!("not JSON: {e}")))?;
        // Raw, not a `Value`: the context's text goes out as it is, key order and all.
        let address = self.address("exec_context", "");
        let body = api::StoreContext {
            data,
            context_id: context_id.to_owned(),
        };
        let answer = self.json(self.request(Method::POST, &address).json(&body), &address)?;
        Ok(answer_of::<api::ContextStored>(answer, &address)?
            .context_id
            .unwrap_or_else(|| context_id.to_owned()))
    }

    /// The context stored under `context_id`, opened with the provider that holds its key
    /// (for a passphrase, [`PassphraseKeyProvider::new`](paillier_gpu::context::PassphraseKeyProvider::new):
    /// the stored `wrapped_key` supplies the salt) and checked to be the one its owner stored
    /// ([`ExecutionContext::from_stored_json`]): [`paillier_gpu::Error::ContextAltered`] if anyone who may
    /// write the organisation's contexts replaced its public key or the whole context.
    pub fn pull_context(
        &self,
        context_id: &str,
        key_provider: &dyn KeyProvider,
    ) -> Result<ExecutionContext> {
        Ok(self.pull_context_json(context_id, key_provider)?.0)
    }

    /// [`pull_context`](Self::pull_context), with the JSON as stored (the bytes pushed, key
    /// order and all), for a caller that writes it to a file. The JSON is returned only once it
    /// has been verified.
    pub fn pull_context_json(
        &self,
        context_id: &str,
        key_provider: &dyn KeyProvider,
    ) -> Result<(ExecutionContext, String)> {
        let json = self.fetch_context_json(context_id)?;
        let context = ExecutionContext::from_stored_json(&json, context_id, key_provider)?;
        Ok((context, json))
    }

    /// The stored JSON, unverified: only for [`pull_context_json`](Self::pull_context_json).
    fn fetch_context_json(&self, context_id: &str) -> Result<String> {
        let address = self.address("exec_context", &format!("/{}", path_part(context_id)?));
        self.send(self.request(Method::GET, &address), &address)?
            .text()
            .map_err(|e| Error::RemoteUnreachable {
                url: address.clone(),
                detail: e.to_string(),
            })
    }

    /// The ids of the organisation's stored contexts.
    pub fn contexts(&self) -> Result<Vec<String>> {
        let address = self.address("exec_context", "");
        let answer = self.json(self.request(Method::GET, &address), &address)?;
        Ok(answer_of::<api::Contexts>(answer, &address)?.contexts)
    }

    /// Deletes a stored context.
    pub fn delete_context(&self, context_id: &str) -> Result<()> {
        let address = self.address("exec_context", &format!("/{}", path_part(context_id)?));
        self.send(self.request(Method::DELETE, &address), &address)?;
        Ok(())
    }

    /// Binds a knowledge base to a context (the SDK's `register_kb_binding`).
    pub fn bind(&self, kb_id: &str, context_id: &str) -> Result<()> {
        let tail = format!("/{}/bind/{}", path_part(kb_id)?, path_part(context_id)?);
        let address = self.address("exec_context", &tail);
        self.send(self.request(Method::POST, &address), &address)?;
        Ok(())
    }

    /// The contexts bound to a knowledge base.
    pub fn contexts_of_kb(&self, kb_id: &str) -> Result<Vec<String>> {
        let address = self.address("exec_context", &format!("/{}/context", path_part(kb_id)?));
        let answer = self.json(self.request(Method::GET, &address), &address)?;
        Ok(answer_of::<api::ContextsOfKb>(answer, &address)?.context_ids)
    }
}

/// An id placed in a path: one segment, no characters a URL would read otherwise.
pub(super) fn path_part(id: &str) -> Result<&str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if id.is_empty() || !id.chars().all(plain) {
        return Err(Error::InvalidSetting(format!(
            "the id {id:?} is empty or holds characters other than letters, digits, '-', '_', '.'"
        )));
    }
    Ok(id)
}
