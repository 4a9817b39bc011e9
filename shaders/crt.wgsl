// Finishes CRT decryptions and decodes them, so that only distances leave the device.
// For every item, with x_p = c^e_p mod p² and x_q = c^e_q mod q² from the modexp kernel:
//   phase 0: m_p = ((x_p − 1) / p) · h_p mod p, and m_q likewise (exact division by a 2-adic
//            inverse, then a Montgomery multiplication by h·R);
//   phase 1: m = m_q + q · ((m_p − m_q) · q⁻¹ mod p) (Garner), result = popcount(m & mask).
// consts, `limbs` words each: P | Q | P⁻¹ mod 2^(LIMB_BITS·limbs) | Q⁻¹ mod 2^(...) | h_p·R mod p |
// h_q·R mod q | q⁻¹·R mod p. The same formula finishes both schemes; only h_p and h_q differ.

@group(0) @binding(2) var<storage, read> x_p: array<u32>;
@group(0) @binding(3) var<storage, read> masks: array<u32>;
@group(0) @binding(6) var<storage, read> x_q: array<u32>;

const U: u32 = 0u;
const H: u32 = 1u;
const MP: u32 = 2u;
const MQ: u32 = 3u;
const D: u32 = 4u;
// Two consecutive slots: the 2·limbs-limb plaintext.
const M: u32 = 5u;

fn at_p() -> u32 { return 0u; }
fn at_q() -> u32 { return params.limbs; }
fn at_p_inverse() -> u32 { return 2u * params.limbs; }
fn at_q_inverse() -> u32 { return 3u * params.limbs; }
fn at_h_p() -> u32 { return 4u * params.limbs; }
fn at_h_q() -> u32 { return 5u * params.limbs; }
fn at_q_inv_mod_p() -> u32 { return 6u * params.limbs; }

fn load_const(slot: u32, at: u32) {
    for (var j = 0u; j < params.limbs; j++) {
        scratch[slot_at(slot, j)] = consts[at + j];
    }
}

// slot `out` = (x − 1) / prime for x ≡ 1 mod prime: (x − 1) times the prime's 2-adic inverse, mod
// 2^(LIMB_BITS·limbs). Exact because the quotient is below the prime.
fn exact_quotient(from_p: bool, inverse_at: u32, out: u32) {
    let s = params.limbs;
    let x_at = (params.first + lane) * params.x_limbs;
    var borrow = 1u;
    for (var j = 0u; j < s; j++) {
        var limb = 0u;
        if (j < params.x_limbs) {
            limb = select(x_q[x_at + j], x_p[x_at + j], from_p);
        }
        let r = sub_borrow(limb, 0u, borrow);
        scratch[slot_at(out, j)] = r.x;
        borrow = r.y;
    }
    for (var j = 0u; j < s; j++) {
        scratch[t_at(j)] = 0u;
    }
    for (var i = 0u; i < s; i++) {
        let xi = scratch[slot_at(out, i)];
        var c = 0u;
        for (var j = 0u; i + j < s; j++) {
            let r = mac(scratch[t_at(i + j)], xi, consts[inverse_at + j], c);
            scratch[t_at(i + j)] = r.x;
            c = r.y;
        }
    }
    for (var j = 0u; j < s; j++) {
        scratch[slot_at(out, j)] = scratch[t_at(j)];
    }
}

// Bits of mask item `m_at` that cover limb k of the plaintext.
fn mask_bits(m_at: u32, k: u32) -> u32 {
    let bit = k * LIMB_BITS;
    let word = bit / 32u;
    if (word >= params.mask_words) {
        return 0u;
    }
    return (masks[m_at + word] >> (bit % 32u)) & LIMB_MASK;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    if (!begin(gid, groups)) {
        return;
    }
    let s = params.limbs;
    if (params.phase == 0u) {
        exact_quotient(true, at_p_inverse(), U);
        load_const(H, at_h_p());
        mont_mul_mod(U, H, MP, at_p(), params.m0_inv);
        exact_quotient(false, at_q_inverse(), U);
        load_const(H, at_h_q());
        mont_mul_mod(U, H, MQ, at_q(), params.m0_inv_q);
        return;
    }
    // m_q mod p: q < 2p (same bit length), so one conditional subtraction.
    var borrow = 0u;
    for (var j = 0u; j < s; j++) {
        let r = sub_borrow(scratch[slot_at(MQ, j)], consts[at_p() + j], borrow);
        scratch[slot_at(D, j)] = r.x;
        borrow = r.y;
    }
    if (borrow == 1u) {
        copy_slot(D, MQ);
    }
    // d = m_p − (m_q mod p) mod p.
    borrow = 0u;
    for (var j = 0u; j < s; j++) {
        let r = sub_borrow(scratch[slot_at(MP, j)], scratch[slot_at(D, j)], borrow);
        scratch[slot_at(D, j)] = r.x;
        borrow = r.y;
    }
    if (borrow == 1u) {
        var c = 0u;
        for (var j = 0u; j < s; j++) {
            let r = mac(scratch[slot_at(D, j)], 1u, consts[at_p() + j], c);
            scratch[slot_at(D, j)] = r.x;
            c = r.y;
        }
    }
    // t = d · q⁻¹ mod p.
    load_const(H, at_q_inv_mod_p());
    mont_mul_mod(D, H, D, at_p(), params.m0_inv);
    // m = m_q + q · t, 2·limbs limbs (below n).
    for (var k = 0u; k < 2u * s; k++) {
        scratch[slot_at(M, k)] = select(0u, scratch[slot_at(MQ, k)], k < s);
    }
    for (var i = 0u; i < s; i++) {
        let qi = consts[at_q() + i];
        var c = 0u;
        for (var j = 0u; j < s; j++) {
            let r = mac(scratch[slot_at(M, i + j)], qi, scratch[slot_at(D, j)], c);
            scratch[slot_at(M, i + j)] = r.x;
            c = r.y;
        }
        let top = add_carry(scratch[slot_at(M, i + s)], c);
        scratch[slot_at(M, i + s)] = top.x;
    }
    let m_at = ((lane + params.operand_first) % params.operand_count) * params.mask_words;
    var total = 0u;
    for (var k = 0u; k < 2u * s; k++) {
        total += countOneBits(scratch[slot_at(M, k)] & mask_bits(m_at, k));
    }
    results[lane] = total;
}
