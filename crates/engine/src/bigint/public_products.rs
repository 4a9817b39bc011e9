//! Chains of products of PUBLIC values that enter and leave in normal form (Montgomery's
//! inversion trick over ciphertexts), on the fastest engine the modulus has: the IFMA engine's
//! 52-bit form where the CPU has AVX-512 IFMA (about 1.1 µs a product at 4096 bits), else the
//! portable Montgomery form (about 4 µs). Variable time: for public values only.

use num_bigint::BigUint;

use super::ifma::{to_radix52, Ifma52};
use super::montgomery::MontgomeryModulus;
use super::{limbs_from_biguint, Montgomery};
use crate::error::Result;

/// Products modulo a [`MontgomeryModulus`] in an engine's own form. A *form* is what
/// [`enter`](Self::enter) and [`mul`](Self::mul) return; [`times`](Self::times) takes a value
/// out of it.
pub struct PublicProducts<'m> {
    modulus: &'m MontgomeryModulus,
    /// The IFMA engine and `R52² mod m` in its radix, which takes normal values into its form.
    ifma: Option<(&'m Ifma52, Vec<u64>)>,
}

impl<'m> PublicProducts<'m> {
    /// The fastest engine for `modulus`.
    pub fn new(modulus: &'m MontgomeryModulus) -> Result<Self> {
        let ifma = match modulus.ifma() {
            Some(engine) => {
                let r52 = BigUint::from(1u32) << (52 * engine.limbs());
                let square = limbs_from_biguint(&(&r52 * &r52 % modulus.modulus()), modulus.len())?;
                let mut radix52 = vec![0u64; engine.limbs()];
                to_radix52(&square, &mut radix52);
                Some((engine, radix52))
            }
            None => None,
        };
        Ok(Self { modulus, ifma })
    }

    /// The modulus.
    pub fn modulus(&self) -> &'m MontgomeryModulus {
        self.modulus
    }

    /// The form of `x < m` (normal form, the modulus's width).
    pub fn enter(&self, x: &[u64]) -> Vec<u64> {
        match &self.ifma {
            Some((engine, r52_squared)) => {
                let mut x52 = vec![0u64; engine.limbs()];
                to_radix52(x, &mut x52);
                let mut out = vec![0u64; engine.limbs()];
                engine.mul(&x52, r52_squared, &mut out);
                out
            }
            None => self.modulus.to_montgomery(x).as_limbs().to_vec(),
        }
    }

    /// The form of `a·b`, from the forms of `a` and `b`.
    pub fn mul(&self, a: &[u64], b: &[u64]) -> Vec<u64> {
        match &self.ifma {
            Some((engine, _)) => {
                let mut out = vec![0u64; engine.limbs()];
                engine.mul(a, b, &mut out);
                out
            }
            None => self.modulus.mul_raw(a, b),
        }
    }

    /// `out = x·v mod m` in normal form, fully reduced, for `x < m` in normal form and `v`'s
    /// form `form`: one product.
    pub fn times(&self, x: &[u64], form: &[u64], out: &mut [u64]) {
        match &self.ifma {
            Some((engine, _)) => engine.mul_plain(x, form, out),
            None => out.copy_from_slice(
                &self
                    .modulus
                    .mul_mixed(&Montgomery::from_raw(form.to_vec()), x),
            ),
        }
    }

    /// The value of `form`, in normal form.
    pub fn value(&self, form: &[u64]) -> Vec<u64> {
        let mut one = vec![0u64; self.modulus.len()];
        one[0] = 1;
        let mut out = vec![0u64; self.modulus.len()];
        self.times(&one, form, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bigint::Engine;
    use num_bigint::RandBigInt;
    use rand::SeedableRng;

    #[test]
    fn products_on_every_engine_equal_num_bigint() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for bits in [64u64, 1000, 2048, 4096] {
            let m =
                rng.gen_biguint(bits) | BigUint::from(1u32) | (BigUint::from(1u32) << (bits - 1));
            for engine in [Engine::Portable, Engine::Ifma52] {
                let Ok(modulus) = MontgomeryModulus::with_engine(&m, engine) else {
                    continue; // this CPU has no IFMA
                };
                let products = PublicProducts::new(&modulus).unwrap();
                let (a, b, c) = (
                    rng.gen_biguint_below(&m),
                    rng.gen_biguint_below(&m),
                    rng.gen_biguint_below(&m),
                );
                let limbs = |x: &BigUint| modulus.limbs_of(x).unwrap();
                let ab = products.mul(&products.enter(&limbs(&a)), &products.enter(&limbs(&b)));
                assert_eq!(modulus.biguint_of(&products.value(&ab)), &a * &b % &m);
                let mut out = vec![0u64; modulus.len()];
                products.times(&limbs(&c), &ab, &mut out);
                assert_eq!(
                    modulus.biguint_of(&out),
                    &a * &b * &c % &m,
                    "{bits} bits, {engine:?}"
                );
            }
        }
    }
}
