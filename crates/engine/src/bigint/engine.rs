//! Which CPU engine runs an exponentiation: decided in this file alone, once per modulus (when
//! it is prepared) and per shape (how many items a call takes at once), from the engine picked
//! (the [`EnginePreference`](super::EnginePreference) of `cpu_engine.rs`, else the fastest this
//! CPU runs) and what is known of the modulus. The engines themselves (`pow.rs` and `limbs.rs`,
//! `ifma.rs`, `two_digit/`, `multi_buffer/`) run what they are given; their constructors only
//! refuse what this CPU cannot run or the arithmetic does not cover.
//!
//! | modulus | one or two items at a time | a group at once (from four items, seven on AVX2) |
//! |---|---|---|
//! | any odd m | IFMA52 where the CPU has AVX-512 IFMA, else portable (radix 2^64, ADX assembly where the CPU has it) | — |
//! | a secret square p² (its owner knows p) | IFMA52 modulo p², two in lockstep; portable: two digits modulo p ([`TwoDigit`]) | two digits modulo p in the lanes ([`TwoDigitLanes`] on IFMA, [`NarrowTwoDigitLanes`] on AVX-512F or AVX2); a fixed base's blocks modulo p² in the narrow lanes ([`NarrowLanes`], AVX-512F only) |
//! | a public square n² (n known to all) | two digits modulo n on IFMA (`PublicTwoDigitIfma`); portable: [`TwoDigit`] for fixed bases, else the modulus's engine | two digits modulo n in the lanes (IFMA); a fixed base's blocks modulo n² in the narrow lanes (AVX-512F) |
//! | products of many items by one multiplier (the aggregation) | the modulus's engine | the lanes modulo m: [`MultiBuffer`] on IFMA, [`NarrowLanes`] on AVX-512F or AVX2 (from 64 items, `backend/cpu/ops/modmul.rs`) |
//!
//! Every engine gives the same results; the choice is speed alone (BENCHMARKS.md has the
//! figures). `PAILLIER_GPU_CPU_ENGINE=ifma|avx512f|avx2|portable` (the binary, through
//! [`set_engine_preference`](super::set_engine_preference)) names the engine instead of the
//! fastest; `portable` rules every vector engine out.

use num_bigint::BigUint;

use super::convert::WipedBigUint;
use super::cpu_engine::{picked_engine, CpuEngine};
use super::fixed_base::FixedBaseTable;
use super::montgomery::{Engine, MontgomeryModulus};
use super::multi_buffer::{
    MultiBuffer, NarrowLanes, NarrowTwoDigitLanes, ProductLanes, TwoDigitLanes, MIN_LANE_ITEMS,
};
use super::two_digit::ifma::PublicTwoDigitIfma;
use super::two_digit::TwoDigit;
use crate::error::Result;

/// Whether the AVX-512 IFMA engines are picked: this CPU has IFMA and the preference does not
/// rule them out.
fn ifma_picked() -> bool {
    picked_engine() == CpuEngine::Ifma
}

impl MontgomeryModulus {
    /// Precomputes the constants for an odd modulus greater than one, on the fastest engine
    /// this CPU offers: IFMA52 where picked (a modulus too wide for it falls back), else
    /// portable.
    pub fn new(modulus: &BigUint) -> Result<Self> {
        if ifma_picked() {
            if let Ok(on_ifma) = Self::with_engine(modulus, Engine::Ifma52) {
                return Ok(on_ifma);
            }
        }
        Self::with_engine(modulus, Engine::Portable)
    }
}

/// Whether a call of `items` items at once (at most [`LANES`](super::LANES)) runs in the lanes,
/// where its modulus has them (the lanes engine's cost: `MIN_LANE_ITEMS`).
pub(crate) fn lanes_pay(items: usize) -> bool {
    items >= MIN_LANE_ITEMS
}

/// The lanes for products across items modulo `modulus` (`x_i·b`, one multiplier for many
/// items: the aggregation), where the picked engine has them: the IFMA multi-buffer engine, or
/// the narrow lanes on AVX-512F or AVX2. Built per call (a few products of `BigUint`s), so for
/// batches, not single items.
pub(crate) fn product_lanes(modulus: &MontgomeryModulus) -> Option<ProductLanes> {
    let m = WipedBigUint(modulus.modulus());
    match picked_engine() {
        CpuEngine::Ifma => {
            MultiBuffer::new(&m.0, modulus.len(), modulus.m0_inv()).map(ProductLanes::Ifma)
        }
        engine => engine
            .narrow_isa()
            .and_then(|isa| NarrowLanes::new(&m.0, modulus.len(), isa))
            .map(ProductLanes::Narrow),
    }
}

/// The engines of a secret square p² beyond its own [`MontgomeryModulus`] engine, prepared once
/// per key.
pub(crate) struct SecretSquareEngines {
    /// One item at a time on two digits modulo p, where the portable engine runs p² (the
    /// IFMA engine modulo p² is faster than two digits there).
    pub(crate) digits: Option<TwoDigit>,
    /// Several items at once in the lanes, where the CPU has them.
    pub(crate) lanes: Option<SecretLanes>,
}

