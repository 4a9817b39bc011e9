// results[i] = c_i^e mod m² (2S limbs) for decoding's secret exponent e (p − 1 modulo p²), on two
// digits modulo m (crates/engine/src/backend/gpu/codegen/two_digit_shader.rs) by sliding windows over the odd powers
// of shaders/two_digit_table.wgsl. The host recodes e into one program of terms
// (crates/engine/src/backend/gpu/ops/multi_exp_plan.rs): square terms[2t] times, then multiply by table entry
// terms[2t+1] (none when it is NO_PRODUCT). Every item runs the same program, so no group
// diverges; the program follows e (the GPU path is not constant-time, see SECURITY.md).
//
// Phase bit 1 starts the accumulator at one, term slots [step_from, step_to) run, phase bit 2
// leaves the digits and stores the residue; between dispatches the digits wait in `state`.
// Program terms are uniform, so every lane of a group takes every branch together.

// m | R² mod m | R³ mod m | m⁻¹ mod R | digits of R² mod m² | digits of R mod m² (one), S limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> terms: array<u32>;
@group(0) @binding(3) var<storage, read> tables: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<u32>;

const NO_PRODUCT: u32 = 0xffffffffu;

fn kernel(_grid_row: u32) {
    let i = min(item, params.count - 1u);
    let live = item < params.count;
    let m = load_consts(0u);
    let m0 = params.m0_inv;
    let slot = i * 2u * S;
    var acc: Digits;
    if ((params.phase & 1u) != 0u) {
        acc = Digits(load_consts(6u * S), load_consts(7u * S));
    } else {
        acc = Digits(load_state(slot), load_state(slot + S));
    }
    let odd = 1u << (params.window - 1u);
    let table_at = i * (odd + 1u);
    // One call of each digit function (a compiler inlines every call): leaving the digits is
    // the product by the digits of R⁻¹·R = (1, 0), the table's last entry, run as one more term.
    // Every lane reads the multiplier's limbs from the table (td_rows_loaded).
    let finishing = (params.phase & 2u) != 0u;
    for (var t = params.step_from; t < params.step_to + select(0u, 1u, finishing); t++) {
        var entry = odd;
        if (t < params.step_to) {
            let squarings = terms[2u * t];
            for (var k = 0u; k < squarings; k++) {
                acc = td_square(acc, m, m0);
            }
            entry = terms[2u * t + 1u];
            if (entry == NO_PRODUCT) {
                continue;
            }
        }
        acc = td_rows_loaded(acc.d0, acc.d1, (table_at + entry) * 2u * S, m, m0);
    }
    if (finishing) {
        // acc holds the canonical digits of x: store x = d0 + m·d1. Every group computes it:
        // the additions exchange across lanes, which with the workgroup exchange is a barrier
        // that the whole workgroup must reach.
        let wide = mul_wide(m, acc.d1);
        let low = add_limbs(wide.lo, acc.d0);
        let high = add_limbs(wide.hi, unit(low.flag));
        if (live) {
            store_results(slot, low.v);
            store_results(slot + S, high.v);
        }
    } else if (live) {
        store_state(slot, acc.d0);
        store_state(slot + S, acc.d1);
    }
}
