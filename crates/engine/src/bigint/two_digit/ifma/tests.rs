//! Tests of the parent module, kept apart so that the engine reads on its own.

use super::*;
use num_bigint::RandBigInt;
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Products and squares in digits against num-bigint modulo N², with digits at the
    /// edges (0, 1, N² − 1) and chains of products, whose digits must stay below 2N.
    #[test]
    fn products_in_digits_match_num_bigint(seed in any::<u64>(), bits in 200usize..=2100, extreme in 0u8..4) {
        let mut rng = StdRng::seed_from_u64(seed);
        let top = BigUint::one() << (bits - 1);
        let root = (rng.gen_biguint_below(&top) + &top) | BigUint::one();
        let square = &root * &root;
        let square_mod = MontgomeryModulus::new(&square).unwrap();
        let engine = PublicTwoDigitIfma::for_public_square_vartime(&square_mod);
        // Without IFMA there is nothing to test: the engine is never chosen.
        prop_assert_eq!(engine.is_some(), Ifma52::available());
        let Some(engine) = engine else { return Ok(()) };
        let pick = |rng: &mut StdRng, k: u8| match k {
            0 => &square - 1u32,
            1 => BigUint::one(),
            2 => BigUint::default(),
            _ => rng.gen_biguint_below(&square),
        };
        let (x, y) = (pick(&mut rng, extreme), pick(&mut rng, (extreme + 1) % 4));
        let limbs64 = square_mod.len();
        let enter = |v: &BigUint| engine.enter_vartime(&limbs_from_biguint(v, limbs64).unwrap());
        let (mut xd, yd) = (enter(&x), enter(&y));
        let mut expected = x.clone();
        let mut out = vec![0u64; engine.width()];
        let bound = &root << 1;
        for round in 0..6 {
            if round % 2 == 0 {
                engine.mul(&xd, &yd, &mut out);
                expected = &expected * &y % &square;
            } else {
                engine.square(&xd, &mut out);
                expected = &expected * &expected % &square;
            }
            xd.copy_from_slice(&out);
            for digit in xd.chunks_exact(engine.limbs()) {
                let mut wide = vec![0u64; engine.limbs()];
                from_radix52(digit, &mut wide);
                prop_assert!(biguint_from_limbs(&wide) < bound);
            }
            let back = square_mod.biguint_of(&square_mod.from_montgomery(&engine.leave(&square_mod, &xd)));
            prop_assert_eq!(&back, &expected);
        }
    }
}

/// A fixed-base table moved onto the digits gives the powers it gave before, through the
/// constant-time way out, one exponent at a time and in blocks.
#[test]
fn fixed_base_tables_on_digits_give_the_same_powers() {
    use crate::bigint::FixedBaseTable;
    let mut rng = StdRng::seed_from_u64(11);
    for bits in [1024u64, 1000, 2048] {
        let root = rng.gen_biguint(bits) | BigUint::one() | (BigUint::one() << (bits - 1));
        let square = &root * &root;
        let m = MontgomeryModulus::new(&square).unwrap();
        let base = rng.gen_biguint_below(&square);
        let g = m.montgomery_of_vartime(&base).unwrap();
        let mut table = FixedBaseTable::new(&m, &g, 200, 4);
        assert_eq!(table.run_on_public_root(&m), Ifma52::available());
        let exponents: Vec<BigUint> = (0..5).map(|_| rng.gen_biguint(200)).collect();
        let limbs: Vec<u64> = exponents
            .iter()
            .flat_map(|e| limbs_from_biguint(e, 4).unwrap())
            .collect();
        let mut out = vec![0u64; 5 * m.len()];
        table.pow_block_into(&m, &limbs, 4, 200, &mut out);
        for (i, e) in exponents.iter().enumerate() {
            let expected = base.modpow(e, &square);
            let one = m.from_montgomery(&table.pow(&m, &limbs[4 * i..4 * i + 4], 200));
            assert_eq!(m.biguint_of(&one), expected);
            assert_eq!(m.biguint_of(&out[i * m.len()..(i + 1) * m.len()]), expected);
        }
    }
}

