// results[i] = bases[first + i] ^ exponents[(i + operand_first) % operand_count] mod m, by 4-bit
// fixed windows from the most significant. Every window multiplies (a zero digit by the table's
// one), so control flow never depends on data. Not constant-time: table reads depend on digits.
//
// A long exponentiation may be split over dispatches (lavapipe ends invocations that loop too
// long): phase bit 1 converts the base and builds the table, windows [step_from, step_to) run,
// phase bit 2 converts out of Montgomery form and stores the result; between dispatches the
// accumulator waits in `state`.

// modulus | R² mod m | R mod m, S limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> bases: array<u32>;
@group(0) @binding(3) var<storage, read> exponents: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<u32>;
// Per item: x^0 … x^15 in Montgomery form.
@group(0) @binding(6) var<storage, read_write> powers: array<u32>;

fn kernel(_grid_row: u32) {
    let i = min(item, params.count - 1u);
    let live = item < params.count;
    let m = load_consts(0u);
    let m0 = params.m0_inv;
    let table_at = i * 16u * S;
    var acc: Limbs;
    if ((params.phase & 1u) != 0u) {
        let one = load_consts(2u * S);
        let x = mont_mul(load_bases((params.first + i) * S), load_consts(S), m, m0);
        var power = x;
        if (live) {
            store_powers(table_at, one);
            store_powers(table_at + S, x);
        }
        for (var k = 2u; k < 16u; k++) {
            power = mont_mul(power, x, m, m0);
            if (live) {
                store_powers(table_at + k * S, power);
            }
        }
        acc = one;
    } else {
        acc = load_state(i * S);
    }
    let windows = (params.exp_bits + 3u) / 4u;
    let e_at = ((i + params.operand_first) % params.operand_count) * params.exp_words;
    for (var w = params.step_from; w < params.step_to; w++) {
        acc = mont_mul(acc, acc, m, m0);
        acc = mont_mul(acc, acc, m, m0);
        acc = mont_mul(acc, acc, m, m0);
        acc = mont_mul(acc, acc, m, m0);
        let bit = (windows - 1u - w) * 4u;
        let digit = (exponents[e_at + bit / 32u] >> (bit % 32u)) & 15u;
        // Groups past the batch read their duplicate item's table, which its own group writes.
        acc = mont_mul(acc, load_powers(table_at + digit * S), m, m0);
    }
    if ((params.phase & 2u) != 0u) {
        let plain = mont_mul(acc, unit(1u), m, m0);
        if (live) {
            store_results(i * S, plain);
        }
    } else if (live) {
        store_state(i * S, acc);
    }
}
