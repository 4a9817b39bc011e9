// Finishes CRT decryptions and decodes them, so that only distances leave the device. For each
// item, with x_p = c^e_p mod p² and x_q = c^e_q mod q² from the modexp kernel (x_limbs limbs each):
//   m_p = ((x_p − 1) / p) · h_p mod p and m_q likewise (exact division: the low S limbs of x − 1
//         times the prime's 2-adic inverse, then a Montgomery product by h·R);
//   m = m_q + q · ((m_p − m_q) · q⁻¹ mod p) (Garner), result = popcount(m & mask), or a defect
//   report when m cannot be an honest aggregate (crates/engine/src/backend/chunk_count.rs).
// With params.primes = 1 every honest plaintext is below p (backend/one_prime.rs): m = m_p, and
// x_q is neither computed nor read. With params.out_limbs = 2S (decryption of numbers) m itself
// is the result, 2S limbs an item, and the masks are not read.
// S is the width of p and q. The same formula finishes both schemes; only h_p and h_q differ.

// P | Q | P⁻¹ mod 2^(LIMB_BITS·S) | Q⁻¹ mod 2^(LIMB_BITS·S) | h_p·R mod p | h_q·R mod q | q⁻¹·R mod p.
@group(0) @binding(0) var<storage, read> consts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> x_p: array<u32>;
@group(0) @binding(3) var<storage, read> masks: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(6) var<storage, read> x_q: array<u32>;

// (x − 1) / prime from x (2S limbs at `at`, read through `load`'s buffer as low and high halves)
// by the prime's 2-adic inverse, and whether the division is exact: x ≡ 1 (mod prime), the
// subgroup check of an honest response (then the quotient is below the prime).
struct Quotient {
    v: Limbs,
    exact: bool,
}

fn exact_quotient(x_low: Limbs, x_high: Limbs, prime: Limbs, inverse: Limbs) -> Quotient {
    let x_minus_one = sub_limbs(x_low, unit(1u));
    let high = sub_limbs(x_high, unit(x_minus_one.flag)).v;
    let u = mul_wide(x_minus_one.v, inverse).lo;
    let back = mul_wide(u, prime);
    var differs = 0u;
    for (var k = 0u; k < L; k++) {
        differs |= (back.lo[k] ^ x_minus_one.v[k]) | (back.hi[k] ^ high[k]);
    }
    return Quotient(u, lane_sum(select(0u, 1u, differs != 0u)) == 0u);
}

// The mask bits over limb k (counted from the plaintext's lowest limb) of mask item `m_at`.
fn mask_bits(m_at: u32, k: u32) -> u32 {
    let bit = k * LIMB_BITS;
    let word = bit / 32u;
    if (word >= params.mask_words) {
        return 0u;
    }
    return (masks[m_at + word] >> (bit % 32u)) & LIMB_MASK;
}

fn kernel(_grid_row: u32) {
    let i = min(item, params.count - 1u);
    let p = load_consts(0u);
    let q = load_consts(S);
    let x_at = (params.first + i) * params.x_limbs;
    let u_p = exact_quotient(load_x_p(x_at), load_x_p(x_at + S), p, load_consts(2u * S));
    // Outside the subgroup the quotient is meaningless: 0, as the CPU's recombination takes
    // (decoding reports such a response as a defect; decryption gives what the CPU gives).
    let q_p = pick(u_p.v, unit(0u), !u_p.exact);
    let m_p = mont_mul(q_p, load_consts(4u * S), p, params.m0_inv);
    // Copies in variables: a value array may not be indexed by a run-time index.
    var low_limbs = m_p;
    var high_limbs = unit(0u);
    var in_subgroup = u_p.exact;
    // params.primes is uniform, so every lane takes the same branch (lane_sum inside is safe).
    if (params.primes != 1u) {
        let u_q = exact_quotient(load_x_q(x_at), load_x_q(x_at + S), q, load_consts(3u * S));
        let q_q = pick(u_q.v, unit(0u), !u_q.exact);
        let m_q = mont_mul(q_q, load_consts(5u * S), q, params.m0_inv_q);
        // m_q mod p: q < 2p (same bit length), so at most one subtraction.
        let reduced = sub_limbs(m_q, p);
        let m_q_mod_p = pick(reduced.v, m_q, reduced.flag != 0u);
        let difference = sub_limbs(m_p, m_q_mod_p);
        let d = pick(difference.v, add_limbs(difference.v, p).v, difference.flag != 0u);
        let t = mont_mul(d, load_consts(6u * S), p, params.m0_inv);
        let product = mul_wide(q, t);
        let low = add_limbs(product.lo, m_q);
        low_limbs = low.v;
        high_limbs = add_limbs(product.hi, unit(low.flag)).v;
        in_subgroup = in_subgroup && u_q.exact;
    }
    // Decryption (params.out_limbs = 2S, uniform): the plaintext itself, low limbs then high.
    if (params.out_limbs != 0u) {
        if (item < params.count) {
            let at = i * params.out_limbs + lane * L;
            for (var k = 0u; k < L; k++) {
                results[at + k] = low_limbs[k];
                results[at + S + k] = high_limbs[k];
            }
        }
        return;
    }
    let m_at = ((i + params.operand_first) % params.operand_count) * params.mask_words;
    var count = 0u;
    var above_slots = 0u;
    var holds_three = 0u;
    for (var k = 0u; k < L; k++) {
        let low_mask = mask_bits(m_at, lane * L + k);
        let high_mask = mask_bits(m_at, S + lane * L + k);
        count += countOneBits(low_limbs[k] & low_mask);
        count += countOneBits(high_limbs[k] & high_mask);
        // Slots never straddle limbs (limbs have an even width), so each limb is checked alone.
        above_slots |= (low_limbs[k] & ~(low_mask | (low_mask << 1u)))
            | (high_limbs[k] & ~(high_mask | (high_mask << 1u)));
        holds_three |= (low_limbs[k] & (low_limbs[k] >> 1u) & low_mask)
            | (high_limbs[k] & (high_limbs[k] >> 1u) & high_mask);
    }
    let total = lane_sum(count);
    // The same words as chunk_count::count_or_defect: DEFECT_TAG | the failed checks.
    // Outside the subgroup the plaintext is meaningless: that alone is reported.
    var defects = select(0u, 2u, lane_sum(select(0u, 1u, above_slots != 0u)) != 0u);
    defects |= select(0u, 4u, lane_sum(select(0u, 1u, holds_three != 0u)) != 0u);
    defects = select(defects, 1u, !in_subgroup);
    if (item < params.count && lane == 0u) {
        results[i] = select(total, 0xFFFFFF00u | defects, defects != 0u);
    }
}
