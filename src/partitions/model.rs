//! The trained partitioning: centroids, balance and the recall table, with the searches and
//! assignments made from it, and its serialized form.

use serde::{Deserialize, Serialize};

use super::bits::{self, check_vector, pack_into, words_for, Packed};
use super::options::TrainOptions;
use super::recall::{decimal, RecallCurve, RecallPoint};
use super::sample::{self, sample_indices, Rng};
use super::{balance, kmeans};
use crate::error::{Error, Result};

/// Binary vectors split into `k` partitions around centroids, as FAISS's `IndexBinaryIVF` does,
/// so that a query searches only the partitions nearest to it.
///
/// Serialized (serde) with one hex string per centroid (see [`centroid_hex`](Self::centroid_hex));
/// deserializing runs [`check`](Self::check), so a damaged or altered model is an error, never a
/// model that panics later.
///
/// ```
/// use paillier_gpu::partitions::{PartitionModel, TrainOptions};
///
/// # fn main() -> paillier_gpu::Result<()> {
/// // 300 records of 64 dimensions around three centres.
/// let centres = [[0u8; 64], [1u8; 64], std::array::from_fn(|i| (i % 2) as u8)];
/// let records: Vec<Vec<u8>> = (0..300)
///     .map(|r| {
///         let mut v = centres[r % 3].to_vec();
///         v[r % 64] ^= 1; // a little noise
///         v
///     })
///     .collect();
///
/// let (model, partition_of) = PartitionModel::train(&records, &TrainOptions::new(3))?;
/// assert_eq!(partition_of.len(), 300);
/// assert_eq!(model.assign(&records[7])?, partition_of[7]);
/// // Searching the default probe's partitions finds at least 90 % of an exhaustive top 10.
/// let probed = model.nearest(&records[7], model.default_probe())?;
/// assert!(probed.contains(&partition_of[7]));
/// assert!(model.probe_for(0.9) <= 3);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelFile", into = "ModelFile")]
pub struct PartitionModel {
    pub(super) dim: usize,
    pub(super) centroids: Packed,
    pub(super) balance: f64,
    pub(super) default_probe: usize,
    pub(super) recall: Vec<RecallPoint>,
    pub(super) recall_target: f64,
    pub(super) top_k: usize,
}

/// The held-out queries are at most a tenth of the corpus, so that at least nine tenths train.
const HELD_OUT_SHARE: usize = 10;

impl PartitionModel {
    /// Trains a model on `vectors`, all of the owner's records (each `dim` values of 0 or 1,
    /// `dim` the first vector's length), and returns it with each vector's partition, in input
    /// order.
    ///
    /// k-means (greedy k-means++ seeds, Lloyd iterations on means rounded to bits) runs on a
    /// random sample of at most [`train_sample`](TrainOptions::train_sample) vectors; every
    /// vector is then placed by [`assign_balanced`](Self::assign_balanced), and the recall table
    /// is estimated on [`held_out`](TrainOptions::held_out) records used as queries (the
    /// [module's notes](super) say how). A vector of another length or with a value other than
    /// 0 or 1, or options that do not fit the corpus, are an error.
    pub fn train<V: AsRef<[u8]> + Sync>(
        vectors: &[V],
        options: &TrainOptions,
    ) -> Result<(Self, Vec<u32>)> {
        let n = vectors.len();
        options.validate(n)?;
        let dim = vectors.first().map_or(0, |v| v.as_ref().len());
        let data = Packed::from_vectors(vectors, dim)?;
        let k = options.partitions;
        let seed = options.seed;

        // The recall estimate's queries stay out of the training sample (when enough records
        // are left to train on): centroids fit the records they were trained on, and a query
        // the owner searches later was not one of them. Estimated on trained records, the
        // recall came out optimistic (0.90 where new queries met 0.83, at 50,000 records).
        let queries = sample_indices(
            n,
            options.held_out.min(n / HELD_OUT_SHARE).max(1),
            &mut Rng::new(seed, sample::QUERIES),
        );
        let trainable: Vec<usize> = if n >= queries.len() + k {
            let mut held = queries.iter().peekable();
            (0..n)
                .filter(|i| match held.peek() {
                    Some(&&q) if q == *i => {
                        held.next();
                        false
                    }
                    _ => true,
                })
                .collect()
        } else {
            (0..n).collect()
        };
        let chosen: Vec<usize> = sample_indices(
            trainable.len(),
            options.train_sample(),
            &mut Rng::new(seed, sample::TRAIN_SAMPLE),
        )
        .into_iter()
        .map(|i| trainable[i])
        .collect();
        let mut rng = Rng::new(seed, sample::SEEDING);
        let centroids = kmeans::train(&data.gather(&chosen), dim, k, options.iterations, &mut rng);

        // A balance of k or more bounds nothing: k is kept. To 9 decimals, rounded down, so
        // that it serializes exactly and bounds no more loosely than asked.
        let balance = options.balance.min(k as f64);
        let balance = match decimal(balance) {
            above if above > balance => decimal(balance - 1e-9),
            stored => stored,
        };
        let cap = balance::capacity(n, k, balance);
        let assignment = balance::assign(&data, &centroids, cap);

        let curve =
            RecallCurve::estimate(&data, dim, &assignment, &centroids, &queries, options.top_k);
        let recall_target = decimal(options.recall_target);
        let default_probe = curve.smallest_probe(recall_target);
        let model = PartitionModel {
            dim,
            centroids,
            balance,
            default_probe,
            recall: curve.table(default_probe),
            recall_target,
            top_k: options.top_k,
        };
        Ok((model, assignment))
    }

