// 16-bit limbs held in u32, for adapters without 64-bit integers: a 16×16-bit product and two
// 16-bit addends still fit in 32 bits, so no carry is ever lost.

// t + a·b + c for 16-bit inputs: at most (2^16-1) + (2^16-1)^2 + (2^16-1) = 2^32 - 1.
fn mac(t: u32, a: u32, b: u32, c: u32) -> vec2<u32> {
    let v = t + a * b + c;
    return vec2<u32>(v & 0xffffu, v >> 16u);
}

// a + c, as (sum, carry).
fn add_carry(a: u32, c: u32) -> vec2<u32> {
    let s = a + c;
    return vec2<u32>(s & 0xffffu, s >> 16u);
}

// a - b - borrow, as (difference, borrow bit).
fn sub_borrow(a: u32, b: u32, borrow: u32) -> vec2<u32> {
    let d = (a + 0x10000u) - b - borrow;
    return vec2<u32>(d & 0xffffu, 1u - (d >> 16u));
}
