// results[i] = g^e_i · f_i mod m² from a resident table of powers of g held as two digits modulo
// m (crates/engine/src/backend/gpu/codegen/two_digit_shader.rs): entry (row, k) = the digits of g^(k·2^(window·row)),
// 2^window entries per row, one digit product per row, its multiplier read from the table by
// every lane (td_rows_loaded). shaders/fixed_base.wgsl is the same on the wide numbers modulo m².
//
// The accumulator starts at the digits (1, 0), those of R⁻¹ (X·R ≡ d0 + m·d1 for X = R⁻¹), so
// that after the rows its digits are those of g^e·R⁻¹: d0 + m·d1 is g^e itself, and leaving the
// digits takes no product. With phase bit 32 it starts at the binding-6 item's digits instead
// (the lookup scheme's noise, so that g^m·noise needs no product of its own). Rows
// [step_from, step_to) run; phase bit 2 finishes; between dispatches the digits wait in `state`.
// The finish stores the residue d0 + m·d1, or with phase bit 64 the digits themselves (for the
// next pass to start from). With phase bit 8 it first multiplies by 1 + msg·n for the binding-6
// item msg (the classic scheme's g^msg): modulo m² that is 1 + m·w for w = msg·k mod m and
// k = n/m (k = q for m = p, 1 for m = n), and (d0 + m·d1)(1 + m·w) ≡ d0 + m·(d1 + d0·w), so
// only the high digit changes. With phase bit 16 the item is msg's slot bits, spread here.

// m | R² mod m | R³ mod m | m⁻¹ mod R | digits of R² mod m² | digits of R mod m² |
// k·R² mod m | k·R³ mod m, S limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> powers: array<u32>;
@group(0) @binding(3) var<storage, read> exponents: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<u32>;
// Messages (x_limbs words per item: limbs of n²'s width, or slot bits), or digits to start from.
@group(0) @binding(6) var<storage, read> factors: array<u32>;

// window_digit and load_slot_message: shaders/fixed_base_common.wgsl.

// The digits of x·(1 + m·w) from those of x, for w = msg·k mod m and the message at word `at`
// read as lo + R·hi: w·R = lo·(k·R²)·R⁻¹ + hi·(k·R³)·R⁻¹, then d0·w = d0·(w·R)·R⁻¹. Every factor
// is below R and every constant below m, so each product is below m. One mont_mul call site (a
// compiler inlines each).
fn times_one_plus_mn(x: Digits, at: u32, m: Limbs, m0: u32) -> Digits {
    var w_r = Limbs();
    var product = Limbs();
    for (var k = 0u; k < 3u; k++) {
        var a = x.d0;
        var b = w_r;
        if (k < 2u) {
            if ((params.phase & 16u) != 0u) {
                a = load_slot_message(at, k * S);
            } else {
                a = load_factors(at + k * S);
            }
            b = load_consts((8u + k) * S);
        }
        product = mont_mul(a, b, m, m0);
        if (k < 2u) {
            w_r = add_mod(w_r, product, m);
        }
    }
    return Digits(x.d0, add_mod(x.d1, product, m));
}

fn kernel(_grid_row: u32) {
    let i = min(item, params.count - 1u);
    let live = item < params.count;
    let m = load_consts(0u);
    let m0 = params.m0_inv;
    let slot = i * 2u * S;
    var acc = Digits(unit(1u), unit(0u));
    if ((params.phase & 1u) == 0u) {
        acc = Digits(load_state(slot), load_state(slot + S));
    } else if ((params.phase & 32u) != 0u) {
        acc = Digits(load_factors(slot), load_factors(slot + S));
    }
    let e_at = ((i + params.operand_first) % params.operand_count) * params.exp_words;
    for (var row = params.step_from; row < params.step_to; row++) {
        let digit = window_digit(e_at, row * params.window, params.window);
        acc = td_rows_loaded(acc.d0, acc.d1, ((row << params.window) + digit) * 2u * S, m, m0);
    }
    let finishing = (params.phase & 2u) != 0u;
    let keep_digits = (params.phase & 64u) != 0u;
    if (finishing && !keep_digits) {
        if ((params.phase & 8u) != 0u) {
            acc = times_one_plus_mn(acc, i * params.x_limbs, m, m0);
        }
        // Canonical digits: d0 + m·d1 < m², the residue. Every lane of every item runs the same
        // exchanges (a workgroup's barriers), live or not.
        let wide = mul_wide(m, acc.d1);
        let low = add_limbs(wide.lo, acc.d0);
        let high = add_limbs(wide.hi, unit(low.flag)).v;
        if (live) {
            store_results(slot, low.v);
            store_results(slot + S, high);
        }
    } else if (live && finishing) {
        store_results(slot, acc.d0);
        store_results(slot + S, acc.d1);
    } else if (live) {
        store_state(slot, acc.d0);
        store_state(slot + S, acc.d1);
    }
}
