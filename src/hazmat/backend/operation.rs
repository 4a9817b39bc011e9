//! Batched operations as values: what a [`Backend`](super::Backend) runs, with its operands.
//!
//! An [`Operation`] knows its item count, how much work it makes (which the scheduler's
//! policies read: small batches to the CPU, spot checks), and how to recompute one item on the
//! CPU (the spot check's reference). The two engines (`cpu/`, `gpu/`) each run every operation;
//! the policies in `routing.rs`, `verifying.rs` and `fallback.rs` are one short function each
//! over any operation.
//!
//! Adding an operation is a variant here (with its name, counts and one-item recomputation),
//! its arm in the CPU engine, and its arm in the GPU engine.

use std::ops::Range;

use super::spot_check::{self, Checked};
use super::{CrtKey, EncryptionJob, Exponents, LimbBatch, ResidentBatch};
use crate::error::{Error, Result};
use crate::hamming::response_check::ChunkCount;
use crate::hazmat::bigint::{FixedBaseTable, MontgomeryModulus};

/// One batched operation and its operands. Inputs are in normal form and reduced below the
/// modulus; operand batches broadcast cyclically (item `i` uses operand item `i % len`).
#[derive(Clone, Debug)]
pub enum Operation<'a> {
    /// `out[i] = bases[i] ^ exponents[i % k] mod m`.
    Modexp {
        /// The modulus.
        modulus: &'a MontgomeryModulus,
        /// One base per result.
        bases: &'a LimbBatch,
        /// Shared (one) or per-item exponents.
        exponents: &'a Exponents,
    },
    /// `out[i] = a[i] · b[i % k] mod m`.
    Modmul {
        /// The modulus.
        modulus: &'a MontgomeryModulus,
        /// One factor per result.
        a: &'a LimbBatch,
        /// Shared (one) or per-item factors.
        b: &'a LimbBatch,
    },
    /// `out[i] = a[i]² mod m`.
    Square {
        /// The modulus.
        modulus: &'a MontgomeryModulus,
        /// One value per result.
        a: &'a LimbBatch,
    },
    /// `out[i] = g ^ exponents[i] mod m` from a fixed-base table of `g`, in constant time over
    /// `exponents.bits` bits (the exponents are plaintexts or noise: always secret).
    FixedBasePow {
        /// The modulus.
        modulus: &'a MontgomeryModulus,
        /// Powers of the base `g`.
        table: &'a FixedBaseTable,
        /// One exponent per result.
        exponents: &'a Exponents,
    },
    /// CRT decryption and Hamming decoding in one: see
    /// [`Backend::crt_decode`](super::Backend::crt_decode). Its results are counts.
    CrtDecode {
        /// The secret key's CRT parts.
        key: &'a CrtKey,
        /// The ciphertexts modulo p².
        bases_p: &'a LimbBatch,
        /// The ciphertexts modulo q² (empty where one prime covers the masks).
        bases_q: &'a LimbBatch,
        /// The slot masks, shared or per item.
        masks: &'a LimbBatch,
    },
    /// CRT decryption to whole plaintexts: see
    /// [`Backend::crt_decrypt`](super::Backend::crt_decrypt).
    CrtDecrypt {
        /// The secret key's CRT parts.
        key: &'a CrtKey,
        /// The ciphertexts modulo p².
        bases_p: &'a LimbBatch,
        /// The ciphertexts modulo q².
        bases_q: &'a LimbBatch,
    },
    /// Products of powers over shared bases: see
    /// [`Backend::multi_exp`](super::Backend::multi_exp).
    MultiExp {
        /// The modulus.
        modulus: &'a MontgomeryModulus,
        /// `samples · per_row` bases.
        bases: &'a LimbBatch,
        /// `rows · per_row` public exponents.
        exponents: &'a Exponents,
        /// Bases per sample and exponents per row.
        per_row: usize,
    },
    /// Encryption of a batch: see [`EncryptionJob`].
    Encrypt {
        /// The job.
        job: &'a EncryptionJob<'a>,
    },
    /// `out[i] = item[range.start + i] · b[i % k] mod m` over a resident batch's items.
    ModmulResident {
        /// The modulus.
        modulus: &'a MontgomeryModulus,
        /// The stored items (and their device copy where there is one).
        batch: &'a ResidentBatch,
        /// Which items.
        range: Range<usize>,
        /// Shared (one) or per-item factors.
        b: &'a LimbBatch,
    },
}

/// What an [`Operation`] returns: limbs (most operations) or counts (decoding).
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// One integer per item.
    Limbs(LimbBatch),
    /// One decoded chunk (a count, or the checks it failed) per item.
    Counts(Vec<ChunkCount>),
}

impl Output {
    /// The limbs of a limb-valued operation.
    pub fn into_limbs(self) -> Result<LimbBatch> {
        match self {
            Output::Limbs(batch) => Ok(batch),
            Output::Counts(_) => Err(wrong_kind("counts", "limbs")),
        }
    }

    /// The counts of a decoding.
    pub fn into_counts(self) -> Result<Vec<ChunkCount>> {
        match self {
            Output::Counts(counts) => Ok(counts),
            Output::Limbs(_) => Err(wrong_kind("limbs", "counts")),
        }
    }

    /// Copies a limb-valued result into `out` (its flat limbs, exactly as long). Counts have
    /// no limbs to copy: asking for them is the caller's mistake.
    pub fn copy_into(self, out: &mut [u64]) -> Result<()> {
        match self {
            Output::Limbs(batch) => super::encryption::copy_ciphertexts(&batch, out),
            Output::Counts(_) => Err(Error::InvalidParameter(
                "a decoding's counts cannot be written into limbs".into(),
            )),
        }
    }
}

