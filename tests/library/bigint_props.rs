//! The Montgomery engine against num-bigint, on random odd moduli of every supported width.

use num_bigint::{BigUint, RandBigInt};
use paillier_gpu::hazmat::bigint::{biguint_from_limbs, Engine, FixedBaseTable, MontgomeryModulus};
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};

fn odd_modulus(rng: &mut StdRng, bits: u64) -> BigUint {
    let mut m = rng.gen_biguint(bits);
    m.set_bit(bits - 1, true);
    m.set_bit(0, true);
    m
}

/// The modulus on engine `which` (0 portable, 1 IFMA); where the CPU lacks IFMA both are the
/// portable engine.
/// A random odd N of exactly `limbs` 64-bit limbs, and N².
fn odd_root_and_square(rng: &mut StdRng, limbs: usize) -> (BigUint, BigUint) {
    let top = BigUint::from(1u32) << (64 * limbs - 1);
    let root = (rng.gen_biguint_below(&top) + &top) | BigUint::from(1u32);
    let square = &root * &root;
    (root, square)
}

fn on_engine(m: &BigUint, which: usize) -> MontgomeryModulus {
    let engine = [Engine::Portable, Engine::Ifma52][which];
    MontgomeryModulus::with_engine(m, engine)
        .or_else(|_| MontgomeryModulus::with_engine(m, Engine::Portable))
        .unwrap()
}

/// Powers of `g` for a block of `count` random exponents of `ebits` bits from `table` against
/// modpow; returns the table's power for an exponent of no limbs.
fn check_blocks(
    rng: &mut StdRng,
    table: &FixedBaseTable,
    mm: &MontgomeryModulus,
    g: &BigUint,
    ebits: usize,
    count: usize,
) -> Result<BigUint, TestCaseError> {
    let m = mm.modulus();
    let exponent_limbs = ebits.div_ceil(64);
    let exponents: Vec<BigUint> = (0..count).map(|_| rng.gen_biguint(ebits as u64)).collect();
    let flat: Vec<u64> = exponents
        .iter()
        .flat_map(|e| paillier_gpu::hazmat::bigint::limbs_from_biguint(e, exponent_limbs).unwrap())
        .collect();
    let mut out = vec![0u64; count * mm.len()];
    table.pow_block_into(mm, &flat, exponent_limbs, ebits, &mut out);
    for (exponent, power) in exponents.iter().zip(out.chunks_exact(mm.len())) {
        prop_assert_eq!(mm.biguint_of(power), g.modpow(exponent, &m));
    }
    Ok(mm.biguint_of(&mm.from_montgomery(&table.pow(mm, &[], ebits))))
}

