//! Heavy work of a handler: [`work_slot`], one of a bounded number of slots for it (so that
//! concurrent searches, filters and inferences cannot take every core and every byte of memory
//! at once), and [`cancellable`], the work on the blocking pool, told when its client has gone.

use prometheus_client::metrics::counter::Counter;
use tokio::sync::OwnedSemaphorePermit;

use super::blocking;
use crate::api_error::{ApiError, ApiResult};
use crate::cancel::Cancel;
use crate::service::ServiceError;
use crate::state::AppState;

/// One of the server's slots for heavy work, held until dropped (a search holds it until its
/// answer is written); a 503 when none frees up within the server's work queue timeout.
pub async fn work_slot(state: &AppState) -> ApiResult<OwnedSemaphorePermit> {
    let busy = || {
        ServiceError::unavailable(format!(
            "the server is busy: every one of its {} slots for searches, filters, writes and \
                 inference stayed taken for {} s; try again",
            state.work_slots,
            state.work_queue_timeout.as_secs_f64()
        ))
    };
    match tokio::time::timeout(state.work_queue_timeout, state.work.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(busy().into()),
    }
}

/// Runs `work` on the blocking pool with a [`Cancel`] that rises if this future is dropped
/// before the work is done (the client closed the connection), so that long work stops at its
/// next check instead of finishing for nobody; work that stops so counts on `abandoned` (the
/// request itself is never answered, so no other metric sees it).
pub async fn cancellable<T: Send + 'static>(
    abandoned: Counter,
    work: impl FnOnce(&Cancel) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let cancel = Cancel::default();
    let _raise = cancel.on_drop();
    blocking(move || {
        let done = work(&cancel);
        if matches!(done, Err(ApiError::Service(ServiceError::ClientGone))) {
            abandoned.inc();
        }
        done
    })
    .await
}
