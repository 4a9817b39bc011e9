//! Spot checks: a few random items of an accelerator's result recomputed on the CPU backend.
//!
//! A GPU that computes wrongly (a driver or compiler bug, a kernel bug on an untested adapter,
//! corrupted memory) must not return a wrong distance. Re-running `samples` random items per call
//! on the CPU catches a systematic fault at once and a sporadic one with probability
//! `samples / batch` per call; a mismatch is an [`Error::GpuFailure`], so `Device::Auto` retries
//! the whole call on the CPU.
//!
//! The check is off the critical path: [`run_checked`] picks the items before the call and the
//! CPU recomputes them on rayon's pool while the device works, so a call takes
//! `max(device, samples CPU items)` rather than their sum.

use rand::Rng;

use super::cpu::CpuBackend;
use super::{Backend, CrtKey, EncryptionJob, Exponents, LimbBatch};
use crate::error::{Error, Result};
use crate::hamming::response_check::ChunkCount;
use crate::hazmat::bigint::{FixedBaseTable, MontgomeryModulus};

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

/// A batched result whose items a spot check compares with one-item CPU results.
pub(crate) trait Checked: Send {
    /// How many items the result holds.
    fn items(&self) -> usize;
    /// Whether item `i` equals the one item of `expected`.
    fn item_is(&self, i: usize, expected: &Self) -> bool;
}

impl Checked for LimbBatch {
    fn items(&self) -> usize {
        self.len()
    }
    fn item_is(&self, i: usize, expected: &Self) -> bool {
        expected.len() == 1 && self.item(i) == expected.item(0)
    }
}

impl Checked for Vec<ChunkCount> {
    fn items(&self) -> usize {
        self.len()
    }
    fn item_is(&self, i: usize, expected: &Self) -> bool {
        expected.len() == 1 && self.get(i) == expected.first()
    }
}

/// Runs `device` over a batch of `items` while the CPU computes `reference(i)` (item `i` alone)
/// for `samples` random items in parallel, then compares.
pub(crate) fn run_checked<T: Checked>(
    what: &str,
    samples: usize,
    items: usize,
    device: impl FnOnce() -> Result<T> + Send,
    reference: impl Fn(usize) -> Result<T> + Sync,
) -> Result<T> {
    if samples == 0 || items == 0 {
        return device();
    }
    let picks = sample(items, samples);
    let (out, expected) = rayon::join(device, || {
        picks
            .iter()
            .map(|&i| reference(i).map(|e| (i, e)))
            .collect::<Result<Vec<_>>>()
    });
    // The device's own error first: bad input fails there before any result exists.
    let out = out?;
    check_len(what, out.items(), items)?;
    for (i, e) in expected? {
        if !out.item_is(i, &e) {
            return Err(mismatch(what, i));
        }
    }
    Ok(out)
}

/// [`run_checked`] for a call that writes its result into `out`, `width` limbs per item.
pub(crate) fn run_checked_into(
    what: &str,
    samples: usize,
    width: usize,
    out: &mut [u64],
    device: impl FnOnce(&mut [u64]) -> Result<()> + Send,
    reference: impl Fn(usize) -> Result<LimbBatch> + Sync,
) -> Result<()> {
    let items = out.len() / width.max(1);
    if samples == 0 || items == 0 {
        return device(out);
    }
    let picks = sample(items, samples);
    let (done, expected) = rayon::join(
        || device(&mut *out),
        || {
            picks
                .iter()
                .map(|&i| reference(i).map(|e| (i, e)))
                .collect::<Result<Vec<_>>>()
        },
    );
    done?;
    for (i, e) in expected? {
        if e.len() != 1 || out[i * width..(i + 1) * width] != *e.item(0) {
            return Err(mismatch(what, i));
        }
    }
    Ok(())
}

/// Item `i` of a cyclically broadcast operand batch, as a one-item batch.
pub(crate) fn one(batch: &LimbBatch, i: usize) -> Result<LimbBatch> {
    if batch.is_empty() {
        return Err(Error::InvalidParameter("an empty operand batch".into()));
    }
    Ok(LimbBatch::single(batch.item(i % batch.len()).to_vec()))
}

