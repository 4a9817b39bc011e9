//! The portable engine's inner row in x86-64 assembly, for CPUs with BMI2 and ADX: `mulx`
//! multiplies without touching the flags, and `adcx`/`adox` add with two independent carry chains
//! (CF and OF), so the low and high halves of successive limb products are summed in one pass
//! with no carry held in a register between them. GMP's `mul_basecase` does the same; the
//! compiled `u128` loop of `limbs.rs` carries through one register per limb and runs about half as
//! fast.
//!
//! Nothing here branches on or indexes by the values: the loop runs `len / 4` times, and its exit
//! test (`jrcxz`, which reads no flags so that the carry chains survive it) reads only that count.

/// Whether this CPU runs [`mont_mul`] (BMI2 and ADX; checked once).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS_ADX: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS_ADX.get_or_init(|| {
            std::arch::is_x86_feature_detected!("bmi2")
                && std::arch::is_x86_feature_detected!("adx")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether a width is one [`mont_mul`] takes: a positive multiple of four limbs.
pub(crate) fn width_supported(len: usize) -> bool {
    len > 0 && len.is_multiple_of(4)
}

/// `out = a·b·R⁻¹ mod m` (as the portable `limbs::mont_mul`) with the assembly
/// row; `wide` is scratch of `2·len` limbs, left holding intermediate values for the caller to
/// wipe. Never inlined: `tools/ct-check` verifies this compiled function (valgrind cannot run
/// ADX, so memcheck sees only the other copy).
///
/// # Safety
/// The CPU must have BMI2 and ADX ([`available`]); `a`, `b`, `m` and `out` have the same
/// length `len` with [`width_supported`]`(len)`, and `wide` at least `2·len` limbs.
#[allow(unsafe_code)]
#[inline(never)]
pub(crate) unsafe fn mont_mul(
    a: &[u64],
    b: &[u64],
    m: &[u64],
    m0_inv: u64,
    wide: &mut [u64],
    out: &mut [u64],
) {
    let n = m.len();
    let (wide, _) = wide.split_at_mut(2 * n);
    product(a, b, wide);
    reduce(wide, m, m0_inv, out);
}

/// `out = a²·R⁻¹ mod m`: [`mont_mul`]`(a, a)` with each off-diagonal product once, a quarter
/// fewer limb products. Never inlined, and checked as [`mont_mul`] is.
///
/// # Safety
/// As [`mont_mul`].
#[allow(unsafe_code)]
#[inline(never)]
pub(crate) unsafe fn mont_square(
    a: &[u64],
    m: &[u64],
    m0_inv: u64,
    wide: &mut [u64],
    out: &mut [u64],
) {
    let n = m.len();
    let (wide, _) = wide.split_at_mut(2 * n);
    square_product(&a[..n], wide);
    reduce(wide, m, m0_inv, out);
}

/// `wide = a²` (`2·len` limbs) with each off-diagonal product once, through the assembly row.
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn square_product(a: &[u64], wide: &mut [u64]) {
    let n = a.len();
    wide.fill(0);
    // Row i adds a[i]·a[i+1..n] at limb 2i+1: its first `len % 4` limbs in Rust, the rest (a
    // multiple of 4) in the assembly row, carrying between them.
    for i in 0..n {
        let len = n - 1 - i;
        let head = len % 4;
        let (start, end) = (2 * i + 1, i + n);
        let mut carry = 0u64;
        for (t, &aj) in wide[start..start + head]
            .iter_mut()
            .zip(&a[i + 1..i + 1 + head])
        {
            let v = *t as u128 + aj as u128 * a[i] as u128 + carry as u128;
            *t = v as u64;
            carry = (v >> 64) as u64;
        }
        if len > head {
            carry = row(
                &mut wide[start + head..end],
                &a[i + 1 + head..],
                a[i],
                carry,
            );
        }
        wide[end] = carry;
    }
    super::final_steps::double_and_add_squares(a, wide);
}

