// What both fixed-base kernels read besides numbers (shaders/fixed_base.wgsl on the wide numbers,
// shaders/two_digit_fixed_base.wgsl on two digits): exponent windows, and messages given as slot
// bits. The including kernel declares `exponents` and `factors`.

// `width` exponent bits from bit `bit` of the exponent at word `e_at`; a window may straddle two
// words, and bits past the exponent's last word read as zero.
fn window_digit(e_at: u32, bit: u32, width: u32) -> u32 {
    let word = bit / 32u;
    let shift = bit % 32u;
    var value = 0u;
    if (word < params.exp_words) {
        value = exponents[e_at + word] >> shift;
    }
    if (shift > 0u && shift + width > 32u && word + 1u < params.exp_words) {
        value |= exponents[e_at + word + 1u] << (32u - shift);
    }
    return value & ((1u << width) - 1u);
}

// x's bits moved to the even positions: bit j to bit 2j (x below 2^16).
fn spread_bits(x: u32) -> u32 {
    var v = x & 0xffffu;
    v = (v | (v << 8u)) & 0x00ff00ffu;
    v = (v | (v << 4u)) & 0x0f0f0f0fu;
    v = (v | (v << 2u)) & 0x33333333u;
    return (v | (v << 1u)) & 0x55555555u;
}

// This lane's limbs, from limb `first` on, of the message whose slot bits (x_limbs u32 words)
// start at word `at`: limb j holds slot bits [j·LIMB_BITS/2, (j + 1)·LIMB_BITS/2), which never
// straddle a word.
fn load_slot_message(at: u32, first: u32) -> Limbs {
    let half = LIMB_BITS / 2u;
    var v = Limbs();
    for (var k = 0u; k < L; k++) {
        let bit = (first + lane * L + k) * half;
        if (bit / 32u < params.x_limbs) {
            let bits = (factors[at + bit / 32u] >> (bit % 32u)) & ((1u << half) - 1u);
            v[k] = spread_bits(bits);
        }
    }
    return v;
}