/// ns per product and per square modulo N² on the IFMA engine (radix 2^52 on N²'s limbs)
/// and on two digits modulo N, dependent chains of 200,000 each.
#[test]
#[ignore = "timing, run by hand"]
fn product_timing() {
    let mut rng = StdRng::seed_from_u64(3);
    for bits in [1024u64, 1536, 2048] {
        let root = rng.gen_biguint(bits) | BigUint::one() | (BigUint::one() << (bits - 1));
        let square = &root * &root;
        let m = MontgomeryModulus::new(&square).unwrap();
        let (Some(digits), Some(wide)) =
            (PublicTwoDigitIfma::for_public_square_vartime(&m), m.ifma())
        else {
            return;
        };
        let x = limbs_from_biguint(&rng.gen_biguint_below(&square), m.len()).unwrap();
        let time = |arith: &dyn Fn(&[u64], &mut [u64]), start: Vec<u64>| {
            let (mut acc, mut tmp) = (start.clone(), start);
            let began = std::time::Instant::now();
            for _ in 0..200_000 {
                arith(&acc, &mut tmp);
                std::mem::swap(&mut acc, &mut tmp);
            }
            began.elapsed().as_secs_f64() / 200_000.0 * 1e9
        };
        let (xw, xd) = (wide.enter(&x), digits.enter_vartime(&x));
        let wide_mul = time(&|a, o| wide.mul(a, &xw, o), xw.clone());
        let wide_square = time(&|a, o| wide.mul(a, a, o), xw.clone());
        let digit_mul = time(&|a, o| digits.mul(a, &xd, o), xd.clone());
        let digit_square = time(&|a, o| digits.square(a, o), xd.clone());
        eprintln!(
            "n² of {} bits: product {wide_mul:.0} ns -> {digit_mul:.0} ns on digits ({:.2}x), \
             square {wide_square:.0} ns -> {digit_square:.0} ns ({:.2}x)",
            2 * bits,
            wide_mul / digit_mul,
            wide_square / digit_square
        );
    }
}

#[test]
fn refuses_what_is_not_an_odd_square() {
    let not_square = MontgomeryModulus::new(&BigUint::from(1_000_003u64 * 1_000_033 + 2)).unwrap();
    assert!(PublicTwoDigitIfma::for_public_square_vartime(&not_square).is_none());
}

/// The square of N² − 1 (≡ 1) for the N that `seed = bits` draws, at two widths where N fills
/// its limbs (R/N of 8 and 6 bits) and both digits of the square come out in [N, 2N): leaving
/// must carry the low digit's N into the high digit.
#[test]
fn square_of_minus_one_where_both_digits_pass_n() {
    for bits in [825usize, 1659] {
        let mut rng = StdRng::seed_from_u64(bits as u64);
        let top = BigUint::one() << (bits - 1);
        let root = (rng.gen_biguint_below(&top) + &top) | BigUint::one();
        let square = &root * &root;
        let square_mod = MontgomeryModulus::new(&square).unwrap();
        let Some(engine) = PublicTwoDigitIfma::for_public_square_vartime(&square_mod) else {
            return;
        };
        let minus_one = &square - 1u32;
        let digits =
            engine.enter_vartime(&limbs_from_biguint(&minus_one, square_mod.len()).unwrap());
        let leave = |digits: &[u64]| {
            square_mod.biguint_of(&square_mod.from_montgomery(&engine.leave(&square_mod, digits)))
        };
        assert_eq!(leave(&digits), minus_one, "{bits} bits: the round trip");
        let mut out = vec![0u64; engine.width()];
        engine.square(&digits, &mut out);
        let limbs = engine.limbs();
        let root52 = &engine.root52;
        let at_least_n = |digit: &[u64]| {
            let mut copy = digit.to_vec();
            reduce_once(&mut copy, root52) == 1
        };
        assert!(
            at_least_n(&out[..limbs]) && at_least_n(&out[limbs..]),
            "{bits} bits"
        );
        assert_eq!(leave(&out), BigUint::one(), "{bits} bits: the square");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Every representation of one value with digits below 2N leaves as that value: the digits
    /// `(x0, x1)` of `X·R`, and `x0 + N` with `x1 − 1`, and `x1 + N`, and both.
    #[test]
    fn leave_takes_every_representation_below_2n(seed in any::<u64>(), bits in 200usize..=2100) {
        let mut rng = StdRng::seed_from_u64(seed);
        let top = BigUint::one() << (bits - 1);
        let root = (rng.gen_biguint_below(&top) + &top) | BigUint::one();
        let square = &root * &root;
        let square_mod = MontgomeryModulus::new(&square).unwrap();
        let Some(engine) = PublicTwoDigitIfma::for_public_square_vartime(&square_mod) else {
            return Ok(());
        };
        let limbs = engine.limbs();
        let x = rng.gen_biguint_below(&square);
        let y = &x * &engine.r % &square;
        let (x0, x1) = (&y % &root, &y / &root);
        let radix52 = |value: &BigUint| {
            let mut out = vec![0u64; limbs];
            to_radix52(&value.iter_u64_digits().collect::<Vec<_>>(), &mut out);
            out
        };
        let mut representations = vec![(x0.clone(), x1.clone()), (x0.clone(), &x1 + &root)];
        if x1 > BigUint::default() {
            representations.push((&x0 + &root, &x1 - 1u32));
            representations.push((&x0 + &root, &x1 - 1u32 + &root));
        }
        for (low, high) in representations {
            let digits = [radix52(&low), radix52(&high)].concat();
            let left = square_mod.biguint_of(&square_mod.from_montgomery(&engine.leave(&square_mod, &digits)));
            prop_assert_eq!(left, x.clone());
        }
    }
}
