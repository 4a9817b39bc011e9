//! The operations on the GPU, one file each as in the CPU engine: each turns its operands into
//! GPU words, describes its passes (kernel, parameters, bindings) and reads its result back,
//! through the runtime's dispatch.

pub(super) mod crt;
pub(super) mod encrypt;
pub(super) mod fixed_base;
pub(super) mod modexp;
pub(super) mod modmul;
pub(super) mod multi_exp;
pub(super) mod multi_exp_plan;
pub(super) mod resident;
pub(super) mod two_digit;
pub(super) mod two_digit_fixed_base;
