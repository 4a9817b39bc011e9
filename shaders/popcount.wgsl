// results[i] = popcount(values[i] & masks[(i + operand_first) % operand_count]): decrypted
// Hamming sums to distances. `limbs` is the number of u32 words per value. The host prepends
// params.wgsl.


@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> values: array<u32>;
@group(0) @binding(3) var<storage, read> masks: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.count) {
        return;
    }
    let words = params.limbs;
    let v_at = (params.first + i) * words;
    let m_at = ((i + params.operand_first) % params.operand_count) * words;
    var total = 0u;
    for (var j = 0u; j < words; j++) {
        total += countOneBits(values[v_at + j] & masks[m_at + j]);
    }
    results[i] = total;
}
