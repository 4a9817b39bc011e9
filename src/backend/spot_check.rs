//! Spot checks: a few random items of an accelerator's result recomputed on the CPU backend.
//!
//! A GPU that computes wrongly (a driver or compiler bug, a kernel bug on an untested adapter,
//! corrupted memory) must not return a wrong distance. Re-running `samples` random items per call
//! on the CPU catches a systematic fault at once and a sporadic one with probability
//! `samples / batch` per call; a mismatch is an [`Error::GpuFailure`], so `Device::Auto` retries
//! the whole call on the CPU. Each check costs `samples` CPU operations per call.

use rand::Rng;

use super::cpu::CpuBackend;
use super::{Backend, CrtKey, Exponents, LimbBatch};
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::{Error, Result};

/// The items to check: all of them when `samples >= len`, else `samples` random ones.
fn sample(len: usize, samples: usize) -> Vec<usize> {
    if samples >= len {
        return (0..len).collect();
    }
    let mut rng = rand::thread_rng();
    (0..samples).map(|_| rng.gen_range(0..len)).collect()
}

fn mismatch(what: &str, item: usize) -> Error {
    Error::GpuFailure(format!(
        "spot check: item {item} of a {what} call differs from the CPU's result"
    ))
}

fn check_len(what: &str, got: usize, expected: usize) -> Result<()> {
    if got != expected {
        return Err(Error::GpuFailure(format!(
            "spot check: a {what} call returned {got} items for {expected}"
        )));
    }
    Ok(())
}

/// Item `i` of a cyclically broadcast operand batch, as a one-item batch.
fn one(batch: &LimbBatch, i: usize) -> LimbBatch {
    LimbBatch::single(batch.item(i % batch.len()).to_vec())
}

fn one_exponent(exponents: &Exponents, i: usize) -> Exponents {
    Exponents {
        values: one(&exponents.values, i),
        bits: exponents.bits,
        secrecy: exponents.secrecy,
    }
}

/// Checks `out = bases ^ exponents mod m` on `samples` items.
pub(crate) fn modexp(
    samples: usize,
    modulus: &MontgomeryModulus,
    bases: &LimbBatch,
    exponents: &Exponents,
    out: &LimbBatch,
) -> Result<()> {
    if samples == 0 || bases.is_empty() {
        return Ok(());
    }
    check_len("modexp", out.len(), bases.len())?;
    for i in sample(bases.len(), samples) {
        let mut exponent = one_exponent(exponents, i);
        let expected = CpuBackend.modexp(modulus, &one(bases, i), &exponent);
        exponent.values.wipe();
        if expected?.item(0) != out.item(i) {
            return Err(mismatch("modexp", i));
        }
    }
    Ok(())
}

/// Checks `out = a · b mod m` on `samples` items; `a` is flat limbs, `modulus.len()` per item
/// (so a caller can pass a slice of a larger batch without copying it).
pub(crate) fn modmul(
    samples: usize,
    modulus: &MontgomeryModulus,
    a: &[u64],
    b: &LimbBatch,
    out: &LimbBatch,
) -> Result<()> {
    let width = modulus.len();
    let count = a.len() / width.max(1);
    if samples == 0 || count == 0 {
        return Ok(());
    }
    check_len("modmul", out.len(), count)?;
    for i in sample(count, samples) {
        let a_i = LimbBatch::single(a[i * width..(i + 1) * width].to_vec());
        if CpuBackend.modmul(modulus, &a_i, &one(b, i))?.item(0) != out.item(i) {
            return Err(mismatch("modmul", i));
        }
    }
    Ok(())
}

/// Checks `out = g ^ exponents mod m` on `samples` items.
pub(crate) fn fixed_base_pow(
    samples: usize,
    modulus: &MontgomeryModulus,
    table: &FixedBaseTable,
    exponents: &Exponents,
    out: &LimbBatch,
) -> Result<()> {
    if samples == 0 || exponents.values.is_empty() {
        return Ok(());
    }
    check_len("fixed-base", out.len(), exponents.values.len())?;
    for i in sample(exponents.values.len(), samples) {
        let mut exponent = one_exponent(exponents, i);
        let expected = CpuBackend.fixed_base_pow(modulus, table, &exponent);
        exponent.values.wipe();
        if expected?.item(0) != out.item(i) {
            return Err(mismatch("fixed-base", i));
        }
    }
    Ok(())
}

/// Checks CRT-decoded distances on `samples` items.
pub(crate) fn crt_decode(
    samples: usize,
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
    masks: &LimbBatch,
    out: &[u32],
) -> Result<()> {
    if samples == 0 || bases_p.is_empty() {
        return Ok(());
    }
    check_len("CRT decoding", out.len(), bases_p.len())?;
    for i in sample(bases_p.len(), samples) {
        let expected =
            CpuBackend.crt_decode(key, &one(bases_p, i), &one(bases_q, i), &one(masks, i))?;
        if expected.first() != Some(&out[i]) {
            return Err(mismatch("CRT decoding", i));
        }
    }
    Ok(())
}
