//! What every handler shares: the store, the contexts opened from it, and the resident indexes
//! ([`ResidentIndexes`]) aggregation runs over.

use std::sync::Arc;

use super::opened_contexts::OpenedContexts;
use super::resident::ResidentIndexes;
use super::store::Store;
use crate::error::Result;
use paillier_gpu::context::PublicContext;
use paillier_gpu::Device;

/// The state behind every route.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub device: Device,
    pub allow_weak_contexts: bool,
    /// The largest request body read.
    pub max_body_bytes: usize,
    /// Requests, latencies and records aggregated, for `/metrics`.
    pub metrics: super::metrics::Metrics,
    /// Slots for heavy work (searches, filters, writes, inference), [`work_slots`](Self::work_slots) of them.
    pub work: Arc<tokio::sync::Semaphore>,
    pub work_slots: usize,
    /// How long a request waits for a work slot before it is answered 503.
    pub work_queue_timeout: std::time::Duration,
    /// One index per knowledge base and context, kept coherent with the store.
    pub indexes: ResidentIndexes,
    opened: OpenedContexts,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        device: Device,
        allow_weak_contexts: bool,
        max_body_bytes: usize,
        work_slots: usize,
        work_queue_timeout: std::time::Duration,
    ) -> Self {
        let work_slots = work_slots.max(1);
        Self {
            indexes: ResidentIndexes::new(store.clone(), device),
            store,
            device,
            allow_weak_contexts,
            max_body_bytes,
            work: Arc::new(tokio::sync::Semaphore::new(work_slots)),
            work_slots,
            work_queue_timeout,
            metrics: super::metrics::Metrics::default(),
            opened: OpenedContexts::default(),
        }
    }

    /// Forgets what was opened or indexed under a context of `org_id` (it was deleted).
    pub fn forget_context(&self, org_id: &str, context_id: &str) {
        self.opened.forget(org_id, context_id);
        self.indexes.forget_context(org_id, context_id);
    }

    /// The public part of a stored context, or an error a client can act on.
    pub fn public_context(&self, org_id: &str, context_id: &str) -> Result<Option<PublicContext>> {
        match self.store.context(org_id, context_id)? {
            Some(stored) => self.open_public(org_id, context_id, &stored.data).map(Some),
            None => Ok(None),
        }
    }

    /// The public part of context `context_id` of `org_id`, stored as `data`, on the server's
    /// device (opened once for as long as the stored text stays the same). For checking and
    /// aggregating, which build nothing large inside the key.
    pub fn open_public(&self, org_id: &str, context_id: &str, data: &str) -> Result<PublicContext> {
        self.opened
            .get_or_open(org_id, context_id, data, |data| self.open_fresh(data))
    }

    /// The public part of a context's JSON, opened anew: for encrypting, whose fixed-base
    /// tables (megabytes) are then dropped with the request rather than kept in the cache.
    pub fn open_fresh(&self, data: &str) -> Result<PublicContext> {
        let context = PublicContext::from_public_json(data)?.with_device(self.device);
        Ok(if self.allow_weak_contexts {
            context.with_insecure_parameters_allowed()
        } else {
            context
        })
    }
}
