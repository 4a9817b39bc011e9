//! Encryption fused on the device: per chunk, one submission computes the noise, multiplies in
//! `g^m` (the lookup scheme's table, or the classic scheme's `1 + m·n`) in the noise's finishing
//! product, and for the key's owner recombines the p² and q² shares (Garner), so that only
//! ciphertexts come back and the host does no per-item big-integer work.
//!
//! Passes per chunk, each over every item:
//! * n², classic: noise finished by `× (1 + m·n)` → ciphertexts;
//! * n², lookup: noise → scratch; `g^m` finished by `× noise` → ciphertexts;
//! * p² and q²: the same per prime into two scratch buffers, then the recombination.
//!
//! Where the job gives each share's square root (n, p, q) the passes run on two digits modulo
//! it (`two_digit_fixed_base.rs`, about 0.6× the multiply-adds); else, or with the option off,
//! on the wide numbers (`fixed_base.rs`). Both give the same ciphertexts.

use super::fixed_base::{fixed_base_pass, table_buffer, ExponentWords, Finish};
use super::two_digit_fixed_base::{
    digit_share, two_digit_fixed_base_pass, DigitFinish, DigitShare, DigitStart,
};
use super::Gpu;
use crate::backend::encryption::copy_ciphertexts;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::params::{one_dispatch, Params};
use crate::backend::gpu::codegen::words::{gpu_words, Words};
use crate::backend::gpu::runtime::dispatch::{Operand, Pass, Source};
use crate::backend::gpu::runtime::options::LimbPath;
use crate::backend::{EncryptionJob, Garner, LimbBatch, MessageForm, ResidueTables, Residues};
use crate::bigint::MontgomeryModulus;
use crate::error::Result;

/// Scratch slots (after those of modexp and decoding): the noise, and the two prime shares.
const NOISE_SLOT: usize = 4;
const C_P_SLOT: usize = 5;
const C_Q_SLOT: usize = 6;

/// The device buffers of one share: wide (Montgomery form modulo the share's modulus) or on
/// digits modulo its root (`two_digit_fixed_base.rs`).
enum ShareBuffers<'k> {
    Wide {
        consts: wgpu::Buffer,
        noise: std::sync::Arc<wgpu::Buffer>,
        g: Option<std::sync::Arc<wgpu::Buffer>>,
    },
    Digits(DigitShare<'k>),
}

/// The host words every pass reads: noise exponents, messages as exponents (lookup), messages
/// as limbs or slot bits (classic). Secrets: borrowed from batches their owners wipe, or wiped
/// copies.
struct JobWords<'a> {
    noise: Words<'a>,
    noise_per_item: usize,
    messages: Words<'a>,
    messages_per_item: usize,
    slot_bits: bool,
}

/// modulus | R² | R | n·R mod modulus, wiped on the host once uploaded (p² is secret).
fn encryption_consts_buffer(
    gpu: &Gpu<'_>,
    modulus: &MontgomeryModulus,
    n: &num_bigint::BigUint,
) -> Result<wgpu::Buffer> {
    let mut limbs = modulus.modulus_limbs().to_vec();
    limbs.extend_from_slice(modulus.r_squared());
    limbs.extend_from_slice(modulus.one());
    let n_reduced = modulus.limbs_of(&(n % modulus.modulus()))?;
    limbs.extend_from_slice(modulus.to_montgomery(&n_reduced).as_limbs());
    let buffer = gpu.constants_buffer(&limbs);
    zeroize::Zeroize::zeroize(&mut limbs);
    buffer
}

/// p² | q² | (q²)⁻¹·R mod p², wiped on the host once uploaded.
fn recombine_consts_buffer(
    gpu: &Gpu<'_>,
    p_squared: &MontgomeryModulus,
    garner: &Garner,
) -> Result<wgpu::Buffer> {
    let mut limbs = p_squared.modulus_limbs().to_vec();
    limbs.extend_from_slice(garner.q_squared());
    limbs.extend_from_slice(garner.q_squared_inverse());
    let buffer = gpu.constants_buffer(&limbs);
    zeroize::Zeroize::zeroize(&mut limbs);
    buffer
}

