//! WGSL generation: arithmetic modulo a square m² on two base-m digits, for decoding's
//! `c^(p−1) mod p²` and encryption's fixed-base passes modulo p², q² and n² (the device's half
//! of `bigint/two_digit`, in the cooperative layout of [`super::shader`]).
//!
//! A value `X mod m²` is held as two digits below m, with `X·R ≡ d0 + m·d1 (mod m²)` and `R` the
//! Montgomery radix of m (so that `R²` is m²'s). With `x0·y0 + Q·m = R·t` (one Montgomery
//! product modulo m that keeps its quotient Q) and `s = 1` where it subtracted m:
//!
//! ```text
//! XY·R ≡ (t − s·m) + m·((x0·y1 + x1·y0 − Q)·R⁻¹ + s mod m)        (mod m²)
//! ```
//!
//! Only the cross sum's residue modulo m matters, so the high digit is a second accumulator:
//! `u = (x0·y1 + x1·y0 + R − Q + Q'·m) / R`, the Montgomery reduction of a sum made positive by
//! `R − Q = ~Q + 1`, then `d1 = u − 1 + s mod m`. With every digit below m, `u < 3m − 1`, so two
//! conditional subtractions reduce it. Both accumulators run in one loop of rows: the low row's
//! multiplier limb `y0[k]` is also the cross row's (`x1·y0[k]`), and the low row's quotient digit
//! `q_k` enters the cross accumulator (as `~q_k`, the carry into its reduction's chain, so the
//! cross terms never wait for it) at the position it is made, so Q is never stored; the two
//! carry chains are independent, which gives a GPU two chains to interleave. A square's cross
//! sum is one row, `(2·x1 mod m)·x0[k]`, on the low row's multiplier limb. A product by a number
//! in memory (a table entry) has every lane read the multiplier's limbs (`td_rows_loaded`)
//! rather than hold them and pass them round.
//!
//! Per product of numbers of S limbs that is `5·S²` multiply-adds (`2·S²` for the low digit,
//! `3·S²` for the high one) where a Montgomery product modulo m² takes `8·S²`, and a square
//! `4·S²`. Exchanges per row: a product 6 (two multiplier limbs, two quotient digits, two
//! shifts), a product by a loaded multiplier 4, a square 5, where a row modulo m² takes 3 over
//! twice the rows. The functions need
//! the unrolled layout ([`Shape::unrolled`]); the host falls back to the wide arithmetic where it
//! does not hold.

use super::shader::{mac_row, shift_down, Accumulator, Shape};

/// The digit functions of the table kernel for `shape` (the width of m, not m²): `td_mul`,
/// `td_square` and `td_split` (a residue modulo m² into digits).
pub(in crate::backend::gpu) fn table_library(shape: &Shape) -> String {
    let mut out = String::from(TYPES);
    out.push_str(&rows(shape, Cross::TwoTerms));
    out.push_str(&rows(shape, Cross::OneTerm));
    out.push_str(REDUCTIONS);
    out.push_str(SQUARE);
    out.push_str(PRODUCT_AND_SPLIT);
    out
}

/// The digit functions of the exponentiation kernel: `td_square`, and `td_rows_loaded` over
/// the odd powers in `tables` (see [`fixed_base_library`]).
pub(in crate::backend::gpu) fn exp_library(shape: &Shape) -> String {
    let mut out = String::from(TYPES);
    out.push_str(&rows(shape, Cross::OneTerm));
    out.push_str(&rows(shape, Cross::Loaded("tables")));
    out.push_str(REDUCTIONS);
    out.push_str(SQUARE);
    out
}

/// The digit functions of the fixed-base kernel: `td_rows_loaded(a, e, at, m, m0)`, the digits
/// of X·Y for X = (a, e) and a multiplier Y whose digits lie in `powers` at word `at` (y0) and
/// `at + S` (y1). Every lane reads Y's limb of the row from memory, where `td_mul` holds Y in its
/// lanes and passes each limb round: two exchanges fewer a row, and Y takes no registers.
pub(in crate::backend::gpu) fn fixed_base_library(shape: &Shape) -> String {
    let mut out = String::from(TYPES);
    out.push_str(&rows(shape, Cross::Loaded("powers")));
    out.push_str(REDUCTIONS);
    out
}

/// The cross sum of a generated product.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cross {
    /// `e·b[k] + c·d[k]`: a product (`e = x1, c = x0, d = y1`).
    TwoTerms,
    /// `e·b[k]`: a square (`e = 2·x1 mod m`).
    OneTerm,
    /// `e·y0[k] + a·y1[k]` for y read from a storage array: a product by a table entry.
    Loaded(&'static str),
}

const LOW: Accumulator<'static> = Accumulator {
    limbs: "t",
    hi: "hi_t",
};
const HIGH: Accumulator<'static> = Accumulator {
    limbs: "u",
    hi: "hi_u",
};

