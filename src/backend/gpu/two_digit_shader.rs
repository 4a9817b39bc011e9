//! WGSL generation: arithmetic modulo a prime square m² on two base-m digits, for decoding's
//! `c^(p−1) mod p²` (the device's half of `bigint/two_digit`, in the cooperative layout of
//! [`super::shader`]).
//!
//! A value `X mod m²` is held as two digits below m, with `X·R ≡ d0 + m·d1 (mod m²)` and `R` the
//! Montgomery radix of m (so that `R²` is m²'s). With `x0·y0 + Q·m = R·t` (one Montgomery
//! product modulo m that keeps its quotient Q) and `s = 1` where it subtracted m:
//!
//! ```text
//! XY·R ≡ (t − s·m) + m·((x0·y1 + x1·y0 − Q)·R⁻¹ + s mod m)        (mod m²)
//! ```
//!
//! Only the cross sum's residue modulo m matters, so the high digit is one more pass of rows:
//! `u = (x0·y1 + x1·y0 + R − Q + Q'·m) / R`, the Montgomery reduction of a sum made positive by
//! `R − Q = ~Q + 1`, then `d1 = u − 1 + s mod m`. With every digit below m, `u < 3m − 1`, so two
//! conditional subtractions reduce it. A square needs one cross row, `(2·x0 mod m)·x1`.
//!
//! Per product of numbers of S limbs that is `5·S²` multiply-adds (`2·S²` for the low digit,
//! `3·S²` for the high one) where a Montgomery product modulo m² takes `8·S²`, and a square
//! `4·S²`; the exchanges per row stay what they are (3 for the low digit, 3 or 4 for the high).
//! The functions need the unrolled layout ([`Shape::unrolled`]); the host falls back to the
//! wide arithmetic where it does not hold.

use super::shader::{mac_row, shift_down, Shape};

/// The two-digit functions for `shape` (the width of m, not m²): `td_mul`, `td_square` and
/// `td_split` (a residue modulo m² into digits).
pub(super) fn library(shape: &Shape) -> String {
    let mut out = String::from(TYPES);
    out.push_str(&rows(
        shape,
        "mont_mul_q",
        &[("a", "b")],
        Reduction::KeepQuotient,
    ));
    out.push_str(&rows(
        shape,
        "cross_one",
        &[("a", "b")],
        Reduction::FromQuotient,
    ));
    out.push_str(&rows(
        shape,
        "cross_two",
        &[("a", "b"), ("c", "d")],
        Reduction::FromQuotient,
    ));
    out.push_str(FUNCTIONS);
    out
}

/// How the rows of a generated product start and end.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduction {
    /// `a·b·R⁻¹ mod m` from zero, returning the quotient Q and whether m was subtracted.
    KeepQuotient,
    /// `(Σ a·b + R − Q + Q'·m) / R` from the accumulator `~Q + 1`, unreduced (below 4R).
    FromQuotient,
}

/// A product function over every row of the multipliers: per row, each `(a, b)` pair adds
/// `a·b[row]`, then the Montgomery step adds `q·m` and the accumulator shifts down one limb.
fn rows(shape: &Shape, name: &str, pairs: &[(&str, &str)], reduction: Reduction) -> String {
    let l = shape.per_lane();
    let t = |k: usize| format!("t{k}");
    let mut row = String::new();
    for (index, (a, b)) in pairs.iter().enumerate() {
        // The +1 of R − Q = ~Q + 1 enters at the first product's first limb, once.
        let first = index == 0 && reduction == Reduction::FromQuotient;
        row.push_str(&format!("        let {b}i = exchange({b}[@K@], r);\n"));
        let carry_in = if first { "carry_in" } else { "0u" };
        row.push_str(&mac_row(
            l,
            a,
            &format!("{b}i"),
            &format!("var x{index}"),
            carry_in,
        ));
        if first {
            row.push_str("        carry_in = 0u;\n");
        }
    }
    row.push_str("        let q = exchange((t0 * m0) & LIMB_MASK, 0u);\n");
    if reduction == Reduction::KeepQuotient {
        row.push_str("        quotient[@K@] = select(quotient[@K@], q, lane == r);\n");
    }
    row.push_str(&mac_row(l, "m", "q", "var y", "0u"));
    row.push_str(&shift_down(l));

    let arguments: Vec<String> = pairs
        .iter()
        .flat_map(|(a, b)| [format!("{a}: Limbs"), format!("{b}: Limbs")])
        .collect();
    let mut body = String::new();
    match reduction {
        Reduction::KeepQuotient => {
            for k in 0..l {
                body.push_str(&format!("    var {} = 0u;\n", t(k)));
            }
            body.push_str("    var quotient = Limbs();\n");
        }
        Reduction::FromQuotient => {
            for k in 0..l {
                body.push_str(&format!("    var {} = ~quotient[{k}] & LIMB_MASK;\n", t(k)));
            }
            body.push_str("    var carry_in = select(0u, 1u, lane == 0u);\n");
        }
    }
    body.push_str("    var hi = widen(0u);\n    for (var r = 0u; r < T; r++) {\n");
    for k in 0..l {
        body.push_str("    {\n");
        body.push_str(&row.replace("@K@", &k.to_string()));
        body.push_str("    }\n");
    }
    body.push_str("    }\n");
    let limbs: Vec<String> = (0..l).map(t).collect();
    body.push_str(&format!(
        "    let n = normalize(Limbs({}), hi);\n",
        limbs.join(", ")
    ));
    match reduction {
        Reduction::KeepQuotient => format!(
            "
// a·b·R⁻¹ mod m for a, b < m, with the quotient Q of the reduction (a·b + Q·m = R·t) and
// whether t ≥ m was reduced.
fn {name}({args}, m: Limbs, m0: u32) -> LowDigit {{
{body}    let d = sub_limbs(n.v, m);
    let reduced = n.flag != 0u || d.flag == 0u;
    return LowDigit(pick(n.v, d.v, reduced), quotient, select(0u, 1u, reduced));
}}
",
            args = arguments.join(", ")
        ),
        Reduction::FromQuotient => format!(
            "
// (Σ a·b + R − quotient) reduced by Montgomery's rows, unreduced: limbs and what is above them.
fn {name}({args}, quotient: Limbs, m: Limbs, m0: u32) -> Flagged {{
{body}    return n;
}}
",
            args = arguments.join(", ")
        ),
    }
}