/// Widths around limb boundaries plus the real ones (p² and n² for key_len 512..2048).
const WIDTHS: &[u64] = &[
    3, 64, 65, 127, 130, 256, 512, 1000, 1024, 1536, 2048, 3072, 4096, 8192,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn montgomery_multiplication_matches_num_bigint(seed in any::<u64>(), w in 0..WIDTHS.len(), engine in 0usize..2) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = odd_modulus(&mut rng, WIDTHS[w]);
        let mm = on_engine(&m, engine);
        let a = rng.gen_biguint_below(&m);
        let b = rng.gen_biguint_below(&m);
        let am = mm.to_montgomery(&mm.limbs_of(&a).unwrap());
        let bm = mm.to_montgomery(&mm.limbs_of(&b).unwrap());
        let product = mm.biguint_of(&mm.from_montgomery(&mm.mul(&am, &bm)));
        prop_assert_eq!(product, (&a * &b) % &m);
        let prepared = mm.prepare_multiplier(&mm.limbs_of(&b).unwrap());
        let mut by_prepared = vec![0u64; mm.len()];
        mm.mul_prepared(&mm.limbs_of(&a).unwrap(), &prepared, &mut by_prepared);
        prop_assert_eq!(mm.biguint_of(&by_prepared), (&a * &b) % &m);
        prop_assert_eq!(mm.biguint_of(&mm.from_montgomery(&mm.square(&am))), (&a * &a) % &m);
    }

    #[test]
    fn public_and_secret_exponentiation_match_modpow(seed in any::<u64>(), w in 0..WIDTHS.len() - 1, ebits in 0u64..700, engine in 0usize..2) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = odd_modulus(&mut rng, WIDTHS[w]);
        let mm = on_engine(&m, engine);
        let base = rng.gen_biguint_below(&m);
        let exponent = rng.gen_biguint(ebits);
        let expected = base.modpow(&exponent, &m);
        let bm = mm.to_montgomery(&mm.limbs_of(&base).unwrap());
        let mut e = exponent.to_u64_digits();
        if e.is_empty() { e.push(0); }
        let public = mm.biguint_of(&mm.from_montgomery(&mm.pow_vartime(&bm, &e)));
        prop_assert_eq!(&public, &expected);
        let secret = mm.biguint_of(&mm.from_montgomery(&mm.pow_secret(&bm, &e, ebits as usize)));
        prop_assert_eq!(&secret, &expected);
    }

    /// Two secret exponentiations in lockstep give each one's power: one modulus or two, of
    /// the same width or not (then they run one after the other), on either engine.
    #[test]
    fn paired_secret_exponentiations_match_modpow(seed in any::<u64>(), w in 0..WIDTHS.len() - 2, other_width in any::<bool>(), ebits in 1u64..400, engine in 0usize..2) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = odd_modulus(&mut rng, WIDTHS[w]);
        let n = odd_modulus(&mut rng, if other_width { WIDTHS[w + 1] } else { WIDTHS[w] });
        let (mm, nm) = (on_engine(&m, engine), on_engine(&n, engine));
        let (x, y) = (rng.gen_biguint_below(&m), rng.gen_biguint_below(&n));
        let (ex, ey) = (rng.gen_biguint(ebits), rng.gen_biguint(ebits));
        let limbs = |e: &BigUint| { let mut l = e.to_u64_digits(); l.resize(ebits.div_ceil(64) as usize, 0); l };
        let (xm, ym) = (mm.to_montgomery(&mm.limbs_of(&x).unwrap()), nm.to_montgomery(&nm.limbs_of(&y).unwrap()));
        for (second, ym, y, ey) in [(&nm, &ym, &y, &ey), (&mm, &xm, &x, &ey)] {
            let modulus = if std::ptr::eq(second, &mm) { &m } else { &n };
            let (a, b) = mm.pow_secret_pair(second, (&xm, &limbs(&ex)), (ym, &limbs(ey)), ebits as usize);
            prop_assert_eq!(mm.biguint_of(&mm.from_montgomery(&a)), x.modpow(&ex, &m));
            prop_assert_eq!(second.biguint_of(&second.from_montgomery(&b)), y.modpow(ey, modulus));
        }
    }

    #[test]
    fn fixed_base_table_matches_modpow(seed in any::<u64>(), w in 0..WIDTHS.len() - 2, ebits in 1usize..300, window in 1usize..=8, engine in 0usize..2) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = odd_modulus(&mut rng, WIDTHS[w]);
        let mm = on_engine(&m, engine);
        let g = rng.gen_biguint_below(&m);
        let table = FixedBaseTable::new(&mm, &mm.to_montgomery(&mm.limbs_of(&g).unwrap()), ebits, window);
        let exponent = rng.gen_biguint(ebits as u64);
        let mut e = exponent.to_u64_digits();
        if e.is_empty() { e.push(0); }
        let got = mm.biguint_of(&mm.from_montgomery(&table.pow(&mm, &e, ebits)));
        prop_assert_eq!(got, g.modpow(&exponent, &m));
    }

    /// A block of exponents (what the CPU backend passes) gives each exponent's power, whatever
    /// the block's length; an exponent of no limbs is 0.
    #[test]
    fn fixed_base_blocks_match_modpow(seed in any::<u64>(), w in 0..WIDTHS.len() - 2, ebits in 1usize..300, count in 1usize..11, engine in 0usize..2) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = odd_modulus(&mut rng, WIDTHS[w]);
        let mm = on_engine(&m, engine);
        let g = rng.gen_biguint_below(&m);
        let table = FixedBaseTable::new(&mm, &mm.to_montgomery(&mm.limbs_of(&g).unwrap()), ebits, 5);
        let one = check_blocks(&mut rng, &table, &mm, &g, ebits, count)?;
        prop_assert_eq!(one, BigUint::from(1u32) % &m);
    }

    /// A table modulo N² run on two digits modulo N (the key owner's encryption) gives the same
    /// powers as modpow, whatever the block, at widths of N the assembly row takes and others.
    #[test]
    fn fixed_base_on_the_root_matches_modpow(seed in any::<u64>(), root_limbs in 4usize..=17, ebits in 1usize..300, count in 1usize..11) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (root, m) = odd_root_and_square(&mut rng, root_limbs);
        let (mm, root_mm) = (on_engine(&m, 0), on_engine(&root, 0));
        let g = rng.gen_biguint_below(&m);
        let mut table = FixedBaseTable::new(&mm, &mm.to_montgomery(&mm.limbs_of(&g).unwrap()), ebits, 5);
        prop_assert!(table.run_on_root(&mm, &root_mm));
        let one = check_blocks(&mut rng, &table, &mm, &g, ebits, count)?;
        prop_assert_eq!(one, BigUint::from(1u32));
    }

    /// The digits a GPU uploads: per entry X·R² mod N² (N²'s Montgomery form), `x0 + N·x1` is
    /// X·R mod N² with both digits below N, whether the table already runs on the root or not;
    /// a modulus that is not the root's square gives none.
    #[test]
    fn digit_entries_hold_each_entry_times_r(seed in any::<u64>(), root_limbs in 4usize..=9, ebits in 1usize..40, on_root in any::<bool>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (root, m) = odd_root_and_square(&mut rng, root_limbs);
        let (mm, root_mm) = (on_engine(&m, 0), on_engine(&root, 0));
        let g = rng.gen_biguint_below(&m);
        let mut table = FixedBaseTable::new(&mm, &mm.to_montgomery(&mm.limbs_of(&g).unwrap()), ebits, 3);
        if on_root {
            prop_assert!(table.run_on_root(&mm, &root_mm));
        }
        let digits = table.digit_entries(&mm, &root_mm).unwrap();
        prop_assert_eq!(digits.len(), table.entries().len());
        let r_inverse = (BigUint::from(1u32) << (64 * root_limbs)).modinv(&m).unwrap();
        for (entry, pair) in table.entries().chunks(2 * root_limbs).zip(digits.chunks(2 * root_limbs)) {
            let (x0, x1) = (biguint_from_limbs(&pair[..root_limbs]), biguint_from_limbs(&pair[root_limbs..]));
            prop_assert!(x0 < root && x1 < root);
            prop_assert_eq!(&x0 + &root * &x1, biguint_from_limbs(entry) * &r_inverse % &m);
        }
        let other = on_engine(&(&root + 2u32), 0);
        prop_assert!(table.digit_entries(&mm, &other).is_none());
    }
}

