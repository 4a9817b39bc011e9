// Montgomery multiplication (CIOS) over `params.limbs` limbs of LIMB_BITS bits.
//
// The host prepends params.wgsl, `const LIMB_MASK` and one limb file (limb32.wgsl or limb16.wgsl).
// R = 2^(LIMB_BITS·limbs) equals the CPU engine's R, so Montgomery forms and fixed-base tables
// computed on the CPU are valid here unchanged.
//
// Working numbers live in a storage "scratch" buffer, not in private arrays: drivers limit
// private memory (lavapipe silently failed above ~2 KB per invocation, and a 4096-bit number is
// 512 bytes). Word k of invocation i is at scratch[k·stride + i], so neighbouring invocations
// touch neighbouring words. Loop bounds are run-time values, so the driver's compiler does not
// unroll them fully (which took minutes at 256 limbs); the inner loops are unrolled 16 times in
// the text instead (the host expands the UNROLL markers), because lavapipe (Mesa's gallivm) ends
// every loop of an invocation after about 65,535 back-edges in total. Long exponentiations are
// therefore split by the host into phases of bounded work, with their state kept in scratch.
//
// Not constant-time: the GPU path is not hardened against timing side channels.


// modulus | R² mod m | R mod m, `limbs` limbs each.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<storage, read_write> scratch: array<u32>;

// This invocation's index and the dispatch's invocation count (the scratch interleave).
var<private> lane: u32;
var<private> stride: u32;

fn begin(gid: vec3<u32>, groups: vec3<u32>) -> bool {
    lane = gid.x;
    stride = groups.x * 64u;
    return lane < params.count;
}

// Scratch word of the CIOS accumulator t (limbs + 2 words).
fn t_at(j: u32) -> u32 {
    return j * stride + lane;
}

// Scratch word j of number slot `slot`.
fn slot_at(slot: u32, j: u32) -> u32 {
    return ((params.limbs + 2u) + slot * params.limbs + j) * stride + lane;
}

// slot `out` = slot a · slot b · R⁻¹ mod m for the kernel's modulus (at the start of consts).
fn mont_mul(a: u32, b: u32, out: u32) {
    mont_mul_mod(a, b, out, 0u, params.m0_inv);
}

// slot `out` = slot a · slot b · R⁻¹ mod m, for a, b < m, where m is the `limbs` words of consts
// starting at `m_at` and m0 = -m⁻¹ mod 2^LIMB_BITS. `out` may be a or b.
fn mont_mul_mod(a: u32, b: u32, out: u32, m_at: u32, m0: u32) {
    let s = params.limbs;
    for (var j = 0u; j < s + 2u; j++) {
        scratch[t_at(j)] = 0u;
    }
    for (var i = 0u; i < s; i++) {
        let bi = scratch[slot_at(b, i)];
        var c = 0u;
        var j = 0u;
        for (; j + 16u <= s; j += 16u) {
//UNROLL_PRODUCT
        }
        for (; j < s; j++) {
            let r = mac(scratch[t_at(j)], scratch[slot_at(a, j)], bi, c);
            scratch[t_at(j)] = r.x;
            c = r.y;
        }
        let top = add_carry(scratch[t_at(s)], c);
        scratch[t_at(s)] = top.x;
        scratch[t_at(s + 1u)] = top.y;
        let q = (scratch[t_at(0u)] * m0) & LIMB_MASK;
        let first = mac(scratch[t_at(0u)], q, consts[m_at], 0u);
        c = first.y;
        j = 1u;
        for (; j + 16u <= s; j += 16u) {
//UNROLL_REDUCTION
        }
        for (; j < s; j++) {
            let r = mac(scratch[t_at(j)], q, consts[m_at + j], c);
            scratch[t_at(j - 1u)] = r.x;
            c = r.y;
        }
        let last = add_carry(scratch[t_at(s)], c);
        scratch[t_at(s - 1u)] = last.x;
        scratch[t_at(s)] = scratch[t_at(s + 1u)] + last.y;
    }
    // t < 2m: out = t - m, unless that borrows past the top limb (then t < m and out = t).
    var borrow = 0u;
    for (var j = 0u; j < s; j++) {
        let r = sub_borrow(scratch[t_at(j)], consts[m_at + j], borrow);
        scratch[slot_at(out, j)] = r.x;
        borrow = r.y;
    }
    if (borrow > scratch[t_at(s)]) {
        for (var j = 0u; j < s; j++) {
            scratch[slot_at(out, j)] = scratch[t_at(j)];
        }
    }
}

fn copy_slot(dst: u32, src: u32) {
    for (var j = 0u; j < params.limbs; j++) {
        scratch[slot_at(dst, j)] = scratch[slot_at(src, j)];
    }
}

// The Montgomery form of one (R mod m).
fn set_montgomery_one(slot: u32) {
    for (var j = 0u; j < params.limbs; j++) {
        scratch[slot_at(slot, j)] = consts[2u * params.limbs + j];
    }
}

// R² mod m: multiplying by it converts into Montgomery form.
fn set_r_squared(slot: u32) {
    for (var j = 0u; j < params.limbs; j++) {
        scratch[slot_at(slot, j)] = consts[params.limbs + j];
    }
}

// The plain integer 1: multiplying by it converts out of Montgomery form.
fn set_plain_one(slot: u32) {
    for (var j = 0u; j < params.limbs; j++) {
        scratch[slot_at(slot, j)] = select(0u, 1u, j == 0u);
    }
}

// `width` bits at bit `bit` of an exponent word (width divides 32, so no word is straddled).
fn exponent_digit(word: u32, bit: u32, width: u32) -> u32 {
    return (word >> (bit % 32u)) & ((1u << width) - 1u);
}

// Writes number slot `slot` as this invocation's result.
fn store(slot: u32) {
    let out_at = lane * params.limbs;
    for (var j = 0u; j < params.limbs; j++) {
        results[out_at + j] = scratch[slot_at(slot, j)];
    }
}

// Converts slot `acc` out of Montgomery form (using slot `spare`) and stores it as the result.
fn finish(acc: u32, spare: u32) {
    set_plain_one(spare);
    mont_mul(acc, spare, acc);
    store(acc);
}
