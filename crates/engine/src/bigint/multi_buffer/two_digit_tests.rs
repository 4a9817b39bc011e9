//! Differential tests of the two-digit lanes: against num-bigint at every width of N the crate
//! uses (p and q of key_len 512 to 8192, odd widths between), with groups of every size, edge
//! values, and against the multi-buffer engine modulo N².

use num_bigint::{BigUint, RandBigInt};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::test_support::{check_powers, odd_number};
use super::{MultiBuffer, TwoDigitLanes, LANES};
use crate::bigint::{limbs_from_biguint, MontgomeryModulus};

/// N²'s width in 64-bit limbs.
fn width(n: &BigUint) -> usize {
    (2 * n.bits() as usize).div_ceil(64)
}

/// Runs one group modulo N² and checks every item against num-bigint.
fn check_group(n: &BigUint, bases: &[BigUint], exponents: &[BigUint], bits: usize) {
    let width = width(n);
    let Some(lanes) = TwoDigitLanes::new(n, width) else {
        return;
    };
    let pow = |b: &[u64], e: &[&[u64]], bits, out: &mut [u64]| lanes.pow_secret(b, e, bits, out);
    check_powers(pow, &(n * n), width, bases, exponents, bits);
}

#[test]
fn powers_match_num_bigint_at_every_width_and_group_size() {
    let mut rng = StdRng::seed_from_u64(147);
    for bits in [
        3u64, 40, 46, 47, 100, 255, 256, 384, 512, 513, 768, 1024, 1200, 1536, 2048, 4096, 4154,
    ] {
        let n = odd_number(bits, &mut rng);
        let square = &n * &n;
        let sizes: Vec<usize> = if bits >= 2048 {
            vec![1, 6, LANES]
        } else {
            (1..=LANES).collect()
        };
        for items in sizes {
            let exponent_bits = rng.gen_range(1..=bits as usize + 3);
            let bases: Vec<BigUint> = (0..items).map(|_| rng.gen_biguint_below(&square)).collect();
            let exponents: Vec<BigUint> = (0..items)
                .map(|_| rng.gen_biguint(exponent_bits as u64))
                .collect();
            check_group(&n, &bases, &exponents, exponent_bits);
        }
    }
}

#[test]
fn edge_values_survive_the_digits() {
    let mut rng = StdRng::seed_from_u64(148);
    for bits in [512u64, 1024] {
        let n = odd_number(bits, &mut rng);
        let square = &n * &n;
        let top = &square - 1u32;
        // Zero, one, N² − 1, N and N·(N − 1) (a low digit of zero), N − 1 (a high digit of
        // zero), 1 + N (what honest ciphertexts raise to), with exponents zero, one, all ones.
        let bases = vec![
            BigUint::from(0u32),
            BigUint::from(1u32),
            top.clone(),
            n.clone(),
            &n * (&n - 1u32),
            &n - 1u32,
            &n + 1u32,
            top,
        ];
        let all_ones = (BigUint::from(1u32) << bits) - 1u32;
        let exponents = vec![
            all_ones.clone(),
            all_ones.clone(),
            BigUint::from(1u32),
            all_ones.clone(),
            all_ones.clone(),
            BigUint::from(0u32),
            all_ones.clone(),
            all_ones,
        ];
        check_group(&n, &bases, &exponents, bits as usize);
    }
}

/// The two engines modulo n² (digits modulo n, and the whole width), with n² and its
/// 64-bit limbs, or None where the CPU has no IFMA.
fn both_engines(n: &BigUint) -> Option<(TwoDigitLanes, MultiBuffer, BigUint, usize)> {
    let square = n * n;
    let modulus = MontgomeryModulus::new(&square).unwrap();
    let width = modulus.len();
    let digits = TwoDigitLanes::new(n, width)?;
    let whole = MultiBuffer::new(&square, width, modulus.m0_inv())?;
    Some((digits, whole, square, width))
}

#[test]
fn agrees_with_the_multi_buffer_engine_modulo_the_square() {
    let mut rng = StdRng::seed_from_u64(149);
    let n = odd_number(1024, &mut rng);
    let Some((digits, whole, square, width)) = both_engines(&n) else {
        return;
    };
    let exponents: Vec<Vec<u64>> = (0..LANES)
        .map(|_| limbs_from_biguint(&rng.gen_biguint(1024), 16).unwrap())
        .collect();
    let refs: Vec<&[u64]> = exponents.iter().map(Vec::as_slice).collect();
    let bases: Vec<u64> = (0..LANES)
        .flat_map(|_| limbs_from_biguint(&rng.gen_biguint_below(&square), width).unwrap())
        .collect();
    let (mut a, mut b) = (vec![0u64; bases.len()], vec![0u64; bases.len()]);
    digits.pow_secret(&bases, &refs, 1024, &mut a);
    whole.pow_secret(&bases, &refs, 1024, &mut b);
    assert_eq!(a, b);
}

