// tables[i·(H + 1) + t] = (c_i·R)^(2t+1) as two digits modulo m² (d0 | d1, S limbs each), for
// t < H = 2^(window−1): the odd powers that decoding's sliding windows multiply by
// (shaders/two_digit_exp.wgsl); entry H holds the digits (1, 0) of R⁻¹, the last product's
// multiplier, which leaves the digits. c_i = bases[i] is a residue modulo m², 2S limbs; the digit
// arithmetic is crates/engine/src/backend/gpu/codegen/two_digit_shader.rs. Each digit function is called from one
// place: a compiler inlines every call, and software adapters compile slowly.

// m | R² mod m | R³ mod m | m⁻¹ mod R | digits of R² mod m² | digits of R mod m² (one), S limbs each.
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
    let at = i * (odd + 1u) * 2u * S;
    // The digits of c·R⁻¹ times those of R² give c·R; every later product is by the square.
    var factor = td_split(load_bases(i * 2u * S), load_bases(i * 2u * S + S), m, m0);
    var by = Digits(load_consts(4u * S), load_consts(5u * S));
    for (var t = 0u; t < odd; t++) {
        let power = td_mul(factor, by, m, m0);
        if (t == 0u) {
            by = td_square(power, m, m0);
        }
        if (live) {
            store_tables(at + 2u * t * S, power.d0);
            store_tables(at + (2u * t + 1u) * S, power.d1);
        }
        factor = power;
    }
    if (live) {
        store_tables(at + 2u * odd * S, unit(1u));
        store_tables(at + (2u * odd + 1u) * S, unit(0u));
    }
}
