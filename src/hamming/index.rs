//! The search backend's side: an encrypted database and the homomorphic aggregation.

use std::ops::Range;
use std::sync::Arc;

use super::VectorLayout;
use crate::hazmat::backend::encryption::copy_ciphertexts;
use crate::hazmat::backend::{backend_for, Backend, Device, ResidentBatch};

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
/// let public = ctx.public();
/// let mut index = EncryptedIndex::new(public.public_key().clone(), ctx.embed_len(), public.device())?;
/// index.insert_batch(&ctx.encrypt_batch(&[vec![0u8, 1, 1], vec![1, 1, 0]])?)?;
/// let query = ctx.encrypt_batch(&[vec![0u8, 1, 0]])?;
/// let responses = index.aggregate_batch(&query, &Selection::All)?;
/// assert_eq!(ctx.decode_batch(&responses)?, vec![1, 1]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EncryptedIndex {
    public_key: Arc<PublicKey>,
    /// The public key's fingerprint: batches are matched against it.
    key: KeyFingerprint,
    layout: VectorLayout,
    device: Device,
    /// The backend aggregation runs on, with its policies (spot checks, fallback, routing).
    backend: Arc<dyn Backend>,
    /// Every record's pieces, record-major, kept where the backend computes (see
    /// [`ResidentBatch`]): aggregation sends only the query.
    records: ResidentBatch,
}

impl EncryptedIndex {
    /// An empty index for vectors of `embed_len` dimensions under `public_key`.
    pub fn new(public_key: Arc<PublicKey>, embed_len: usize, device: Device) -> Result<Self> {
        let layout = VectorLayout::new(embed_len, public_key.key_len())?;
        let records = ResidentBatch::new(public_key.ciphertext_limbs());
        Ok(Self {
            key: public_key.fingerprint(),
            public_key,
            layout,
            device,
            backend: backend_for(device)?,
            records,
        })
    }

