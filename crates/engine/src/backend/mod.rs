//! Compute backends: batched operations as values ([`Operation`]), the trait that runs them
//! ([`Backend`]), the two engines that implement it ([`cpu`], and `gpu` with the `gpu` feature),
//! and the policies composed over any operation ([`RoutingBackend`], [`VerifyingBackend`],
//! [`FallbackBackend`]).
//!
//! Every operation works on batches of plain little-endian limb arrays ([`LimbBatch`]), in normal
//! (not Montgomery) form, reduced below the modulus. The layers above (the
//! scheme, the search) express their work as these batched operations and never see how a backend runs them.

mod chunk_count;
pub mod cpu;
mod crt_decryption;
mod crt_key;
pub mod encryption;
mod fallback;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod message_form;
pub mod multi_exp;
pub mod noise;
mod one_prime;
pub mod operation;
pub mod pipeline;
mod spot_check;

mod batch;
mod checks;
mod device;
mod resident_batch;
mod routing;
mod verifying;

pub use batch::{Exponents, LimbBatch, Secrecy};
pub(crate) use checks::{check_crt_operands, check_fixed_base_operands, check_operands};
pub use chunk_count::{count_or_defect, ChunkCount, Defects, DEFECT_TAG};
pub(crate) use crt_decryption::check_decrypt_operands;
pub use crt_key::CrtKey;
pub use device::{backend_for, encryption_batch, Device};
pub use encryption::{EncryptionJob, Garner, ResidueTables, Residues};
pub use fallback::FallbackBackend;
pub use message_form::{MessageForm, Messages};
pub use operation::{Operation, Output};
pub use pipeline::{pipeline_totals, PipelineTotals};
pub use resident_batch::{DeviceBatch, ResidentBatch};
pub use routing::RoutingBackend;
pub use verifying::VerifyingBackend;

use std::fmt;
use std::ops::Range;

use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::Result;

/// The batched big-integer operations of Paillier encryption, aggregation and decoding.
///
/// An engine implements [`run`](Self::run) over every [`Operation`] (and
/// [`run_into`](Self::run_into) where it can write into the caller's memory); the typed methods
/// below build the operation and unwrap its [`Output`]. Inputs and outputs are in normal form
/// and reduced below the modulus. Operand batches are broadcast cyclically: item `i` of the
/// output uses operand item `i % operand.len()`, so a one-item operand is shared by the whole
/// batch and a full-length one is per item.
pub trait Backend: Send + Sync + fmt::Debug {
    /// The device this backend runs on.
    fn device(&self) -> Device;

    /// Runs one operation.
    fn run(&self, operation: &Operation<'_>) -> Result<Output>;

    /// Runs a limb-valued operation into `out` (its flat limbs, the result's exact length), so
    /// that a caller gathers no copy: a GPU reads its results straight into `out`. The default
    /// copies.
    fn run_into(&self, operation: &Operation<'_>, out: &mut [u64]) -> Result<()> {
        self.run(operation)?.copy_into(out)
    }

    /// Appends `items` to a resident batch: to its host copy and, on a backend with memory of
    /// its own (a GPU), to a copy kept there, made from the host copy when there is none. The
    /// default (the CPU) keeps the host copy only.
    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        batch.forget_device_copy();
        batch.append_host(items)
    }

    /// True when this backend runs a batch of `items` on the CPU itself (a GPU below its
    /// smallest worthwhile batch, or one that has fallen back): [`VerifyingBackend`] does not
    /// check such batches.
    fn runs_on_cpu(&self, items: usize) -> bool {
        let _ = items;
        self.device() == Device::Cpu
    }

