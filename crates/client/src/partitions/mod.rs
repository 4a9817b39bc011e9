//! A knowledge base's partitions as its owner uses them: which partition each new record goes
//! to, which partitions a search probes, what the owner knows of them, and their rebuild. The
//! model ([`paillier_gpu::partitions::PartitionModel`]) lives in the owner's sealed digest; the
//! service sees a token per record and the tokens each query names, nothing else.

mod rebuild;

pub use rebuild::RebuildReport;

use paillier_gpu::partitions::{PartitionModel, RecallPoint};
use paillier_gpu::verifiable::{
    partition_value, OwnerDigest, Partitioning, RecordCodec, RecordOptions, PARTITION_FIELD,
};
use paillier_gpu::ExecutionContext;

use super::digest::Current;
use super::Client;
use crate::error::{Error, Result};

/// How many partitions a search probes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Probe {
    /// The owner's recommendation, sealed with the partitions: the fewest whose estimated
    /// recall@10 reached the target when they were trained (every record when the knowledge
    /// base is not partitioned).
    #[default]
    Recommended,
    /// The `n` partitions nearest the query.
    Partitions(usize),
    /// Every record: the exhaustive search.
    All,
}

/// Where an upload's records go.
#[derive(Clone, Copy, Debug, Default)]
pub enum Placement<'a> {
    /// Where the knowledge base's partitions put them (its nearest partition), or nowhere when
    /// it is not partitioned.
    #[default]
    Follow,
    /// Into `partitions` (one per record) of `model`, just trained on the first upload to an
    /// empty knowledge base: the first batch stores the model with the owner's digest.
    Trained {
        /// The model trained.
        model: &'a PartitionModel,
        /// Each record's partition, from the training's balanced assignment.
        partitions: &'a [u32],
    },
}

/// What the owner knows of a knowledge base's partitions (read from its own sealed digest).
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionSummary {
    /// How many records the digest counts.
    pub records: u64,
    /// How many partitions the model has.
    pub partitions: usize,
    /// Each partition's records, as the digest counts them.
    pub sizes: Vec<u64>,
    /// The probe a search uses by default.
    pub recommended_probe: usize,
    /// The balance the partitions were trained to: none larger than this times the mean.
    pub balance: f64,
    /// The owner's recall estimate at training, per probe.
    pub recall: Vec<RecallPoint>,
    /// Whether a rebuild is under way (`remote partitions rebuild` resumes it).
    pub rebuilding: bool,
}

impl PartitionSummary {
    fn of(digest: &OwnerDigest) -> Option<Self> {
        let partitioning = digest.partitions.as_ref()?;
        let model = partitioning.model.as_ref()?;
        let sizes = (0..model.partitions() as u32)
            .map(|p| {
                let value = partition_value(p);
                digest.values.get(&value).map_or(0, |tally| tally.count)
            })
            .collect();
        Some(Self {
            records: digest.records.count,
            partitions: model.partitions(),
            sizes,
            recommended_probe: model.default_probe(),
            balance: model.balance(),
            recall: model.recall().to_vec(),
            rebuilding: partitioning.next.is_some(),
        })
    }
}

impl Client {
    /// The partitions of `kb_id` as its owner's digest holds them (checked as a verified search
    /// checks the digest); none when it is not partitioned.
    pub fn partition_summary(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
    ) -> Result<Option<PartitionSummary>> {
        let codec = RecordCodec::new(context, kb_id, checked_options(options)?);
        Ok(PartitionSummary::of(&self.current_digest(&codec)?.digest))
    }

    /// The partition model of `kb_id` (none: not partitioned), and how many records its
    /// digest counts: what an upload with `--partitions` decides by.
    pub fn partition_model(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
    ) -> Result<(Option<PartitionModel>, u64)> {
        let codec = RecordCodec::new(context, kb_id, checked_options(options)?);
        let digest = self.current_digest(&codec)?.digest;
        Ok((model_of(&digest).cloned(), digest.records.count))
    }
}

/// Partitions need the owner's digest, so verifiable records.
fn checked_options(options: RecordOptions) -> Result<RecordOptions> {
    match options.verifiable {
        true => Ok(options),
        false => Err(Error::InvalidSetting(
            "partitions are counted by the owner's digest: they need verifiable records \
             (--verifiable)"
                .into(),
        )),
    }
}

/// The model a knowledge base's searches and new records use.
pub(crate) fn model_of(digest: &OwnerDigest) -> Option<&PartitionModel> {
    digest.partitions.as_ref()?.model.as_ref()
}

