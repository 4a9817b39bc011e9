//! The search backend's side: an encrypted database and the homomorphic aggregation.

use std::ops::Range;
use std::sync::Arc;

use super::{EncryptedVector, VectorLayout};
use crate::backend::{backend_for, spot_check_modmul, Backend, Device, DeviceBatch, LimbBatch};
use crate::error::{Error, Result};
use crate::paillier::{CiphertextBatch, KeyFingerprint, PublicKey};

/// Which records an aggregation covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every record, in id order.
    All,
    /// Records with ids in the range, in order.
    Range(Range<usize>),
    /// The listed records, in the listed order.
    Ids(Vec<usize>),
}

/// An encrypted database held by a search backend: the public key and the stored ciphertexts.
///
/// It can compute `Enc(x) · Enc(q) = Enc(x + q)` for every record but can decrypt nothing.
///
/// ```no_run
/// # fn demo(ctx: &paillier_gpu::ExecutionContext) -> paillier_gpu::Result<()> {
/// use paillier_gpu::hamming::{EncryptedIndex, Selection};
/// let mut index = EncryptedIndex::new(ctx.public_key().clone(), ctx.embed_len(), ctx.device())?;
/// index.insert(&ctx.encrypt_vectors(&[vec![0u8, 1, 1], vec![1, 1, 0]])?)?;
/// let query = ctx.encrypt_vectors(&[vec![0u8, 1, 0]])?.remove(0);
/// let responses = index.aggregate(&query, &Selection::All)?;
/// assert_eq!(ctx.decode_distances(&responses)?, vec![1, 1]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EncryptedIndex {
    public_key: Arc<PublicKey>,
    /// The public key's fingerprint: batches are matched against it.
    key: KeyFingerprint,
    layout: VectorLayout,
    device: Device,
    backend: Arc<dyn Backend>,
    /// Every record's chunks, record-major: the source of truth, and what id-list selections
    /// gather from.
    records: LimbBatch,
    /// The same records in the backend's device memory (GPU), uploaded once and appended to on
    /// insert, so that aggregation sends only the query.
    resident: Option<DeviceBatch>,
}

impl EncryptedIndex {
    /// An empty index for vectors of `embed_len` dimensions under `public_key`.
    pub fn new(public_key: Arc<PublicKey>, embed_len: usize, device: Device) -> Result<Self> {
        let layout = VectorLayout::new(embed_len, public_key.key_len())?;
        let backend = backend_for(device)?;
        let records = LimbBatch::new(public_key.ciphertext_limbs());
        Ok(Self {
            key: public_key.fingerprint(),
            public_key,
            layout,
            device,
            backend,
            records,
            resident: None,
        })
    }

