//! One encryption batch as one backend call, so that a GPU can run all of it in one submission
//! and return only ciphertexts.
//!
//! A ciphertext is `c = g^m · base^x mod n²` for a message `m < n` and a fresh noise exponent `x`.
//! Whoever holds the public key computes it modulo n² ([`Residues::NSquared`]); the key's owner
//! computes it modulo p² and q² and recombines (Garner), about half the work
//! ([`Residues::PrimeSquares`]). Both give the same ciphertext for the same `m` and `x`.

use rayon::prelude::*;
use zeroize::Zeroize;

use super::message_form::{spread_messages, MessageForm};
use super::{Exponents, LimbBatch, Secrecy};
use crate::bigint::{
    limbs_from_biguint, mul_wide, wipe_biguint, FixedBaseTable, Montgomery, MontgomeryModulus,
};
use crate::error::{Error, Result};

/// Copies a batch of ciphertexts into `out`, which must hold exactly as many limbs.
pub fn copy_ciphertexts(batch: &LimbBatch, out: &mut [u64]) -> Result<()> {
    if batch.as_flat().len() != out.len() {
        return Err(Error::InvalidParameter(format!(
            "{} ciphertext limbs for an output of {}",
            batch.as_flat().len(),
            out.len()
        )));
    }
    out.par_chunks_mut(1 << 16)
        .zip(batch.as_flat().par_chunks(1 << 16))
        .for_each(|(to, from)| to.copy_from_slice(from));
    Ok(())
}

/// One modulus's share of an encryption: the fixed-base tables modulo `modulus`.
#[derive(Clone, Copy, Debug)]
pub struct ResidueTables<'a> {
    /// n², or p² or q² for the key's owner.
    pub modulus: &'a MontgomeryModulus,
    /// The square root of `modulus` (n, p or q) where the caller knows it: then a backend may
    /// compute modulo `modulus` on two digits modulo the root (the GPU does), about 0.6× the
    /// multiply-adds. `None` keeps the arithmetic modulo `modulus`.
    pub root: Option<&'a MontgomeryModulus>,
    /// Powers of the noise base, in Montgomery form.
    pub noise: &'a FixedBaseTable,
    /// Lookup scheme: powers of `g`. `None` for the classic scheme, whose `g = 1 + n` makes
    /// `g^m = 1 + m·n` with no exponentiation.
    pub g: Option<&'a FixedBaseTable>,
}

/// Where the ciphertexts are computed.
#[derive(Clone, Copy, Debug)]
pub enum Residues<'a> {
    /// Directly modulo n² (needs only the public key).
    NSquared(ResidueTables<'a>),
    /// Modulo p² and q², then recombined (the key's owner).
    PrimeSquares {
        /// The share modulo p².
        p: ResidueTables<'a>,
        /// The share modulo q² (of as many limbs as p²).
        q: ResidueTables<'a>,
        /// The recombination constants.
        garner: &'a Garner,
    },
}

/// One batch of encryptions: `out[i] = g^messages[i] · base^noise_exponents[i] mod n²`.
#[derive(Clone, Copy, Debug)]
pub struct EncryptionJob<'a> {
    /// n², the ciphertext modulus.
    pub n_squared: &'a MontgomeryModulus,
    /// n, for `1 + m·n`.
    pub n: &'a num_bigint::BigUint,
    /// How the ciphertexts are computed.
    pub residues: Residues<'a>,
    /// The messages, each below n: their values in n²'s width, or their slot bits
    /// (`message_form`).
    pub messages: &'a LimbBatch,
    /// How `messages` are given.
    pub message_form: MessageForm,
    /// A public bound on the messages' bit length: the work of the lookup scheme's `g^m`.
    pub message_bits: usize,
    /// One noise exponent per message.
    pub noise_exponents: &'a Exponents,
}

