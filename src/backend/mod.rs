//! Compute backends: the one trait that both the CPU and the GPU implement.
//!
//! Every operation works on batches of plain little-endian limb arrays ([`LimbBatch`]), in normal
//! (not Montgomery) form, reduced below the modulus. The scheme layers (`paillier/`, `hamming/`)
//! express their work as these batched operations and never see how a backend runs them.

pub mod cpu;
mod crt_key;
pub(crate) mod encryption;
mod fallback;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod response_check;
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
mod spot_check;

pub use crt_key::CrtKey;
pub use encryption::{EncryptionJob, Garner, ResidueTables, Residues};
pub use fallback::FallbackBackend;

use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;

use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::{Error, Result};

/// Which compute device an execution context or index uses.
///
/// It selects the backend and nothing else: it is not part of a context's id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// The CPU backend on every core (rayon). Always available.
    #[default]
    Cpu,
    /// A GPU through wgpu. Asking for it when no adapter answers is an error.
    Gpu,
    /// A GPU when one answers, otherwise the CPU.
    Auto,
}

impl Device {
    /// The lower-case name used by the CLI and the environment (`cpu`, `gpu`, `auto`).
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
            Device::Auto => "auto",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Device {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            "auto" => Ok(Device::Auto),
            other => Err(Error::InvalidParameter(format!(
                "unknown device {other:?} (expected cpu, gpu or auto)"
            ))),
        }
    }
}

/// Returns the backend for `device`.
///
/// `Gpu` is [`Error::GpuUnavailable`] when no adapter answers, and every GPU failure is an error.
/// `Auto` uses the CPU when no hardware adapter answers (saying so once at info level), and
/// otherwise a [`FallbackBackend`]: the GPU, with every call that fails on it rerun on the CPU.
pub fn backend_for(device: Device) -> Result<Arc<dyn Backend>> {
    match device {
        Device::Cpu => Ok(cpu::CpuBackend::shared()),
        Device::Gpu => gpu_backend(),
        Device::Auto => match auto_gpu_backend() {
            Ok(gpu) => Ok(Arc::new(FallbackBackend::new(
                gpu,
                cpu::CpuBackend::shared(),
            ))),
            Err(e) => {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| log::info!("device auto: {e}; using the CPU"));
                Ok(cpu::CpuBackend::shared())
            }
        },
    }
}

#[cfg(feature = "gpu")]
fn gpu_backend() -> Result<Arc<dyn Backend>> {
    Ok(gpu::GpuBackend::shared()?)
}

/// `Auto` takes a hardware adapter only: a software one (lavapipe, WARP) is always slower than
/// the CPU backend on the same cores. `Gpu` asked for explicitly takes either.
#[cfg(feature = "gpu")]
fn auto_gpu_backend() -> Result<Arc<dyn Backend>> {
    let backend = gpu::GpuBackend::shared()?;
    let info = backend.adapter_info();
    if info.device_type == wgpu::DeviceType::Cpu {
        return Err(Error::GpuUnavailable(format!(
            "the only adapter, {}, is a software renderer",
            info.name
        )));
    }
    Ok(backend)
}

#[cfg(not(feature = "gpu"))]
fn gpu_backend() -> Result<Arc<dyn Backend>> {
    Err(Error::GpuUnavailable(
        "this build of paillier-gpu was made without the gpu feature".into(),
    ))
}

#[cfg(not(feature = "gpu"))]
fn auto_gpu_backend() -> Result<Arc<dyn Backend>> {
    gpu_backend()
}

/// A batch of equally wide integers stored as one flat vector of little-endian `u64` limbs.
#[derive(Clone, PartialEq, Eq)]
pub struct LimbBatch {
    limbs_per_item: usize,
    data: Vec<u64>,
}

impl fmt::Debug for LimbBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Items may be secret (noise, plaintexts): show only the shape.
        f.debug_struct("LimbBatch")
            .field("items", &self.len())
            .field("limbs_per_item", &self.limbs_per_item)
            .finish_non_exhaustive()
    }
}

impl LimbBatch {
    /// An empty batch of `limbs_per_item`-limb items.
    pub fn new(limbs_per_item: usize) -> Self {
        Self {
            limbs_per_item: limbs_per_item.max(1),
            data: Vec::new(),
        }
    }

