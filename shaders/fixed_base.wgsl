// results[i] = g ^ exponents[i] mod m from a table of Montgomery-form powers of g:
// entry (row, k) = g^(k · 2^(window·row)), 2^window entries per row. One multiplication per row.
//   phase 0: the accumulator starts at one;
//   phase 2: rows [step_from, step_to);
//   phase 3: convert out of Montgomery form and store.

@group(0) @binding(2) var<storage, read> powers: array<u32>;
@group(0) @binding(3) var<storage, read> exponents: array<u32>;

const ACC: u32 = 0u;
const X: u32 = 1u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    if (!begin(gid, groups)) {
        return;
    }
    let s = params.limbs;
    switch params.phase {
        case 0u: {
            set_montgomery_one(ACC);
        }
        case 2u: {
            let e_at = ((lane + params.operand_first) % params.operand_count) * params.exp_words;
            for (var row = params.step_from; row < params.step_to; row++) {
                let bit = row * params.window;
                let digit = window_digit(e_at, bit, params.window);
                let entry_at = ((row << params.window) + digit) * s;
                for (var j = 0u; j < s; j++) {
                    scratch[slot_at(X, j)] = powers[entry_at + j];
                }
                mont_mul(ACC, X, ACC);
            }
        }
        default: {
            finish(ACC, X);
        }
    }
}

// `width` exponent bits from bit `bit` of the exponent at word `e_at`; a window may straddle two
// words (5-bit windows, say), and bits past the exponent's last word read as zero.
fn window_digit(e_at: u32, bit: u32, width: u32) -> u32 {
    let word = bit / 32u;
    let shift = bit % 32u;
    var value = exponents[e_at + word] >> shift;
    // Straddling implies shift > 0 (width <= 8), so the shift below is below 32.
    if (shift + width > 32u && word + 1u < params.exp_words) {
        value |= exponents[e_at + word + 1u] << (32u - shift);
    }
    return value & ((1u << width) - 1u);
}
