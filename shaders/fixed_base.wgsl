// results[i] = g ^ exponents[i] mod m from a resident table of Montgomery-form powers of g:
// entry (row, k) = g^(k · 2^(window·row)), 2^window entries per row; one product per row.
// Phase bit 1 starts the accumulator at one, rows [step_from, step_to) run, phase bit 2 finishes
// and stores; between dispatches the accumulator waits in `state`. The finish is one Montgomery
// product of the accumulator (g^e·R) with a factor f, giving g^e·f:
//   f = 1 (plain g^e);
//   phase bit 4: f = factors[i] (the noise, for the lookup scheme's g^m · noise);
//   phase bit 8: f = 1 + m·n mod m for m = factors[i] (the classic scheme's g^m = 1 + m·n);
//     with phase bit 16, factors[i] holds m's slot bits (x_limbs u32 words; bit j is m's bit 2j),
//     spread here, so that a message crosses to the device at an eighth of n²'s width.
// The last two fuse encryption into the exponentiation: no extra pass and no host work.

// modulus | R² mod m | R mod m | n·R mod m, S limbs each (the last only for phase bit 8).
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> powers: array<u32>;
@group(0) @binding(3) var<storage, read> exponents: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<u32>;
// x_limbs limbs per item, of which the low S are read.
@group(0) @binding(6) var<storage, read> factors: array<u32>;

// window_digit and load_slot_message: shaders/fixed_base_common.wgsl.

fn kernel(_grid_row: u32) {
    let i = min(item, params.count - 1u);
    let m = load_consts(0u);
    let m0 = params.m0_inv;
    var acc: Limbs;
    if ((params.phase & 1u) != 0u) {
        acc = load_consts(2u * S);
    } else {
        acc = load_state(i * S);
    }
    let e_at = ((i + params.operand_first) % params.operand_count) * params.exp_words;
    for (var row = params.step_from; row < params.step_to; row++) {
        let digit = window_digit(e_at, row * params.window, params.window);
        acc = mont_mul(acc, load_powers(((row << params.window) + digit) * S), m, m0);
    }
    if ((params.phase & 2u) != 0u) {
        var factor = unit(1u);
        if ((params.phase & 16u) != 0u) {
            factor = load_slot_message(i * params.x_limbs, 0u);
        } else if ((params.phase & 12u) != 0u) {
            factor = load_factors(i * params.x_limbs);
        }
        if ((params.phase & 8u) != 0u) {
            // m·n as a Montgomery product by n·R (m < n < R), then + 1 below the modulus.
            let sum = add_limbs(mont_mul(factor, load_consts(3u * S), m, m0), unit(1u)).v;
            let reduced = sub_limbs(sum, m);
            factor = pick(sum, reduced.v, reduced.flag == 0u);
        }
        let result = mont_mul(acc, factor, m, m0);
        if (item < params.count) {
            store_results(i * S, result);
        }
    } else if (item < params.count) {
        store_state(i * S, acc);
    }
}
