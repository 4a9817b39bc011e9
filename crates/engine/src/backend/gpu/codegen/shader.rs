//! WGSL generation: the cooperative big-integer library that every kernel is built on.
//!
//! A number of `S` limbs is held by a group of `T` invocations ("lanes"), each keeping `L = S / T`
//! consecutive limbs of every operand in private variables indexed only by constants, so that a
//! driver keeps them in registers (the layout of NVIDIA's CGBN). The few values that cross lanes
//! (the broadcast limb of a row, the quotient digit, the limb shifted down, carries) move through
//! one `exchange(value, source_lane)` primitive with two spellings:
//!
//! * [`Exchange::Subgroup`]: `subgroupShuffle` inside a subgroup (needs a subgroup size ≥ T);
//! * [`Exchange::Workgroup`]: a double-banked `var<workgroup>` slot array and one barrier.
//!
//! `S`, `T` and `L` are constants of the generated text, so one pipeline serves one width. The
//! kernels' entry points (`shaders/*.wgsl`) call the functions generated here; control flow is
//! uniform in every group (loop bounds come from uniforms, never from a lane's data), which both
//! barriers and shuffles require.

use super::variants::{Exchange, LimbPath};

/// Invocations per workgroup in every kernel.
pub(in crate::backend::gpu) const WORKGROUP_SIZE: usize = 64;

/// Above this many limbs per lane a row's `L` steps run in a loop (rotating the multiplier's
/// limbs) instead of being unrolled, which keeps the shader text, and compile times on software
/// adapters, in bounds.
const MAX_UNROLLED_ROWS: usize = 16;

/// The shape of one specialised pipeline: limbs per number, lanes per number, exchange variant and
/// limb path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::backend::gpu) struct Shape {
    /// Limbs per number (`S`).
    pub limbs: usize,
    /// Invocations per number (`T`): a power of two dividing `S`, at most the workgroup size.
    pub lanes: usize,
    /// How values cross lanes.
    pub exchange: Exchange,
    /// Limb width.
    pub path: LimbPath,
}

impl Shape {
    /// Limbs per lane (`L`).
    pub fn per_lane(&self) -> usize {
        self.limbs / self.lanes
    }

    /// Numbers one workgroup works on.
    pub fn numbers_per_workgroup(&self) -> usize {
        WORKGROUP_SIZE / self.lanes
    }

    /// Whether the rows of a product are unrolled in the text (else a loop over them).
    pub fn unrolled(&self) -> bool {
        self.per_lane() <= MAX_UNROLLED_ROWS
    }

    /// Loop back-edges one Montgomery product costs (what lavapipe's loop limiter counts).
    pub fn product_back_edges(&self) -> usize {
        let rows = if self.unrolled() {
            self.lanes
        } else {
            self.limbs
        };
        rows + 2
    }
}

/// The generated library for `shape`: constants, limb arithmetic, exchange, the entry point
/// (which sets `lane` and `item` and calls the kernel's `kernel()`), loads and stores for the
/// named storage arrays, and the big-integer functions.
pub(in crate::backend::gpu) fn library(shape: &Shape, loads: &[&str], stores: &[&str]) -> String {
    let l = shape.per_lane();
    let (bits, mask) = match shape.path {
        LimbPath::Bits32 => (32, "0xffffffffu"),
        LimbPath::Bits16 => (16, "0xffffu"),
    };
    let mut out = String::new();
    out.push_str(&format!(
        "const S: u32 = {s}u;\nconst T: u32 = {t}u;\nconst L: u32 = {l}u;\nconst WG: u32 = {wg}u;\n\
         const LIMB_BITS: u32 = {bits}u;\nconst LIMB_MASK: u32 = {mask};\n\
         alias Limbs = array<u32, {l}>;\n\
         // A number with a uniform flag (a carry, a borrow, an overflow).\n\
         struct Flagged {{ v: Limbs, flag: u32 }}\n\
         // A double-width product: low and high halves.\n\
         struct Product {{ lo: Limbs, hi: Limbs }}\n\
         // This invocation's lane in its group, and the group's item within the dispatch.\n\
         var<private> lane: u32;\nvar<private> item: u32;\nvar<private> group_base: u32;\n",
        s = shape.limbs,
        t = shape.lanes,
        wg = WORKGROUP_SIZE,
    ));
    out.push_str(match shape.path {
        LimbPath::Bits32 => LIMB32,
        LimbPath::Bits16 => LIMB16,
    });
    out.push_str(match shape.exchange {
        Exchange::Subgroup => EXCHANGE_SUBGROUP,
        Exchange::Workgroup => EXCHANGE_WORKGROUP,
    });
    for name in loads {
        out.push_str(&format!(
            "fn load_{name}(at: u32) -> Limbs {{\n    let base = at + lane * L;\n    return Limbs({});\n}}\n",
            list(l, |k| format!("{name}[base + {k}u]"))
        ));
    }
    for name in stores {
        out.push_str(&format!(
            "fn store_{name}(at: u32, v: Limbs) {{\n    let base = at + lane * L;\n{}}}\n",
            lines(l, |k| format!("    {name}[base + {k}u] = v[{k}];"))
        ));
    }
    out.push_str(&helpers(shape));
    out.push_str(&rows_function(shape, RowMode::Montgomery));
    out.push_str(&rows_function(shape, RowMode::Plain));
    out
}

