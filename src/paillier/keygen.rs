//! Key generation for both schemes.

use num_bigint::{BigUint, RandBigInt};
use num_integer::Integer;
use num_traits::One;

use super::{l_function, PublicKey, Scheme, SecretKey, KEY_LEN_RANGE};
use crate::error::{Error, Result};

/// Smallest `key_len` (bits per prime) a new context gets without the insecure switch.
pub const MIN_SECURE_KEY_LEN: usize = 1024;

/// Smallest `alpha_len` a new lookup context gets without the insecure switch.
///
/// The noise subgroup's order `a` is the product of two primes of `alpha_len / 2` bits, one per
/// factor of n. The attack of Coron, Joux, Mandal, Naccache and Tibouchi (PKC 2011) on the RSA
/// subgroup assumption factors n in about `2^(ℓ/2)` operations for ℓ-bit subgroup primes, so
/// 128-bit security needs ℓ = 256, that is `alpha_len` 512. (With the SDK's default of 50 the
/// secret key falls to a baby-step giant-step search in minutes.)
pub const MIN_SECURE_ALPHA_LEN: usize = 512;

/// Estimated work, as a power of two, to recover the secret key of a lookup context from its
/// public key: the subgroup attack above, `2^(alpha_len / 4)`.
pub fn lookup_attack_work_bits(alpha_len: usize) -> usize {
    alpha_len / 4
}

/// Options for [`generate_keypair`].
#[derive(Clone, Debug)]
pub struct KeyGenOptions {
    /// Bits of the lookup scheme's noise subgroup order `a` (ignored by the classic scheme).
    pub alpha_len: usize,
    /// Permit `key_len < 1024` and `alpha_len < 512`. For tests and experiments only.
    pub allow_insecure: bool,
}

impl Default for KeyGenOptions {
    fn default() -> Self {
        Self {
            alpha_len: MIN_SECURE_ALPHA_LEN,
            allow_insecure: false,
        }
    }
}

impl KeyGenOptions {
    /// Small, fast, INSECURE parameters allowed: for tests only.
    pub fn insecure_for_tests() -> Self {
        Self {
            alpha_len: 64,
            allow_insecure: true,
        }
    }
}

/// Generates a key pair: `key_len` bits for each prime, so `n` has `2·key_len` bits.
pub fn generate_keypair(
    scheme: Scheme,
    key_len: usize,
    options: &KeyGenOptions,
) -> Result<(PublicKey, SecretKey)> {
    check_parameters(scheme, key_len, options)?;
    let (pk, sk) = match scheme {
        Scheme::Paillier => generate_paillier(key_len)?,
        Scheme::PaillierLookup => generate_lookup(key_len, options.alpha_len)?,
    };
    let pk = if options.allow_insecure {
        pk.with_insecure_parameters_allowed()
    } else {
        pk
    };
    Ok((pk, sk))
}

fn check_parameters(scheme: Scheme, key_len: usize, options: &KeyGenOptions) -> Result<()> {
    if !KEY_LEN_RANGE.contains(&key_len) || !key_len.is_multiple_of(8) {
        return Err(Error::InvalidParameter(format!(
            "key_len {key_len} must be a multiple of 8 in {}..={}",
            KEY_LEN_RANGE.start(),
            KEY_LEN_RANGE.end()
        )));
    }
    if key_len < MIN_SECURE_KEY_LEN && !options.allow_insecure {
        return Err(Error::InsecureParameters(format!(
            "key_len {key_len} is below {MIN_SECURE_KEY_LEN}; allow insecure parameters explicitly for tests"
        )));
    }
    if scheme == Scheme::PaillierLookup {
        let alpha = options.alpha_len;
        if alpha < 32 || alpha >= key_len {
            return Err(Error::InvalidParameter(format!(
                "alpha_len {alpha} must be in 32..{key_len}"
            )));
        }
        if alpha < MIN_SECURE_ALPHA_LEN && !options.allow_insecure {
            return Err(Error::InsecureParameters(format!(
                "alpha_len {alpha} is below {MIN_SECURE_ALPHA_LEN}: the secret key of such a lookup \
                 context can be recovered from its public key in about 2^{} operations",
                lookup_attack_work_bits(alpha)
            )));
        }
    }
    Ok(())
}

/// Baillie–PSW (a strong probable-prime test to base 2 and a strong Lucas test, which no known
/// composite passes together) plus one strong test to a random base, from `num-prime`.
pub fn is_probable_prime(candidate: &BigUint) -> bool {
    num_prime::nt_funcs::is_prime(candidate, Some(num_prime::PrimalityTestConfig::strict()))
        .probably()
}

