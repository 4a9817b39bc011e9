// 32-bit limbs with 64-bit products: needs the adapter feature SHADER_INT64.
// Every value a limb function returns is (limb, carry) with carry a full limb or one bit.

// t + a·b + c, as (low 32 bits, high 32 bits); cannot overflow 64 bits.
fn mac(t: u32, a: u32, b: u32, c: u32) -> vec2<u32> {
    let v = u64(t) + u64(a) * u64(b) + u64(c);
    return vec2<u32>(u32(v & 0xfffffffflu), u32(v >> 32u));
}

// a + c, as (sum, carry bit).
fn add_carry(a: u32, c: u32) -> vec2<u32> {
    let s = a + c;
    return vec2<u32>(s, select(0u, 1u, s < a));
}

// a - b - borrow, as (difference, borrow bit).
fn sub_borrow(a: u32, b: u32, borrow: u32) -> vec2<u32> {
    let d1 = a - b;
    let b1 = select(0u, 1u, a < b);
    let d2 = d1 - borrow;
    let b2 = select(0u, 1u, d1 < borrow);
    return vec2<u32>(d2, b1 | b2);
}
