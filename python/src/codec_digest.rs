//! `RecordCodec`'s owner's digest: the service's copy opened and checked, a rebuild planned
//! and counted, the records it counts checked,
//! and the partitions a search probes (a second `#[pymethods]` block of the class `records.rs`
//! defines).

use paillier_gpu::verifiable::{DigestChange, Probe, SearchAsked};
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::convert::bit_rows;
use crate::digest_history::{links_of, PyDigestRebuild};
use crate::errors::{invalid_input, IntoPy};
use crate::record_state::{counted_records, nonce_of, PyOwnerDigest};
use crate::records::PyRecordCodec;

#[pymethods]
impl PyRecordCodec {
    /// The owner's digest from the service's copy (`version`, 0 for none, and its `sealed`
    /// bytes), checked against `seen` (`(version, sealed)`, the highest this owner has seen):
    /// an older version, the seen version with other bytes, a later one that does not extend
    /// it through `links` (the JSON list of the service's links after it), or a copy that does
    /// not open raise `AnswerRejectedError`.
    ///
    /// `chunks`: how many chunks the service says the knowledge base holds. With no digest and
    /// some chunks, the records predate digests and so layouts: they are read as two-bit.
    #[pyo3(signature = (version, sealed=None, seen=None, chunks=0, links=None))]
    fn open_digest(
        &self,
        version: i64,
        sealed: Option<&str>,
        seen: Option<(i64, String)>,
        chunks: u64,
        links: Option<&str>,
    ) -> PyResult<PyOwnerDigest> {
        let seen = seen.as_ref().map(|(v, s)| (*v, s.as_str()));
        let links = links_of(links)?;
        let digest = self
            .codec
            .open_digest_holding(version, sealed, seen, chunks, &links)
            .py_err()?;
        Ok(PyOwnerDigest { digest })
    }

    /// The digest one version on from `current`, with `removed` taken out and `added` put in
    /// (each `(chunk_id, nonce, value of the counted field or None)`), and its sealed bytes.
    fn next_digest(
        &self,
        current: &PyOwnerDigest,
        removed: Vec<(i64, String, Option<String>)>,
        added: Vec<(i64, String, Option<String>)>,
    ) -> PyResult<(PyOwnerDigest, String)> {
        let change = DigestChange {
            removed: counted_records(removed)?,
            added: counted_records(added)?,
        };
        let made = self.codec.next_digest(&current.digest, &change).py_err()?;
        Ok(Self::sealed(made))
    }

    /// The partitions a search probes (ascending) over `partitions` partitions ranked nearest
    /// first (`ranked`) when it wants `wanted` of them in groups of `group` (the library's
    /// `decoy_group_size`) drawn under the owner's key: the groups of the nearest until
    /// `wanted` distinct groups are named, each padded to `group` with partitions past the
    /// last, so the same query, or queries near the same partitions, name the same groups.
    fn probe_with_decoys(
        &self,
        partitions: usize,
        ranked: Vec<u32>,
        wanted: usize,
        group: usize,
    ) -> PyResult<Vec<u32>> {
        self.codec
            .probe_with_decoys(partitions, &ranked, wanted, group)
            .py_err()
    }

    /// The partitions a search of `vector` probes (ascending), or None when it reads every
    /// record it selects: `digest` is the knowledge base's (None: it has none), `probe` None
    /// (the owner's recommendation), "all" or a number of partitions, `filtered` says the search
    /// has a filter, a range or an expected count, and `decoys` how many partitions hide each
    /// one it wants (whole groups of `decoys + 1`, drawn under the owner's key).
    #[pyo3(signature = (digest, vector, probe=None, filtered=false, decoys=0))]
    fn probed_partitions(
        &self,
        digest: Option<&PyOwnerDigest>,
        vector: &Bound<'_, PyAny>,
        probe: Option<&Bound<'_, PyAny>>,
        filtered: bool,
        decoys: usize,
    ) -> PyResult<Option<Vec<u32>>> {
        let probe = probe_of(probe)?;
        let bits = bit_rows(vector, self.codec.context().embed_len(), false)?;
        self.codec
            .probed_partitions(
                digest.map(|d| &d.digest),
                &bits.flat,
                probe,
                filtered,
                decoys,
            )
            .py_err()
    }

