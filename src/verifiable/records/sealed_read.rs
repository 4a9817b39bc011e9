//! The owner's side of sealed vectors ([`SealedPage`]), with no I/O: a write's records sealed
//! into pages (one partition a page), and an answer of pages opened, checked record by record
//! and as a whole as a Paillier answer is (ids, nonces, range, count, the digest's tally), then
//! ranked by exact Hamming distance.

use std::collections::HashMap;

use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::error::{Error, FailureKind, Result};
use crate::verifiable::records::answer::{refused, Expectation};
use crate::verifiable::records::check::DecodedRecord;
use crate::verifiable::records::codec::RecordCodec;
use crate::verifiable::records::layout::RecordNonce;
use crate::verifiable::records::read::Ranked;
use crate::verifiable::records::sealed_page::{SealedPage, PAGE_RECORDS};

/// An answer of sealed pages opened ([`RecordCodec::open_sealed`]): each record's chunk id,
/// nonce and distance, in the answer's order, not yet checked as a whole (Debug shows no
/// distance: they are the owner's).
pub struct OpenedSealed {
    chunk_ids: Vec<i64>,
    decoded: Vec<DecodedRecord>,
}

impl std::fmt::Debug for OpenedSealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSealed")
            .field("records", &self.chunk_ids.len())
            .finish_non_exhaustive()
    }
}

/// A record read back from its page ([`RecordCodec::open_pages`]).
pub struct SealedRecord {
    /// Its chunk id.
    pub chunk_id: i64,
    /// Its nonce.
    pub nonce: RecordNonce,
    /// Its page's partition.
    pub partition: Option<u32>,
    /// Which page of the answer holds it (0 the first).
    pub page: usize,
    /// Its vector, one 0 or 1 a dimension (wiped on drop; not in Debug).
    pub bits: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SealedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRecord")
            .field("chunk_id", &self.chunk_id)
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

impl OpenedSealed {
    /// How many records the answer holds.
    pub fn records(&self) -> usize {
        self.chunk_ids.len()
    }

    /// Their chunk ids, in the answer's order.
    pub fn chunk_ids(&self) -> &[i64] {
        &self.chunk_ids
    }

    /// Keeps only the records whose chunk id `keep` accepts: pages are read whole, so a read
    /// for a filter's or a range's records holds their pages' other records too.
    pub fn retain(&mut self, keep: impl Fn(i64) -> bool) {
        let chunk_ids = std::mem::take(&mut self.chunk_ids);
        let decoded = std::mem::take(&mut self.decoded);
        for (id, record) in chunk_ids.into_iter().zip(decoded) {
            if keep(id) {
                self.chunk_ids.push(id);
                self.decoded.push(record);
            }
        }
    }
}

impl RecordCodec {
    /// `records` (chunk id, vector of 0/1 values, partition) sealed as pages: each partition's
    /// records in the order given, [`PAGE_RECORDS`] at most a page, pages in the order their
    /// partitions first appear. Call it inside a write's plan: every call seals under fresh
    /// nonces.
    pub fn seal_pages(&self, records: &[(i64, &[u8], Option<u32>)]) -> Result<Vec<SealedPage>> {
        let keys = self.keys()?;
        // Each partition's records, the partitions in the order they first appear.
        type Packed = Vec<(i64, Zeroizing<Vec<u8>>)>;
        let mut groups: Vec<(Option<u32>, Packed)> = Vec::new();
        let mut group_of: HashMap<Option<u32>, usize> = HashMap::new();
        for (id, bits, partition) in records {
            let group = *group_of.entry(*partition).or_insert_with(|| {
                groups.push((*partition, Vec::new()));
                groups.len() - 1
            });
            groups[group].1.push((*id, self.packed(bits)?));
        }
        let mut pages = Vec::new();
        for (partition, packed) in groups {
            for chunk in packed.chunks(PAGE_RECORDS) {
                let page: Vec<(i64, &[u8])> = chunk.iter().map(|(id, v)| (*id, &v[..])).collect();
                pages.push(SealedPage::seal(keys, self.kb(), partition, &page)?);
            }
        }
        Ok(pages)
    }

    /// The `top_k` records of `pages` (the service's answer: pages one after another in their
    /// wire form) nearest `query`, nearest first, ties by chunk id. Every page must open and
    /// be of a partition in `probed` (when given), and the whole answer pass `expectation`
    /// as a verified Paillier answer does: any failure refuses all of it. A search of probed
    /// partitions needs the digest's tally of them in `expectation` (nothing else shows a page
    /// dropped or an earlier copy of one served): refused without it. The two steps of
    /// [`open_sealed`](Self::open_sealed) and [`rank_opened`](Self::rank_opened).
    pub fn rank_sealed(
        &self,
        pages: &[u8],
        query: &[u8],
        probed: Option<&[u32]>,
        expectation: &Expectation,
        top_k: usize,
    ) -> Result<Vec<Ranked>> {
        let opened = self.open_sealed(pages, query, probed, expectation)?;
        self.rank_opened(&opened, expectation, top_k)
    }

