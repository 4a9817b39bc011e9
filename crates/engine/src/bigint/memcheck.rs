//! Valgrind's memcheck client requests, for checking constant time the ctgrind way (Langley,
//! 2010): a harness marks secrets *undefined*, and memcheck then reports every branch and every
//! memory address computed from them. Where the library branches on purpose on a value computed
//! from secrets that is public by design (whether p² is p·p), it *declassifies* that value first,
//! as BoringSSL's `constant_time_declassify_int` does.
//!
//! A request is the magic sequence of valgrind.h: four rotations of `rdi` by 128 bits in all and
//! `xchg rbx, rbx`. On a CPU that is not under valgrind it does nothing (valgrind's manual: client
//! requests may stay in production code); under valgrind it is the request in the array `rax`
//! points to. Other architectures get no-ops (the check runs on x86-64).
//!
//! ```
//! use paillier_gpu_engine::bigint::memcheck;
//! let secret = [7u64, 9];
//! memcheck::mark_secret(&secret);
//! // ... run the operation under `valgrind --tool=memcheck` ...
//! memcheck::mark_public(&secret);
//! ```

/// memcheck.h: `VG_USERREQ_TOOL_BASE('M','C') + 1` and `+ 2`.
const MAKE_MEM_UNDEFINED: u64 = ((b'M' as u64) << 24 | (b'C' as u64) << 16) + 1;
const MAKE_MEM_DEFINED: u64 = MAKE_MEM_UNDEFINED + 1;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn request(code: u64, address: *const u8, bytes: usize) {
    let args: [u64; 6] = [code, address as u64, bytes as u64, 0, 0, 0];
    let mut result: u64 = 0;
    // SAFETY: the sequence rotates rdi by 128 bits in all (a no-op) and exchanges rbx with
    // itself; rdi is declared clobbered and `args` outlives the block. Under valgrind the
    // request only changes memcheck's view of `bytes` bytes at `address`, which the caller
    // borrows.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3", "rol rdi, 13", "rol rdi, 61", "rol rdi, 51", "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") result,
            out("rdi") _,
            options(nostack),
        );
    }
    std::hint::black_box(result);
}

#[cfg(not(target_arch = "x86_64"))]
fn request(_: u64, _: *const u8, _: usize) {}

/// Marks `value` secret under memcheck: any branch or address that depends on it is reported.
pub fn mark_secret<T: Copy>(value: &[T]) {
    request(
        MAKE_MEM_UNDEFINED,
        value.as_ptr().cast(),
        std::mem::size_of_val(value),
    );
}

/// Marks `value` public again under memcheck (a result about to be printed, say).
pub fn mark_public<T: Copy>(value: &[T]) {
    request(
        MAKE_MEM_DEFINED,
        value.as_ptr().cast(),
        std::mem::size_of_val(value),
    );
}

/// `fact`, marked public under memcheck: for a yes-or-no computed from secrets (in constant
/// time) whose answer the caller may branch on because it is public by design (the input was
/// valid, say). Outside valgrind it returns `fact`.
#[allow(unsafe_code)]
pub fn declassify(fact: bool) -> bool {
    let held = fact;
    request(MAKE_MEM_DEFINED, std::ptr::addr_of!(held).cast(), 1);
    // SAFETY: `held` is a live, aligned local; the volatile read makes the compiler load it
    // after the request instead of reusing the register that held `fact`.
    unsafe { std::ptr::read_volatile(&held) }
}
