//! The AVX-512 intrinsics the IFMA engines use, lane by lane in plain Rust, with Intel's
//! definitions (the Intel Intrinsics Guide's pseudocode); the immediates the real intrinsics take
//! as const generics are ordinary arguments here, which the same call syntax reaches.
//!
//! For unit tests on CPUs without IFMA only (see `avx512.rs`); checked against the real
//! instructions by `tests` where the CPU has them.

// `unsafe` as the real loads and stores are: they read and write through raw pointers.
#![allow(unsafe_code, non_camel_case_types)]

/// Eight 64-bit lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct __m512i(pub(crate) [u64; 8]);

/// Two 64-bit lanes (the low quarter of a [`__m512i`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(16))]
pub(crate) struct __m128i(pub(crate) [u64; 2]);

/// One bit a lane, lane `i` at bit `i`.
pub(crate) type __mmask8 = u8;

const MASK52: u64 = (1 << 52) - 1;

fn lanes(f: impl FnMut(usize) -> u64) -> __m512i {
    __m512i(std::array::from_fn(f))
}

fn selected(k: __mmask8, i: usize) -> bool {
    (k >> i) & 1 == 1
}

pub(crate) fn _mm512_setzero_si512() -> __m512i {
    __m512i([0; 8])
}

pub(crate) fn _mm512_set1_epi64(a: i64) -> __m512i {
    __m512i([a as u64; 8])
}

pub(crate) fn _mm512_maskz_set1_epi64(k: __mmask8, a: i64) -> __m512i {
    lanes(|i| if selected(k, i) { a as u64 } else { 0 })
}

pub(crate) fn _mm512_add_epi64(a: __m512i, b: __m512i) -> __m512i {
    lanes(|i| a.0[i].wrapping_add(b.0[i]))
}

pub(crate) fn _mm512_sub_epi64(a: __m512i, b: __m512i) -> __m512i {
    lanes(|i| a.0[i].wrapping_sub(b.0[i]))
}

pub(crate) fn _mm512_and_si512(a: __m512i, b: __m512i) -> __m512i {
    lanes(|i| a.0[i] & b.0[i])
}

pub(crate) fn _mm512_or_si512(a: __m512i, b: __m512i) -> __m512i {
    lanes(|i| a.0[i] | b.0[i])
}

/// Bit `j` of lane `i` is bit `4·a + 2·b + c` of `imm8`, for the bits `j` of `a`, `b`, `c`.
pub(crate) fn _mm512_ternarylogic_epi64(a: __m512i, b: __m512i, c: __m512i, imm8: i32) -> __m512i {
    lanes(|i| {
        (0..8).fold(0u64, |acc, t| {
            let pick = |bit: usize, x: u64| if t & bit != 0 { x } else { !x };
            let minterm = pick(4, a.0[i]) & pick(2, b.0[i]) & pick(1, c.0[i]);
            if (imm8 >> t) & 1 == 1 {
                acc | minterm
            } else {
                acc
            }
        })
    })
}

pub(crate) fn _mm512_slli_epi64(a: __m512i, imm8: u32) -> __m512i {
    lanes(|i| a.0[i].checked_shl(imm8).unwrap_or(0))
}

pub(crate) fn _mm512_srli_epi64(a: __m512i, imm8: u32) -> __m512i {
    lanes(|i| a.0[i].checked_shr(imm8).unwrap_or(0))
}

pub(crate) fn _mm512_maskz_srli_epi64(k: __mmask8, a: __m512i, imm8: u32) -> __m512i {
    let shifted = _mm512_srli_epi64(a, imm8);
    lanes(|i| if selected(k, i) { shifted.0[i] } else { 0 })
}

/// The low 512 bits of `a:b` (`a` high) shifted right by `imm8 mod 8` lanes.
pub(crate) fn _mm512_alignr_epi64(a: __m512i, b: __m512i, imm8: i32) -> __m512i {
    let shift = (imm8 & 7) as usize;
    lanes(|i| match i + shift {
        j if j < 8 => b.0[j],
        j => a.0[j - 8],
    })
}

/// `a + low 52 bits of (b mod 2^52)·(c mod 2^52)`, lane by lane.
pub(crate) fn _mm512_madd52lo_epu64(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    lanes(|i| {
        let product = u128::from(b.0[i] & MASK52) * u128::from(c.0[i] & MASK52);
        a.0[i].wrapping_add(product as u64 & MASK52)
    })
}

/// `a + high 52 bits of (b mod 2^52)·(c mod 2^52)`, lane by lane.
pub(crate) fn _mm512_madd52hi_epu64(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    lanes(|i| {
        let product = u128::from(b.0[i] & MASK52) * u128::from(c.0[i] & MASK52);
        a.0[i].wrapping_add((product >> 52) as u64)
    })
}

