//! A batch multiplied again and again (a search database) that knows where it lives: the host
//! copy, which is the source of truth, and a copy in a backend's own memory (a GPU's) when one
//! has been made.
//!
//! Backends keep the device copy through [`Backend::append_resident`](super::Backend) and use it
//! in [`Backend::modmul_resident`](super::Backend), so the decorators (spot checks, fallback,
//! small-batch routing) wrap resident products like every other operation.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use super::LimbBatch;
use crate::error::{Error, Result};

/// Items kept for repeated products `item · b mod m`: a host copy and, on a backend with memory
/// of its own, a device copy that is used only while it holds exactly the host's items.
#[derive(Debug)]
pub struct ResidentBatch {
    host: LimbBatch,
    device: Option<DeviceBatch>,
}

impl ResidentBatch {
    /// An empty batch of `limbs_per_item`-limb items.
    pub fn new(limbs_per_item: usize) -> Self {
        Self {
            host: LimbBatch::new(limbs_per_item),
            device: None,
        }
    }

    /// The host copy.
    pub fn host(&self) -> &LimbBatch {
        &self.host
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.host.len()
    }

    /// True when no item is held.
    pub fn is_empty(&self) -> bool {
        self.host.is_empty()
    }

    /// Limbs per item.
    pub fn limbs_per_item(&self) -> usize {
        self.host.limbs_per_item()
    }

    /// True when a complete copy lives in a backend's own memory.
    pub fn is_on_device(&self) -> bool {
        self.device_copy().is_some()
    }

    /// The device copy, when it holds exactly the host's items (a copy left behind by a failed
    /// append is never used).
    pub fn device_copy(&self) -> Option<&DeviceBatch> {
        self.device
            .as_ref()
            .filter(|device| device.len() == self.host.len())
    }

    /// The device copy, complete or not, for a backend to append to.
    pub fn device_copy_mut(&mut self) -> Option<&mut DeviceBatch> {
        self.device.as_mut()
    }

    /// Replaces the device copy (a backend's fresh upload).
    pub fn set_device_copy(&mut self, copy: DeviceBatch) {
        self.device = Some(copy);
    }

    /// Drops the device copy: the items then live on the host only (moving to another backend,
    /// or after a device failure).
    pub fn forget_device_copy(&mut self) {
        self.device = None;
    }

    /// Gives back the host copy's room beyond the items held (growing by appends reserves up
    /// to twice what is needed).
    pub fn shrink_host(&mut self) {
        self.host.shrink_to_fit();
    }

    /// Bytes of host memory the items take.
    pub fn host_bytes(&self) -> usize {
        self.host.allocated_bytes()
    }

    /// Appends items to the host copy only; a backend keeping a device copy appends there first.
    pub fn append_host(&mut self, items: &LimbBatch) -> Result<()> {
        self.check_width(items)?;
        self.host.extend(items)
    }

    /// Removes the items at `items` (ascending) from the host copy and drops the device copy,
    /// which a backend makes anew on the next append (see [`LimbBatch::remove_items`]).
    pub fn remove_items(&mut self, items: &[usize]) -> Result<()> {
        self.host.remove_items(items)?;
        self.forget_device_copy();
        Ok(())
    }

    /// An error unless `items` have this batch's width.
    pub fn check_width(&self, items: &LimbBatch) -> Result<()> {
        if items.limbs_per_item() != self.host.limbs_per_item() {
            return Err(Error::InvalidParameter(format!(
                "items of {} limbs appended to a batch of {}-limb items",
                items.limbs_per_item(),
                self.host.limbs_per_item()
            )));
        }
        Ok(())
    }

    /// An error unless `range` lies within the items.
    pub fn check_range(&self, range: &Range<usize>) -> Result<()> {
        if range.start > range.end || range.end > self.len() {
            return Err(Error::InvalidSelection(format!(
                "items {}..{} of a batch of {}",
                range.start,
                range.end,
                self.len()
            )));
        }
        Ok(())
    }

    /// The host's items in `range`: borrowed when the range is the whole batch, else copied.
    pub fn host_items(&self, range: Range<usize>) -> Result<Cow<'_, LimbBatch>> {
        self.check_range(&range)?;
        if range.start == 0 && range.end == self.len() {
            return Ok(Cow::Borrowed(&self.host));
        }
        let limbs = self.limbs_per_item();
        let flat = &self.host.as_flat()[range.start * limbs..range.end * limbs];
        Ok(Cow::Owned(LimbBatch::from_flat(limbs, flat.to_vec())?))
    }

    /// The listed items gathered from the host copy, in the listed order.
    pub fn gather(&self, ids: impl IntoIterator<Item = usize>) -> Result<LimbBatch> {
        let mut subset = LimbBatch::new(self.limbs_per_item());
        for id in ids {
            if id >= self.len() {
                return Err(Error::InvalidSelection(format!(
                    "item {id} of a batch of {}",
                    self.len()
                )));
            }
            subset.push(self.host.item(id))?;
        }
        Ok(subset)
    }
}

/// A batch held in a backend's own memory: the backend's storage, opaque to everything else.
pub struct DeviceBatch {
    len: usize,
    storage: Box<dyn Any + Send + Sync>,
}

impl fmt::Debug for DeviceBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceBatch")
            .field("items", &self.len)
            .finish_non_exhaustive()
    }
}

impl DeviceBatch {
    /// Wraps a backend's storage, holding `len` items.
    pub fn new(len: usize, storage: Box<dyn Any + Send + Sync>) -> Self {
        Self { len, storage }
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no item is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
