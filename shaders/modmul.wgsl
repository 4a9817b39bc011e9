// results[i] = a[first + i] · b[(i + operand_first) % operand_count] mod m, with every b item
// already in Montgomery form (b·R), so one Montgomery multiplication gives the plain product.

@group(0) @binding(2) var<storage, read> a_items: array<u32>;
@group(0) @binding(3) var<storage, read> b_items: array<u32>;

const X: u32 = 0u;
const Y: u32 = 1u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    if (!begin(gid, groups)) {
        return;
    }
    let s = params.limbs;
    let a_at = (params.first + lane) * s;
    let b_at = ((lane + params.operand_first) % params.operand_count) * s;
    for (var j = 0u; j < s; j++) {
        scratch[slot_at(X, j)] = a_items[a_at + j];
        scratch[slot_at(Y, j)] = b_items[b_at + j];
    }
    mont_mul(X, Y, X);
    store(X);
}
