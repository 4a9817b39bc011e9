// results[i] = g^e_i · f_i mod m² from a resident table of powers of g held as two digits modulo
// m (src/backend/gpu/two_digit_shader.rs): entry (row, k) = the digits of g^(k·2^(window·row)),
// 2^window entries per row, one digit product per row. shaders/fixed_base.wgsl is the same on the
// wide numbers modulo m², at about 1.6× the multiply-adds.
//
// Phase bit 1 starts the accumulator at the digits of one, or with phase bit 32 at the binding-6
// item's digits (the lookup scheme's noise, so that g^m·noise needs no product of its own); rows
// [step_from, step_to) run; phase bit 2 finishes; between dispatches the digits wait in `state`.
// The finish is one more digit product, by the digits (1, w) of 1 + m·w mod m², and stores the
// residue g^e·(1 + m·w):
//   w = 0: g^e;
//   phase bit 8: w = msg·k mod m for the binding-6 item msg and k = n/m (k = q for m = p, 1 for
//     m = n), which makes 1 + m·w ≡ 1 + msg·n (mod m²), the classic scheme's g^msg; with phase bit
//     16 the item is msg's slot bits, spread here.
// With phase bit 64 the finish stores the digits themselves instead (the noise, for the next pass
// to start from).

// m | R² mod m | R³ mod m | m⁻¹ mod R | digits of R² mod m² | digits of R mod m² (one) |
// k·R mod m | k·R² mod m, S limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> powers: array<u32>;
@group(0) @binding(3) var<storage, read> exponents: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<u32>;
// Messages (x_limbs words per item: limbs of n²'s width, or slot bits), or digits to start from.
@group(0) @binding(6) var<storage, read> factors: array<u32>;

// window_digit and load_slot_message: shaders/fixed_base_common.wgsl.

// msg·k mod m for the message at word `at`, read as lo + R·hi: lo·(k·R)·R⁻¹ + hi·(k·R²)·R⁻¹.
// Every part is below R and every constant below m, so each product is below m. One mont_mul
// call site (a compiler inlines each).
fn message_digit(at: u32, m: Limbs, m0: u32) -> Limbs {
    var w = Limbs();
    for (var half = 0u; half < 2u; half++) {
        var part: Limbs;
        if ((params.phase & 16u) != 0u) {
            part = load_slot_message(at, half * S);
        } else {
            part = load_factors(at + half * S);
        }
        w = add_mod(w, mont_mul(part, load_consts((8u + half) * S), m, m0), m);
    }
    return w;
}

fn kernel(_grid_row: u32) {
    let i = min(item, params.count - 1u);
    let live = item < params.count;
    let m = load_consts(0u);
    let m0 = params.m0_inv;
    let slot = i * 2u * S;
    var acc: Digits;
    if ((params.phase & 1u) == 0u) {
        acc = Digits(load_state(slot), load_state(slot + S));
    } else if ((params.phase & 32u) != 0u) {
        acc = Digits(load_factors(slot), load_factors(slot + S));
    } else {
        acc = Digits(load_consts(6u * S), load_consts(7u * S));
    }
    let e_at = ((i + params.operand_first) % params.operand_count) * params.exp_words;
    // The finish is one more row (one td_mul call site: a compiler inlines each).
    let leaving = (params.phase & 2u) != 0u && (params.phase & 64u) == 0u;
    for (var row = params.step_from; row < params.step_to + select(0u, 1u, leaving); row++) {
        var by: Digits;
        if (row < params.step_to) {
            let digit = window_digit(e_at, row * params.window, params.window);
            let at = ((row << params.window) + digit) * 2u * S;
            by = Digits(load_powers(at), load_powers(at + S));
        } else {
            var w = unit(0u);
            if ((params.phase & 8u) != 0u) {
                w = message_digit(i * params.x_limbs, m, m0);
            }
            by = Digits(unit(1u), w);
        }
        acc = td_mul(acc, by, m, m0);
    }
    // Every lane of every item runs the same exchanges (a workgroup's barriers), live or not.
    if (leaving) {
        // acc holds the canonical digits of the result x: store x = d0 + m·d1 (below m²).
        let wide = mul_wide(m, acc.d1);
        let low = add_limbs(wide.lo, acc.d0);
        let high = add_limbs(wide.hi, unit(low.flag)).v;
        if (live) {
            store_results(slot, low.v);
            store_results(slot + S, high);
        }
    } else if (live && (params.phase & 2u) != 0u) {
        store_results(slot, acc.d0);
        store_results(slot + S, acc.d1);
    } else if (live) {
        store_state(slot, acc.d0);
        store_state(slot + S, acc.d1);
    }
}
