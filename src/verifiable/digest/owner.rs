//! The owner's digest of a knowledge base: how many records it holds and a keyed set hash of
//! their (chunk id, nonce) pairs, the sum of HMAC(kb ‖ id ‖ nonce) modulo 2²⁵⁶ under the digest
//! key, so that an insert, an update (the old pair out, the new one in) and a delete each
//! change it in O(1). Only the owner can compute an element; an answer whose pairs add up to
//! the digest holds exactly the records the owner wrote last: none relabelled, stale,
//! resurrected or missing. The same tally is kept per value of one field the owner counts, so
//! that a search filtered on whole values is checked the same way.
//!
//! The digest is tens of bytes a knowledge base and a counted value (plus, partitioned, the
//! centroids: tens of bytes each). The owner seals it
//! (AES-256-GCM under the seal key, bound to the knowledge base and the version) to keep a copy
//! on the service that its other machines take up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::context::aes;
use crate::error::{Error, Result};
use crate::verifiable::digest::partitioning::partition_value;
use crate::verifiable::records::layout::RecordNonce;
use crate::verifiable::records::record_layout::LayoutKind;
use crate::verifiable::records::tally::Tally;
use crate::verifiable::RecordKeys;

const SEAL_DOMAIN: &[u8] = b"paillier-gpu/owner-digest/seal/1";
/// The sealed form's own format number (inside the seal). Raised by any change an earlier
/// version must not read as its own: a field it would drop on its next write (it ignores
/// fields it does not know), or a value it would read otherwise; an earlier version then
/// names the digest as a newer one's ([`Error::NewerFormat`]) and never rewrites it.
const FORMAT: u32 = 1;

/// The owner's digest of one knowledge base at one version: its records' tally, and one tally
/// per value of the counted field, if any. Its fields are the library's: a partitioned digest
/// always counts [`PARTITION_FIELD`](crate::verifiable::PARTITION_FIELD) per value, and only
/// the library's writes ([`RecordCodec::plan_write`](crate::verifiable::RecordCodec::plan_write),
/// [`RecordCodec::next_digest`](crate::verifiable::RecordCodec::next_digest)) move it on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnerDigest {
    /// How many times it was written (the service's compare-and-set counter; 0: never).
    pub(crate) version: i64,
    /// Every record.
    pub(crate) records: Tally,
    /// The metadata field counted per value (`tag1`, say), if any.
    #[serde(default)]
    pub(crate) counted_field: Option<String>,
    /// The records of each value of the counted field (none: not counted there).
    #[serde(default)]
    pub(crate) values: BTreeMap<String, Tally>,
    /// The knowledge base's partitions, if it is partitioned (then `counted_field` is
    /// [`PARTITION_FIELD`](crate::verifiable::PARTITION_FIELD)): sealed here, so the service never sees a
    /// centroid, a size as the owner knows it, or the recall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) partitions: Option<crate::verifiable::Partitioning>,
    /// The layout of the knowledge base's records, fixed with its first digest (a digest
    /// sealed before layouts were named holds two-bit records).
    #[serde(default)]
    pub(crate) layout: LayoutKind,
    /// Where this version stands in the knowledge base's history (none: sealed before digests
    /// were chained): see [`DigestLink`](crate::verifiable::DigestLink).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) chain: Option<crate::verifiable::digest::chain::DigestChain>,
}

#[derive(Serialize, Deserialize)]
struct Sealed<'a> {
    format: u32,
    #[serde(borrow)]
    kb: std::borrow::Cow<'a, str>,
    digest: OwnerDigest,
}

impl OwnerDigest {
    /// The most sealed bytes a service keeps of one digest (`paillier-gpu serve` answers 413
    /// past it): [`seal`](Self::seal) refuses a digest that would not fit, before anything is
    /// sent.
    pub const MAX_SEALED_BYTES: usize = 4 << 20;

    /// How many times it was written (the service's compare-and-set counter; 0: never).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The tally of every record.
    pub fn records(&self) -> &Tally {
        &self.records
    }

