// results[i·rows + row] = Π_b bases[i·per_row + b] ^ e[row·per_row + b] mod m, by Straus's
// interleaved sliding windows over the odd-power tables of shaders/multi_exp_table.wgsl. The host
// recodes each row's exponents into a program of terms (crates/engine/src/backend/gpu/ops/multi_exp_plan.rs):
// square terms[2t] times, then multiply by this item's table entry terms[2t+1] (none when it is
// NO_PRODUCT). The dispatch's second dimension is the row, so a workgroup runs one program and
// control flow never depends on an item's data. Not constant-time: the program follows the
// exponents, which must be public.
//
// Phase bit 1 starts the accumulator at one, term slots [step_from, step_to) run, phase bit 2
// converts out of Montgomery form and stores; between dispatches the accumulator waits in `state`.

// modulus | R² mod m | R mod m, S limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> terms: array<u32>;
@group(0) @binding(3) var<storage, read> tables: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<u32>;

const NO_PRODUCT: u32 = 0xffffffffu;

fn kernel(grid_row: u32) {
    let i = min(item, params.count - 1u);
    let live = item < params.count;
    let m = load_consts(0u);
    let m0 = params.m0_inv;
    let slot = (i * params.rows + grid_row) * S;
    var acc: Limbs;
    if ((params.phase & 1u) != 0u) {
        acc = load_consts(2u * S);
    } else {
        acc = load_state(slot);
    }
    let table_at = (i * params.per_row) << (params.window - 1u);
    let program = 2u * grid_row * params.row_terms;
    for (var t = params.step_from; t < params.step_to; t++) {
        let squarings = terms[program + 2u * t];
        for (var k = 0u; k < squarings; k++) {
            acc = mont_mul(acc, acc, m, m0);
        }
        let entry = terms[program + 2u * t + 1u];
        if (entry != NO_PRODUCT) {
            acc = mont_mul(acc, load_tables((table_at + entry) * S), m, m0);
        }
    }
    if ((params.phase & 2u) != 0u) {
        let plain = mont_mul(acc, unit(1u), m, m0);
        if (live) {
            store_results(slot, plain);
        }
    } else if (live) {
        store_state(slot, acc);
    }
}