const TYPES: &str = "
// X·R ≡ d0 + m·d1 (mod m²), both digits below m.
struct Digits { d0: Limbs, d1: Limbs }
// The low digit of a product, the quotient of its reduction, and 1 where it subtracted m.
struct LowDigit { v: Limbs, q: Limbs, s: u32 }
";

const FUNCTIONS: &str = "
// a + b mod m for a, b < m.
fn add_mod(a: Limbs, b: Limbs, m: Limbs) -> Limbs {
    let sum = add_limbs(a, b);
    let d = sub_limbs(sum.v, m);
    return pick(sum.v, d.v, sum.flag != 0u || d.flag == 0u);
}

// One conditional subtraction of m from (v, top): v + top·R, kept where it would go negative.
fn reduce_step(v: Flagged, m: Limbs) -> Flagged {
    let d = sub_limbs(v.v, m);
    let keep = v.flag < d.flag;
    return Flagged(pick(d.v, v.v, keep), select(v.flag - d.flag, v.flag, keep));
}

// The high digit u − 1 + s mod m from the cross rows' u (1 ≤ u < 3m − 1, so u − 1 + s < 3m − 1).
fn high_digit(u: Flagged, s: u32, m: Limbs) -> Limbs {
    let d = sub_limbs(u.v, unit(1u - s));
    let once = reduce_step(Flagged(d.v, u.flag - d.flag), m);
    return reduce_step(once, m).v;
}

// X·Y from the digits of X·R and Y·R, as the digits of XY·R.
fn td_mul(x: Digits, y: Digits, m: Limbs, m0: u32) -> Digits {
    let low = mont_mul_q(x.d0, y.d0, m, m0);
    let u = cross_two(x.d0, y.d1, x.d1, y.d0, low.q, m, m0);
    return Digits(low.v, high_digit(u, low.s, m));
}

// X² from the digits of X·R: the cross sum 2·x0·x1 needs only its residue, (2·x0 mod m)·x1.
fn td_square(x: Digits, m: Limbs, m0: u32) -> Digits {
    let low = mont_mul_q(x.d0, x.d0, m, m0);
    let u = cross_one(add_mod(x.d0, x.d0, m), x.d1, low.q, m, m0);
    return Digits(low.v, high_digit(u, low.s, m));
}

// The digits of a residue c = lo + R·hi below m² (so hi < m): c mod m and (c − c mod m)/m, the
// digits of c·R⁻¹ (times those of R² they give c·R). consts holds, S limbs each: m | R² mod m |
// R³ mod m | m⁻¹ mod R | …
fn td_split(lo: Limbs, hi: Limbs, m: Limbs, m0: u32) -> Digits {
    // c mod m = (hi·R² + lo·R)·R⁻¹ mod m: both products are below R·m, so they reduce fully.
    // One mont_mul call site (a compiler inlines each): the three products in a loop.
    var c_r = Limbs();
    var c0 = Limbs();
    for (var k = 0u; k < 3u; k++) {
        let a = pick(pick(c_r, lo, k == 1u), hi, k == 0u);
        let b = pick(pick(unit(1u), load_consts(S), k == 1u), load_consts(2u * S), k == 0u);
        let product = mont_mul(a, b, m, m0);
        if (k == 0u) {
            c_r = product;
        } else if (k == 1u) {
            c_r = add_mod(c_r, product, m);
        } else {
            c0 = product;
        }
    }
    // (c − c0)/m is exact and below m < R: the low limbs times m⁻¹ mod R.
    return Digits(c0, mul_wide(sub_limbs(lo, c0).v, load_consts(3u * S)).lo);
}
";
