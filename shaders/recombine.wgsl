// Garner's recombination of encryptions computed modulo p² and q² (S limbs each) into
// ciphertexts modulo n² (out_limbs limbs, at most 2S):
//   t = (c_p − c_q)·(q²)⁻¹ mod p², c = c_q + q²·t.
// c_q < q² may exceed p², but it is below R, which is all a Montgomery product needs.

// p² | q² | (q²)⁻¹·R mod p², S limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> c_p: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(6) var<storage, read> c_q: array<u32>;

fn kernel(_grid_row: u32) {
    let i = min(item, params.count - 1u);
    let p2 = load_consts(0u);
    let inverse = load_consts(2u * S);
    let cq = load_c_q(i * S);
    let t_p = mont_mul(load_c_p(i * S), inverse, p2, params.m0_inv);
    let t_q = mont_mul(cq, inverse, p2, params.m0_inv);
    let d = sub_limbs(t_p, t_q);
    let t = pick(d.v, add_limbs(d.v, p2).v, d.flag != 0u);
    let product = mul_wide(load_consts(S), t);
    let low = add_limbs(product.lo, cq);
    // Copies in variables: a value array may not be indexed by a run-time index.
    var low_limbs = low.v;
    var high_limbs = add_limbs(product.hi, unit(low.flag)).v;
    if (item < params.count) {
        // c < n², so the high limbs past out_limbs are zero and not stored.
        let at = i * params.out_limbs + lane * L;
        for (var k = 0u; k < L; k++) {
            results[at + k] = low_limbs[k];
            if (S + lane * L + k < params.out_limbs) {
                results[at + S + k] = high_limbs[k];
            }
        }
    }
}
