//! Batched operations as values: what a [`Backend`](super::Backend) runs, with its operands.
//!
//! An [`Operation`] knows its item count, how much work it makes (which the scheduler's
//! policies read: small batches to the CPU, spot checks), and how to recompute one item on the
//! CPU (the spot check's reference). The two engines (`cpu/`, `gpu/`) each run every operation;
//! the policies in `routing.rs`, `verifying.rs` and `fallback.rs` are one short function each
//! over any operation.
//!
//! Adding an operation is its operand struct and variant here (with its name, counts and how
//! it is cut to one item, in `one_item.rs`), its arm in the CPU engine, and its arm in the GPU
//! engine ([`RepeatedSquare`] was added so).

mod one_item;

use std::ops::Range;

use super::{CrtKey, EncryptionJob, Exponents, LimbBatch, ResidentBatch};
use crate::backend::ChunkCount;
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::{Error, Result};

/// One batched operation and its operands (a struct per operation, below, which the engines
/// and the spot check take whole). Inputs are in normal form and reduced below the modulus;
/// operand batches broadcast cyclically (item `i` uses operand item `i % len`).
#[derive(Clone, Debug)]
pub enum Operation<'a> {
    /// `out[i] = bases[i] ^ exponents[i % k] mod m`.
    Modexp(Modexp<'a>),
    /// `out[i] = a[i] · b[i % k] mod m`.
    Modmul(Modmul<'a>),
    /// `out[i] = a[i]² mod m`.
    Square(Square<'a>),
    /// `out[i] = a[i]^(2^squarings) mod m`.
    RepeatedSquare(RepeatedSquare<'a>),
    /// `out[i] = g ^ exponents[i] mod m` from a fixed-base table of `g`, in constant time.
    FixedBasePow(FixedBasePow<'a>),
    /// CRT decryption and Hamming decoding in one. Its results are counts.
    CrtDecode(CrtDecode<'a>),
    /// CRT decryption to whole plaintexts.
    CrtDecrypt(CrtDecrypt<'a>),
    /// Products of powers over shared bases.
    MultiExp(MultiExp<'a>),
    /// Encryption of a batch: see [`EncryptionJob`].
    Encrypt(&'a EncryptionJob<'a>),
    /// `out[i] = item[range.start + i] · b[i % k] mod m` over a resident batch's items.
    ModmulResident(ModmulResident<'a>),
}

/// `out[i] = bases[i] ^ exponents[i % k] mod m`.
#[derive(Clone, Copy, Debug)]
pub struct Modexp<'a> {
    /// The modulus.
    pub modulus: &'a MontgomeryModulus,
    /// One base per result.
    pub bases: &'a LimbBatch,
    /// Shared (one) or per-item exponents.
    pub exponents: &'a Exponents,
}

/// `out[i] = a[i] · b[i % k] mod m`.
#[derive(Clone, Copy, Debug)]
pub struct Modmul<'a> {
    /// The modulus.
    pub modulus: &'a MontgomeryModulus,
    /// One factor per result.
    pub a: &'a LimbBatch,
    /// Shared (one) or per-item factors.
    pub b: &'a LimbBatch,
}

/// `out[i] = a[i]² mod m`.
#[derive(Clone, Copy, Debug)]
pub struct Square<'a> {
    /// The modulus.
    pub modulus: &'a MontgomeryModulus,
    /// One value per result.
    pub a: &'a LimbBatch,
}

/// `out[i] = a[i]^(2^squarings) mod m`: `squarings` squarings in a row, at most
/// [`RepeatedSquare::MAX_SQUARINGS`]. What multiplying an encrypted number's mantissa by `16^d`
/// takes (the ciphertext to the `2^(4d)`), without the table and products of an exponentiation.
#[derive(Clone, Copy, Debug)]
pub struct RepeatedSquare<'a> {
    /// The modulus.
    pub modulus: &'a MontgomeryModulus,
    /// One value per result.
    pub a: &'a LimbBatch,
    /// Squarings of each value (public).
    pub squarings: usize,
}

impl RepeatedSquare<'_> {
    /// The most squarings one operation takes (an exponent of `2^4096`).
    pub const MAX_SQUARINGS: usize = 4096;

    /// Refuses more squarings than [`MAX_SQUARINGS`](Self::MAX_SQUARINGS), as both engines do.
    pub fn check_squarings(&self) -> Result<()> {
        if self.squarings > Self::MAX_SQUARINGS {
            return Err(Error::InvalidParameter(format!(
                "{} squarings in a row (at most {})",
                self.squarings,
                Self::MAX_SQUARINGS
            )));
        }
        Ok(())
    }
}

/// `out[i] = g ^ exponents[i] mod m` from a fixed-base table of `g`, in constant time over
/// `exponents.bits` bits (the exponents are plaintexts or noise: always secret).
#[derive(Clone, Copy, Debug)]
pub struct FixedBasePow<'a> {
    /// The modulus.
    pub modulus: &'a MontgomeryModulus,
    /// Powers of the base `g`.
    pub table: &'a FixedBaseTable,
    /// One exponent per result.
    pub exponents: &'a Exponents,
}

/// CRT decryption and Hamming decoding in one: see
/// [`Backend::crt_decode`](crate::backend::Backend::crt_decode). Its results are counts.
#[derive(Clone, Copy, Debug)]
pub struct CrtDecode<'a> {
    /// The secret key's CRT parts.
    pub key: &'a CrtKey,
    /// The ciphertexts modulo p².
    pub bases_p: &'a LimbBatch,
    /// The ciphertexts modulo q² (empty where one prime covers the masks).
    pub bases_q: &'a LimbBatch,
    /// The slot masks, shared or per item.
    pub masks: &'a LimbBatch,
}

/// CRT decryption to whole plaintexts: see
/// [`Backend::crt_decrypt`](crate::backend::Backend::crt_decrypt).
#[derive(Clone, Copy, Debug)]
pub struct CrtDecrypt<'a> {
    /// The secret key's CRT parts.
    pub key: &'a CrtKey,
    /// The ciphertexts modulo p².
    pub bases_p: &'a LimbBatch,
    /// The ciphertexts modulo q² (empty with `one_prime`).
    pub bases_q: &'a LimbBatch,
    /// Decrypt modulo the larger prime alone: each result is `m mod p`.
    pub one_prime: bool,
}