/// Eight secret powers modulo p² at once: on two digits modulo p, on IFMA or in the narrow
/// lanes (AVX-512F or AVX2); modulo p² in the narrow lanes for a p too wide for their two
/// digits.
pub(crate) enum SecretLanes {
    TwoDigit(TwoDigitLanes),
    NarrowTwoDigit(NarrowTwoDigitLanes),
    Narrow(NarrowLanes),
}

impl SecretLanes {
    /// `bases[i]^exponents[i] mod p²` for the up to eight items of `bases` (normal form) into
    /// `out`, in constant time in the exponents.
    pub(crate) fn pow_secret(
        &self,
        bases: &[u64],
        exponents: &[&[u64]],
        exponent_bits: usize,
        out: &mut [u64],
    ) {
        match self {
            Self::TwoDigit(lanes) => lanes.pow_secret(bases, exponents, exponent_bits, out),
            Self::NarrowTwoDigit(lanes) => lanes.pow_secret(bases, exponents, exponent_bits, out),
            Self::Narrow(lanes) => lanes.pow_secret(bases, exponents, exponent_bits, out),
        }
    }

    /// Fewest items of a group worth running here rather than one (or two) at a time: a group
    /// costs the same whatever it holds.
    pub(crate) fn min_items(&self) -> usize {
        match self {
            Self::TwoDigit(_) => MIN_LANE_ITEMS,
            Self::NarrowTwoDigit(lanes) => lanes.min_items(),
            Self::Narrow(lanes) => lanes.min_items(),
        }
    }
}

/// [`SecretSquareEngines`] for `square` = `prime`² (both secret: nothing here takes the public
/// square's variable-time paths; the engines' own constructors enter the prime once per key).
pub(crate) fn for_secret_square(
    square: &MontgomeryModulus,
    prime: &MontgomeryModulus,
    prime_value: &BigUint,
) -> SecretSquareEngines {
    SecretSquareEngines {
        digits: match square.ifma() {
            Some(_) => None,
            None => TwoDigit::new(square, prime),
        },
        lanes: match picked_engine() {
            CpuEngine::Ifma => {
                TwoDigitLanes::new(prime_value, square.len()).map(SecretLanes::TwoDigit)
            }
            engine => engine.narrow_isa().and_then(|isa| {
                NarrowTwoDigitLanes::new(prime_value, square.len(), isa)
                    .map(SecretLanes::NarrowTwoDigit)
                    .or_else(|| {
                        let value = WipedBigUint(prime_value * prime_value);
                        NarrowLanes::new(&value.0, square.len(), isa).map(SecretLanes::Narrow)
                    })
            }),
        },
    }
}

/// The engine of one sample at a time modulo a PUBLIC square n² (its root is found in variable
/// time): two digits modulo n on IFMA, or `None` for the modulus's own engine.
pub(crate) fn for_public_square_vartime(square: &MontgomeryModulus) -> Option<PublicTwoDigitIfma> {
    match ifma_picked() {
        true => PublicTwoDigitIfma::for_public_square_vartime(square),
        false => None,
    }
}

/// The lanes for a call of `items` samples modulo a PUBLIC square n², where they pay and the
/// CPU has them.
pub(crate) fn lanes_for_public_square_vartime(
    square: &MontgomeryModulus,
    items: usize,
) -> Option<TwoDigitLanes> {
    match ifma_picked() && lanes_pay(items) {
        true => TwoDigitLanes::for_public_square_vartime(square),
        false => None,
    }
}