fn list(n: usize, item: impl Fn(usize) -> String) -> String {
    (0..n).map(item).collect::<Vec<_>>().join(", ")
}

fn lines(n: usize, line: impl Fn(usize) -> String) -> String {
    (0..n).map(|k| line(k) + "\n").collect()
}

/// Lane-crossing helpers: carry scans, normalisation, addition, subtraction, selection, sums.
fn helpers(shape: &Shape) -> String {
    let l = shape.per_lane();
    // Kogge–Stone steps over lanes: 1, 2, 4, … below T.
    let scan_steps: String = std::iter::successors(Some(1usize), |d| Some(d * 2))
        .take_while(|&d| d < shape.lanes)
        .map(|d| {
            format!(
                "    {{\n        let below = exchange(gg | (pp << 1u), (lane + T - {d}u) % T);\n        let has = lane >= {d}u;\n        gg = gg | (pp & select(0u, below & 1u, has));\n        pp = pp & select(1u, below >> 1u, has);\n    }}\n"
            )
        })
        .collect();
    let sum_steps: String = std::iter::successors(Some(shape.lanes / 2), |d| Some(d / 2))
        .take_while(|&d| d >= 1)
        .map(|d| format!("    s = s + exchange(s, lane ^ {d}u);\n"))
        .collect();
    let all_ones = list(l, |k| format!("v[{k}]")).replace(", ", " & ");
    let any_bits = list(l, |k| format!("d[{k}]")).replace(", ", " | ");
    format!(
        "
// Carry (or borrow) scan over the group: this lane generates `g` and propagates `p` (all its limbs
// saturated). Returns (carry into this lane, carry out of the top lane); the second is uniform.
fn carry_scan(g: u32, p: u32) -> vec2<u32> {{
    var gg = g;
    var pp = p;
{scan_steps}    let below = exchange(gg, (lane + T - 1u) % T);
    let top = exchange(gg, T - 1u);
    return vec2<u32>(select(0u, below, lane > 0u), top);
}}

// The number c (c < 2^LIMB_BITS) as limbs.
fn unit(c: u32) -> Limbs {{
    var v = Limbs();
    v[0] = select(0u, c, lane == 0u);
    return v;
}}

fn pick(a: Limbs, b: Limbs, take_b: bool) -> Limbs {{
    return Limbs({pick});
}}

// a + b: the sum modulo 2^(LIMB_BITS·S) and the carry out of the top (uniform).
fn add_limbs(a: Limbs, b: Limbs) -> Flagged {{
    var v = Limbs();
    var x = vec2<u32>(0u, 0u);
{add_local}    let c = carry_scan(x.y, select(0u, 1u, ({all_ones}) == LIMB_MASK));
    x.y = c.x;
{add_carry_in}    return Flagged(v, c.y);
}}

// a - b: the difference modulo 2^(LIMB_BITS·S) and the borrow out of the top (uniform).
fn sub_limbs(a: Limbs, b: Limbs) -> Flagged {{
    var d = Limbs();
    var x = vec2<u32>(0u, 0u);
{sub_local}    let c = carry_scan(x.y, select(0u, 1u, ({any_bits}) == 0u));
    x.y = c.x;
{sub_borrow_in}    return Flagged(d, c.y);
}}

// Resolves the lazy carries of an accumulator: limbs t with `hi` pending at the next lane's first
// limb. Returns the limbs and what remains above the top limb (uniform; exact while below
// LIMB_MASK, else LIMB_MASK: nonzero exactly when something remains).
fn normalize(t: Limbs, hi: Wide) -> Flagged {{
    let lower = (lane + T - 1u) % T;
    let in_lo = select(0u, exchange(wide_lo(hi), lower), lane > 0u);
    let in_hi = select(0u, exchange(wide_hi(hi), lower), lane > 0u);
    var v = Limbs();
    var x = add_carry(t[0], in_lo);
    v[0] = x.x;
    x = add_carry(t[1], in_hi + x.y);
    v[1] = x.x;
{normalize_rest}    let c = carry_scan(x.y, select(0u, 1u, ({all_ones}) == LIMB_MASK));
    x.y = c.x;
{add_carry_in}    let saturated = wide_hi(hi) != 0u || wide_lo(hi) == LIMB_MASK;
    let above = select(wide_lo(hi) + c.y, LIMB_MASK, saturated);
    return Flagged(v, exchange(above, T - 1u));
}}

// The sum of every lane's `v`, in every lane.
fn lane_sum(v: u32) -> u32 {{
    var s = v;
{sum_steps}    return s;
}}
",
        pick = list(l, |k| format!("select(a[{k}], b[{k}], take_b)")),
        add_local = lines(l, |k| {
            format!(
            "    {{\n        let y = add_carry(a[{k}], b[{k}]);\n        let z = add_carry(y.x, x.y);\n        v[{k}] = z.x;\n        x.y = y.y + z.y;\n    }}"
        )
        }),
        add_carry_in = lines(l, |k| format!(
            "    x = add_carry(v[{k}], x.y);\n    v[{k}] = x.x;"
        )),
        sub_local = lines(l, |k| format!(
            "    x = sub_borrow(a[{k}], b[{k}], x.y);\n    d[{k}] = x.x;"
        )),
        sub_borrow_in = lines(l, |k| format!(
            "    x = sub_borrow(d[{k}], 0u, x.y);\n    d[{k}] = x.x;"
        )),
        normalize_rest = lines(l.saturating_sub(2), |k| format!(
            "    x = add_carry(t[{i}], x.y);\n    v[{i}] = x.x;",
            i = k + 2
        )),
    )
}