    /// A batch over `data`, whose length must be a multiple of `limbs_per_item`.
    pub fn from_flat(limbs_per_item: usize, data: Vec<u64>) -> Result<Self> {
        if limbs_per_item == 0 || !data.len().is_multiple_of(limbs_per_item) {
            return Err(Error::InvalidParameter(format!(
                "{} limbs do not split into items of {limbs_per_item}",
                data.len()
            )));
        }
        Ok(Self {
            limbs_per_item,
            data,
        })
    }

    /// A batch holding one item.
    pub fn single(item: Vec<u64>) -> Self {
        Self {
            limbs_per_item: item.len().max(1),
            data: item,
        }
    }

    /// Appends one item of exactly `limbs_per_item` limbs.
    pub fn push(&mut self, item: &[u64]) -> Result<()> {
        if item.len() != self.limbs_per_item {
            return Err(Error::InvalidParameter(format!(
                "item of {} limbs pushed into a batch of {}-limb items",
                item.len(),
                self.limbs_per_item
            )));
        }
        self.data.extend_from_slice(item);
        Ok(())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.data.len() / self.limbs_per_item
    }

    /// True when the batch holds no item.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Limbs per item.
    pub fn limbs_per_item(&self) -> usize {
        self.limbs_per_item
    }

    /// Item `i`.
    pub fn item(&self, i: usize) -> &[u64] {
        &self.data[i * self.limbs_per_item..(i + 1) * self.limbs_per_item]
    }

    /// Item `i`, mutable.
    pub fn item_mut(&mut self, i: usize) -> &mut [u64] {
        &mut self.data[i * self.limbs_per_item..(i + 1) * self.limbs_per_item]
    }

    /// Iterates over the items.
    pub fn iter(&self) -> std::slice::ChunksExact<'_, u64> {
        self.data.chunks_exact(self.limbs_per_item)
    }

    /// The flat limbs.
    pub fn as_flat(&self) -> &[u64] {
        &self.data
    }

    /// Consumes the batch into its flat limbs.
    pub fn into_flat(self) -> Vec<u64> {
        self.data
    }

    /// Overwrites the limbs with zeros (for batches holding secrets).
    pub fn wipe(&mut self) {
        use zeroize::Zeroize;
        self.data.zeroize();
    }
}

/// So that a batch of secrets can live in a `Zeroizing<LimbBatch>`, wiped when dropped on every
/// path, errors included.
impl zeroize::Zeroize for LimbBatch {
    fn zeroize(&mut self) {
        self.wipe();
    }
}

/// Whether an exponent may drive the control flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrecy {
    /// Public exponent (e.g. `n` in `r^n`): the fastest algorithm may branch on its bits.
    Public,
    /// Secret exponent (e.g. `p - 1` in CRT decryption): the CPU backend runs in constant time.
    Secret,
}

/// The exponents of a batched exponentiation.
#[derive(Clone, Debug)]
pub struct Exponents {
    /// One item shared by every base, or one item per base.
    pub values: LimbBatch,
    /// Upper bound on the exponents' bit length (a secret exponent is processed over exactly this
    /// many bits).
    pub bits: usize,
    /// Public or secret.
    pub secrecy: Secrecy,
}

/// The batched big-integer operations of Paillier encryption, aggregation and decoding.
///
/// Inputs and outputs are in normal form and reduced below the modulus. Operand batches are
/// broadcast cyclically: item `i` of the output uses operand item `i % operand.len()`, so a
/// one-item operand is shared by the whole batch and a full-length one is per item.
pub trait Backend: Send + Sync + fmt::Debug {
    /// The device this backend runs on.
    fn device(&self) -> Device;