    /// `out[i] = bases[i] ^ exponents[i % k] mod m`.
    fn modexp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        self.run(&Operation::Modexp(operation::Modexp {
            modulus,
            bases,
            exponents,
        }))?
        .into_limbs()
    }

    /// `out[i] = a[i] · b[i % k] mod m`.
    fn modmul(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.run(&Operation::Modmul(operation::Modmul { modulus, a, b }))?
            .into_limbs()
    }

    /// `out[i] = g ^ exponents[i] mod m` from a fixed-base table of `g`, in constant time over
    /// `exponents.bits` bits (the exponents are plaintexts or noise: always treated as secret).
    fn fixed_base_pow(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        self.run(&Operation::FixedBasePow(operation::FixedBasePow {
            modulus,
            table,
            exponents,
        }))?
        .into_limbs()
    }

    /// CRT decryption and Hamming decoding in one call, so that only distances leave the device:
    /// `x_p = bases_p[i] ^ e_p mod p²`, `x_q` likewise, `m_p = ((x_p − 1)/p)·h_p mod p`, `m_q`
    /// likewise, `m = m_q + q·((m_p − m_q)·q⁻¹ mod p)`, and `out[i] = popcount(m & masks[i % k])`
    /// — or, when a response check fails (`x_p ≢ 1 mod p`, a bit above the slots, a slot
    /// holding 3), the [`Defects`] it failed.
    fn crt_decode(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<ChunkCount>> {
        self.run(&Operation::CrtDecode(operation::CrtDecode {
            key,
            bases_p,
            bases_q,
            masks,
        }))?
        .into_counts()
    }

    /// CRT decryption to whole plaintexts, for numbers (whose plaintexts span all of n):
    /// `x_p = bases_p[i] ^ e_p mod p²`, `x_q` likewise, recombined as in
    /// [`crt_decode`](Self::crt_decode) into `out[i] = m < n` ([`CrtKey::plaintext_limbs`]
    /// limbs). A share whose power is not 1 modulo its prime (no ciphertext coprime to n gives
    /// one) counts as 0 on every backend, so that backends agree on any input.
    fn crt_decrypt(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.run(&Operation::CrtDecrypt(operation::CrtDecrypt {
            key,
            bases_p,
            bases_q,
            one_prime: false,
        }))?
        .into_limbs()
    }

    /// Decryption modulo the larger prime alone, for plaintexts known to lie below it: half
    /// [`crt_decrypt`](Self::crt_decrypt)'s work, `out[i] = m mod p` (n's width, zero above p's)
    /// from `x_p = bases_p[i] ^ e_p mod p²`; 0 where `x_p ≢ 1 (mod p)`.
    fn crt_decrypt_one_prime(&self, key: &CrtKey, bases_p: &LimbBatch) -> Result<LimbBatch> {
        let no_bases = LimbBatch::new(key.q_squared().len());
        self.run(&Operation::CrtDecrypt(operation::CrtDecrypt {
            key,
            bases_p,
            bases_q: &no_bases,
            one_prime: true,
        }))?
        .into_limbs()
    }

    /// Products of powers over shared bases (the linear layer's work): for `samples` groups of
    /// `per_row` bases and `rows` rows of `per_row` PUBLIC exponents,
    /// `out[s·rows + j] = Π_i bases[s·per_row + i] ^ exponents[j·per_row + i] mod m`.
    /// The CPU and the GPU share squarings and tables (Straus: per sample, `2^(w−1)` products
    /// per base for its odd powers, and per row `b` squarings and about `per_row·b/(w+1)`
    /// products for `b`-bit exponents).
    fn multi_exp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
        per_row: usize,
    ) -> Result<LimbBatch> {
        self.run(&Operation::MultiExp(operation::MultiExp {
            modulus,
            bases,
            exponents,
            per_row,
        }))?
        .into_limbs()
    }

    /// Encrypts a batch: `out[i] = g^m_i · base^x_i mod n²` (see [`EncryptionJob`]). A GPU runs
    /// the whole job in one submission and returns only ciphertexts.
    fn encrypt(&self, job: &EncryptionJob<'_>) -> Result<LimbBatch> {
        self.run(&Operation::Encrypt(job))?.into_limbs()
    }

    /// [`encrypt`](Self::encrypt) into `out` (the flat limbs of the job's ciphertexts, n²'s
    /// width each), so that a caller that encrypts a large batch piece by piece gathers no
    /// copy.
    fn encrypt_into(&self, job: &EncryptionJob<'_>, out: &mut [u64]) -> Result<()> {
        self.run_into(&Operation::Encrypt(job), out)
    }

    /// `out[i] = item[range.start + i] · b[i % k] mod m` over a resident batch's items, from
    /// the device copy where this backend has one (only `b` then travels).
    fn modmul_resident(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.run(&Operation::ModmulResident(operation::ModmulResident {
            modulus,
            batch,
            range,
            b,
        }))?
        .into_limbs()
    }

    /// [`modmul_resident`](Self::modmul_resident) into `out`, `range.len()` items of the
    /// modulus's width: a search backend that answers query after query reuses one output
    /// (no fresh pages per query), and a GPU reads the products straight into it.
    fn modmul_resident_into(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
        out: &mut [u64],
    ) -> Result<()> {
        self.run_into(
            &Operation::ModmulResident(operation::ModmulResident {
                modulus,
                batch,
                range,
                b,
            }),
            out,
        )
    }
}
