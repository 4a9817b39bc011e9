// results[i] = bases[first + i] ^ exponents[(i + operand_first) % operand_count] mod m, in
// phases so that no dispatch exceeds a driver's per-invocation work limit:
//   phase 0: load the base, convert it into Montgomery form, start the table and the accumulator;
//   phase 1: table entries x^k for k in [step_from, step_to) (k from 2 to 15);
//   phase 2: steps [step_from, step_to) of the window sequence: window w = step / 5 (from the most
//            significant), sub-step step % 5 = four squarings, then the multiplication;
//   phase 3: convert the accumulator out of Montgomery form and store it.
// A zero window skips its multiplication (public-exponent behaviour).
// Scratch slots: ACC, X, then the 16 table entries x^0 .. x^15.

@group(0) @binding(2) var<storage, read> bases: array<u32>;
@group(0) @binding(3) var<storage, read> exponents: array<u32>;

const ACC: u32 = 0u;
const X: u32 = 1u;
const TABLE: u32 = 2u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    if (!begin(gid, groups)) {
        return;
    }
    let s = params.limbs;
    switch params.phase {
        case 0u: {
            let base_at = (params.first + lane) * s;
            for (var j = 0u; j < s; j++) {
                scratch[slot_at(X, j)] = bases[base_at + j];
            }
            set_r_squared(ACC);
            mont_mul(X, ACC, X);
            set_montgomery_one(TABLE);
            copy_slot(TABLE + 1u, X);
            set_montgomery_one(ACC);
        }
        case 1u: {
            for (var k = params.step_from; k < params.step_to; k++) {
                mont_mul(TABLE + k - 1u, X, TABLE + k);
            }
        }
        case 2u: {
            let e_at = ((lane + params.operand_first) % params.operand_count) * params.exp_words;
            let windows = (params.exp_bits + 3u) / 4u;
            for (var step = params.step_from; step < params.step_to; step++) {
                let sub = step % 5u;
                if (sub < 4u) {
                    mont_mul(ACC, ACC, ACC);
                } else {
                    let bit = (windows - 1u - step / 5u) * 4u;
                    let digit = exponent_digit(exponents[e_at + bit / 32u], bit, 4u);
                    if (digit != 0u) {
                        mont_mul(ACC, TABLE + digit, ACC);
                    }
                }
            }
        }
        default: {
            finish(ACC, X);
        }
    }
}
