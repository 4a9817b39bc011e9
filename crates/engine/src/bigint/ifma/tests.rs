//! Tests of the parent module, kept apart so that the engine reads on its own.

use super::*;

#[test]
#[ignore = "timing, run by hand"]
fn pair_timing() {
    use num_bigint::RandBigInt;
    let mut rng = rand::thread_rng();
    for bits in [1024u64, 2048, 2560, 3072, 3584, 4096] {
        let m = rng.gen_biguint(bits) | BigUint::one() | (BigUint::one() << (bits - 1));
        let limbs64 = bits.div_ceil(64) as usize;
        let m0_inv = super::super::MontgomeryModulus::new(&m).unwrap().m0_inv();
        let Some(e) = Ifma52::new(&m, limbs64, m0_inv) else {
            return;
        };
        let a = e.enter(&limbs_from_biguint(&rng.gen_biguint_below(&m), limbs64).unwrap());
        let b = e.enter(&limbs_from_biguint(&rng.gen_biguint_below(&m), limbs64).unwrap());
        let n = 200_000;
        let (mut x, mut y, mut t1, mut t2) =
            (a.clone(), b.clone(), vec![0; a.len()], vec![0; a.len()]);
        let start = std::time::Instant::now();
        for _ in 0..n {
            e.mul(&x, &b, &mut t1);
            std::mem::swap(&mut x, &mut t1);
            e.mul(&y, &a, &mut t2);
            std::mem::swap(&mut y, &mut t2);
        }
        let single = start.elapsed().as_secs_f64() / (2 * n) as f64;
        let (mut x2, mut y2) = (a.clone(), b.clone());
        let start = std::time::Instant::now();
        for _ in 0..n {
            e.mul_pair(&e, (&x2, &b, &mut t1), (&y2, &a, &mut t2));
            std::mem::swap(&mut x2, &mut t1);
            std::mem::swap(&mut y2, &mut t2);
        }
        let paired = start.elapsed().as_secs_f64() / (2 * n) as f64;
        assert_eq!((x, y), (x2, y2));
        eprintln!(
            "{bits} bits: {:.1} ns per product alone, {:.1} ns paired ({:.2}x)",
            single * 1e9,
            paired * 1e9,
            single / paired
        );
    }
}

#[test]
fn radix_conversion_round_trips() {
    let x: Vec<u64> = (0..7u64)
        .map(|i| 0x9e37_79b9_7f4a_7c15u64.rotate_left(i as u32 * 7))
        .collect();
    let mut r52 = vec![0u64; 9];
    to_radix52(&x, &mut r52);
    assert!(r52.iter().all(|&l| l <= MASK52));
    let mut back = vec![0u64; 7];
    from_radix52(&r52, &mut back);
    assert_eq!(back, x);
}
