//! Work that stops when its client has gone: a request's handler holds a guard whose drop (the
//! connection closed, the future dropped) raises a flag that the work on the blocking pool
//! checks between its steps, so that a departed client's search or inference does not keep a
//! core busy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;

use crate::api_error::{ApiError, ApiResult};

/// Raised when the request's client has gone.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// An error once the client has gone; work stops at the next check.
    pub fn check(&self) -> ApiResult<()> {
        if self.0.load(Ordering::Relaxed) {
            // Nobody reads this answer; the status tells the metrics why the request ended.
            let gone = StatusCode::from_u16(499).unwrap_or(StatusCode::REQUEST_TIMEOUT);
            return Err(ApiError::new(gone, "the client closed the request"));
        }
        Ok(())
    }

    /// A guard that raises the flag when dropped.
    pub fn on_drop(&self) -> RaiseOnDrop {
        RaiseOnDrop(self.0.clone())
    }
}

/// Raises its [`Cancel`] when dropped.
pub struct RaiseOnDrop(Arc<AtomicBool>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_rises_when_the_guard_goes() {
        let cancel = Cancel::default();
        let guard = cancel.on_drop();
        assert!(cancel.check().is_ok());
        drop(guard);
        assert_eq!(cancel.check().unwrap_err().status.as_u16(), 499);
    }
}