#[test]
fn no_engine_for_an_even_a_trivial_or_a_too_wide_root() {
    let mut rng = StdRng::seed_from_u64(150);
    assert!(TwoDigitLanes::new(&BigUint::from(1u32), 1).is_none());
    let even = odd_number(512, &mut rng) + 1u32;
    assert!(TwoDigitLanes::new(&even, 16).is_none());
    let wide = odd_number(4155, &mut rng);
    assert!(TwoDigitLanes::new(&wide, width(&wide)).is_none());
    let n = odd_number(512, &mut rng);
    assert!(TwoDigitLanes::new(&n, 15).is_none());
}

/// Eight values below `bound` (edge values among them) as `l` limb vectors in lane layout.
#[cfg(target_arch = "x86_64")]
fn random_lanes(bound: &BigUint, l: usize, rng: &mut StdRng) -> Vec<u64> {
    let mut lanes = vec![0u64; LANES * l];
    for lane in 0..LANES {
        let value = match lane {
            0 => BigUint::from(0u32),
            1 => bound - 1u32,
            _ => rng.gen_biguint_below(bound),
        };
        let mut limbs = vec![0u64; l];
        crate::bigint::ifma::to_radix52(&limbs_from_biguint(&value, l).unwrap(), &mut limbs);
        for (j, &limb) in limbs.iter().enumerate() {
            lanes[LANES * j + lane] = limb;
        }
    }
    lanes
}

/// The two-digit kernels' product and square, as their callers hold them.
type Mul = unsafe fn(
    &[u64],
    &[u64],
    &[u64],
    &[u64],
    &[u64],
    &[u64],
    u64,
    &mut [u64],
    &mut [u64],
    &mut [u64],
);
type Square = unsafe fn(&[u64], &[u64], &[u64], &[u64], u64, &mut [u64], &mut [u64], &mut [u64]);

#[test]
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn register_kernels_equal_the_blocked_ones_word_for_word() {
    use super::{digit_kernels, resident_kernels};
    if !crate::bigint::ifma::Ifma52::available() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(152);
    for l in [12usize, 16, 20] {
        assert!(resident_kernels::serves(l));
        for round in 0..20 {
            // The widest N the width takes (64·N < 2^(52·L)), and narrower ones.
            let bits = 52 * l as u64 - 7 - round % 3 * 20;
            let m = odd_number(bits, &mut rng);
            let mut limbs = vec![0u64; l];
            crate::bigint::ifma::to_radix52(&limbs_from_biguint(&m, l).unwrap(), &mut limbs);
            let mut minus_one = limbs.clone();
            minus_one[0] -= 1;
            let m0 = m.iter_u64_digits().next().unwrap();
            let k0 = super::two_digit::inverse_mod_word(m0).wrapping_neg() & ((1 << 52) - 1);
            let below = &m * 3u32;
            let [x0, x1, y0, y1] = [(); 4].map(|_| random_lanes(&below, l, &mut rng));
            let mut scratch = vec![0u64; 4 * LANES * l];
            let width = LANES * l;
            let (mut low, mut high) = (
                [vec![0u64; width], vec![0u64; width]],
                [vec![0u64; width], vec![0u64; width]],
            );
            let kernels: [(Mul, Square); 2] = [
                (digit_kernels::mul, digit_kernels::square),
                (resident_kernels::mul, resident_kernels::square),
            ];
            for (k, (mul, _)) in kernels.iter().enumerate() {
                let (low, high) = (&mut low[k], &mut high[k]);
                // SAFETY: IFMA checked above; the lengths are the kernels' own.
                unsafe {
                    mul(
                        &x0,
                        &x1,
                        &y0,
                        &y1,
                        &limbs,
                        &minus_one,
                        k0,
                        &mut scratch,
                        low,
                        high,
                    )
                };
            }
            assert_eq!(
                (&low[0], &high[0]),
                (&low[1], &high[1]),
                "product, L = {l}, round {round}"
            );
            for (k, (_, square)) in kernels.iter().enumerate() {
                let (low, high) = (&mut low[k], &mut high[k]);
                // SAFETY: as above.
                unsafe { square(&x0, &x1, &limbs, &minus_one, k0, &mut scratch, low, high) };
            }
            assert_eq!(
                (&low[0], &high[0]),
                (&low[1], &high[1]),
                "square, L = {l}, round {round}"
            );
        }
    }
}

