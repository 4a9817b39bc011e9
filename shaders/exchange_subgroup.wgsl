// Lanes of a group are consecutive invocations of one subgroup (T divides the subgroup size).
fn exchange(v: u32, source: u32) -> u32 {
    return subgroupShuffle(v, group_base + source);
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(subgroup_size) subgroup_size: u32,
    @builtin(subgroup_invocation_id) subgroup_lane: u32,
) {
    lane = subgroup_lane % T;
    group_base = subgroup_lane - lane;
    item = workgroup.x * (WG / T) + (subgroup * subgroup_size + subgroup_lane) / T;
    kernel(workgroup.y);
}
