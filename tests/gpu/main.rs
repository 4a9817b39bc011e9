//! The GPU engine against the CPU engine, bit for bit, on any adapter (Mesa's lavapipe in CI):
//! every operation, its faults and fallbacks, its device times and its pipeline. Without an
//! adapter the tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`.
//!
//! One test binary for the theme, one module per file, so that the crate is linked once.

#[path = "../common/mod.rs"]
mod common;

mod gpu_adapters;
mod gpu_backend;
mod gpu_crt_decoding;
mod gpu_device_times;
mod gpu_encryption;
mod gpu_faults;
mod gpu_multi_exp;
mod gpu_numbers;
mod gpu_pipeline;
mod gpu_small_widths;
mod gpu_verifiable;