/// Montgomery reduction of the `2·len`-limb `wide` into `out`, with the assembly row.
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn reduce(wide: &mut [u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    let n = m.len();
    let top_carry = reduce_rows(wide, m, m0_inv, None);
    super::final_steps::subtract_once(&wide[n..2 * n], top_carry, m, out);
}

/// The rows of a Montgomery reduction, without the final subtraction: adds `q·m` to `wide`
/// (`2·len` limbs) so that its low half becomes zero, and returns the carry out of the top, so
/// that `(carry, wide[len..2·len]) = (wide + q·m)/R`. Writes `q` to `quotient` when given.
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn reduce_rows(
    wide: &mut [u64],
    m: &[u64],
    m0_inv: u64,
    mut quotient: Option<&mut [u64]>,
) -> u64 {
    let n = m.len();
    let mut top_carry = 0u64;
    for i in 0..n {
        let q = wide[i].wrapping_mul(m0_inv);
        if let Some(quotient) = quotient.as_deref_mut() {
            quotient[i] = q;
        }
        let carry = row(&mut wide[i..i + n], m, q, 0);
        let v = wide[i + n] as u128 + carry as u128 + top_carry as u128;
        wide[i + n] = v as u64;
        top_carry = (v >> 64) as u64;
    }
    top_carry
}

/// `wide = a·b` (`2·len` limbs) with the assembly row.
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn product(a: &[u64], b: &[u64], wide: &mut [u64]) {
    let n = a.len();
    wide[..n].fill(0);
    for (i, &bi) in b[..n].iter().enumerate() {
        wide[i + n] = row(&mut wide[i..i + n], &a[..n], bi, 0);
    }
}

/// [`mont_mul`] (`b` given) or [`mont_square`] (`b` is `None`, for `a²`) that also writes the
/// Montgomery quotient `q` (`len` limbs: `a·b + q·m = R·t`) and returns 1 when the result is
/// `t − m`, 0 when it is `t`. The two-digit arithmetic modulo m² needs both. Never inlined,
/// and checked as [`mont_mul`] is.
///
/// # Safety
/// As [`mont_mul`]; `quotient` has at least `len` limbs.
#[allow(unsafe_code)]
#[inline(never)]
pub(crate) unsafe fn mont_product_with_quotient(
    a: &[u64],
    b: Option<&[u64]>,
    m: &[u64],
    m0_inv: u64,
    wide: &mut [u64],
    out: &mut [u64],
    quotient: &mut [u64],
) -> u64 {
    let n = m.len();
    let (wide, _) = wide.split_at_mut(2 * n);
    match b {
        Some(b) => product(a, b, wide),
        None => square_product(&a[..n], wide),
    }
    let top_carry = reduce_rows(wide, m, m0_inv, Some(quotient));
    super::final_steps::subtract_once(&wide[n..2 * n], top_carry, m, out)
}

/// `wide = a·b`, the full product of two `len`-limb values, with the assembly row (the
/// two-digit arithmetic's cross products). Never inlined.
///
/// # Safety
/// As [`mont_mul`]: BMI2 and ADX; `a` and `b` have `len` limbs, `len` a positive multiple of 4,
/// and `wide` at least `2·len`.
#[allow(unsafe_code)]
#[inline(never)]
pub(crate) unsafe fn wide_product(a: &[u64], b: &[u64], wide: &mut [u64]) {
    let n = a.len();
    product(&a[..n], &b[..n], &mut wide[..2 * n]);
}

/// The rows of a Montgomery reduction of `top_in·R² + wide` (`wide` of `2·len` limbs), with no
/// final subtraction: `(returned, wide[len..2·len]) = (top_in·R² + wide + q·m)/R`, which is at
/// most `top_in·R + wide/R + m`. Never inlined.
///
/// # Safety
/// As [`mont_mul`]; `wide` has at least `2·len` limbs.
#[allow(unsafe_code)]
#[inline(never)]
pub(crate) unsafe fn reduce_partial(wide: &mut [u64], top_in: u64, m: &[u64], m0_inv: u64) -> u64 {
    let n = m.len();
    reduce_rows(&mut wide[..2 * n], m, m0_inv, None) + top_in
}

/// `t += a·b + carry_in` over `t.len() == a.len()` limbs, a positive multiple of 4 (the loop
/// runs at least once); returns the carry limb (at most `b` when `carry_in` is).
///
/// # Safety
/// As [`mont_mul`]: the CPU has BMI2 and ADX; and the lengths are as above (a length of 0
/// would run the loop past both slices).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn row(t: &mut [u64], a: &[u64], b: u64, carry_in: u64) -> u64 {
    debug_assert!(t.len() == a.len() && width_supported(a.len()));
    let carry: u64;
    #[allow(unsafe_code)]
    // SAFETY: this function's contract: the CPU has BMI2 and ADX, and `t` and `a` have the same
    // length, a positive multiple of 4; the loop reads `a` and reads and writes `t` below that
    // length. It touches no other memory and no stack, and declares every register it changes.
    unsafe {
        std::arch::asm!(
            // CF = OF = 0; `hi` starts as the carry in.
            "xor {lo:e}, {lo:e}",
            "2:",
            "mulx {h:r}, {lo}, qword ptr [{a}]",
            "adcx {lo}, qword ptr [{t}]",
            "adox {lo}, {hi}",
            "mov qword ptr [{t}], {lo}",
            "mulx {hi}, {lo}, qword ptr [{a} + 8]",
            "adcx {lo}, qword ptr [{t} + 8]",
            "adox {lo}, {h:r}",
            "mov qword ptr [{t} + 8], {lo}",
            "mulx {h:r}, {lo}, qword ptr [{a} + 16]",
            "adcx {lo}, qword ptr [{t} + 16]",
            "adox {lo}, {hi}",
            "mov qword ptr [{t} + 16], {lo}",
            "mulx {hi}, {lo}, qword ptr [{a} + 24]",
            "adcx {lo}, qword ptr [{t} + 24]",
            "adox {lo}, {h:r}",
            "mov qword ptr [{t} + 24], {lo}",
            // Advance without touching the flags: `lea`, and `jrcxz` on the count.
            "lea {a}, [{a} + 32]",
            "lea {t}, [{t} + 32]",
            "lea rcx, [rcx - 1]",
            "jrcxz 3f",
            "jmp 2b",
            "3:",
            // The carry out: the last high half plus both chains' carries. The whole sum is below
            // 2^(64·len)·(b + 1) (the carry in is at most b), so this cannot overflow.
            "mov {lo:e}, 0",
            "adcx {hi}, {lo}",
            "adox {hi}, {lo}",
            a = inout(reg) a.as_ptr() => _,
            t = inout(reg) t.as_mut_ptr() => _,
            inout("rcx") a.len() / 4 => _,
            in("rdx") b,
            lo = out(reg) _,
            h = out(reg) _,
            hi = inout(reg) carry_in => carry,
            options(nostack),
        );
    }
    carry
}

