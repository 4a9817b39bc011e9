//! Data kept in a backend's own memory (a search database resident on a GPU).

use std::any::Any;
use std::fmt;
use std::ops::Range;

use super::*;
use crate::bigint::MontgomeryModulus;
use crate::error::Result;

/// A batch held in a backend's own memory (a search database resident on a GPU).
pub struct DeviceBatch {
    limbs_per_item: usize,
    len: usize,
    storage: Box<dyn Any + Send + Sync>,
}

impl fmt::Debug for DeviceBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceBatch")
            .field("items", &self.len)
            .field("limbs_per_item", &self.limbs_per_item)
            .finish_non_exhaustive()
    }
}

impl DeviceBatch {
    /// Wraps a backend's storage for an (initially empty) batch of `limbs_per_item`-limb items.
    pub fn new(limbs_per_item: usize, storage: Box<dyn Any + Send + Sync>) -> Self {
        Self {
            limbs_per_item,
            len: 0,
            storage,
        }
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no item is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Limbs per item.
    pub fn limbs_per_item(&self) -> usize {
        self.limbs_per_item
    }

    /// The backend's storage.
    pub fn storage(&self) -> &(dyn Any + Send + Sync) {
        self.storage.as_ref()
    }

    /// The backend's storage, mutably.
    pub fn storage_mut(&mut self) -> &mut (dyn Any + Send + Sync) {
        self.storage.as_mut()
    }

    /// Records the item count after an append.
    pub fn set_len(&mut self, len: usize) {
        self.len = len;
    }
}

/// Device-resident data: upload once, append, multiply in place.
pub trait DeviceMemory: Send + Sync {
    /// Copies `batch` into device memory.
    fn upload(&self, batch: &LimbBatch) -> Result<DeviceBatch>;

    /// Appends `batch` to a resident batch.
    fn append(&self, target: &mut DeviceBatch, batch: &LimbBatch) -> Result<()>;

    /// `out[i] = a[range.start + i] · b[i % k] mod m` over resident `a`.
    fn modmul_resident(
        &self,
        modulus: &MontgomeryModulus,
        a: &DeviceBatch,
        range: Range<usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch>;
}