fn share_buffers<'k>(
    gpu: &Gpu<'_>,
    job: &EncryptionJob<'_>,
    share: &ResidueTables<'k>,
) -> Result<ShareBuffers<'k>> {
    if let Some(digits) = digit_share(gpu, share, job.n, job.messages.len())? {
        return Ok(ShareBuffers::Digits(digits));
    }
    Ok(ShareBuffers::Wide {
        consts: encryption_consts_buffer(gpu, share.modulus, job.n)?,
        noise: table_buffer(gpu, share.noise)?,
        g: share.g.map(|g| table_buffer(gpu, g)).transpose()?,
    })
}

/// The passes of one share, ending in `output`.
fn share_passes<'a>(
    gpu: &Gpu<'_>,
    job: &EncryptionJob<'_>,
    share: &ResidueTables<'_>,
    buffers: &'a ShareBuffers,
    words: &'a JobWords,
    output: Source<'a>,
) -> Vec<Pass<'a>> {
    let s = gpu.shapes.gpu_limbs(share.modulus);
    let noise_exponents = ExponentWords {
        words: &words.noise,
        per_item: words.noise_per_item,
        bits: job.noise_exponents.bits,
    };
    let message_exponents = ExponentWords {
        words: &words.messages,
        per_item: words.messages_per_item,
        bits: job.message_bits,
    };
    let noise_scratch = || Source::Scratch {
        slot: NOISE_SLOT,
        item_words: s,
    };
    let classic_messages = || Source::PerItem {
        words: &words.messages,
        item_words: words.messages_per_item,
    };
    match (buffers, share.g) {
        (
            ShareBuffers::Digits(
                digits @ DigitShare {
                    g: Some(g_buffer), ..
                },
            ),
            Some(g_table),
        ) => {
            // The noise's digits, then g^m started from them and left as a residue.
            let noise = two_digit_fixed_base_pass(
                gpu,
                digits,
                share.noise,
                &digits.noise,
                noise_exponents,
                DigitStart::One,
                DigitFinish::Digits,
                noise_scratch(),
            );
            let g_m = two_digit_fixed_base_pass(
                gpu,
                digits,
                g_table,
                g_buffer,
                message_exponents,
                DigitStart::Digits(noise_scratch()),
                DigitFinish::Residue,
                output,
            );
            vec![noise, g_m]
        }
        (ShareBuffers::Digits(digits), _) => vec![two_digit_fixed_base_pass(
            gpu,
            digits,
            share.noise,
            &digits.noise,
            noise_exponents,
            DigitStart::One,
            DigitFinish::TimesOnePlusMN {
                messages: classic_messages(),
                item_limbs: words.messages_per_item,
                slot_bits: words.slot_bits,
            },
            output,
        )],
        (
            ShareBuffers::Wide {
                consts,
                noise,
                g: Some(g_buffer),
            },
            Some(g_table),
        ) => {
            let noise = fixed_base_pass(
                gpu,
                share.modulus,
                share.noise,
                consts,
                noise,
                noise_exponents,
                Finish::Plain,
                noise_scratch(),
            );
            let g_m = fixed_base_pass(
                gpu,
                share.modulus,
                g_table,
                consts,
                g_buffer,
                message_exponents,
                Finish::Times {
                    factors: noise_scratch(),
                    item_limbs: s,
                },
                output,
            );
            vec![noise, g_m]
        }
        (ShareBuffers::Wide { consts, noise, .. }, _) => vec![fixed_base_pass(
            gpu,
            share.modulus,
            share.noise,
            consts,
            noise,
            noise_exponents,
            Finish::TimesOnePlusMN {
                messages: classic_messages(),
                item_limbs: words.messages_per_item,
                slot_bits: words.slot_bits,
            },
            output,
        )],
    }
}

pub(in crate::backend::gpu) fn encrypt_on_device(
    gpu: &Gpu<'_>,
    job: &EncryptionJob<'_>,
) -> Result<LimbBatch> {
    let words = with_encryption_passes(gpu, job, |passes, count| gpu.runtime.run(passes, count))?;
    gpu.shapes.batch_of(words, job.n_squared.len())
}