#[cfg(not(target_arch = "x86_64"))]
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn row(_t: &mut [u64], _a: &[u64], _b: u64, _carry_in: u64) -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    /// The assembly product against num-bigint, with all-ones limbs (every carry of both
    /// chains) and moduli just below a power of two.
    #[test]
    #[allow(unsafe_code)]
    fn products_match_num_bigint() {
        if !available() {
            return; // this CPU never runs it (the engine checks `available` too)
        }
        let limbs = |x: &BigUint, n: usize| crate::bigint::limbs_from_biguint(x, n).unwrap();
        for n in [4usize, 8, 32, 40, 64] {
            let r = BigUint::from(1u32) << (64 * n);
            for m in [&r - 1u32, &r - 0x1_0000_0001u64, (&r >> 1) + 0x2b_u32] {
                let m0 = limbs(&m, n)[0];
                let mut inv = 1u64; // Newton: inv = m0⁻¹ mod 2^64
                for _ in 0..6 {
                    inv = inv.wrapping_mul(2u64.wrapping_sub(m0.wrapping_mul(inv)));
                }
                let m0_inv = inv.wrapping_neg();
                let r_inv = r.modinv(&m).unwrap();
                for (a, b) in [
                    (&m - 1u32, &m - 1u32),
                    (&m - 2u32, BigUint::from(3u32)),
                    ((&m >> 3) + 7u32, &m >> 1),
                ] {
                    let mut wide = vec![0u64; 2 * n];
                    let mut out = vec![0u64; n];
                    // SAFETY: `available` was checked; every slice has n limbs, n % 4 == 0.
                    unsafe {
                        mont_mul(
                            &limbs(&a, n),
                            &limbs(&b, n),
                            &limbs(&m, n),
                            m0_inv,
                            &mut wide,
                            &mut out,
                        )
                    };
                    assert_eq!(out, limbs(&(&a * &b * &r_inv % &m), n), "n {n}");
                    // SAFETY: as above.
                    unsafe {
                        mont_square(&limbs(&a, n), &limbs(&m, n), m0_inv, &mut wide, &mut out)
                    };
                    assert_eq!(out, limbs(&(&a * &a * &r_inv % &m), n), "square, n {n}");
                }
            }
        }
    }
}