/// Each of `vectors`' partition under `placement` for a write planned against `current` (none:
/// the knowledge base is not partitioned), and the partitioning the write must store with the
/// digest, if it installs one.
pub(crate) fn placed<V: AsRef<[u8]>>(
    current: &Current,
    vectors: &[V],
    placement: Placement<'_>,
) -> Result<(Option<Vec<u32>>, Option<Partitioning>)> {
    let digest = &current.digest;
    match (placement, model_of(digest)) {
        (Placement::Follow, None) => Ok((None, None)),
        (Placement::Follow, Some(model)) => {
            let partitions = vectors
                .iter()
                .map(|v| model.assign(v.as_ref()))
                .collect::<paillier_gpu::Result<Vec<u32>>>()?;
            Ok((Some(partitions), None))
        }
        (Placement::Trained { model, partitions }, stored) => {
            if partitions.len() != vectors.len() {
                return Err(Error::InvalidSetting(format!(
                    "{} partitions for {} records",
                    partitions.len(),
                    vectors.len()
                )));
            }
            match stored {
                Some(stored) if stored.same_as(model) => Ok((Some(partitions.to_vec()), None)),
                Some(_) => Err(changed_meanwhile(digest)),
                None if digest.records.count > 0 || digest.partitions.is_some() => {
                    Err(changed_meanwhile(digest))
                }
                None => {
                    check_counted_field(digest)?;
                    let installed = Partitioning {
                        model: Some(model.clone()),
                        next: None,
                    };
                    Ok((Some(partitions.to_vec()), Some(installed)))
                }
            }
        }
    }
}

/// Refuses partitions over a digest that counts another field per value.
pub(crate) fn check_counted_field(digest: &OwnerDigest) -> Result<()> {
    match digest.counted_field.as_deref() {
        None => Ok(()),
        Some(field) if field == PARTITION_FIELD => Ok(()),
        Some(field) => Err(Error::InvalidSetting(format!(
            "the owner's digest counts {field} per value, and partitions are counted per \
             partition: count nothing first (`paillier-gpu remote digest rebuild` without \
             --count)"
        ))),
    }
}

fn changed_meanwhile(digest: &OwnerDigest) -> Error {
    Error::InvalidSetting(format!(
        "the knowledge base's partitions changed while this upload was planned (its digest \
         now counts {} records{}): nothing more was written; upload the rest again, and its \
         records follow the stored partitions",
        digest.records.count,
        if model_of(digest).is_some() {
            " under another partition model"
        } else {
            ""
        }
    ))
}

/// The partitions a search of `vector` probes under `probe`, if it probes some and not every
/// record: only a search with no filter and no range of a partitioned knowledge base does. The
/// nearest ones, each with its whole group of `decoys + 1` drawn under the owner's key
/// ([`RecordCodec::probe_with_decoys`]), in ascending order (the order does not tell the service
/// which are near).
pub(crate) fn probed(
    codec: &RecordCodec,
    digest: Option<&OwnerDigest>,
    vector: &[u8],
    probe: Probe,
    filtered: bool,
    decoys: usize,
) -> Result<Option<Vec<u32>>> {
    let nearest = nearest_probed(digest, vector, probe, filtered)?;
    match (nearest, digest.and_then(model_of)) {
        (Some(nearest), Some(model)) => Ok(Some(codec.probe_with_decoys(
            model.partitions(),
            &nearest,
            decoys,
        )?)),
        (None, _) if decoys > 0 => Err(Error::InvalidSetting(
            "decoys hide which partitions a search probes: they need a partitioned knowledge \
             base and a search that probes some of its partitions"
                .into(),
        )),
        (nearest, _) => Ok(nearest),
    }
}

fn nearest_probed(
    digest: Option<&OwnerDigest>,
    vector: &[u8],
    probe: Probe,
    filtered: bool,
) -> Result<Option<Vec<u32>>> {
    if let Probe::Partitions(0) = probe {
        return Err(Error::InvalidSetting(
            "a search probes at least 1 partition (or all)".into(),
        ));
    }
    let model = digest.and_then(model_of);
    match (probe, model) {
        (Probe::All, _) => Ok(None),
        (Probe::Recommended, None) => Ok(None),
        (Probe::Recommended, Some(_)) if filtered => Ok(None),
        (Probe::Partitions(_), _) if filtered => Err(Error::InvalidSetting(
            "a search with a filter or a range reads every record it selects: probe \
             partitions without one"
                .into(),
        )),
        (Probe::Partitions(n), None) => Err(Error::InvalidSetting(format!(
            "probing {n} partitions of a knowledge base that is not partitioned (upload with \
             --partitions, or `remote partitions rebuild`)"
        ))),
        (Probe::Recommended, Some(model)) => {
            Ok(Some(model.nearest(vector, model.default_probe())?))
        }
        (Probe::Partitions(n), Some(model)) => Ok(Some(model.nearest(vector, n)?)),
    }
}
