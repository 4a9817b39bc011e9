//! The CPU engine's operations, one file each, as the GPU engine's `gpu/ops/`.

pub(super) mod crt;
pub(super) mod encrypt;
pub(super) mod fixed_base;
pub(super) mod modexp;
pub(super) mod modmul;
pub(super) mod multi_exp;
pub(super) mod resident;
