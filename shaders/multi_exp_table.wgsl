// tables[(i·per_row + b)·H + t] = x^(2t+1)·R mod m for x = bases[i·per_row + b] and
// H = 2^(window−1): the odd powers that Straus's sliding windows multiply by
// (shaders/multi_exp.wgsl). Bases [step_from, step_to) per dispatch: lavapipe ends invocations
// that loop too long.

// modulus | R² mod m | R mod m, S limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> bases: array<u32>;
@group(0) @binding(3) var<storage, read_write> tables: array<u32>;

fn kernel(_grid_row: u32) {
    let i = min(item, params.count - 1u);
    let live = item < params.count;
    let m = load_consts(0u);
    let m0 = params.m0_inv;
    let odd = 1u << (params.window - 1u);
    for (var b = params.step_from; b < params.step_to; b++) {
        let at = i * params.per_row + b;
        let x = mont_mul(load_bases(at * S), load_consts(S), m, m0);
        let square = mont_mul(x, x, m, m0);
        var power = x;
        if (live) {
            store_tables(at * odd * S, x);
        }
        for (var t = 1u; t < odd; t++) {
            power = mont_mul(power, square, m, m0);
            if (live) {
                store_tables((at * odd + t) * S, power);
            }
        }
    }
}