pub(crate) fn _mm512_cmpeq_epi64_mask(a: __m512i, b: __m512i) -> __mmask8 {
    (0..8).fold(0, |k, i| k | (u8::from(a.0[i] == b.0[i]) << i))
}

/// `a`'s lanes where `k` selects them, `src`'s elsewhere.
pub(crate) fn _mm512_mask_mov_epi64(src: __m512i, k: __mmask8, a: __m512i) -> __m512i {
    lanes(|i| if selected(k, i) { a.0[i] } else { src.0[i] })
}

/// Lane `i` is lane `idx[i] mod 8` of `b` where bit 3 of `idx[i]` is set, else of `a`.
pub(crate) fn _mm512_permutex2var_epi64(a: __m512i, idx: __m512i, b: __m512i) -> __m512i {
    lanes(|i| {
        let at = (idx.0[i] & 7) as usize;
        if idx.0[i] & 8 != 0 {
            b.0[at]
        } else {
            a.0[at]
        }
    })
}

pub(crate) fn _mm512_castsi512_si128(a: __m512i) -> __m128i {
    __m128i([a.0[0], a.0[1]])
}

pub(crate) fn _mm_cvtsi128_si64(a: __m128i) -> i64 {
    a.0[0] as i64
}

/// # Safety
/// `mem_addr` must be valid for reading 64 bytes.
pub(crate) unsafe fn _mm512_loadu_si512(mem_addr: *const __m512i) -> __m512i {
    mem_addr.read_unaligned()
}

/// # Safety
/// `mem_addr` must be valid for writing 64 bytes.
pub(crate) unsafe fn _mm512_storeu_si512(mem_addr: *mut __m512i, a: __m512i) {
    mem_addr.write_unaligned(a)
}