/// A random prime of exactly `bits` bits.
fn random_prime(bits: usize) -> BigUint {
    let rng = &mut rand::thread_rng();
    loop {
        let mut candidate = rng.gen_biguint(bits as u64);
        candidate.set_bit(bits as u64 - 1, true);
        candidate.set_bit(0, true);
        if is_probable_prime(&candidate) {
            return candidate;
        }
    }
}

fn generate_paillier(key_len: usize) -> Result<(PublicKey, SecretKey)> {
    loop {
        let p = random_prime(key_len);
        let q = random_prime(key_len);
        let n = &p * &q;
        if p == q || n.bits() as usize != 2 * key_len {
            continue;
        }
        let phi = (&p - 1u32) * (&q - 1u32);
        let Some(inv) = phi.modinv(&n) else { continue };
        let pk = PublicKey::paillier(key_len, n)?;
        let sk = SecretKey::paillier(&pk, phi, inv)?;
        return Ok((pk, sk));
    }
}

/// A prime `p = k·q + 1` of exactly `p_bits` bits for a prime `q` of `q_bits` bits, and an
/// element of order `q` modulo `p` (DSA-style parameters).
fn dsa_style_group(p_bits: usize, q_bits: usize) -> (BigUint, BigUint, BigUint) {
    let mut rng = rand::thread_rng();
    let q = random_prime(q_bits);
    let low = (BigUint::one() << (p_bits - 1)) / &q;
    let high = ((BigUint::one() << p_bits) - 1u32) / &q;
    let p = loop {
        let mut k = rng.gen_biguint_range(&low, &(&high + 1u32));
        k.set_bit(0, false); // even k makes p odd
        let p = &k * &q + 1u32;
        if p.bits() as usize == p_bits && is_probable_prime(&p) {
            break p;
        }
    };
    let cofactor = (&p - 1u32) / &q;
    let generator = loop {
        let h = rng.gen_biguint_range(&BigUint::from(2u32), &(&p - 1u32));
        let g = h.modpow(&cofactor, &p);
        if !g.is_one() {
            break g;
        }
    };
    (p, q, generator)
}

fn generate_lookup(key_len: usize, alpha_len: usize) -> Result<(PublicKey, SecretKey)> {
    let q_bits_1 = alpha_len / 2;
    let q_bits_2 = alpha_len - q_bits_1;
    loop {
        let (p, q1, g1) = dsa_style_group(key_len, q_bits_1);
        let (q, q2, g2) = dsa_style_group(key_len, q_bits_2);
        let n = &p * &q;
        // Like the classic scheme, insist on an n of exactly 2·key_len bits.
        if p == q || q1 == q2 || n.bits() as usize != 2 * key_len {
            continue;
        }
        let n_squared = &n * &n;
        let (p_sq, q_sq) = (&p * &p, &q * &q);
        // Multiplying by (1 + p) adds an order-p component: g1·(1+p) has order q1·p mod p².
        let lift_p = (&g1 * (&p + 1u32)) % &p_sq;
        let lift_q = (&g2 * (&q + 1u32)) % &q_sq;
        let Some(p_sq_inv) = p_sq.modinv(&q_sq) else {
            continue;
        };
        let t = ((&lift_q + &q_sq - (&lift_p % &q_sq)) * p_sq_inv) % &q_sq;
        let g = &lift_p + &p_sq * t;
        let a = q1.lcm(&q2);
        // Public exponent n first; the secret a only through the constant-time exponentiation.
        let g_n = g.modpow(&n, &n_squared);
        if g_n.is_one() {
            continue;
        }
        let phi = (&p - 1u32) * (&q - 1u32);
        let pk = PublicKey::paillier_lookup(key_len, alpha_len, n.clone(), g, g_n.clone())?;
        let modulus = pk.n_squared_modulus();
        // g^(n·a) = (g^n)^a must vanish: a is the order of the noise subgroup.
        if !modulus.pow_secret_biguint(&g_n, &a, alpha_len)?.is_one() {
            continue;
        }
        let g_a = modulus.pow_secret_biguint(pk.g(), &a, alpha_len)?;
        let Some(g_a_inv) = l_function(&g_a, &n).modinv(&n) else {
            continue;
        };
        let sk = SecretKey::paillier_lookup(&pk, phi, a, g_a_inv)?;
        return Ok((pk, sk));
    }
}
