//! The reference a spot check compares a device's item with: the operation restricted to that
//! item ([`Operation::one_item`]), run on the CPU engine. It sits above the CPU engine, beside
//! the check that uses it, and knows no operation: a new operation needs nothing here.

use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, Operation, Output};
use crate::error::Result;

impl Operation<'_> {
    /// Item `i` of the result, recomputed alone on the CPU: the reference of a spot check.
    pub fn recompute_item(&self, i: usize) -> Result<Output> {
        self.one_item(i, |one| CpuBackend.run(one))
    }
}
