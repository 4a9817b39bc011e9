//! [`cancellable`]: a handler's work on the blocking pool that learns when its client has gone.

use super::blocking;
use crate::server::cancel::Cancel;
use crate::server::error::ApiResult;

/// Runs `work` on the blocking pool with a [`Cancel`] that rises if this future is dropped
/// before the work is done (the client closed the connection), so that long work stops at its
/// next check instead of finishing for nobody.
pub async fn cancellable<T: Send + 'static>(
    work: impl FnOnce(&Cancel) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let cancel = Cancel::default();
    let _raise = cancel.on_drop();
    blocking(move || work(&cancel)).await
}
