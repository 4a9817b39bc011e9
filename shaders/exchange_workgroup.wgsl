// Two banks of slots: a bank is rewritten only after the barrier of the next exchange, when every
// lane has read it, so one barrier per exchange suffices.
var<workgroup> slots: array<u32, 128>;
var<private> bank: u32;

fn exchange(v: u32, source: u32) -> u32 {
    let at = bank * WG + group_base;
    slots[at + lane] = v;
    workgroupBarrier();
    bank = 1u - bank;
    return slots[at + source];
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    lane = local % T;
    group_base = local - lane;
    item = workgroup.x * (WG / T) + local / T;
    kernel(workgroup.y);
}
