//! The vector operations the narrow kernels are written in, once per instruction set: 512-bit
//! registers of eight lanes (AVX-512F), 256-bit ones of four (AVX2), and plain arrays of eight
//! (the emulation that checks the kernels' arithmetic on any CPU). Each module offers the same
//! names, so one kernel text ([`super::kernels`]) compiles against any of them.
//!
//! Every operation is one instruction (or a fixed few), with no branch and no address that
//! depends on the values.

// Intrinsics (the caller checks the CPU) and raw loads and stores whose bounds the kernels check.
#![allow(unsafe_code)]

/// AVX-512F: one `__m512i` holds a vector's eight lanes.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx512 {
    use std::arch::x86_64::*;

    pub(crate) type V = __m512i;

    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn zero() -> V {
        _mm512_setzero_si512()
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn splat(x: u64) -> V {
        _mm512_set1_epi64(x as i64)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn load(p: *const u64) -> V {
        _mm512_loadu_si512(p.cast())
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn store(p: *mut u64, v: V) {
        _mm512_storeu_si512(p.cast(), v)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn add(a: V, b: V) -> V {
        _mm512_add_epi64(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn sub(a: V, b: V) -> V {
        _mm512_sub_epi64(a, b)
    }
    /// The low 32 bits of each lane of `a` times those of `b`, 64-bit products (`vpmuludq`).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn mul32(a: V, b: V) -> V {
        _mm512_mul_epu32(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn and(a: V, b: V) -> V {
        _mm512_and_si512(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn shift_right(a: V, bits: u32) -> V {
        _mm512_srl_epi64(a, _mm_cvtsi32_si128(bits as i32))
    }
    /// `entry` in the lanes where `wanted` equals `index`, `acc` elsewhere (a compare into a
    /// mask register and a masked move).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn pick(acc: V, wanted: V, index: V, entry: V) -> V {
        _mm512_mask_mov_epi64(acc, _mm512_cmpeq_epi64_mask(wanted, index), entry)
    }
}

/// AVX2: one `__m256i` holds four lanes; a vector's eight lanes take two passes.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx2 {
    use std::arch::x86_64::*;

    pub(crate) type V = __m256i;

    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn zero() -> V {
        _mm256_setzero_si256()
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn splat(x: u64) -> V {
        _mm256_set1_epi64x(x as i64)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn load(p: *const u64) -> V {
        _mm256_loadu_si256(p.cast())
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn store(p: *mut u64, v: V) {
        _mm256_storeu_si256(p.cast(), v)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn add(a: V, b: V) -> V {
        _mm256_add_epi64(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn sub(a: V, b: V) -> V {
        _mm256_sub_epi64(a, b)
    }
    /// The low 32 bits of each lane of `a` times those of `b`, 64-bit products (`vpmuludq`).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn mul32(a: V, b: V) -> V {
        _mm256_mul_epu32(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn and(a: V, b: V) -> V {
        _mm256_and_si256(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn shift_right(a: V, bits: u32) -> V {
        _mm256_srl_epi64(a, _mm_cvtsi32_si128(bits as i32))
    }
    /// `entry` in the lanes where `wanted` equals `index`, `acc` elsewhere (a compare into an
    /// all-ones mask and a byte blend).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn pick(acc: V, wanted: V, index: V, entry: V) -> V {
        _mm256_blendv_epi8(acc, entry, _mm256_cmpeq_epi64(wanted, index))
    }
}

/// Plain arrays of eight lanes: the same arithmetic as the instructions, on any CPU, so that
/// the tests check the kernels' algorithm where AVX-512F (or AVX2) is missing. Results only.
#[cfg(test)]
pub(super) mod emulated {
    pub(crate) type V = [u64; 8];

    fn each(a: V, b: V, f: impl Fn(u64, u64) -> u64) -> V {
        std::array::from_fn(|i| f(a[i], b[i]))
    }

    pub(crate) fn zero() -> V {
        [0; 8]
    }
    pub(crate) fn splat(x: u64) -> V {
        [x; 8]
    }
    pub(crate) unsafe fn load(p: *const u64) -> V {
        // SAFETY: the kernels pass pointers to at least eight readable words.
        std::array::from_fn(|i| unsafe { *p.add(i) })
    }
    pub(crate) unsafe fn store(p: *mut u64, v: V) {
        for (i, x) in v.into_iter().enumerate() {
            // SAFETY: the kernels pass pointers to at least eight writable words.
            unsafe { *p.add(i) = x }
        }
    }
    pub(crate) fn add(a: V, b: V) -> V {
        each(a, b, u64::wrapping_add)
    }
    pub(crate) fn sub(a: V, b: V) -> V {
        each(a, b, u64::wrapping_sub)
    }
    pub(crate) fn mul32(a: V, b: V) -> V {
        each(a, b, |x, y| (x & 0xffff_ffff) * (y & 0xffff_ffff))
    }
    pub(crate) fn and(a: V, b: V) -> V {
        each(a, b, |x, y| x & y)
    }
    pub(crate) fn shift_right(a: V, bits: u32) -> V {
        a.map(|x| x >> bits)
    }
    pub(crate) fn pick(acc: V, wanted: V, index: V, entry: V) -> V {
        std::array::from_fn(|i| match wanted[i] == index[i] {
            true => entry[i],
            false => acc[i],
        })
    }
}
