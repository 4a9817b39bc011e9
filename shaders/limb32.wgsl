// 32-bit limbs with 64-bit products (SHADER_INT64).
alias Wide = u64;
fn widen(c: u32) -> Wide { return u64(c); }
fn wide_lo(w: Wide) -> u32 { return u32(w & 0xfffffffflu); }
fn wide_hi(w: Wide) -> u32 { return u32(w >> 32u); }
fn wide_shift(w: Wide) -> Wide { return w >> 32u; }
// t + a·b + c as (low limb, high limb); never overflows 64 bits.
fn mac(t: u32, a: u32, b: u32, c: u32) -> vec2<u32> {
    let v = u64(t) + u64(a) * u64(b) + u64(c);
    return vec2<u32>(u32(v & 0xfffffffflu), u32(v >> 32u));
}
// a + c as (sum, carry bit).
fn add_carry(a: u32, c: u32) -> vec2<u32> {
    let s = a + c;
    return vec2<u32>(s, select(0u, 1u, s < a));
}
// a - b - borrow as (difference, borrow bit).
fn sub_borrow(a: u32, b: u32, borrow: u32) -> vec2<u32> {
    let d1 = a - b;
    let d2 = d1 - borrow;
    return vec2<u32>(d2, select(0u, 1u, a < b) | select(0u, 1u, d1 < borrow));
}