/// [`encrypt_on_device`] into `out`: with 32-bit GPU limbs on a
/// little-endian host the result words are the u64 limbs' bytes, read back in place.
pub(in crate::backend::gpu) fn encrypt_on_device_into(
    gpu: &Gpu<'_>,
    job: &EncryptionJob<'_>,
    out: &mut [u64],
) -> Result<()> {
    if gpu.shapes.limb_path != LimbPath::Bits32 || cfg!(target_endian = "big") {
        return copy_ciphertexts(&encrypt_on_device(gpu, job)?, out);
    }
    if out.len() != job.messages.len() * job.n_squared.len() {
        return Err(crate::error::Error::InvalidParameter(format!(
            "an output of {} limbs for {} ciphertexts of {}",
            out.len(),
            job.messages.len(),
            job.n_squared.len()
        )));
    }
    with_encryption_passes(gpu, job, |passes, count| {
        gpu.runtime
            .run_into(passes, count, bytemuck::cast_slice_mut(out))
    })
}

/// Builds the job's passes (and the buffers they bind) and hands them to `run`.
fn with_encryption_passes<R>(
    gpu: &Gpu<'_>,
    job: &EncryptionJob<'_>,
    run: impl FnOnce(&[Pass<'_>], usize) -> Result<R>,
) -> Result<R> {
    let count = job.messages.len();
    job.check()?;
    gpu.runtime.check_health()?;
    let slot_bits = job.message_form == MessageForm::SlotBits;
    if slot_bits && !job.classic() {
        // The lookup scheme reads messages as exponents of g: spread on the host.
        return job.with_values(|job| with_encryption_passes(gpu, job, run));
    }
    let width = gpu.shapes.gpu_limbs(job.n_squared);
    // Exponent words for the lookup scheme's g^m; GPU limbs (or slot-bit words) for the
    // classic 1 + m·n.
    let (messages, messages_per_item) = if slot_bits {
        (
            gpu_words(job.messages.as_flat(), LimbPath::Bits32),
            job.messages.limbs_per_item() * 2,
        )
    } else if job.classic() {
        (gpu.shapes.words_of(job.messages), width)
    } else {
        (
            gpu_words(job.messages.as_flat(), LimbPath::Bits32),
            job.messages.limbs_per_item() * 2,
        )
    };
    let words = JobWords {
        noise: gpu_words(job.noise_exponents.values.as_flat(), LimbPath::Bits32),
        noise_per_item: job.noise_exponents.values.limbs_per_item() * 2,
        messages,
        messages_per_item,
        slot_bits,
    };
    let output = Source::Output { item_words: width };
    match job.residues {
        Residues::NSquared(share) => {
            let buffers = share_buffers(gpu, job, &share)?;
            let passes = share_passes(gpu, job, &share, &buffers, &words, output);
            run(&passes, count)
        }
        Residues::PrimeSquares { p, q, garner } => {
            let s = gpu.shapes.gpu_limbs(p.modulus);
            let (p_buffers, q_buffers) =
                (share_buffers(gpu, job, &p)?, share_buffers(gpu, job, &q)?);
            let scratch = |slot| Source::Scratch {
                slot,
                item_words: s,
            };
            let mut passes = share_passes(gpu, job, &p, &p_buffers, &words, scratch(C_P_SLOT));
            passes.extend(share_passes(
                gpu,
                job,
                &q,
                &q_buffers,
                &words,
                scratch(C_Q_SLOT),
            ));
            let consts = recombine_consts_buffer(gpu, p.modulus, garner)?;
            passes.push(Pass {
                kernel: Kernel::Recombine,
                shape: gpu.shapes.shape(s),
                params: Params {
                    m0_inv: gpu.shapes.m0_inv(p.modulus),
                    out_limbs: width as u32,
                    ..Params::default()
                },
                program: one_dispatch(),
                bindings: vec![
                    (0, Source::Kept(&consts)),
                    (2, scratch(C_P_SLOT)),
                    (4, output),
                    (6, scratch(C_Q_SLOT)),
                ],
                first: None,
                operand: Operand::PerChunk,
            });
            run(&passes, count)
        }
    }
}