/// `td_rows_product(a, b, e, c, d, m, m0)` or `td_rows_square(a, b, e, m, m0)`: per row k, the
/// low accumulator adds `a·b[k]` and its Montgomery step, the high one adds the cross terms,
/// `~q_k` and its own Montgomery step; both shift down one limb.
fn rows(shape: &Shape, cross: Cross) -> String {
    let l = shape.per_lane();
    let mut row = match cross {
        Cross::Loaded(array) => format!(
            "        let bi = {array}[at + r * L + @K@u];\n        let di = {array}[at + S + r * L + @K@u];\n"
        ),
        _ => String::from("        let bi = exchange(b[@K@], r);\n"),
    };
    if cross == Cross::TwoTerms {
        row.push_str("        let di = exchange(d[@K@], r);\n");
    }
    row.push_str(&mac_row(l, LOW, "a", "bi", "var xt", "0u"));
    row.push_str("        let qt = exchange((t0 * m0) & LIMB_MASK, 0u);\n");
    row.push_str(&mac_row(l, LOW, "m", "qt", "xt", "0u"));
    // The cross terms do not wait for the low row's quotient digit: ~q_k enters at the lowest
    // limb (the high accumulator's limb 0 is position k after k shifts) as the carry into the
    // reduction's chain, and the reduction's digit counts it.
    row.push_str(&mac_row(l, HIGH, "e", "bi", "var xu", "0u"));
    match cross {
        Cross::TwoTerms => row.push_str(&mac_row(l, HIGH, "c", "di", "xu", "0u")),
        Cross::Loaded(_) => row.push_str(&mac_row(l, HIGH, "a", "di", "xu", "0u")),
        Cross::OneTerm => {}
    }
    row.push_str("        let not_q = select(0u, ~qt & LIMB_MASK, lane == 0u);\n");
    row.push_str("        let qu = exchange(((u0 + not_q) * m0) & LIMB_MASK, 0u);\n");
    row.push_str(&mac_row(l, HIGH, "m", "qu", "xu", "not_q"));
    row.push_str(&shift_down(l, LOW));
    row.push_str(&shift_down(l, HIGH));

    let mut body = String::new();
    for k in 0..l {
        body.push_str(&format!("    var t{k} = 0u;\n"));
    }
    // The +1 of R − Q = ~Q + 1.
    body.push_str("    var u0 = select(0u, 1u, lane == 0u);\n");
    for k in 1..l {
        body.push_str(&format!("    var u{k} = 0u;\n"));
    }
    body.push_str("    var hi_t = widen(0u);\n    var hi_u = widen(0u);\n");
    body.push_str("    for (var r = 0u; r < T; r++) {\n");
    for k in 0..l {
        body.push_str("    {\n");
        body.push_str(&row.replace("@K@", &k.to_string()));
        body.push_str("    }\n");
    }
    body.push_str("    }\n");
    let limbs = |name: &str| -> String {
        (0..l)
            .map(|k| format!("{name}{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, arguments) = match cross {
        Cross::TwoTerms => (
            "td_rows_product",
            "a: Limbs, b: Limbs, e: Limbs, c: Limbs, d: Limbs",
        ),
        Cross::OneTerm => ("td_rows_square", "a: Limbs, b: Limbs, e: Limbs"),
        Cross::Loaded(_) => ("td_rows_loaded", "a: Limbs, e: Limbs, at: u32"),
    };
    format!(
        "
// The digits of a·b plus the cross sum (see two_digit_shader.rs), every input below m.
fn {name}({arguments}, m: Limbs, m0: u32) -> Digits {{
{body}    let low = normalize(Limbs({t}), hi_t);
    let less_m = sub_limbs(low.v, m);
    let reduced = low.flag != 0u || less_m.flag == 0u;
    let high = normalize(Limbs({u}), hi_u);
    return Digits(pick(low.v, less_m.v, reduced), high_digit(high, select(0u, 1u, reduced), m));
}}
",
        t = limbs("t"),
        u = limbs("u"),
    )
}

const TYPES: &str = "
// X·R ≡ d0 + m·d1 (mod m²), both digits below m.
struct Digits { d0: Limbs, d1: Limbs }
";

const REDUCTIONS: &str = "
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
";

const SQUARE: &str = "
// X² from the digits of X·R: the cross sum 2·x0·x1 needs only its residue, (2·x1 mod m)·x0.
fn td_square(x: Digits, m: Limbs, m0: u32) -> Digits {
    return td_rows_square(x.d0, x.d0, add_mod(x.d1, x.d1, m), m, m0);
}
";

const PRODUCT_AND_SPLIT: &str = "
// X·Y from the digits of X·R and Y·R, as the digits of XY·R.
fn td_mul(x: Digits, y: Digits, m: Limbs, m0: u32) -> Digits {
    return td_rows_product(x.d0, y.d0, x.d1, x.d0, y.d1, m, m0);
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
