// The uniform parameters of every kernel; the host prepends this file. Field order matches
// `Params` in crates/engine/src/backend/gpu/codegen/params.rs.

struct Params {
    // Items in this dispatch.
    count: u32,
    // Index of this dispatch's first item in the binding-2 buffer (device-resident batches).
    first: u32,
    // Items of the cyclic operand: item i uses operand (i + operand_first) % operand_count.
    operand_count: u32,
    operand_first: u32,
    // u32 words per exponent, and how many of its bits to process.
    exp_words: u32,
    exp_bits: u32,
    // -m⁻¹ mod 2^LIMB_BITS.
    m0_inv: u32,
    // Fixed-base window width in bits (divides 32).
    window: u32,
    // Limbs per number.
    limbs: u32,
    // Which part of a phased kernel this dispatch runs, and its step range.
    phase: u32,
    step_from: u32,
    step_to: u32,
    // Limbs per item of the second per-item input (CRT decoding's x_p and x_q, fixed-base's
    // factors), u32 words per mask, and -q⁻¹ mod 2^LIMB_BITS.
    x_limbs: u32,
    mask_words: u32,
    m0_inv_q: u32,
    // Limbs per result item where it differs from S (the encryption recombination).
    out_limbs: u32,
    // CRT decoding: 1 when the plaintext is below p and x_p alone gives it, else 2.
    primes: u32,
    // Multi-exponentiation: exponent rows (also the dispatch's second dimension: every item runs
    // once per row), bases per item, and term slots per row's program.
    rows: u32,
    per_row: u32,
    row_terms: u32,
}