    /// A rebuild of the digest planned over the service's `stored` version and `sealed` bytes,
    /// given `seen` (`(version, sealed)`) and the service's `links` after it (JSON), counting
    /// `counted_field` per value when given: raises `AnswerRejectedError` after a rollback
    /// (`rollback_noted`: one this owner found earlier), a fork or a digest that does not open,
    /// unless `after_rollback`.
    #[pyo3(signature = (stored, sealed=None, seen=None, links=None, counted_field=None, rollback_noted=false, after_rollback=false))]
    #[allow(clippy::too_many_arguments)]
    fn plan_rebuild(
        &self,
        stored: i64,
        sealed: Option<&str>,
        seen: Option<(i64, String)>,
        links: Option<&str>,
        counted_field: Option<&str>,
        rollback_noted: bool,
        after_rollback: bool,
    ) -> PyResult<PyDigestRebuild> {
        let seen = seen.as_ref().map(|(v, s)| (*v, s.as_str()));
        let links = links_of(links)?;
        let plan = self
            .codec
            .plan_rebuild(
                stored,
                sealed,
                seen,
                &links,
                counted_field,
                rollback_noted,
                after_rollback,
            )
            .py_err()?;
        Ok(PyDigestRebuild { plan })
    }

    /// The digest `plan` rebuilds from `records` (each `(chunk_id, nonce, value)`), and its
    /// sealed bytes.
    fn rebuilt_digest(
        &self,
        plan: &PyDigestRebuild,
        records: Vec<(i64, String, Option<String>)>,
    ) -> PyResult<(PyOwnerDigest, String)> {
        let records = counted_records(records)?;
        let made = self.codec.rebuilt_digest(&plan.plan, &records).py_err()?;
        Ok(Self::sealed(made))
    }

    /// `digest` sealed as the service stores it (for its version, under this owner's key).
    fn seal_digest(&self, digest: &PyOwnerDigest) -> PyResult<String> {
        let keys = self.codec.keys().py_err()?;
        digest.digest.seal(keys, self.codec.kb()).py_err()
    }

    /// Raises `AnswerRejectedError` unless the records `(chunk_ids[i], nonces[i])` are exactly
    /// those `digest` counts: every record of the knowledge base, and no other.
    fn check_counted(
        &self,
        digest: &PyOwnerDigest,
        chunk_ids: Vec<i64>,
        nonces: Vec<String>,
    ) -> PyResult<()> {
        let nonces: Vec<_> = nonces
            .iter()
            .map(|n| nonce_of(n))
            .collect::<PyResult<_>>()?;
        let answered = self.codec.tally(&chunk_ids, &nonces).py_err()?;
        digest.digest.records().check(&answered).py_err()
    }

    /// Raises `AnswerRejectedError` for a knowledge base that holds `chunks` chunks but no
    /// owner's digest (`current` at version 0), until the owner has counted them: checked
    /// before a write is planned.
    fn check_chunks_counted(&self, current: &PyOwnerDigest, chunks: u64) -> PyResult<()> {
        self.codec
            .check_chunks_counted(&current.digest, chunks)
            .py_err()
    }
}

/// A probe as Python gives it: None (the owner's recommendation), "all" or a number.
pub(crate) fn probe_of(probe: Option<&Bound<'_, PyAny>>) -> PyResult<Probe> {
    match probe {
        None => Ok(Probe::Recommended),
        Some(all) if all.extract::<String>().is_ok_and(|s| s == "all") => Ok(Probe::All),
        Some(n) if !n.is_instance_of::<PyBool>() && n.extract::<usize>().is_ok() => {
            Ok(Probe::Partitions(n.extract::<usize>()?))
        }
        Some(other) => Err(invalid_input(format!(
            "probe is a number of partitions or \"all\", not {other}"
        ))),
    }
}

/// Refuses a search's options that do not go together (`verified`: a verified search;
/// `probe`: None, "all" or a number; `decoys`; `filtered`: a filter or a range;
/// `expect_count`: the caller gave a count): an expected count with a filter, a range, an
/// unverified search or a probe of some partitions, and partitions or decoys on an unverified
/// search. Raises `InvalidInputError`.
#[pyfunction]
#[pyo3(signature = (verified, probe, decoys, filtered, expect_count))]
pub fn check_search(
    verified: bool,
    probe: Option<&Bound<'_, PyAny>>,
    decoys: usize,
    filtered: bool,
    expect_count: bool,
) -> PyResult<()> {
    SearchAsked {
        verified,
        probe: probe_of(probe)?,
        decoys,
        filtered,
        expect_count,
    }
    .check()
    .py_err()
}