/// What is known of the root N of a square modulus N², which decides the engines of a
/// [`FixedBaseTable`] modulo N² ([`FixedBaseTable::run_on_fastest_engines`]).
#[derive(Clone, Copy, Debug)]
pub enum SquareRoot<'a> {
    /// N is public (n of a public key): its engines may take time that depends on N.
    Public(&'a MontgomeryModulus),
    /// N is secret (a prime of the key, for its owner): nothing may depend on it in time.
    Secret(&'a MontgomeryModulus),
}

impl FixedBaseTable {
    /// Prepares this table modulo `square` = N² for the fastest CPU engines that apply, from
    /// what is known of N (the table above says which); the results and
    /// [`entries`](Self::entries) are unchanged, and the table keeps a copy of its entries in
    /// each engine's form. Where nothing applies it runs on `square`'s own engine.
    ///
    /// ```
    /// use num_bigint::BigUint;
    /// use paillier_gpu_engine::bigint::{FixedBaseTable, MontgomeryModulus, SquareRoot};
    ///
    /// let n = BigUint::from(1_000_003u32) * BigUint::from(999_983u32);
    /// let (root, square) = (MontgomeryModulus::new(&n).unwrap(), MontgomeryModulus::new(&(&n * &n)).unwrap());
    /// let base = square.to_montgomery(&square.limbs_of(&BigUint::from(7u32)).unwrap());
    /// let mut table = FixedBaseTable::new(&square, &base, 40, 4);
    /// table.run_on_fastest_engines(&square, SquareRoot::Public(&root));
    /// let power = square.from_montgomery(&table.pow(&square, &[123_456_789], 40));
    /// assert_eq!(square.biguint_of(&power), BigUint::from(7u32).modpow(&BigUint::from(123_456_789u32), &(&n * &n)));
    /// ```
    pub fn run_on_fastest_engines(&mut self, square: &MontgomeryModulus, root: SquareRoot<'_>) {
        let root = match root {
            // Two digits modulo a public n on IFMA beat the IFMA engine modulo n².
            SquareRoot::Public(root) if ifma_picked() && self.run_on_public_root(square) => root,
            // The IFMA engine modulo N² beats two digits on the portable engine (`run_on_root`
            // refuses it too).
            SquareRoot::Public(root) | SquareRoot::Secret(root) if square.ifma().is_some() => root,
            SquareRoot::Public(root) | SquareRoot::Secret(root) => {
                self.run_on_root(square, root);
                root
            }
        };
        match picked_engine() {
            CpuEngine::Ifma => {
                self.run_in_lanes(square, &super::WipedBigUint(root.modulus()));
            }
            engine => {
                if let Some(isa) = engine.narrow_isa() {
                    self.run_in_narrow_lanes(square, isa);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::RandBigInt;
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::bigint::{
        biguint_from_limbs, limbs_from_biguint, set_engine_preference, EnginePreference,
    };

    /// What each preference prepares for a square n² (n known), and the powers of a fixed-base
    /// table and of the secret lanes on it: `portable` rules every vector engine out, `ifma`
    /// takes the IFMA engines, `avx512f` and `avx2` the narrow lanes on two digits for the
    /// secret square and
    /// the portable engine elsewhere, and the powers are the same whichever runs. Engines this
    /// CPU lacks are refused. (The preference is process-wide: tests that set it hold
    /// `preference_lock`; a test running beside this one may get other engines meanwhile, which
    /// changes its speed, not its results.)
    #[test]
    fn the_preference_decides_the_engines_and_not_the_results() {
        let _only_this_test = crate::bigint::cpu_engine::preference_lock();
        let mut rng = StdRng::seed_from_u64(61);
        let n = rng.gen_biguint(512) | BigUint::from(1u32) | (BigUint::from(1u32) << 511);
        let m = &n * &n;
        let base = rng.gen_biguint_below(&m);
        let exponents: Vec<u64> = (0..8).map(|_| rand::Rng::gen(&mut rng)).collect();
        let run = |engine: CpuEngine| {
            if set_engine_preference(EnginePreference::Only(engine)).is_err() {
                assert!(!engine.available());
                return None;
            }
            let root = MontgomeryModulus::new(&n).unwrap();
            let square = MontgomeryModulus::new(&m).unwrap();
            let secret = for_secret_square(&square, &root, &n);
            let public = (
                for_public_square_vartime(&square).is_some(),
                lanes_for_public_square_vartime(&square, 8).is_some(),
                lanes_for_public_square_vartime(&square, MIN_LANE_ITEMS - 1).is_some(),
            );
            let entry = square.to_montgomery(&limbs_from_biguint(&base, square.len()).unwrap());
            let mut table = FixedBaseTable::new(&square, &entry, 64, 4);
            table.run_on_fastest_engines(&square, SquareRoot::Public(&root));
            let mut powers = vec![0u64; exponents.len() * square.len()];
            table.pow_block_into(&square, &exponents, 1, 64, &mut powers);
            let flat: Vec<u64> = (0..8)
                .flat_map(|_| limbs_from_biguint(&base, square.len()).unwrap())
                .collect();
            let refs: Vec<&[u64]> = exponents.iter().map(std::slice::from_ref).collect();
            let mut lane_powers = vec![0u64; flat.len()];
            if let Some(lanes) = &secret.lanes {
                lanes.pow_secret(&flat, &refs, 64, &mut lane_powers);
                assert_eq!(lane_powers, powers, "{engine:?} lanes");
            }
            let lanes = secret
                .lanes
                .as_ref()
                .map(|l| matches!(l, SecretLanes::NarrowTwoDigit(_)));
            Some((
                (square.engine(), secret.digits.is_some(), lanes),
                public,
                powers,
            ))
        };
        let mut seen = Vec::new();
        for engine in CpuEngine::ALL {
            let Some((kinds, public, powers)) = run(engine) else {
                continue;
            };
            let ifma = engine == CpuEngine::Ifma;
            let on_ifma = if ifma {
                Engine::Ifma52
            } else {
                Engine::Portable
            };
            let narrow = engine.narrow_isa().is_some();
            let lanes = (ifma || narrow).then_some(narrow);
            assert_eq!(kinds, (on_ifma, !ifma, lanes), "{engine:?}");
            assert_eq!(public, (ifma, ifma, false), "{engine:?}");
            seen.push(powers);
        }
        set_engine_preference(EnginePreference::Fastest).unwrap();
        assert!(!seen.is_empty());
        let width = seen[0].len() / exponents.len();
        for powers in &seen {
            for (power, &e) in powers.chunks_exact(width).zip(&exponents) {
                assert_eq!(
                    biguint_from_limbs(power),
                    base.modpow(&BigUint::from(e), &m)
                );
            }
        }
    }
}
