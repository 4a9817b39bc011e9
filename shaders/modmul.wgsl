// results[i] = a[first + i] · b[(i + operand_first) % operand_count] mod m, with every b item
// already in Montgomery form (b·R), so one Montgomery product gives the plain product.

// modulus | R² mod m | R mod m, S limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> a_items: array<u32>;
@group(0) @binding(3) var<storage, read> b_items: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;

fn kernel(_grid_row: u32) {
    // Groups past the batch compute its last item again and store nothing: every lane takes part
    // in every exchange.
    let i = min(item, params.count - 1u);
    let m = load_consts(0u);
    let a = load_a_items((params.first + i) * S);
    let b = load_b_items(((i + params.operand_first) % params.operand_count) * S);
    let product = mont_mul(a, b, m, params.m0_inv);
    if (item < params.count) {
        store_results(i * S, product);
    }
}