    /// How many records it counts.
    pub fn count(&self) -> u64 {
        self.records.count
    }

    /// The metadata field it counts per value (`tag1`, say, or the partition), if any.
    pub fn counted_field(&self) -> Option<&str> {
        self.counted_field.as_deref()
    }

    /// The field a write counts its records by: the partition when it places them in
    /// partitions (the write that installs them included), else [`counted_field`](Self::counted_field).
    pub fn write_counted_field(&self, placed: bool) -> Option<&str> {
        match placed {
            true => Some(crate::verifiable::PARTITION_FIELD),
            false => self.counted_field(),
        }
    }

    /// How many values of the counted field hold records.
    pub fn counted_values(&self) -> usize {
        self.values.len()
    }

    /// How many records hold `value` of the counted field.
    pub fn value_count(&self, value: &str) -> u64 {
        self.values.get(value).map_or(0, |tally| tally.count)
    }

    /// The layout of the knowledge base's records, fixed with its first digest.
    pub fn layout(&self) -> LayoutKind {
        self.layout
    }

    /// The knowledge base's partitions, if it is partitioned.
    pub fn partitions(&self) -> Option<&crate::verifiable::Partitioning> {
        self.partitions.as_ref()
    }

    /// The partition model new records are placed by and searches probe, if any.
    pub fn partition_model(&self) -> Option<&crate::partitions::PartitionModel> {
        self.partitions.as_ref()?.model.as_ref()
    }

    /// The model a partitions rebuild under way moves records to, if any.
    pub fn next_partition_model(&self) -> Option<&crate::partitions::PartitionModel> {
        self.partitions.as_ref()?.next.as_ref()
    }

    /// The fewest decoys every search that probes partitions takes, sealed with them (0 when
    /// not partitioned).
    pub fn sealed_decoys(&self) -> usize {
        self.partitions.as_ref().map_or(0, |p| p.decoys)
    }

    /// How many records each partition of [`partition_model`](Self::partition_model) holds, as
    /// this digest counts them (empty when not partitioned).
    pub fn partition_sizes(&self) -> Vec<u64> {
        let Some(model) = self.partition_model() else {
            return Vec::new();
        };
        (0..model.partitions() as u32)
            .map(|p| self.value_count(&partition_value(p)))
            .collect()
    }

    /// This digest with `partitions`, counting the partition per value (a partitioned digest
    /// counts nothing else): the base of the write that installs them.
    pub fn with_partitions(mut self, partitions: crate::verifiable::Partitioning) -> Self {
        self.partitions = Some(partitions);
        self.counted_field = Some(crate::meta_filter::PARTITION_FIELD.to_owned());
        self
    }

    /// A digest of nothing that counts `field` per value, if given.
    pub fn new(counted_field: Option<&str>) -> Self {
        Self {
            counted_field: counted_field.map(str::to_owned),
            ..Self::default()
        }
    }

    /// The tally of the records whose counted field holds one of `values`.
    pub fn values_tally<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> Tally {
        let mut tally = Tally::default();
        for value in values {
            if let Some(counted) = self.values.get(value) {
                tally.merge(counted);
            }
        }
        tally
    }

    /// Counts a record in, under `value` of the counted field when there is one.
    pub fn add(
        &mut self,
        keys: &RecordKeys,
        kb: &str,
        record: (i64, RecordNonce),
        value: Option<&str>,
    ) {
        self.records.add(keys, kb, record.0, record.1);
        if let (Some(value), Some(_)) = (value, &self.counted_field) {
            let tally = self.values.entry(value.to_owned()).or_default();
            tally.add(keys, kb, record.0, record.1);
        }
    }