#[test]
fn values_at_the_edges() {
    // m = 2^k - 1 stresses every carry; a = b = m - 1.
    // 2078 and 4158 bits sit exactly at the IFMA engine's bound 4m < 2^(52·L).
    for (bits, engine) in [64u64, 128, 1000, 2048, 2078, 4096, 4158, 4160]
        .into_iter()
        .flat_map(|b| [(b, 0), (b, 1)])
    {
        let m = (BigUint::from(1u32) << bits) - 1u32;
        let mm = on_engine(&m, engine);
        // Exponentiation by m - 2 at the edge too (both engines, both paths).
        let e = (&m - 2u32).to_u64_digits();
        let a_mont = mm.to_montgomery(&mm.limbs_of(&(&m - 1u32)).unwrap());
        let expected = (&m - 1u32).modpow(&(&m - 2u32), &m);
        assert_eq!(
            mm.biguint_of(&mm.from_montgomery(&mm.pow_vartime(&a_mont, &e))),
            expected
        );
        assert_eq!(
            mm.biguint_of(&mm.from_montgomery(&mm.pow_secret(&a_mont, &e, bits as usize))),
            expected
        );
        let a = &m - 1u32;
        let am = mm.to_montgomery(&mm.limbs_of(&a).unwrap());
        let sq = mm.biguint_of(&mm.from_montgomery(&mm.mul(&am, &am)));
        assert_eq!(sq, (&a * &a) % &m);
        assert_eq!(
            mm.biguint_of(&mm.from_montgomery(&mm.square(&am))),
            (&a * &a) % &m
        );
        let zero = mm.to_montgomery(&mm.limbs_of(&BigUint::from(0u32)).unwrap());
        assert_eq!(
            mm.biguint_of(&mm.from_montgomery(&mm.mul(&zero, &am))),
            BigUint::from(0u32)
        );
    }
}

#[test]
fn rejects_values_not_below_the_modulus() {
    let m = BigUint::from(1_000_003u32);
    let mm = MontgomeryModulus::new(&m).unwrap();
    assert!(mm.limbs_of(&m).is_err());
}

#[test]
fn the_fastest_engine_the_cpu_offers_is_chosen() {
    let m = (BigUint::from(1u32) << 4096) - 1u32;
    let chosen = MontgomeryModulus::new(&m).unwrap().engine();
    // Nothing in this test process calls set_engine_preference, and the library never reads
    // the environment: the fastest engine is expected.
    let forced_portable = false;
    #[cfg(target_arch = "x86_64")]
    let has_ifma = std::arch::is_x86_feature_detected!("avx512ifma")
        && std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    let has_ifma = false;
    let expected = if has_ifma && !forced_portable {
        Engine::Ifma52
    } else {
        Engine::Portable
    };
    assert_eq!(chosen, expected);
    assert_eq!(
        MontgomeryModulus::with_engine(&m, Engine::Ifma52).is_ok(),
        expected == Engine::Ifma52
    );
}
