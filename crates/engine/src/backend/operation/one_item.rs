//! Each operation restricted to one of its items: the same operation over one-item operand
//! batches (operands broadcast cyclically, so item `i` takes operand item `i % len`). The spot
//! check recomputes a device's item by running this on the CPU; the operation says how it is cut,
//! so that no policy needs a change for a new operation.

use super::{CrtDecode, CrtDecrypt, Modexp, Modmul, MultiExp, Operation, RepeatedSquare, Square};
use super::{FixedBasePow, Output};
use crate::backend::{Exponents, LimbBatch};
use crate::error::{Error, Result};

impl Operation<'_> {
    /// Runs `run` on this operation restricted to item `i` of its result (a resident product
    /// becomes the product of that one stored item). Secret operands copied for it (exponents,
    /// messages, the residues modulo p² and q² that decryption starts from) are wiped
    /// afterwards.
    pub fn one_item(
        &self,
        i: usize,
        run: impl FnOnce(&Operation<'_>) -> Result<Output>,
    ) -> Result<Output> {
        match self {
            Operation::Modexp(op) => {
                let bases = one(op.bases, i)?;
                with_one_exponent(op.exponents, i, |exponents| {
                    run(&Operation::Modexp(Modexp {
                        bases: &bases,
                        exponents,
                        ..*op
                    }))
                })
            }
            Operation::Modmul(op) => {
                let (a, b) = (one(op.a, i)?, one(op.b, i)?);
                run(&Operation::Modmul(Modmul {
                    modulus: op.modulus,
                    a: &a,
                    b: &b,
                }))
            }
            Operation::Square(op) => run(&Operation::Square(Square {
                modulus: op.modulus,
                a: &one(op.a, i)?,
            })),
            Operation::RepeatedSquare(op) => run(&Operation::RepeatedSquare(RepeatedSquare {
                a: &one(op.a, i)?,
                ..*op
            })),
            Operation::FixedBasePow(op) => with_one_exponent(op.exponents, i, |exponents| {
                run(&Operation::FixedBasePow(FixedBasePow { exponents, ..*op }))
            }),
            Operation::CrtDecode(op) => {
                // Empty where decoding with one prime left the bases modulo q² out.
                let mut bases_q = if op.bases_q.is_empty() {
                    LimbBatch::new(op.bases_q.limbs_per_item())
                } else {
                    one(op.bases_q, i)?
                };
                let (mut bases_p, masks) = (one(op.bases_p, i)?, one(op.masks, i)?);
                let result = run(&Operation::CrtDecode(CrtDecode {
                    key: op.key,
                    bases_p: &bases_p,
                    bases_q: &bases_q,
                    masks: &masks,
                }));
                bases_p.wipe();
                bases_q.wipe();
                result
            }
            Operation::CrtDecrypt(op) => {
                let mut bases_q = if op.one_prime {
                    LimbBatch::new(op.bases_q.limbs_per_item())
                } else {
                    one(op.bases_q, i)?
                };
                let mut bases_p = one(op.bases_p, i)?;
                let result = run(&Operation::CrtDecrypt(CrtDecrypt {
                    bases_p: &bases_p,
                    bases_q: &bases_q,
                    ..*op
                }));
                bases_p.wipe();
                bases_q.wipe();
                result
            }
            Operation::MultiExp(op) => one_multi_exp(op, i, run),
            Operation::Encrypt(job) => {
                // Checked first: a short exponent batch must be an error here, not an index
                // out of range.
                job.check()?;
                job.one_item(i, |one| run(&Operation::Encrypt(one)))
            }
            Operation::ModmulResident(op) => {
                let (a, b) = (op.batch.gather([op.range.start + i])?, one(op.b, i)?);
                run(&Operation::Modmul(Modmul {
                    modulus: op.modulus,
                    a: &a,
                    b: &b,
                }))
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

/// `run` on exponent `i` alone, wiped afterwards (exponents may be secret).
fn with_one_exponent(
    exponents: &Exponents,
    i: usize,
    run: impl FnOnce(&Exponents) -> Result<Output>,
) -> Result<Output> {
    let mut exponent = Exponents {
        values: one(&exponents.values, i)?,
        bits: exponents.bits,
        secrecy: exponents.secrecy,
    };
    let result = run(&exponent);
    exponent.values.wipe();
    result
}

/// Item `i` of a multi-exponentiation: row `i % rows` over sample `i / rows`'s bases.
fn one_multi_exp(
    op: &MultiExp<'_>,
    i: usize,
    run: impl FnOnce(&Operation<'_>) -> Result<Output>,
) -> Result<Output> {
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
    run(&Operation::MultiExp(MultiExp {
        bases: &LimbBatch::from_flat(width, sample_bases)?,
        exponents: &one_row,
        ..*op
    }))
}