    /// Each of `vectors`' partition, in input order, with no partition holding more than
    /// [`capacity`](Self::capacity)`(vectors.len())` of them: what [`train`](Self::train) does
    /// with the corpus, and what a rebuild does with a corpus grown since. Each vector goes to
    /// a partition near it; those with the most to lose choose first.
    pub fn assign_balanced<V: AsRef<[u8]> + Sync>(&self, vectors: &[V]) -> Result<Vec<u32>> {
        if vectors.len() > u32::MAX as usize {
            return Err(Error::InvalidParameter(format!(
                "{} records: partitioning handles at most {} records",
                vectors.len(),
                u32::MAX
            )));
        }
        let data = Packed::from_vectors(vectors, self.dim)?;
        let cap = self.capacity(vectors.len());
        Ok(balance::assign(&data, &self.centroids, cap))
    }

    /// The partition whose centroid is nearest to `vector` (ties: the lowest index): where a
    /// record added after training goes. It ignores the balance.
    pub fn assign(&self, vector: &[u8]) -> Result<u32> {
        Ok(self.centroids.nearest(&self.pack(vector)?).0)
    }

    /// The `probe` partitions nearest to `query`, nearest first (ties: the lowest index): all
    /// `k` when `probe >= k`. A `probe` of 0 is an error.
    pub fn nearest(&self, query: &[u8], probe: usize) -> Result<Vec<u32>> {
        if probe == 0 {
            return Err(Error::InvalidParameter(
                "probe 0: a search probes at least one partition".into(),
            ));
        }
        let ranked = self.centroids.ranked(&self.pack(query)?);
        Ok(ranked.into_iter().take(probe).map(|(_, c)| c).collect())
    }

