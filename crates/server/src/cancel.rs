//! Work that stops when its client has gone: a request's handler holds a guard whose drop (the
//! connection closed, the future dropped) raises a flag that the work on the blocking pool
//! checks between its steps, so that a departed client's search or inference does not keep a
//! core busy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// Raised when the request's client has gone.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// An error once the client has gone; work stops at the next check.
    pub fn check(&self) -> Result<()> {
        if self.0.load(Ordering::Relaxed) {
            return Err(Error::ClientGone);
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
        assert!(matches!(cancel.check(), Err(Error::ClientGone)));
    }
}