impl EncryptionJob<'_> {
    /// Whether `g^m = 1 + m·n` (the classic scheme) rather than a table lookup.
    pub fn classic(&self) -> bool {
        match self.residues {
            Residues::NSquared(t) | Residues::PrimeSquares { p: t, .. } => t.g.is_none(),
        }
    }

    /// The shares: one for n², two for p² and q².
    pub fn shares(&self) -> Vec<ResidueTables<'_>> {
        match self.residues {
            Residues::NSquared(t) => vec![t],
            Residues::PrimeSquares { p, q, .. } => vec![p, q],
        }
    }

    /// Checks the shapes of the job; shared by the implementations.
    pub(crate) fn check(&self) -> Result<()> {
        let invalid = |why: &str| Err(Error::InvalidParameter(why.into()));
        match self.message_form {
            MessageForm::Value if self.messages.limbs_per_item() != self.n_squared.len() => {
                return invalid("messages must have the width of n²");
            }
            MessageForm::SlotBits
                if self.messages.limbs_per_item() * 2 > self.n_squared.len()
                    || self.message_bits > 128 * self.messages.limbs_per_item() =>
            {
                return invalid("slot bits must fit half of n²'s width and hold message_bits");
            }
            _ => {}
        }
        if self.noise_exponents.values.len() != self.messages.len() {
            return invalid("one noise exponent per message");
        }
        if let Residues::PrimeSquares { p, q, .. } = self.residues {
            if p.modulus.len() != q.modulus.len() || p.g.is_none() != q.g.is_none() {
                return invalid("the p² and q² shares must have the same shape");
            }
        }
        for share in self.shares() {
            super::check_fixed_base_operands(share.modulus, share.noise, self.noise_exponents)?;
            if let Some(g) = share.g {
                if self.message_bits > g.exponent_bits() {
                    return invalid("messages wider than the table of g");
                }
            }
        }
        Ok(())
    }

    /// Runs `run` on this job with its messages as values: itself, or a copy whose slot bits
    /// are spread (wiped after), for the implementations that do not read slot bits.
    pub(crate) fn with_values<R>(
        &self,
        run: impl FnOnce(&EncryptionJob<'_>) -> Result<R>,
    ) -> Result<R> {
        match self.message_form {
            MessageForm::Value => run(self),
            MessageForm::SlotBits => {
                let values = spread_messages(self.messages, self.n_squared.len())?;
                run(&EncryptionJob {
                    messages: &values,
                    message_form: MessageForm::Value,
                    ..*self
                })
            }
        }
    }

    /// The messages as exponents of `g` (the lookup scheme); values only.
    pub(crate) fn message_exponents(&self) -> Exponents {
        Exponents {
            values: self.messages.clone(),
            bits: self.message_bits,
            secrecy: Secrecy::Secret,
        }
    }

    /// The job on item `i` alone (for spot checks).
    pub(crate) fn one_item<R>(&self, i: usize, run: impl FnOnce(&EncryptionJob<'_>) -> R) -> R {
        let mut messages = LimbBatch::single(self.messages.item(i).to_vec());
        let mut exponents = Exponents {
            values: LimbBatch::single(self.noise_exponents.values.item(i).to_vec()),
            bits: self.noise_exponents.bits,
            secrecy: self.noise_exponents.secrecy,
        };
        let result = run(&EncryptionJob {
            messages: &messages,
            noise_exponents: &exponents,
            ..*self
        });
        messages.wipe();
        exponents.values.wipe();
        result
    }
}

/// Garner's recombination of a value known modulo p² and q² into its value modulo n²:
/// `c = c_q + q²·t` with `t = (c_p − c_q)·(q²)⁻¹ mod p²`. Secret: wiped on drop.
pub struct Garner {
    /// `(q²)⁻¹ mod p²` in Montgomery form.
    q_squared_inverse: Montgomery,
    /// q² as limbs of p²'s width.
    q_squared: Vec<u64>,
}

impl std::fmt::Debug for Garner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Garner(<redacted>)")
    }
}

impl Drop for Garner {
    fn drop(&mut self) {
        self.q_squared.zeroize();
    }
}

impl Garner {
    /// The constants for p² and q² of the same limb count.
    pub fn new(p_squared: &MontgomeryModulus, q_squared: &MontgomeryModulus) -> Result<Self> {
        if p_squared.len() != q_squared.len() {
            return Err(Error::InvalidParameter(
                "p² and q² must have the same number of limbs".into(),
            ));
        }
        let mut q_sq = q_squared.modulus();
        let mut inverse = q_sq
            .modinv(&p_squared.modulus())
            .ok_or_else(|| Error::InvalidParameter("p and q are not coprime".into()))?;
        let garner = Self {
            q_squared_inverse: p_squared.to_montgomery(&p_squared.limbs_of(&inverse)?),
            q_squared: limbs_from_biguint(&q_sq, p_squared.len())?,
        };
        wipe_biguint(&mut inverse);
        wipe_biguint(&mut q_sq);
        Ok(garner)
    }

    /// `(q²)⁻¹·R mod p²`.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn q_squared_inverse(&self) -> &[u64] {
        self.q_squared_inverse.as_limbs()
    }

    /// q² in limbs of p²'s width.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn q_squared(&self) -> &[u64] {
        &self.q_squared
    }

    /// `c mod n²` into `out` (n²'s width) from `c_p = c mod p²` and `c_q = c mod q²`.
    /// Straight-line limb arithmetic, no branch on the values.
    pub fn recombine(
        &self,
        p_squared: &MontgomeryModulus,
        c_p: &[u64],
        c_q: &[u64],
        out: &mut [u64],
    ) {
        let len = p_squared.len();
        let mut t_p = vec![0u64; len];
        let mut t_q = vec![0u64; len];
        let mut t = vec![0u64; len];
        // mul_into(x, y) = x·y·R⁻¹ and y = (q²)⁻¹·R, so these are c_p·(q²)⁻¹ and c_q·(q²)⁻¹
        // mod p². c_q may exceed p², but it is below R, which is all the reduction needs.
        p_squared.mul_into(c_p, self.q_squared_inverse.as_limbs(), &mut t_p);
        p_squared.mul_into(c_q, self.q_squared_inverse.as_limbs(), &mut t_q);
        p_squared.sub_into(&t_p, &t_q, &mut t);
        let mut wide = vec![0u64; 2 * len];
        mul_wide(&self.q_squared, &t, &mut wide);
        let mut carry = 0u64;
        for (i, w) in wide.iter_mut().enumerate() {
            let addend = c_q.get(i).copied().unwrap_or(0);
            let v = *w as u128 + addend as u128 + carry as u128;
            *w = v as u64;
            carry = (v >> 64) as u64;
        }
        // c < n², so the limbs beyond n²'s width are zero.
        let width = out.len().min(wide.len());
        out[..width].copy_from_slice(&wide[..width]);
        for buffer in [&mut t_p, &mut t_q, &mut t, &mut wide] {
            buffer.zeroize();
        }
    }
}