    /// The same (empty) index on a backend configured by the caller. Records inserted before are
    /// kept; a device-resident copy is made on the next insert.
    pub fn with_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.device = backend.device();
        self.backend = backend;
        self.resident = None;
        if !self.records.is_empty() {
            if let Some(memory) = self.backend.device_memory() {
                self.resident = memory.upload(&self.records).ok();
            }
        }
        self
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len() / self.layout.chunks()
    }

    /// True when the index holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The device aggregation runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The public key.
    pub fn public_key(&self) -> &Arc<PublicKey> {
        &self.public_key
    }

    /// Appends records; returns the ids they were given. Every ciphertext is checked first, so a
    /// bad one leaves the index unchanged (the error names its position in `vectors`).
    pub fn insert(&mut self, vectors: &[EncryptedVector]) -> Result<Range<usize>> {
        let batch = EncryptedVector::to_batch(&self.public_key, self.layout.chunks(), vectors)?;
        self.insert_batch(&batch)
    }

    /// Appends the records of a batch made under this index's key (checked when the batch was
    /// made, so nothing is checked again); returns the ids they were given.
    pub fn insert_batch(&mut self, batch: &CiphertextBatch) -> Result<Range<usize>> {
        self.check_batch(batch)?;
        let first = self.len();
        if let Some(memory) = self.backend.device_memory() {
            let uploaded = match &mut self.resident {
                Some(resident) => memory.append(resident, batch.limbs()),
                None => memory
                    .upload(batch.limbs())
                    .map(|r| self.resident = Some(r)),
            };
            match uploaded {
                Ok(()) => {}
                // Auto keeps going on the host copy (the source of truth) without the GPU's.
                Err(e @ Error::GpuFailure(_)) if self.backend.device() == Device::Auto => {
                    log::warn!("device auto: uploading records failed ({e}); using the CPU");
                    self.resident = None;
                }
                Err(e) => return Err(e),
            }
        }
        self.records.extend(batch.limbs())?;
        Ok(first..self.len())
    }

    /// An error unless `batch` holds ciphertexts of this index's key in records of its shape.
    fn check_batch(&self, batch: &CiphertextBatch) -> Result<()> {
        batch.key().expect(&self.key, "the index's public key")?;
        if batch.chunks_per_record() != self.layout.chunks() {
            return Err(Error::InvalidCiphertext {
                index: 0,
                reason: format!(
                    "records of {} chunk(s) where the index needs {}",
                    batch.chunks_per_record(),
                    self.layout.chunks()
                ),
            });
        }
        Ok(())
    }

    /// Multiplies the encrypted query into every selected record: one multiplication mod n² per
    /// chunk. Returns one response per selected record, in selection order.
    pub fn aggregate(
        &self,
        query: &EncryptedVector,
        selection: &Selection,
    ) -> Result<Vec<EncryptedVector>> {
        let query = EncryptedVector::to_batch(
            &self.public_key,
            self.layout.chunks(),
            std::slice::from_ref(query),
        )?;
        Ok(EncryptedVector::from_batch(
            &self.aggregate_batch(&query, selection)?,
        ))
    }

    /// [`aggregate`](Self::aggregate) on batches: `query` holds one record; the responses come
    /// back as one batch, one record per selected record, in selection order, with no big
    /// integer made per ciphertext.
    pub fn aggregate_batch(
        &self,
        query: &CiphertextBatch,
        selection: &Selection,
    ) -> Result<CiphertextBatch> {
        self.check_batch(query)?;
        if query.records() != 1 {
            return Err(Error::InvalidCiphertext {
                index: 0,
                reason: format!("the query holds {} records, not 1", query.records()),
            });
        }
        let query_batch = query.limbs();
        let chunks = self.layout.chunks();
        let modulus = self.public_key.n_squared_modulus();
        let products = match selection {
            Selection::All => self.aggregate_range(query_batch, 0..self.len())?,
            Selection::Range(range) => {
                if range.start > range.end || range.end > self.len() {
                    return Err(Error::InvalidSelection(format!(
                        "range {}..{} is outside the {} records",
                        range.start,
                        range.end,
                        self.len()
                    )));
                }
                self.aggregate_range(query_batch, range.clone())?
            }
            Selection::Ids(ids) => {
                let mut subset = LimbBatch::new(self.records.limbs_per_item());
                subset.reserve(ids.len() * chunks);
                for &id in ids {
                    if id >= self.len() {
                        return Err(Error::InvalidSelection(format!(
                            "id {id} is outside the {} records",
                            self.len()
                        )));
                    }
                    for c in 0..chunks {
                        subset.push(self.records.item(id * chunks + c))?;
                    }
                }
                self.backend.modmul(modulus, &subset, query_batch)?
            }
        };
        Ok(CiphertextBatch::from_products(self.key, chunks, products))
    }

    /// Products of the query with records `range`: on the resident copy when there is one.
    fn aggregate_range(&self, query: &LimbBatch, range: Range<usize>) -> Result<LimbBatch> {
        let modulus = self.public_key.n_squared_modulus();
        let chunks = self.layout.chunks();
        let items = range.start * chunks..range.end * chunks;
        let limbs = self.records.limbs_per_item();
        if let (Some(memory), Some(resident)) = (self.backend.device_memory(), &self.resident) {
            // Item i of the range uses query chunk (start·chunks + i) % chunks = i % chunks.
            let on_device = memory
                .modmul_resident(modulus, resident, items.clone(), query)
                .and_then(|products| {
                    let host = &self.records.as_flat()[items.start * limbs..items.end * limbs];
                    spot_check_modmul(self.backend.spot_checks(), modulus, host, query, &products)?;
                    Ok(products)
                });
            match on_device {
                Err(e @ Error::GpuFailure(_)) if self.backend.device() == Device::Auto => {
                    log::warn!("device auto: aggregation failed on the GPU ({e}); using the CPU");
                }
                other => return other,
            }
        }
        if items.start == 0 && items.end == self.records.len() {
            return self.backend.modmul(modulus, &self.records, query);
        }
        let subset = LimbBatch::from_flat(
            limbs,
            self.records.as_flat()[items.start * limbs..items.end * limbs].to_vec(),
        )?;
        self.backend.modmul(modulus, &subset, query)
    }
}
