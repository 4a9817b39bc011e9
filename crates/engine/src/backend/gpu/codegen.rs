//! The kernels: WGSL generated per shape (width × lanes × exchange × limb path) from the
//! sources in the top-level `shaders/`, the shapes an adapter runs, the parameters each dispatch
//! reads, the limbs' layout in GPU words, and (in tests) the check that every barrier is reached
//! uniformly.

pub(super) mod kernels;
pub(super) mod params;
pub(super) mod shader;
pub(super) mod shape_choice;
pub(super) mod two_digit_shader;
#[cfg(test)]
mod uniformity;
pub(super) mod variants;
pub(super) mod words;
