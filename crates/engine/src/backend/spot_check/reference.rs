//! Each operation's item recomputed alone on the CPU: the reference a spot check compares a
//! device's item with ([`Operation::recompute_item`]). It sits above the CPU engine, beside the
//! check that uses it, so that the engines and the operations never import it.

use crate::backend::cpu::CpuBackend;
use crate::backend::operation::{CrtDecode, CrtDecrypt, FixedBasePow, Modexp, MultiExp};
use crate::backend::ChunkCount;
use crate::backend::{Backend, EncryptionJob, Exponents, LimbBatch};
use crate::backend::{Operation, Output};
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

impl Operation<'_> {
    /// Item `i` of the result, recomputed alone on the CPU: the reference of a spot check.
    pub fn recompute_item(&self, i: usize) -> Result<Output> {
        let limbs = Output::Limbs;
        match self {
            Operation::Modexp(op) => modexp(op, i).map(limbs),
            Operation::Modmul(op) => modmul_item(op.modulus, op.a, op.b, i).map(limbs),
            Operation::Square(op) => {
                let item = one(op.a, i)?;
                modmul_item(op.modulus, &item, &item, 0).map(limbs)
            }
            Operation::FixedBasePow(op) => fixed_base_pow(op, i).map(limbs),
            Operation::CrtDecode(op) => crt_decode(op, i).map(Output::Counts),
            Operation::CrtDecrypt(op) => crt_decrypt(op, i).map(limbs),
            Operation::MultiExp(op) => multi_exp(op, i).map(limbs),
            Operation::Encrypt(job) => encrypt(job, i).map(limbs),
            Operation::ModmulResident(op) => {
                let item = op.batch.gather([op.range.start + i])?;
                modmul_item(op.modulus, &item, op.b, i).map(limbs)
            }
        }
    }
}

/// Item `i` of a cyclically broadcast operand batch, as a one-item batch.
fn one(batch: &LimbBatch, i: usize) -> Result<LimbBatch> {
    if batch.is_empty() {
        return Err(Error::InvalidParameter("an empty operand batch".into()));
    }
    Ok(LimbBatch::single(batch.item(i % batch.len()).to_vec()))
}

/// The CPU's `bases[i] ^ exponents[i] mod m`.
fn modexp(op: &Modexp<'_>, i: usize) -> Result<LimbBatch> {
    let mut exponent = one_exponent(op.exponents, i)?;
    let expected = CpuBackend.modexp(op.modulus, &one(op.bases, i)?, &exponent);
    exponent.values.wipe();
    expected
}

/// The CPU's `g ^ exponents[i] mod m`.
fn fixed_base_pow(op: &FixedBasePow<'_>, i: usize) -> Result<LimbBatch> {
    let mut exponent = one_exponent(op.exponents, i)?;
    let expected = CpuBackend.fixed_base_pow(op.modulus, op.table, &exponent);
    exponent.values.wipe();
    expected
}

/// The CPU's distance for item `i` of a CRT decoding (one prime or two by the same rule as the
/// GPU's kernel, so that a forged response gets the same defect bits on both).
fn crt_decode(op: &CrtDecode<'_>, i: usize) -> Result<Vec<ChunkCount>> {
    // Empty where decoding with one prime left the bases modulo q² out.
    let q = if op.bases_q.is_empty() {
        LimbBatch::new(op.bases_q.limbs_per_item())
    } else {
        one(op.bases_q, i)?
    };
    CpuBackend.crt_decode(op.key, &one(op.bases_p, i)?, &q, &one(op.masks, i)?)
}

/// The CPU's plaintext for item `i` of a CRT decryption.
fn crt_decrypt(op: &CrtDecrypt<'_>, i: usize) -> Result<LimbBatch> {
    CpuBackend.crt_decrypt(op.key, &one(op.bases_p, i)?, &one(op.bases_q, i)?)
}

/// The CPU's ciphertext for item `i` of an encryption job (its noise exponents are given, so
/// the job fixes every ciphertext).
fn encrypt(job: &EncryptionJob<'_>, i: usize) -> Result<LimbBatch> {
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
fn modmul_item(
    modulus: &MontgomeryModulus,
    a: &LimbBatch,
    b: &LimbBatch,
    i: usize,
) -> Result<LimbBatch> {
    CpuBackend.modmul(modulus, &one(a, i)?, &one(b, i)?)
}

/// The CPU's item `i` of a multi-exponentiation: row `i % rows` over sample `i / rows`'s bases.
fn multi_exp(op: &MultiExp<'_>, i: usize) -> Result<LimbBatch> {
    let (_, rows) = crate::backend::multi_exp::check_multi_exp_operands(
        op.modulus,
        op.bases,
        op.exponents,
        op.per_row,
    )?;
    let (sample, row) = (i / rows.max(1), i % rows.max(1));
    let width = op.bases.limbs_per_item();
    let sample_bases =
        op.bases.as_flat()[sample * op.per_row * width..(sample + 1) * op.per_row * width].to_vec();
    let e = op.exponents.values.limbs_per_item();
    let row_exponents =
        op.exponents.values.as_flat()[row * op.per_row * e..(row + 1) * op.per_row * e].to_vec();
    let one_row = Exponents {
        values: LimbBatch::from_flat(e, row_exponents)?,
        bits: op.exponents.bits,
        secrecy: op.exponents.secrecy,
    };
    CpuBackend.multi_exp(
        op.modulus,
        &LimbBatch::from_flat(width, sample_bases)?,
        &one_row,
        op.per_row,
    )
}