    /// The same index on a backend configured by the caller. Records inserted before are kept
    /// (and copied into the backend's memory if it has any).
    pub fn with_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.device = backend.device();
        self.records.forget_device_copy();
        if !self.records.is_empty() {
            // An empty append copies the records into the new backend's memory; when that
            // fails, the next insert tries again.
            let nothing = crate::hazmat::backend::LimbBatch::new(self.records.limbs_per_item());
            if let Err(e) = backend.append_resident(&mut self.records, &nothing) {
                log::warn!(
                    "keeping the index's records on the {}: {e}",
                    self.device.as_str()
                );
            }
        }
        self.backend = backend;
        self
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len() / self.layout.pieces()
    }

    /// True when the index holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes of host memory holding the records (a GPU keeps a second copy in its own memory).
    pub fn host_bytes(&self) -> usize {
        self.records.host_bytes()
    }

    /// Gives back the room that growing by inserts reserved beyond the records held: after
    /// loading an index that will mostly be searched.
    pub fn shrink_to_fit(&mut self) {
        self.records.shrink_host();
    }

    /// The device aggregation runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The public key.
    pub fn public_key(&self) -> &Arc<PublicKey> {
        &self.public_key
    }

    /// Appends the records of a batch made under this index's key (its ciphertexts were checked
    /// when the batch was made, so nothing is checked again); returns the ids they were given.
    /// A batch of another key or record shape leaves the index unchanged.
    pub fn insert_batch(&mut self, batch: &CiphertextBatch) -> Result<Range<usize>> {
        self.check_batch(batch)?;
        let first = self.len();
        self.backend
            .append_resident(&mut self.records, batch.limbs())?;
        Ok(first..self.len())
    }

    /// Removes the records at `ids` (ascending), moving the later records down in order: a
    /// record's id is its position, so the ids above each removed one shrink. A backend with
    /// memory of its own gets a fresh copy of what is left; should that fail, the records stay
    /// on the host and the next insert tries again.
    pub fn remove_records(&mut self, ids: &[usize]) -> Result<()> {
        if ids.last().is_some_and(|&last| last >= self.len()) {
            return Err(Error::InvalidSelection(format!(
                "record {} of an index of {}",
                ids[ids.len() - 1],
                self.len()
            )));
        }
        let pieces = self.layout.pieces();
        let items: Vec<usize> = ids
            .iter()
            .flat_map(|&id| id * pieces..(id + 1) * pieces)
            .collect();
        self.records.remove_items(&items)?;
        let nothing = crate::hazmat::backend::LimbBatch::new(self.records.limbs_per_item());
        if let Err(e) = self.backend.append_resident(&mut self.records, &nothing) {
            log::warn!("keeping the index's records on the host after a removal: {e}");
        }
        Ok(())
    }

    /// An error unless `batch` holds ciphertexts of this index's key in records of its shape.
    fn check_batch(&self, batch: &CiphertextBatch) -> Result<()> {
        batch
            .key()
            .expect(&self.key, "the ciphertexts", "the index holds")?;
        if batch.pieces_per_record() != self.layout.pieces() {
            return Err(Error::InvalidCiphertext {
                index: 0,
                reason: format!(
                    "records of {} chunk(s) where the index needs {}",
                    batch.pieces_per_record(),
                    self.layout.pieces()
                ),
            });
        }
        Ok(())
    }

    /// Multiplies the encrypted query (one record) into every selected record: one
    /// multiplication mod n² per piece. The responses come back as one batch, one record per
    /// selected record, in selection order.
    pub fn aggregate_batch(
        &self,
        query: &CiphertextBatch,
        selection: &Selection,
    ) -> Result<CiphertextBatch> {
        let mut responses = CiphertextBatch::new(&self.public_key, self.layout.pieces())?;
        self.aggregate_batch_into(query, selection, &mut responses)?;
        Ok(responses)
    }

    /// [`aggregate_batch`](Self::aggregate_batch) into `responses`, whose records are replaced
    /// and whose allocation is reused: a backend answering query after query keeps one output
    /// (no fresh pages per query), and a GPU reads the products straight into it. On an error
    /// `responses` is left empty.
    ///
    /// ```
    /// # use paillier_gpu::{ContextOptions, ExecutionContext, Selection};
    /// # use paillier_gpu::paillier::CiphertextBatch;
    /// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
    /// let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
    /// let mut index = ctx.new_index().unwrap();
    /// index.insert_batch(&ctx.encrypt_batch(&[[0u8; 8], [1; 8]]).unwrap()).unwrap();
    /// let mut responses = CiphertextBatch::new(ctx.public().public_key(), 1).unwrap();
    /// for (query, expected) in [([1u8; 8], [8, 0]), ([0; 8], [0, 8])] {
    ///     let query = ctx.encrypt_batch(&[query]).unwrap();
    ///     index.aggregate_batch_into(&query, &Selection::All, &mut responses).unwrap();
    ///     assert_eq!(ctx.decode_batch(&responses).unwrap(), expected);
    /// }
    /// ```
    pub fn aggregate_batch_into(
        &self,
        query: &CiphertextBatch,
        selection: &Selection,
        responses: &mut CiphertextBatch,
    ) -> Result<()> {
        let outcome = self.fill_responses(query, selection, responses);
        if outcome.is_err() {
            responses.clear();
        }
        outcome
    }

    fn fill_responses(
        &self,
        query: &CiphertextBatch,
        selection: &Selection,
        responses: &mut CiphertextBatch,
    ) -> Result<()> {
        self.check_batch(query)?;
        if query.records() != 1 {
            return Err(Error::InvalidCiphertext {
                index: 0,
                reason: format!("the query holds {} records, not 1", query.records()),
            });
        }
        let query = query.limbs();
        let chunks = self.layout.pieces();
        let modulus = self.public_key.n_squared_modulus();
        let items = match selection {
            Selection::All => 0..self.records.len(),
            Selection::Range(range) => {
                if range.start > range.end || range.end > self.len() {
                    return Err(Error::InvalidSelection(format!(
                        "range {}..{} is outside the {} records",
                        range.start,
                        range.end,
                        self.len()
                    )));
                }
                range.start * chunks..range.end * chunks
            }
            Selection::Ids(ids) => {
                if let Some(&id) = ids.iter().find(|&&id| id >= self.len()) {
                    return Err(Error::InvalidSelection(format!(
                        "id {id} is outside the {} records",
                        self.len()
                    )));
                }
                let items = ids.iter().flat_map(|&id| id * chunks..(id + 1) * chunks);
                let products = self
                    .backend
                    .modmul(modulus, &self.records.gather(items)?, query)?;
                return responses.refill_products(
                    &self.public_key,
                    chunks,
                    products.len(),
                    |out| Ok(copy_ciphertexts(&products, out)?),
                );
            }
        };
        responses.refill_products(&self.public_key, chunks, items.len(), |out| {
            Ok(self.backend.modmul_resident_into(
                modulus,
                &self.records,
                items.clone(),
                query,
                out,
            )?)
        })
    }

    /// Answers several queries against this database in one call: `queries` holds one record
    /// per query, and the result one batch of responses per query, in order (each as
    /// [`aggregate_batch`](Self::aggregate_batch) gives it). The records stay where the backend
    /// keeps them (on a GPU, resident) for all the queries.
    ///
    /// ```
    /// # use paillier_gpu::{ContextOptions, ExecutionContext, Selection};
    /// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
    /// let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
    /// let mut index = ctx.new_index().unwrap();
    /// index.insert_batch(&ctx.encrypt_batch(&[[0u8; 8], [1; 8]]).unwrap()).unwrap();
    /// let queries = ctx.encrypt_batch(&[[1u8; 8], [0; 8], [1; 8]]).unwrap();
    /// let answers = index.aggregate_queries(&queries, &Selection::All).unwrap();
    /// let distances: Vec<Vec<u32>> = answers.iter().map(|r| ctx.decode_batch(r).unwrap()).collect();
    /// assert_eq!(distances, vec![vec![8, 0], vec![0, 8], vec![8, 0]]);
    /// ```
    pub fn aggregate_queries(
        &self,
        queries: &CiphertextBatch,
        selection: &Selection,
    ) -> Result<Vec<CiphertextBatch>> {
        self.check_batch(queries)?;
        (0..queries.records())
            .map(|q| {
                let query = queries.records_in(q..q + 1)?;
                self.aggregate_batch(&query, selection)
                    .map_err(|e| e.with_index_offset(q))
            })
            .collect()
    }

    /// [`aggregate_batch`](Self::aggregate_batch) with the responses handed to `sink` a block of
    /// at most `records_per_block` selected records at a time, in selection order, as
    /// `sink(position of the block's first response, responses)`: no more than one block of
    /// responses is held, whatever the database's size, so they can go straight to a file or a
    /// socket. An error from `sink` stops the stream and is returned.
    pub fn aggregate_streamed(
        &self,
        query: &CiphertextBatch,
        selection: &Selection,
        records_per_block: usize,
        mut sink: impl FnMut(usize, &CiphertextBatch) -> Result<()>,
    ) -> Result<()> {
        if records_per_block == 0 {
            return Err(Error::InvalidParameter(
                "records_per_block must be at least 1".into(),
            ));
        }
        let blocks: Vec<Selection> = match selection {
            Selection::All => range_blocks(0..self.len(), records_per_block),
            Selection::Range(range) => {
                // Checked whole first, so that a bad range fails before any block is sent.
                if range.start > range.end || range.end > self.len() {
                    return self.aggregate_batch(query, selection).map(drop);
                }
                range_blocks(range.clone(), records_per_block)
            }
            Selection::Ids(ids) => {
                if ids.iter().any(|&id| id >= self.len()) {
                    return self.aggregate_batch(query, selection).map(drop);
                }
                ids.chunks(records_per_block)
                    .map(|block| Selection::Ids(block.to_vec()))
                    .collect()
            }
        };
        // One block of responses, its allocation reused block after block.
        let mut responses = CiphertextBatch::new(&self.public_key, self.layout.pieces())?;
        let mut first = 0;
        for block in &blocks {
            self.aggregate_batch_into(query, block, &mut responses)?;
            sink(first, &responses)?;
            first += responses.records();
        }
        Ok(())
    }
}

/// `range` cut into ranges of at most `size` records.
fn range_blocks(range: Range<usize>, size: usize) -> Vec<Selection> {
    (range.start..range.end)
        .step_by(size)
        .map(|start| Selection::Range(start..(start + size).min(range.end)))
        .collect()
}
