// 16-bit limbs in u32 words, for adapters without 64-bit integers: a 16×16-bit product and two
// 16-bit addends still fit 32 bits.
alias Wide = u32;
fn widen(c: u32) -> Wide { return c; }
fn wide_lo(w: Wide) -> u32 { return w & 0xffffu; }
fn wide_hi(w: Wide) -> u32 { return w >> 16u; }
fn wide_shift(w: Wide) -> Wide { return w >> 16u; }
fn mac(t: u32, a: u32, b: u32, c: u32) -> vec2<u32> {
    let v = t + a * b + c;
    return vec2<u32>(v & 0xffffu, v >> 16u);
}
fn add_carry(a: u32, c: u32) -> vec2<u32> {
    let s = a + c;
    return vec2<u32>(s & 0xffffu, s >> 16u);
}
fn sub_borrow(a: u32, b: u32, borrow: u32) -> vec2<u32> {
    let d = (a + 0x10000u) - b - borrow;
    return vec2<u32>(d & 0xffffu, 1u - (d >> 16u));
}