    /// `out[i] = bases[i] ^ exponents[i % k] mod m`.
    fn modexp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
    ) -> Result<LimbBatch>;

    /// `out[i] = a[i] · b[i % k] mod m`.
    fn modmul(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch>;

    /// `out[i] = g ^ exponents[i] mod m` from a fixed-base table of `g`, in constant time over
    /// `exponents.bits` bits (the exponents are plaintexts or noise: always treated as secret).
    fn fixed_base_pow(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch>;

    /// CRT decryption and Hamming decoding in one call, so that only distances leave the device:
    /// `x_p = bases_p[i] ^ e_p mod p²`, `x_q` likewise, `m_p = ((x_p − 1)/p)·h_p mod p`, `m_q`
    /// likewise, `m = m_q + q·((m_p − m_q)·q⁻¹ mod p)`, and `out[i] = popcount(m & masks[i % k])`
    /// — or, when a check of [`response_check`] fails (`x_p ≢ 1 mod p`, a bit above the slots,
    /// a slot holding 3), [`response_check::DEFECT_TAG`] with the failed checks' bits.
    fn crt_decode(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>>;

    /// Encrypts a batch: `out[i] = g^m_i · base^x_i mod n²` (see [`EncryptionJob`]). A GPU runs
    /// the whole job in one submission and returns only ciphertexts; the default composes
    /// [`fixed_base_pow`](Self::fixed_base_pow) and [`modmul`](Self::modmul).
    fn encrypt(&self, job: &EncryptionJob<'_>) -> Result<LimbBatch> {
        encryption::encrypt_with_primitives(self, job)
    }

    /// Memory of the backend's own (a GPU's) for data reused across calls, if it has any.
    fn device_memory(&self) -> Option<&dyn DeviceMemory> {
        None
    }

    /// How many random items of each call's result this backend recomputes on the CPU before
    /// returning it (0 for the CPU itself). Callers that use [`device_memory`](Self::device_memory)
    /// directly check as many with [`spot_check_modmul`].
    fn spot_checks(&self) -> usize {
        0
    }
}

/// Checks `out[i] = a[i] · b[i % k] mod m` on `samples` random items against the CPU backend,
/// for results computed from data a caller also holds on the host (a resident search database).
/// `a` is flat limbs, `modulus.len()` per item. A mismatch is [`Error::GpuFailure`].
pub fn spot_check_modmul(
    samples: usize,
    modulus: &MontgomeryModulus,
    a: &[u64],
    b: &LimbBatch,
    out: &LimbBatch,
) -> Result<()> {
    spot_check::modmul(samples, modulus, a, b, out)
}

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

/// Checks the shapes every backend operation requires; shared by the implementations.
pub(crate) fn check_operands(
    modulus: &MontgomeryModulus,
    a: &LimbBatch,
    b: &LimbBatch,
) -> Result<()> {
    if a.limbs_per_item() != modulus.len() || b.limbs_per_item() != modulus.len() {
        return Err(Error::InvalidParameter(format!(
            "operands of {} and {} limbs for a {}-limb modulus",
            a.limbs_per_item(),
            b.limbs_per_item(),
            modulus.len()
        )));
    }
    if b.is_empty() && !a.is_empty() {
        return Err(Error::InvalidParameter("empty operand batch".into()));
    }
    Ok(())
}

/// Checks a [`Backend::fixed_base_pow`] call: the table matches the modulus and covers the
/// exponents. Shared by the implementations.
pub(crate) fn check_fixed_base_operands(
    modulus: &MontgomeryModulus,
    table: &crate::bigint::FixedBaseTable,
    exponents: &Exponents,
) -> Result<()> {
    if table.limbs() != modulus.len() {
        return Err(Error::InvalidParameter(
            "table width differs from the modulus".into(),
        ));
    }
    if exponents.bits > table.exponent_bits() {
        return Err(Error::InvalidParameter(format!(
            "{}-bit exponents for a table covering {} bits",
            exponents.bits,
            table.exponent_bits()
        )));
    }
    Ok(())
}

/// Checks the shapes of a [`Backend::crt_decode`] call; shared by the implementations.
pub(crate) fn check_crt_operands(
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
    masks: &LimbBatch,
) -> Result<()> {
    if bases_p.len() != bases_q.len()
        || bases_p.limbs_per_item() != key.p_squared.len()
        || bases_q.limbs_per_item() != key.q_squared.len()
    {
        return Err(Error::InvalidParameter(
            "CRT bases do not match the key".into(),
        ));
    }
    if masks.is_empty() && !bases_p.is_empty() {
        return Err(Error::InvalidParameter("empty mask batch".into()));
    }
    if masks.limbs_per_item() > 2 * key.p.len() {
        return Err(Error::InvalidParameter(
            "masks wider than the plaintexts".into(),
        ));
    }
    Ok(())
}