#[test]
#[ignore = "timing, run by hand: cargo test --release -p paillier-gpu-engine --lib digit_lanes_timing -- --ignored --nocapture"]
fn digit_lanes_timing() {
    let mut rng = StdRng::seed_from_u64(151);
    for bits in [512u64, 1024, 1536, 2048] {
        let n = odd_number(bits, &mut rng);
        let Some((digits, whole, square, width)) = both_engines(&n) else {
            return;
        };
        let exponent = limbs_from_biguint(&rng.gen_biguint(bits), width).unwrap();
        let bases: Vec<u64> = (0..LANES)
            .flat_map(|_| limbs_from_biguint(&rng.gen_biguint_below(&square), width).unwrap())
            .collect();
        let mut out = vec![0u64; bases.len()];
        let rounds = (16 << 20) / (bits * bits) as usize + 2;
        let mut rate = |engine: &dyn Fn(&mut [u64])| {
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                engine(&mut out);
            }
            (rounds * LANES) as f64 / start.elapsed().as_secs_f64()
        };
        let exponents = [&exponent[..]; LANES];
        // Alternating, twice each, so that a noisy neighbour hits both.
        let mut rates = [0f64; 4];
        for (k, rate_k) in rates.iter_mut().enumerate() {
            *rate_k = if k % 2 == 0 {
                rate(&|out| digits.pow_secret(&bases, &exponents, bits as usize, out))
            } else {
                rate(&|out| whole.pow_secret(&bases, &exponents, bits as usize, out))
            };
        }
        let (two, one) = (rates[0].max(rates[2]), rates[1].max(rates[3]));
        println!(
            "N of {bits} bits, {bits}-bit exponent modulo N²: two digits {two:.0}/s, one modulus \
             {one:.0}/s, {:.2}x",
            two / one
        );
    }
}

#[test]
#[ignore = "timing, run by hand"]
#[allow(unsafe_code)]
fn digit_kernel_timing() {
    if !crate::bigint::ifma::Ifma52::available() {
        return;
    }
    for l in [12usize, 20, 24, 40] {
        let m: Vec<u64> = (0..l)
            .map(|j| (j as u64 * 0x9e3779b97f4a7 + 1) & crate::bigint::ifma::MASK52)
            .collect();
        let a: Vec<u64> = (0..8 * l)
            .map(|j| (j as u64 * 0x51ed27) & 0xffff_ffff)
            .collect();
        let mut scratch = vec![0u64; 32 * l];
        let n = 4_000_000 / (l * l);
        // Each call takes the last one's result, as in a power: a kernel's latency counts, not
        // only its throughput (independent calls overlap and read about a third faster).
        type Kernel<'a> = dyn Fn(&[u64], &[u64], &mut [u64], &mut [u64], &mut [u64]) + 'a;
        let mut time = |f: &Kernel| {
            let (mut x0, mut x1) = (a.clone(), a.clone());
            let (mut out0, mut out1) = (vec![0u64; 8 * l], vec![0u64; 8 * l]);
            let start = std::time::Instant::now();
            for _ in 0..n {
                f(&x0, &x1, &mut scratch, &mut out0, &mut out1);
                std::mem::swap(&mut x0, &mut out0);
                std::mem::swap(&mut x1, &mut out1);
            }
            start.elapsed().as_secs_f64() / n as f64 * 1e9
        };
        let mul = time(&|x0, x1, scratch, low, high| unsafe {
            super::digit_kernels::mul(x0, x1, &a, &a, &m, &m, 12345, scratch, low, high)
        });
        let square = time(&|x0, x1, scratch, low, high| unsafe {
            super::digit_kernels::square(x0, x1, &m, &m, 12345, scratch, low, high)
        });
        // Multiply-adds: 5·L² products and 3.5·L² for a square, two each.
        let rates = |mul: f64, square: f64| {
            format!(
                "8 products on digits {mul:.0} ns ({:.2} G IFMA/s), 8 squares {square:.0} ns \
                 ({:.2} G IFMA/s)",
                (10 * l * l) as f64 / mul,
                (7 * l * l) as f64 / square
            )
        };
        println!("L={l}, blocked kernels: {}", rates(mul, square));
        if super::resident_kernels::serves(l) {
            let mul = time(&|x0, x1, scratch, low, high| unsafe {
                super::resident_kernels::mul(x0, x1, &a, &a, &m, &m, 12345, scratch, low, high)
            });
            let square = time(&|x0, x1, scratch, low, high| unsafe {
                super::resident_kernels::square(x0, x1, &m, &m, 12345, scratch, low, high)
            });
            println!("L={l}, register kernels: {}", rates(mul, square));
        }
    }
}