/// An engine that answered with the other kind of result computed wrongly, like a wrong value.
fn wrong_kind(got: &str, expected: &str) -> Error {
    Error::GpuFailure(format!(
        "an engine returned {got} where {expected} were due"
    ))
}

impl Checked for Output {
    fn items(&self) -> usize {
        match self {
            Output::Limbs(batch) => batch.items(),
            Output::Counts(counts) => counts.items(),
        }
    }

    fn item_is(&self, i: usize, expected: &Self) -> bool {
        match (self, expected) {
            (Output::Limbs(got), Output::Limbs(e)) => got.item_is(i, e),
            (Output::Counts(got), Output::Counts(e)) => got.item_is(i, e),
            _ => false,
        }
    }
}

impl Operation<'_> {
    /// A short name for messages and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Modexp { .. } => "modexp",
            Operation::Modmul { .. } => "modmul",
            Operation::Square { .. } => "square",
            Operation::FixedBasePow { .. } => "fixed-base exponentiation",
            Operation::CrtDecode { .. } => "CRT decoding",
            Operation::CrtDecrypt { .. } => "CRT decryption",
            Operation::MultiExp { .. } => "multi-exponentiation",
            Operation::Encrypt { .. } => "encryption",
            Operation::ModmulResident { .. } => "resident modmul",
        }
    }

    /// How many items the result holds (for a multi-exponentiation, samples × rows).
    pub fn items(&self) -> usize {
        match self {
            Operation::MultiExp {
                bases,
                exponents,
                per_row,
                ..
            } => bases.len() / (*per_row).max(1) * (exponents.values.len() / (*per_row).max(1)),
            _ => self.work(),
        }
    }

    /// The size the scheduler's policies go by: the items, or for a multi-exponentiation the
    /// powers it makes, as separate exponentiations would.
    pub fn work(&self) -> usize {
        match self {
            Operation::Modexp { bases, .. } => bases.len(),
            Operation::Modmul { a, .. } | Operation::Square { a, .. } => a.len(),
            Operation::FixedBasePow { exponents, .. } => exponents.values.len(),
            Operation::CrtDecode { bases_p, .. } | Operation::CrtDecrypt { bases_p, .. } => {
                bases_p.len()
            }
            Operation::MultiExp {
                bases,
                exponents,
                per_row,
                ..
            } => bases.len() / (*per_row).max(1) * exponents.values.len(),
            Operation::Encrypt { job } => job.messages.len(),
            Operation::ModmulResident { range, .. } => range.len(),
        }
    }

    /// Limbs per result item where the result is limbs (what `run_into`'s output holds).
    pub fn result_width(&self) -> Option<usize> {
        match self {
            Operation::Modexp { modulus, .. }
            | Operation::Modmul { modulus, .. }
            | Operation::Square { modulus, .. }
            | Operation::FixedBasePow { modulus, .. }
            | Operation::MultiExp { modulus, .. }
            | Operation::ModmulResident { modulus, .. } => Some(modulus.len()),
            Operation::CrtDecrypt { key, .. } => Some(key.plaintext_limbs()),
            Operation::Encrypt { job } => Some(job.n_squared.len()),
            Operation::CrtDecode { .. } => None,
        }
    }

    /// Item `i` of the result, recomputed alone on the CPU: the reference of a spot check.
    pub fn recompute_item(&self, i: usize) -> Result<Output> {
        let limbs = Output::Limbs;
        match self {
            Operation::Modexp {
                modulus,
                bases,
                exponents,
            } => spot_check::modexp(modulus, bases, exponents, i).map(limbs),
            Operation::Modmul { modulus, a, b } => {
                spot_check::modmul_item(modulus, a, b, i).map(limbs)
            }
            Operation::Square { modulus, a } => {
                let item = spot_check::one(a, i)?;
                spot_check::modmul_item(modulus, &item, &item, 0).map(limbs)
            }
            Operation::FixedBasePow {
                modulus,
                table,
                exponents,
            } => spot_check::fixed_base_pow(modulus, table, exponents, i).map(limbs),
            Operation::CrtDecode {
                key,
                bases_p,
                bases_q,
                masks,
            } => spot_check::crt_decode(key, bases_p, bases_q, masks, i).map(Output::Counts),
            Operation::CrtDecrypt {
                key,
                bases_p,
                bases_q,
            } => spot_check::crt_decrypt(key, bases_p, bases_q, i).map(limbs),
            Operation::MultiExp {
                modulus,
                bases,
                exponents,
                per_row,
            } => spot_check::multi_exp(modulus, bases, exponents, *per_row, i).map(limbs),
            Operation::Encrypt { job } => spot_check::encrypt(job, i).map(limbs),
            Operation::ModmulResident {
                modulus,
                batch,
                range,
                b,
            } => {
                spot_check::modmul_item(modulus, &batch.gather([range.start + i])?, b, i).map(limbs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_unwrap_to_their_own_kind_only() {
        let limbs = LimbBatch::single(vec![7, 9]);
        let mut out = [0u64; 2];
        Output::Limbs(limbs.clone()).copy_into(&mut out).unwrap();
        assert_eq!(out, [7, 9]);
        assert_eq!(Output::Limbs(limbs.clone()).into_limbs().unwrap(), limbs);
        // An engine that answers with the other kind computed wrongly.
        assert!(matches!(
            Output::Limbs(limbs).into_counts(),
            Err(Error::GpuFailure(_))
        ));
        let counts = Output::Counts(vec![ChunkCount::counted(3)]);
        assert!(matches!(counts.into_limbs(), Err(Error::GpuFailure(_))));
        // Asking for a decoding's counts as limbs is the caller's mistake.
        assert!(matches!(
            Output::Counts(vec![ChunkCount::counted(3)]).copy_into(&mut out),
            Err(Error::InvalidParameter(_))
        ));
    }
}