    /// Whether `other` is the same model: the same centroids, dimensions, default probe and
    /// top k, and the same balance, recall target and recall table to within 1e-9 relative.
    /// The rule both clients use to tell whether the partitions a write read are still the
    /// knowledge base's. Not `==`: a model read back from a sealed digest can differ from the
    /// one sealed in the last bit of a recall or a share (serde_json parses floats to within an
    /// ulp), and the digest is sealed again with every write.
    ///
    /// ```
    /// # use paillier_gpu::partitions::{PartitionModel, TrainOptions};
    /// let vectors: Vec<Vec<u8>> = (0..40u8).map(|i| (0..16).map(|j| (i >> (j % 5)) & 1).collect()).collect();
    /// let options = TrainOptions { partitions: 3, ..TrainOptions::default() };
    /// let (model, _) = PartitionModel::train(&vectors, &options)?;
    /// let read_back: PartitionModel = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    /// assert!(model.same_as(&read_back));
    /// # Ok::<(), paillier_gpu::Error>(())
    /// ```
    pub fn same_as(&self, other: &PartitionModel) -> bool {
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
        let row = |p: &RecallPoint, q: &RecallPoint| {
            p.probe == q.probe && close(p.recall, q.recall) && close(p.share, q.share)
        };
        (
            self.dim(),
            self.partitions(),
            self.default_probe(),
            self.top_k(),
        ) == (
            other.dim(),
            other.partitions(),
            other.default_probe(),
            other.top_k(),
        ) && close(self.balance(), other.balance())
            && close(self.recall_target(), other.recall_target())
            && self.recall().len() == other.recall().len()
            && self
                .recall()
                .iter()
                .zip(other.recall())
                .all(|(p, q)| row(p, q))
            && (0..self.partitions()).all(|i| self.centroid(i) == other.centroid(i))
    }

    /// `k`, the number of partitions.
    pub fn partitions(&self) -> usize {
        self.centroids.len()
    }

    /// The vectors' dimensions.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The smallest probe whose estimated recall reached the training's recall target (`k`
    /// when none did).
    pub fn default_probe(&self) -> usize {
        self.default_probe
    }

    /// The recall table, by ascending probe: 1, 2, 4, 8 … below `k`, the default probe, and `k`.
    pub fn recall(&self) -> &[RecallPoint] {
        self.recall.as_slice()
    }

    /// The balance factor the model was trained with, rounded down to 9 decimals, and at most
    /// `k` (a larger one bounds nothing either).
    pub fn balance(&self) -> f64 {
        self.balance
    }

    /// The recall target the default probe was chosen for, to 9 decimals.
    pub fn recall_target(&self) -> f64 {
        self.recall_target
    }

    /// The `k` of the table's recall@k.
    pub fn top_k(&self) -> usize {
        self.top_k
    }

    /// The most records a partition holds when [`assign_balanced`](Self::assign_balanced)
    /// places `records` of them: `ceil(balance · records / k)`, at least `ceil(records / k)`.
    pub fn capacity(&self, records: usize) -> usize {
        balance::capacity(records, self.partitions(), self.balance)
    }

    /// The smallest probe in the table whose estimated recall reaches `target`; `k` when none
    /// does. For the training's own target it is the [`default_probe`](Self::default_probe).
    pub fn probe_for(&self, target: f64) -> usize {
        self.recall
            .iter()
            .find(|point| point.recall >= target)
            .map_or(self.partitions(), |point| point.probe)
    }

    /// Partition `index`'s centroid as 0/1 values, or `None` past the last partition.
    pub fn centroid(&self, index: usize) -> Option<Vec<u8>> {
        (index < self.partitions()).then(|| bits::unpack(self.centroids.row(index), self.dim))
    }

    /// Partition `index`'s centroid in hex, one digit per 4 dimensions, the first dimension
    /// the first digit's high bit (`1,0,0,0, 1,1,0,0` is `8c`); `None` past the last partition.
    pub fn centroid_hex(&self, index: usize) -> Option<String> {
        (index < self.partitions()).then(|| bits::to_hex(self.centroids.row(index), self.dim))
    }

