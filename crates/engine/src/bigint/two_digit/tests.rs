//! The two-digit arithmetic against num-bigint.

use num_bigint::{BigUint, RandBigInt};
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};

use super::*;

/// An odd modulus of `limbs` limbs with its top bit set, and its square.
fn moduli(rng: &mut StdRng, limbs: usize) -> (BigUint, MontgomeryModulus, MontgomeryModulus) {
    let top = BigUint::from(1u32) << (64 * limbs - 1);
    let root = (rng.gen_biguint_below(&top) + &top) | BigUint::from(1u32);
    let square = &root * &root;
    (
        root.clone(),
        MontgomeryModulus::new(&root).unwrap(),
        MontgomeryModulus::new(&square).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Digits in and out, and products in digits, against num-bigint modulo N², at widths
    /// the assembly row takes (multiples of 4 limbs) and widths it does not.
    #[test]
    fn products_in_digits_match_num_bigint(seed in any::<u64>(), limbs in 4usize..=34, extreme in 0u8..4) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (root, root_mod, square_mod) = moduli(&mut rng, limbs);
        let square = &root * &root;
        let engine = TwoDigit::new(&square_mod, &root_mod).unwrap();
        let pick = |rng: &mut StdRng, k: u8| match k {
            0 => &square - 1u32,
            1 => BigUint::from(1u32),
            _ => rng.gen_biguint_below(&square),
        };
        let (x, y) = (pick(&mut rng, extreme), pick(&mut rng, (extreme + 1) % 4));
        let x_digits = engine.enter(&square_mod, square_mod.montgomery_of_vartime(&x).unwrap().as_limbs());
        let y_digits = engine.enter(&square_mod, square_mod.montgomery_of_vartime(&y).unwrap().as_limbs());
        for digits in [&x_digits, &y_digits] {
            let (d0, d1) = digits.split_at(limbs);
            prop_assert!(root_mod.is_reduced(d0) && root_mod.is_reduced(d1));
        }
        let mut product = vec![0u64; 2 * limbs];
        engine.mul(&x_digits, &y_digits, &mut product);
        let (p0, p1) = product.split_at(limbs);
        prop_assert!(root_mod.is_reduced(p0) && root_mod.is_reduced(p1));
        let back = square_mod.from_montgomery(&engine.leave(&square_mod, &product));
        prop_assert_eq!(square_mod.biguint_of(&back), &x * &y % &square);
        // The square, through its own path.
        engine.square(&x_digits, &mut product);
        let (p0, p1) = product.split_at(limbs);
        prop_assert!(root_mod.is_reduced(p0) && root_mod.is_reduced(p1));
        let back = square_mod.from_montgomery(&engine.leave(&square_mod, &product));
        prop_assert_eq!(square_mod.biguint_of(&back), &x * &x % &square);
    }

    /// The secret-exponent power on digits against num-bigint's modpow, with exponents at the
    /// edges of their bit bound.
    #[test]
    fn secret_powers_in_digits_match_modpow(seed in any::<u64>(), limbs in 4usize..=17, bits in 1usize..200, edge in 0u8..3) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (root, root_mod, square_mod) = moduli(&mut rng, limbs);
        let square = &root * &root;
        let engine = TwoDigit::new(&square_mod, &root_mod).unwrap();
        let base = rng.gen_biguint_below(&square);
        let exponent = match edge {
            0 => BigUint::from(0u32),
            1 => (BigUint::from(1u32) << bits) - 1u32,
            _ => rng.gen_biguint(bits as u64),
        };
        let mut limbs_of_e = exponent.to_u64_digits();
        limbs_of_e.resize(bits.div_ceil(64), 0);
        let power = engine.pow_secret(&square_mod, &square_mod.montgomery_of_vartime(&base).unwrap(), &limbs_of_e, bits);
        let power = square_mod.biguint_of(&square_mod.from_montgomery(&power));
        prop_assert_eq!(power, base.modpow(&exponent, &square));
    }
}

/// The widest roots: p at key_len 4096 (64 limbs) and n at key_len 4096 (128 limbs).
#[test]
fn the_widest_roots_multiply_and_square() {
    let mut rng = StdRng::seed_from_u64(13);
    for limbs in [64usize, 128] {
        let (root, root_mod, square_mod) = moduli(&mut rng, limbs);
        let square = &root * &root;
        let engine = TwoDigit::new(&square_mod, &root_mod).unwrap();
        let (x, y) = (rng.gen_biguint_below(&square), &square - 1u32);
        let digits = |v: &BigUint| {
            engine.enter(
                &square_mod,
                square_mod.montgomery_of_vartime(v).unwrap().as_limbs(),
            )
        };
        let (xd, yd) = (digits(&x), digits(&y));
        let mut out = vec![0u64; 2 * limbs];
        engine.mul(&xd, &yd, &mut out);
        let back = square_mod.from_montgomery(&engine.leave(&square_mod, &out));
        assert_eq!(
            square_mod.biguint_of(&back),
            &x * &y % &square,
            "{limbs} limbs"
        );
        engine.square(&xd, &mut out);
        let back = square_mod.from_montgomery(&engine.leave(&square_mod, &out));
        assert_eq!(
            square_mod.biguint_of(&back),
            &x * &x % &square,
            "{limbs} limbs"
        );
    }
}

#[test]
fn refuses_what_is_not_a_square_of_the_root() {
    let mut rng = StdRng::seed_from_u64(7);
    let (_, root_mod, square_mod) = moduli(&mut rng, 8);
    let (_, other_root, _) = moduli(&mut rng, 8);
    assert!(TwoDigit::new(&square_mod, &root_mod).is_some());
    assert!(TwoDigit::new(&square_mod, &other_root).is_none());
    assert!(TwoDigit::new(&root_mod, &root_mod).is_none());
}

#[test]
fn inverse_mod_radix_inverts() {
    let mut rng = StdRng::seed_from_u64(11);
    for limbs in [4usize, 5, 16, 32, 64] {
        let (root, root_mod, _) = moduli(&mut rng, limbs);
        let inverse = crate::bigint::biguint_from_limbs(&inverse_mod_radix(&root_mod));
        let radix = BigUint::from(1u32) << (64 * limbs);
        assert_eq!(root * inverse % radix, BigUint::from(1u32), "{limbs} limbs");
    }
}