/// Products of powers over shared bases: see
/// [`Backend::multi_exp`](crate::backend::Backend::multi_exp).
#[derive(Clone, Copy, Debug)]
pub struct MultiExp<'a> {
    /// The modulus.
    pub modulus: &'a MontgomeryModulus,
    /// `samples · per_row` bases.
    pub bases: &'a LimbBatch,
    /// `rows · per_row` public exponents.
    pub exponents: &'a Exponents,
    /// Bases per sample and exponents per row.
    pub per_row: usize,
}

/// `out[i] = item[range.start + i] · b[i % k] mod m` over a resident batch's items.
#[derive(Clone, Debug)]
pub struct ModmulResident<'a> {
    /// The modulus.
    pub modulus: &'a MontgomeryModulus,
    /// The stored items (and their device copy where there is one).
    pub batch: &'a ResidentBatch,
    /// Which items.
    pub range: Range<usize>,
    /// Shared (one) or per-item factors.
    pub b: &'a LimbBatch,
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

impl Operation<'_> {
    /// A short name for messages and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Modexp(_) => "modexp",
            Operation::Modmul(_) => "modmul",
            Operation::Square(_) => "square",
            Operation::RepeatedSquare(_) => "repeated square",
            Operation::FixedBasePow(_) => "fixed-base exponentiation",
            Operation::CrtDecode(_) => "CRT decoding",
            Operation::CrtDecrypt(_) => "CRT decryption",
            Operation::MultiExp(_) => "multi-exponentiation",
            Operation::Encrypt(_) => "encryption",
            Operation::ModmulResident(_) => "resident modmul",
        }
    }

    /// How many items the result holds (for a multi-exponentiation, samples × rows).
    pub fn items(&self) -> usize {
        match self {
            Operation::MultiExp(op) => {
                let per_row = op.per_row.max(1);
                op.bases.len() / per_row * (op.exponents.values.len() / per_row)
            }
            _ => self.work(),
        }
    }

    /// The size the scheduler's policies go by: the items, or for a multi-exponentiation the
    /// powers it makes, as separate exponentiations would.
    pub fn work(&self) -> usize {
        match self {
            Operation::Modexp(op) => op.bases.len(),
            Operation::Modmul(op) => op.a.len(),
            Operation::Square(op) => op.a.len(),
            Operation::RepeatedSquare(op) => op.a.len(),
            Operation::FixedBasePow(op) => op.exponents.values.len(),
            Operation::CrtDecode(op) => op.bases_p.len(),
            Operation::CrtDecrypt(op) => op.bases_p.len(),
            Operation::MultiExp(op) => {
                op.bases.len() / op.per_row.max(1) * op.exponents.values.len()
            }
            Operation::Encrypt(job) => job.messages.len(),
            Operation::ModmulResident(op) => op.range.len(),
        }
    }

    /// Limbs per result item where the result is limbs (what `run_into`'s output holds).
    pub fn result_width(&self) -> Option<usize> {
        match self {
            Operation::Modexp(op) => Some(op.modulus.len()),
            Operation::Modmul(op) => Some(op.modulus.len()),
            Operation::Square(op) => Some(op.modulus.len()),
            Operation::RepeatedSquare(op) => Some(op.modulus.len()),
            Operation::FixedBasePow(op) => Some(op.modulus.len()),
            Operation::MultiExp(op) => Some(op.modulus.len()),
            Operation::ModmulResident(op) => Some(op.modulus.len()),
            Operation::CrtDecrypt(op) => Some(op.key.plaintext_limbs()),
            Operation::Encrypt(job) => Some(job.n_squared.len()),
            Operation::CrtDecode(_) => None,
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