/// The CPU's `bases[i] ^ exponents[i] mod m`.
pub(crate) fn modexp(
    modulus: &MontgomeryModulus,
    bases: &LimbBatch,
    exponents: &Exponents,
    i: usize,
) -> Result<LimbBatch> {
    let mut exponent = one_exponent(exponents, i)?;
    let expected = CpuBackend.modexp(modulus, &one(bases, i)?, &exponent);
    exponent.values.wipe();
    expected
}

/// The CPU's `g ^ exponents[i] mod m`.
pub(crate) fn fixed_base_pow(
    modulus: &MontgomeryModulus,
    table: &FixedBaseTable,
    exponents: &Exponents,
    i: usize,
) -> Result<LimbBatch> {
    let mut exponent = one_exponent(exponents, i)?;
    let expected = CpuBackend.fixed_base_pow(modulus, table, &exponent);
    exponent.values.wipe();
    expected
}

/// The CPU's distance for item `i` of a CRT decoding (one prime or two by the same rule as the
/// GPU's kernel, so that a forged response gets the same defect bits on both).
pub(crate) fn crt_decode(
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
    masks: &LimbBatch,
    i: usize,
) -> Result<Vec<ChunkCount>> {
    // Empty where decoding with one prime left the bases modulo q² out.
    let q = if bases_q.is_empty() {
        LimbBatch::new(bases_q.limbs_per_item())
    } else {
        one(bases_q, i)?
    };
    CpuBackend.crt_decode(key, &one(bases_p, i)?, &q, &one(masks, i)?)
}

/// The CPU's plaintext for item `i` of a CRT decryption.
pub(crate) fn crt_decrypt(
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
    i: usize,
) -> Result<LimbBatch> {
    CpuBackend.crt_decrypt(key, &one(bases_p, i)?, &one(bases_q, i)?)
}

/// The CPU's ciphertext for item `i` of an encryption job (its noise exponents are given, so
/// the job fixes every ciphertext).
pub(crate) fn encrypt(job: &EncryptionJob<'_>, i: usize) -> Result<LimbBatch> {
    // Checked first: a short exponent batch must be an error here, not an index out of range.
    job.check()?;
    job.one_item(i, |one| CpuBackend.encrypt(one))
}

fn one_exponent(exponents: &Exponents, i: usize) -> Result<Exponents> {
    Ok(Exponents {
        values: one(&exponents.values, i)?,
        bits: exponents.bits,
        secrecy: exponents.secrecy,
    })
}

/// The CPU's `a[i] · b[i] mod m`.
pub(crate) fn modmul_item(
    modulus: &MontgomeryModulus,
    a: &LimbBatch,
    b: &LimbBatch,
    i: usize,
) -> Result<LimbBatch> {
    CpuBackend.modmul(modulus, &one(a, i)?, &one(b, i)?)
}

/// The CPU's item `i` of a multi-exponentiation: row `i % rows` over sample `i / rows`'s bases.
pub(crate) fn multi_exp(
    modulus: &MontgomeryModulus,
    bases: &LimbBatch,
    exponents: &Exponents,
    per_row: usize,
    i: usize,
) -> Result<LimbBatch> {
    let (_, rows) = super::multi_exp::check_multi_exp_operands(modulus, bases, exponents, per_row)?;
    let (sample, row) = (i / rows.max(1), i % rows.max(1));
    let width = bases.limbs_per_item();
    let sample_bases =
        bases.as_flat()[sample * per_row * width..(sample + 1) * per_row * width].to_vec();
    let e = exponents.values.limbs_per_item();
    let row_exponents =
        exponents.values.as_flat()[row * per_row * e..(row + 1) * per_row * e].to_vec();
    let one_row = Exponents {
        values: LimbBatch::from_flat(e, row_exponents)?,
        bits: exponents.bits,
        secrecy: exponents.secrecy,
    };
    CpuBackend.multi_exp(
        modulus,
        &LimbBatch::from_flat(width, sample_bases)?,
        &one_row,
        per_row,
    )
}