/// What a row does after adding `a · b_i`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowMode {
    /// Montgomery reduction: add `q · m` so that the low limb vanishes.
    Montgomery,
    /// Plain product: the low limb is final; keep it as a limb of the low half.
    Plain,
}

/// `mont_mul(a, b, m, m0)` (a·b·R⁻¹ mod m for a, b < m) or `mul_wide(a, b)` (the full product),
/// row by row over b's limbs (CIOS), with the accumulator shifted down one limb per row.
fn rows_function(shape: &Shape, mode: RowMode) -> String {
    let l = shape.per_lane();
    let unrolled = shape.unrolled();
    let t = |k: usize| format!("t{k}");
    let mut row = String::new();
    let bi = if unrolled {
        "b[@K@]".to_string()
    } else {
        "bk0".to_string()
    };
    row.push_str(&format!("        let bi = exchange({bi}, r);\n"));
    row.push_str(&mac_row(l, ROWS, "a", "bi", "var x", "0u"));
    match mode {
        RowMode::Montgomery => {
            row.push_str("        let q = exchange((t0 * m0) & LIMB_MASK, 0u);\n");
            row.push_str(&mac_row(l, ROWS, "m", "q", "x", "0u"));
        }
        RowMode::Plain => {
            row.push_str("        let low = exchange(t0, 0u);\n");
            if unrolled {
                row.push_str("        lo[@K@] = select(lo[@K@], low, lane == r);\n");
            } else {
                row.push_str(
                    "        lo_next = select(lo_next, low, lane == r);\n        lo[k] = lo_next;\n",
                );
            }
        }
    }
    row.push_str(&shift_down(l, ROWS));
    if !unrolled {
        // Rotate b's limbs so that the next row's limb is always bk0.
        for k in 0..l - 1 {
            row.push_str(&format!("        bk{k} = bk{};\n", k + 1));
        }
        row.push_str(&format!("        bk{} = b_first;\n", l - 1));
    }

    let mut body = String::new();
    for k in 0..l {
        body.push_str(&format!("    var {} = 0u;\n", t(k)));
    }
    body.push_str("    var hi = widen(0u);\n");
    if mode == RowMode::Plain {
        body.push_str("    var lo = Limbs();\n");
    }
    body.push_str("    for (var r = 0u; r < T; r++) {\n");
    if unrolled {
        for k in 0..l {
            body.push_str("    {\n");
            body.push_str(&row.replace("@K@", &k.to_string()));
            body.push_str("    }\n");
        }
    } else {
        for k in 0..l {
            body.push_str(&format!("        var bk{k} = b[{k}];\n"));
        }
        if mode == RowMode::Plain {
            body.push_str("        var lo_next = 0u;\n");
        }
        body.push_str("        for (var k = 0u; k < L; k++) {\n        let b_first = bk0;\n");
        if mode == RowMode::Plain {
            body.push_str("        lo_next = lo[k];\n");
        }
        body.push_str(&row);
        body.push_str("        }\n");
    }
    body.push_str("    }\n");
    body.push_str(&format!(
        "    let n = normalize(Limbs({}), hi);\n",
        list(l, t)
    ));
    match mode {
        RowMode::Montgomery => format!(
            "
// a·b·R⁻¹ mod m for a, b < m; m0 = -m⁻¹ mod 2^LIMB_BITS.
fn mont_mul(a: Limbs, b: Limbs, m: Limbs, m0: u32) -> Limbs {{
{body}    // Below 2m: subtract m unless that borrows and nothing is above the top limb.
    let d = sub_limbs(n.v, m);
    return pick(n.v, d.v, n.flag != 0u || d.flag == 0u);
}}
"
        ),
        RowMode::Plain => format!(
            "
// The full product a·b.
fn mul_wide(a: Limbs, b: Limbs) -> Product {{
{body}    return Product(lo, n.v);
}}
"
        ),
    }
}