    /// Checks that the model is coherent: at least one dimension and one partition, centroids
    /// of the right width, a balance of at least 1, a default probe in `1..=k`, and a recall
    /// table by strictly ascending probe in `1..=k` ending at `k`, whose recalls and shares lie
    /// in `[0, 1]` and never fall. Deserialization runs it; a model from
    /// [`train`](Self::train) always passes.
    pub fn check(&self) -> Result<()> {
        let bad = |detail: String| {
            Err(Error::InvalidParameter(format!(
                "partition model: {detail}"
            )))
        };
        let k = self.partitions();
        if self.dim == 0 {
            return bad("0 dimensions".into());
        }
        if self.centroids.words() != words_for(self.dim) || k == 0 || k > u32::MAX as usize {
            return bad(format!(
                "{k} centroids of {} words for {} dimensions",
                self.centroids.words(),
                self.dim
            ));
        }
        if let Some(c) = self
            .centroids
            .rows()
            .position(|row| !bits::padding_clear(row, self.dim))
        {
            return bad(format!(
                "centroid {c} has bits set past the {} dimensions",
                self.dim
            ));
        }
        if !(self.balance.is_finite() && self.balance >= 1.0) {
            return bad(format!("balance {} is below 1", self.balance));
        }
        if !(0.0..=1.0).contains(&self.recall_target) || self.top_k == 0 {
            return bad(format!(
                "recall target {} with top_k {}",
                self.recall_target, self.top_k
            ));
        }
        if !(1..=k).contains(&self.default_probe) {
            return bad(format!(
                "default probe {} for {k} partitions",
                self.default_probe
            ));
        }
        if self.recall.last().map(|point| point.probe) != Some(k) {
            return bad(format!("the recall table does not end at probe {k}"));
        }
        for (i, point) in self.recall.iter().enumerate() {
            let unit = |x: f64| (0.0..=1.0).contains(&x);
            if point.probe == 0 || !unit(point.recall) || !unit(point.share) || !unit(point.error) {
                return bad(format!("recall table row {i} is out of range: {point:?}"));
            }
            if let Some(before) = i.checked_sub(1).map(|j| &self.recall[j]) {
                if point.probe <= before.probe
                    || point.recall < before.recall
                    || point.share < before.share
                {
                    return bad(format!(
                        "recall table row {i} does not follow row {}",
                        i - 1
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks and packs one vector of the model's width.
    fn pack(&self, vector: &[u8]) -> Result<Vec<u64>> {
        check_vector(0, vector, self.dim)?;
        let mut packed = vec![0u64; words_for(self.dim)];
        pack_into(vector, &mut packed);
        Ok(packed)
    }
}

/// The serialized form of a [`PartitionModel`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    dim: usize,
    partitions: usize,
    balance: f64,
    recall_target: f64,
    top_k: usize,
    default_probe: usize,
    recall: Vec<RecallPoint>,
    centroids: Vec<String>,
}

impl From<PartitionModel> for ModelFile {
    fn from(model: PartitionModel) -> Self {
        ModelFile {
            dim: model.dim,
            partitions: model.partitions(),
            centroids: model
                .centroids
                .rows()
                .map(|row| bits::to_hex(row, model.dim))
                .collect(),
            balance: model.balance,
            recall_target: model.recall_target,
            top_k: model.top_k,
            default_probe: model.default_probe,
            recall: model.recall,
        }
    }
}

impl TryFrom<ModelFile> for PartitionModel {
    type Error = Error;

    fn try_from(file: ModelFile) -> Result<Self> {
        let bad = |detail: String| Error::InvalidParameter(format!("partition model: {detail}"));
        if file.dim == 0 {
            return Err(bad("0 dimensions".into()));
        }
        if file.partitions != file.centroids.len() {
            return Err(bad(format!(
                "{} partitions but {} centroids",
                file.partitions,
                file.centroids.len()
            )));
        }
        // Each centroid decoded into its own words first: memory follows the input's size, not
        // what `dim` claims.
        let words = words_for(file.dim);
        let mut data = Vec::new();
        let mut row = Vec::new();
        for (c, text) in file.centroids.iter().enumerate() {
            row.resize(words.min(text.len()), 0);
            bits::from_hex(text, file.dim, &mut row)
                .map_err(|detail| bad(format!("centroid {c}: {detail}")))?;
            data.extend_from_slice(&row);
        }
        let model = PartitionModel {
            dim: file.dim,
            centroids: Packed::from_words(words, data),
            balance: file.balance,
            default_probe: file.default_probe,
            recall: file.recall,
            recall_target: file.recall_target,
            top_k: file.top_k,
        };
        model.check()?;
        Ok(model)
    }
}
