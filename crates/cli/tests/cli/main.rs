//! The command-line program, driven as a user drives it: every subcommand, its files, its errors
//! and its exit codes, interrupts and crashes, and the guides' commands as written.
//!
//! One test binary for the theme, one module per file, so that the crate is linked once.

#[path = "../../../../tests/common/mod.rs"]
mod shared;
#[path = "../support/mod.rs"]
mod support;

/// The root's shared helpers and the program's, under one name.
#[allow(unused_imports)]
mod common {
    pub use super::shared::*;
    pub use super::support::*;
}

mod cli;
mod cli_aggregate;
mod cli_bench;
mod cli_errors;
mod cli_inference_service;
mod cli_interrupt;
mod cli_keys;
mod cli_messages;
mod cli_numbers;
mod cli_output_writers;
mod cli_outputs;
mod crash_safety;
mod guide_blocks;
mod hostile_files;
mod public_parameters;
mod readme_first_screen;