/// Lane `i` is `mem_addr[i]` where `k` selects it, else 0; unselected lanes are not read.
///
/// # Safety
/// `mem_addr[i]` must be valid for reading for every lane `i` that `k` selects.
pub(crate) unsafe fn _mm512_maskz_loadu_epi64(k: __mmask8, mem_addr: *const i64) -> __m512i {
    lanes(|i| match selected(k, i) {
        true => mem_addr.add(i).read_unaligned() as u64,
        false => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(rng: &mut impl Rng) -> __m512i {
        // Whole words, 52-bit limbs and small values, where the edge cases of the shifts,
        // products and compares are.
        lanes(|_| match rng.gen_range(0..3) {
            0 => rng.gen(),
            1 => rng.gen::<u64>() & MASK52,
            _ => rng.gen_range(0..16),
        })
    }

    #[test]
    fn the_ternary_logic_truth_tables() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..64 {
            let (a, b, c) = (random(&mut rng), random(&mut rng), random(&mut rng));
            let each = |f: fn(u64, u64, u64) -> u64| lanes(|i| f(a.0[i], b.0[i], c.0[i]));
            assert_eq!(
                _mm512_ternarylogic_epi64(a, b, c, 0xfe),
                each(|a, b, c| a | b | c)
            );
            assert_eq!(
                _mm512_ternarylogic_epi64(a, b, c, 0x96),
                each(|a, b, c| a ^ b ^ c)
            );
            assert_eq!(
                _mm512_ternarylogic_epi64(a, b, c, 0x80),
                each(|a, b, c| a & b & c)
            );
            assert_eq!(
                _mm512_ternarylogic_epi64(a, b, c, 0xe8),
                each(|a, b, c| (a & b) | (a & c) | (b & c))
            );
            assert_eq!(_mm512_ternarylogic_epi64(a, b, c, 0xf0), a);
            assert_eq!(_mm512_ternarylogic_epi64(a, b, c, 0xaa), c);
        }
    }

    #[test]
    fn lanes_move_as_intel_documents() {
        let a = lanes(|i| 10 + i as u64);
        let b = lanes(|i| 20 + i as u64);
        assert_eq!(
            _mm512_alignr_epi64(a, b, 1).0,
            [21, 22, 23, 24, 25, 26, 27, 10]
        );
        assert_eq!(_mm512_alignr_epi64(a, b, 9), _mm512_alignr_epi64(a, b, 1));
        let idx = __m512i([0, 8, 7, 15, 3, 11, 16, 9]);
        assert_eq!(
            _mm512_permutex2var_epi64(a, idx, b).0,
            [10, 20, 17, 27, 13, 23, 10, 21]
        );
        assert_eq!(
            _mm512_maskz_srli_epi64(0b101, b, 1).0,
            [10, 0, 11, 0, 0, 0, 0, 0]
        );
        assert_eq!(_mm512_cmpeq_epi64_mask(a, _mm512_set1_epi64(12)), 0b100);
        let words: Vec<i64> = (0..3).collect();
        // Lanes 3 to 7 lie past the end of `words`: a masked load must not read them.
        let loaded = unsafe { _mm512_maskz_loadu_epi64(0b110, words.as_ptr()) };
        assert_eq!(loaded.0, [0, 1, 2, 0, 0, 0, 0, 0]);
        let mut stored = [0u64; 9];
        unsafe { _mm512_storeu_si512(stored[1..].as_mut_ptr().cast(), b) };
        assert_eq!(
            unsafe { _mm512_loadu_si512(stored[1..].as_ptr().cast()) },
            b
        );
        assert_eq!(_mm_cvtsi128_si64(_mm512_castsi512_si128(b)), 20);
        assert_eq!(_mm512_setzero_si512(), _mm512_set1_epi64(0));
    }

    /// Every emulated operation against the instruction, on random operands, where this CPU has
    /// AVX-512 IFMA.
    #[test]
    fn every_operation_equals_the_instruction() {
        if !(std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma"))
        {
            eprintln!(
                "no AVX-512 IFMA on this CPU: the emulation is checked by its own tests only"
            );
            return;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        for _ in 0..1000 {
            let (a, b, c) = (random(&mut rng), random(&mut rng), random(&mut rng));
            let (k, shift) = (rng.gen::<u8>(), rng.gen_range(0..70u32));
            let real = unsafe { hardware::all(a, b, c, k, shift) };
            let emulated = [
                _mm512_madd52lo_epu64(a, b, c),
                _mm512_madd52hi_epu64(a, b, c),
                _mm512_add_epi64(a, b),
                _mm512_sub_epi64(a, b),
                _mm512_and_si512(a, b),
                _mm512_or_si512(a, b),
                _mm512_ternarylogic_epi64(a, b, c, 0xfe),
                _mm512_alignr_epi64(a, b, 1),
                _mm512_maskz_srli_epi64(k, a, 52),
                _mm512_srli_epi64(a, shift),
                _mm512_slli_epi64(a, shift),
                _mm512_mask_mov_epi64(a, k, b),
                _mm512_permutex2var_epi64(a, c, b),
                _mm512_maskz_set1_epi64(k, b.0[0] as i64),
                lanes(|i| u64::from((_mm512_cmpeq_epi64_mask(a, c) >> i) & 1)),
            ];
            assert_eq!(
                real, emulated,
                "operands {a:?} {b:?} {c:?} mask {k} shift {shift}"
            );
        }
    }

    mod hardware {
        #![allow(unsafe_code)]
        use super::__m512i;
        use std::arch::x86_64::*;

        fn from(v: __m512i) -> std::arch::x86_64::__m512i {
            unsafe { std::mem::transmute::<[u64; 8], std::arch::x86_64::__m512i>(v.0) }
        }

        fn to(v: std::arch::x86_64::__m512i) -> __m512i {
            __m512i(unsafe { std::mem::transmute::<std::arch::x86_64::__m512i, [u64; 8]>(v) })
        }

        /// The instructions, in the order of the emulated operations in the test above.
        #[target_feature(enable = "avx512f,avx512ifma")]
        pub(super) unsafe fn all(
            a: __m512i,
            b: __m512i,
            c: __m512i,
            k: u8,
            shift: u32,
        ) -> [__m512i; 15] {
            let (x, y, z) = (from(a), from(b), from(c));
            let cmp = _mm512_cmpeq_epi64_mask(x, z);
            [
                to(_mm512_madd52lo_epu64(x, y, z)),
                to(_mm512_madd52hi_epu64(x, y, z)),
                to(_mm512_add_epi64(x, y)),
                to(_mm512_sub_epi64(x, y)),
                to(_mm512_and_si512(x, y)),
                to(_mm512_or_si512(x, y)),
                to(_mm512_ternarylogic_epi64(x, y, z, 0xfe)),
                to(_mm512_alignr_epi64(x, y, 1)),
                to(_mm512_maskz_srli_epi64(k, x, 52)),
                to(_mm512_srlv_epi64(x, _mm512_set1_epi64(i64::from(shift)))),
                to(_mm512_sllv_epi64(x, _mm512_set1_epi64(i64::from(shift)))),
                to(_mm512_mask_mov_epi64(x, k, y)),
                to(_mm512_permutex2var_epi64(x, z, y)),
                to(_mm512_maskz_set1_epi64(k, b.0[0] as i64)),
                to(_mm512_maskz_set1_epi64(cmp, 1)),
            ]
        }
    }
}