/// An accumulator of the row text: limbs `{limbs}0 … {limbs}(L−1)` and the lazy carry `hi`
/// pending at the next lane's first limb.
#[derive(Clone, Copy)]
pub(in crate::backend::gpu) struct Accumulator<'a> {
    pub limbs: &'a str,
    pub hi: &'a str,
}

/// The accumulator of the products' rows.
pub(in crate::backend::gpu) const ROWS: Accumulator<'static> = Accumulator {
    limbs: "t",
    hi: "hi",
};

/// Row text: `acc` plus `a · multiplier` over this lane's limbs, the carry chain in `x`
/// (declared by `x`'s text, such as `var x`, or reused: the name after the last space),
/// starting with `carry_in`; the carry out of the top limb is added to `acc.hi`.
pub(in crate::backend::gpu) fn mac_row(
    l: usize,
    acc: Accumulator<'_>,
    a: &str,
    multiplier: &str,
    x: &str,
    carry_in: &str,
) -> String {
    let Accumulator { limbs: t, hi } = acc;
    let name = x.rsplit(' ').next().unwrap_or(x);
    let mut row = format!(
        "        {x} = mac({t}0, {a}[0], {multiplier}, {carry_in});\n        {t}0 = {name}.x;\n"
    );
    for k in 1..l {
        row.push_str(&format!(
            "        {name} = mac({t}{k}, {a}[{k}], {multiplier}, {name}.y);\n        {t}{k} = {name}.x;\n"
        ));
    }
    row.push_str(&format!("        {hi} = {hi} + widen({name}.y);\n"));
    row
}

/// Row text: `acc` shifted down one limb. This lane's limb L−1 takes the next lane's limb 0
/// plus the carry that was pending there.
pub(in crate::backend::gpu) fn shift_down(l: usize, acc: Accumulator<'_>) -> String {
    let Accumulator { limbs: t, hi } = acc;
    let mut row = format!(
        "        let next_{t} = select(exchange({t}0, (lane + 1u) % T), 0u, lane + 1u == T);\n"
    );
    for k in 0..l - 1 {
        row.push_str(&format!("        {t}{k} = {t}{};\n", k + 1));
    }
    row.push_str(&format!(
        "        let shifted_{t} = {hi} + widen(next_{t});\n        {t}{last} = wide_lo(shifted_{t});\n        {hi} = wide_shift(shifted_{t});\n",
        last = l - 1
    ));
    row
}

const LIMB32: &str = include_str!("../../../../../../shaders/limb32.wgsl");

const LIMB16: &str = include_str!("../../../../../../shaders/limb16.wgsl");

const EXCHANGE_SUBGROUP: &str = include_str!("../../../../../../shaders/exchange_subgroup.wgsl");

const EXCHANGE_WORKGROUP: &str = include_str!("../../../../../../shaders/exchange_workgroup.wgsl");
