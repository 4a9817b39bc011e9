//! A batch multiplied again and again (a search database), kept where its backend computes: the
//! policies of device memory — upload once, spot-check what comes back, fall back to the host
//! copy under [`Device::Auto`] — in one place, so that the scheme layers hold none of them.

use std::ops::Range;
use std::sync::Arc;

use super::{spot_check, Backend, Device, DeviceBatch, LimbBatch};
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

/// Items kept for repeated products `item · b mod m`.
///
/// The host copy is the source of truth. On a backend with memory of its own (a GPU) a copy also
/// lives there, uploaded once and appended to, so that a product sends only `b`; its results are
/// spot-checked against the host copy like any other GPU result. Under [`Device::Auto`] a device
/// failure (lost device, failed upload, spot-check mismatch) drops to the host copy on the
/// backend's own fallback instead of failing the call.
#[derive(Debug)]
pub struct ResidentBatch {
    backend: Arc<dyn Backend>,
    host: LimbBatch,
    device: Option<DeviceBatch>,
}

impl ResidentBatch {
    /// An empty batch of `limbs_per_item`-limb items on `backend`.
    pub fn new(backend: Arc<dyn Backend>, limbs_per_item: usize) -> Self {
        Self {
            backend,
            host: LimbBatch::new(limbs_per_item),
            device: None,
        }
    }

    /// The same items on another backend (copied into its memory if it has any; when that
    /// fails, the next append tries again).
    pub fn with_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = backend;
        self.device = None;
        if !self.host.is_empty() {
            if let Some(memory) = self.backend.device_memory() {
                self.device = memory.upload(&self.host).ok();
            }
        }
        self
    }

    /// The backend the products run on.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
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

    /// True when a copy lives in the backend's own memory.
    pub fn is_on_device(&self) -> bool {
        self.device.is_some()
    }

    /// Appends items (of this batch's width) to both copies.
    pub fn append(&mut self, items: &LimbBatch) -> Result<()> {
        if items.limbs_per_item() != self.host.limbs_per_item() {
            return Err(Error::InvalidParameter(format!(
                "items of {} limbs appended to a batch of {}-limb items",
                items.limbs_per_item(),
                self.host.limbs_per_item()
            )));
        }
        if let Some(memory) = self.backend.device_memory() {
            let uploaded = match &mut self.device {
                Some(device) => memory.append(device, items),
                None if self.host.is_empty() => memory.upload(items).map(|d| self.device = Some(d)),
                // An earlier upload failed: the device copy would miss items; upload them all.
                None => {
                    let mut all = self.host.clone();
                    all.extend(items)?;
                    memory.upload(&all).map(|d| self.device = Some(d))
                }
            };
            match uploaded {
                Ok(()) => {}
                Err(e @ Error::GpuFailure(_)) if self.backend.device() == Device::Auto => {
                    log::warn!(
                        "device auto: keeping items on the device failed ({e}); using the CPU"
                    );
                    self.device = None;
                }
                Err(e) => return Err(e),
            }
        }
        self.host.extend(items)
    }

    /// `out[i] = item[range.start + i] · b[i % k] mod m`, on the device copy where there is one.
    pub fn modmul_range(
        &self,
        modulus: &MontgomeryModulus,
        range: Range<usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        if range.start > range.end || range.end > self.len() {
            return Err(Error::InvalidSelection(format!(
                "items {}..{} of a batch of {}",
                range.start,
                range.end,
                self.len()
            )));
        }
        let limbs = self.host.limbs_per_item();
        let host = &self.host.as_flat()[range.start * limbs..range.end * limbs];
        if let (Some(memory), Some(device)) = (self.backend.device_memory(), &self.device) {
            let on_device = memory
                .modmul_resident(modulus, device, range.clone(), b)
                .and_then(|products| {
                    let samples = self.backend.spot_checks();
                    spot_check::modmul(samples, modulus, host, b, &products)?;
                    Ok(products)
                });
            match on_device {
                Err(e @ Error::GpuFailure(_)) if self.backend.device() == Device::Auto => {
                    log::warn!(
                        "device auto: a resident product failed on the GPU ({e}); using the CPU"
                    );
                }
                other => return other,
            }
        }
        if range.start == 0 && range.end == self.len() {
            return self.backend.modmul(modulus, &self.host, b);
        }
        self.backend
            .modmul(modulus, &LimbBatch::from_flat(limbs, host.to_vec())?, b)
    }

    /// `out[j] = item[ids[j]] · b[j % k] mod m`: the listed items gathered from the host copy.
    pub fn modmul_items(
        &self,
        modulus: &MontgomeryModulus,
        ids: impl IntoIterator<Item = usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        let mut subset = LimbBatch::new(self.host.limbs_per_item());
        for id in ids {
            if id >= self.len() {
                return Err(Error::InvalidSelection(format!(
                    "item {id} of a batch of {}",
                    self.len()
                )));
            }
            subset.push(self.host.item(id))?;
        }
        self.backend.modmul(modulus, &subset, b)
    }
}