    /// The first step of [`rank_sealed`](Self::rank_sealed): every page read, of a probed
    /// partition, opened, and each record's distance to `query` taken (on every core); nothing
    /// yet checked of the answer as a whole.
    pub fn open_sealed(
        &self,
        pages: &[u8],
        query: &[u8],
        probed: Option<&[u32]>,
        expectation: &Expectation,
    ) -> Result<OpenedSealed> {
        if probed.is_some() && expectation.digest.is_none() {
            return Err(Error::InvalidParameter(
                "a search of sealed vectors in probed partitions is checked against the owner's \
                 tally of those partitions: none was given"
                    .into(),
            ));
        }
        let keys = self.keys()?;
        let query = self.packed(query)?;
        let vector_bytes = query.len();
        let mut read = Vec::new();
        let mut at = 0;
        while at < pages.len() {
            let (page, used) = SealedPage::from_bytes(&pages[at..], vector_bytes)?;
            at += used;
            let outside = match (probed, page.partition()) {
                (Some(probed), Some(partition)) => !probed.contains(&partition),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if outside {
                return Err(refused(
                    FailureKind::DigestMismatch,
                    format!(
                        "a page of records of partition {:?}, which this search did not probe",
                        page.partition()
                    ),
                ));
            }
            read.push(page);
        }
        // Each page opened and its distances taken on every core; the answer stays in order.
        let opened = read
            .par_iter()
            .map(|page| {
                let opened = page.open(keys, self.kb(), vector_bytes)?;
                let records: Vec<(i64, DecodedRecord)> = (0..opened.ids().len())
                    .map(|index| {
                        let distance = opened
                            .vector(index)
                            .iter()
                            .zip(query.iter())
                            .map(|(a, b)| (a ^ b).count_ones())
                            .sum();
                        let record = DecodedRecord {
                            distance,
                            nonce: opened.nonces()[index],
                            valid: true,
                        };
                        (opened.ids()[index], record)
                    })
                    .collect();
                Ok(records)
            })
            .collect::<Result<Vec<_>>>()?;
        let (chunk_ids, decoded) = opened.into_iter().flatten().unzip();
        Ok(OpenedSealed { chunk_ids, decoded })
    }

    /// The second step of [`rank_sealed`](Self::rank_sealed): the opened answer checked whole
    /// against `expectation` (ids, nonces, count, the digest's tally), then its `top_k`.
    pub fn rank_opened(
        &self,
        opened: &OpenedSealed,
        expectation: &Expectation,
        top_k: usize,
    ) -> Result<Vec<Ranked>> {
        self.verified_top_k(&opened.decoded, &opened.chunk_ids, expectation, top_k)
    }

    /// Every record of `pages` (wire forms one after another), each page opened under the
    /// owner's keys: its chunk id, nonce and vector as 0/1 values, in the answer's order. What
    /// a move of records reads back of those already sealed.
    pub fn open_pages(&self, pages: &[u8]) -> Result<Vec<SealedRecord>> {
        let keys = self.keys()?;
        let embed_len = self.context().embed_len();
        let vector_bytes = embed_len.div_ceil(8);
        let mut records = Vec::new();
        let (mut at, mut page_index) = (0, 0);
        while at < pages.len() {
            let (page, used) = SealedPage::from_bytes(&pages[at..], vector_bytes)?;
            at += used;
            let opened = page.open(keys, self.kb(), vector_bytes)?;
            for (index, (&chunk_id, &nonce)) in opened.ids().iter().zip(opened.nonces()).enumerate()
            {
                let packed = opened.vector(index);
                let bits = (0..embed_len)
                    .map(|i| (packed[i / 8] >> (7 - i % 8)) & 1)
                    .collect();
                records.push(SealedRecord {
                    chunk_id,
                    nonce,
                    partition: opened.partition(),
                    page: page_index,
                    bits: Zeroizing::new(bits),
                });
            }
            page_index += 1;
        }
        Ok(records)
    }

    /// `bits` (one 0 or 1 a dimension, the context's count of them) packed eight to a byte,
    /// the first dimension in the first byte's highest bit.
    fn packed(&self, bits: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let embed_len = self.context().embed_len();
        if bits.len() != embed_len {
            return Err(Error::InvalidParameter(format!(
                "a vector of {} dimensions, where the context's have {embed_len}",
                bits.len()
            )));
        }
        let mut packed = Zeroizing::new(vec![0u8; embed_len.div_ceil(8)]);
        // No branch on a bit's value (the owner's vectors are secret): any value above 1 is
        // gathered and refused once, at the end.
        let mut above_one = 0u8;
        for (i, &bit) in bits.iter().enumerate() {
            above_one |= bit >> 1;
            packed[i / 8] |= (bit & 1) << (7 - i % 8);
        }
        if above_one != 0 {
            return Err(Error::InvalidParameter(
                "a vector holds a value other than 0 or 1".into(),
            ));
        }
        Ok(packed)
    }
}

#[cfg(test)]
#[path = "sealed_read_tests.rs"]
mod tests;
