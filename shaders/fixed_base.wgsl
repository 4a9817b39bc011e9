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

// `width` exponent bits from bit `bit` of the exponent at word `e_at`; a window may straddle two
// words, and bits past the exponent's last word read as zero.
fn window_digit(e_at: u32, bit: u32, width: u32) -> u32 {
    let word = bit / 32u;
    let shift = bit % 32u;
    var value = 0u;
    if (word < params.exp_words) {
        value = exponents[e_at + word] >> shift;
    }
    if (shift > 0u && shift + width > 32u && word + 1u < params.exp_words) {
        value |= exponents[e_at + word + 1u] << (32u - shift);
    }
    return value & ((1u << width) - 1u);
}

// x's bits moved to the even positions: bit j to bit 2j (x below 2^16).
fn spread_bits(x: u32) -> u32 {
    var v = x & 0xffffu;
    v = (v | (v << 8u)) & 0x00ff00ffu;
    v = (v | (v << 4u)) & 0x0f0f0f0fu;
    v = (v | (v << 2u)) & 0x33333333u;
    return (v | (v << 1u)) & 0x55555555u;
}

// This lane's limbs of the message whose slot bits start at word `at`: limb j holds slot bits
// [j·LIMB_BITS/2, (j + 1)·LIMB_BITS/2), which never straddle a word.
fn load_slot_message(at: u32) -> Limbs {
    let half = LIMB_BITS / 2u;
    var v = Limbs();
    for (var k = 0u; k < L; k++) {
        let bit = (lane * L + k) * half;
        if (bit / 32u < params.x_limbs) {
            let bits = (factors[at + bit / 32u] >> (bit % 32u)) & ((1u << half) - 1u);
            v[k] = spread_bits(bits);
        }
    }
    return v;
}

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
            factor = load_slot_message(i * params.x_limbs);
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