    /// Counts a record out, from `value` of the counted field when there is one.
    pub fn remove(
        &mut self,
        keys: &RecordKeys,
        kb: &str,
        record: (i64, RecordNonce),
        value: Option<&str>,
    ) {
        self.records.remove(keys, kb, record.0, record.1);
        if let (Some(value), Some(_)) = (value, &self.counted_field) {
            let emptied = match self.values.get_mut(value) {
                Some(tally) => {
                    tally.remove(keys, kb, record.0, record.1);
                    *tally == Tally::default()
                }
                None => false,
            };
            if emptied {
                self.values.remove(value);
            }
        }
    }

    /// The digest sealed for `kb` (base64, AES-256-GCM under the seal key, the knowledge base
    /// and the version as associated data), as the service stores it.
    pub fn seal(&self, keys: &RecordKeys, kb: &str) -> Result<String> {
        let sealed = Sealed {
            format: FORMAT,
            kb: kb.into(),
            digest: self.clone(),
        };
        let plaintext = Zeroizing::new(serde_json::to_vec(&sealed).map_err(|e| {
            Error::InvalidParameter(format!("the owner's digest does not serialise: {e}"))
        })?);
        let sealed =
            aes::encrypt_with_aad(&keys.seal, &plaintext, &associated_data(kb, self.version))?;
        // The bytes under the base64 text, as the service counts them.
        let bytes = sealed.len() / 4 * 3 - sealed.bytes().rev().take_while(|&b| b == b'=').count();
        if bytes > Self::MAX_SEALED_BYTES {
            return Err(Error::InvalidParameter(format!(
                "the owner's digest of knowledge base {kb} would seal to {bytes} bytes, more \
                 than the {} a service keeps: count a field with fewer values \
                 (`remote digest rebuild --count`), or use fewer partitions",
                Self::MAX_SEALED_BYTES
            )));
        }
        Ok(sealed)
    }

    /// Opens what [`seal`](Self::seal) sealed for `kb` at `version` (as the service says):
    /// [`Error::ContentAuthentication`] for anything else (altered, another knowledge base's,
    /// or another version's under this number), [`Error::NewerFormat`] for a digest of the
    /// owner's that a newer version wrote.
    pub fn open(keys: &RecordKeys, kb: &str, version: i64, sealed: &str) -> Result<Self> {
        let plaintext = aes::decrypt_with_aad(&keys.seal, sealed, &associated_data(kb, version))
            .map_err(|_| Error::ContentAuthentication)?;
        // Authenticated, so the owner's: what does not read here was written by a newer
        // version (a format, a field's value, such as a layout, this one does not know).
        let newer = |detail: String| {
            Error::NewerFormat(format!(
                "the owner's digest of knowledge base {kb} at version {version} ({detail})"
            ))
        };
        // The position only: serde's message can quote the digest's values.
        let opened: Sealed<'_> = serde_json::from_slice(&plaintext)
            .map_err(|e| newer(format!("unread at column {}", e.column())))?;
        if opened.format > FORMAT {
            return Err(newer(format!(
                "format {}, this version reads {FORMAT}",
                opened.format
            )));
        }
        match opened.format == FORMAT && opened.kb == kb && opened.digest.version == version {
            true => Ok(opened.digest),
            false => Err(Error::ContentAuthentication),
        }
    }
}

/// `digest` sealed as a newer version would seal it (a format above this one's), for tests.
#[cfg(test)]
pub(crate) fn seal_as_newer(digest: &OwnerDigest, keys: &RecordKeys, kb: &str) -> String {
    let sealed = Sealed {
        format: FORMAT + 1,
        kb: kb.into(),
        digest: digest.clone(),
    };
    let text = serde_json::to_vec(&sealed).unwrap_or_default();
    aes::encrypt_with_aad(&keys.seal, &text, &associated_data(kb, digest.version))
        .unwrap_or_default()
}

fn associated_data(kb: &str, version: i64) -> Vec<u8> {
    let mut aad = SEAL_DOMAIN.to_vec();
    aad.extend_from_slice(&(kb.len() as u64).to_be_bytes());
    aad.extend_from_slice(kb.as_bytes());
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

#[cfg(test)]
#[path = "owner_tests.rs"]
mod tests;
