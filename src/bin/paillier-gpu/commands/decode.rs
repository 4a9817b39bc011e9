//! `decode`: responses into Hamming distances, or the top k.

use std::path::{Path, PathBuf};

use clap::Args;
use paillier_gpu::formats::ciphertexts::read_ciphertext_batch;
use paillier_gpu::formats::{write_atomic, Visibility};
use paillier_gpu::{top_k, ExecutionContext, Result};
use serde_json::json;

use super::{passphrase, progress, wrote};
use crate::DeviceArg;

/// Responses per progress step (and per backend batch).
const BATCH: usize = 1024;

/// The arguments of `decode` (its description is the `Command` variant's).
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// The context file (needs the passphrase).
    #[arg(long, value_name = "CTX")]
    pub context: PathBuf,
    /// The responses `aggregate` wrote.
    #[arg(long, value_name = "CIPHERTEXTS")]
    pub input: PathBuf,
    /// Write only the K nearest as {"ids": [...], "distances": [...]}.
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    /// Distances: JSON Lines, one integer per line in input order.
    #[arg(long, value_name = "DISTANCES")]
    pub output: PathBuf,
    #[command(flatten)]
    pub device: DeviceArg,
}

pub(super) fn run(args: DecodeArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let DecodeArgs {
        context,
        input,
        top_k: k,
        output,
        device,
    } = args;
    let passphrase = passphrase(passphrase_file)?;
    let ctx =
        ExecutionContext::load_with_passphrase(&context, &passphrase)?.with_device(device.device());
    let responses = read_ciphertext_batch(&input, ctx.ciphertext_shape(), ctx.public_key())?;
    let count = responses.records();
    let bar = progress(count, "decoding");
    let mut distances = Vec::with_capacity(count);
    for start in (0..count).step_by(BATCH) {
        let part = responses.records_in(start..(start + BATCH).min(count))?;
        let decoded = ctx
            .decode_batch(&part)
            .map_err(|e| e.with_index_offset(start))?;
        distances.extend(decoded);
        bar.inc(part.records() as u64);
    }
    bar.finish_and_clear();
    let text = match k {
        Some(k) => {
            let top = top_k(&distances, k);
            format!("{}\n", json!({"ids": top.ids, "distances": top.distances}))
        }
        None => distances.iter().map(|d| format!("{d}\n")).collect(),
    };
    write_atomic(&output, text.as_bytes(), Visibility::Shared)?;
    wrote(&match k {
        Some(k) => format!(
            "the {} nearest of {} records to {}",
            k.min(distances.len()),
            distances.len(),
            output.display()
        ),
        None => format!("{} distances to {}", distances.len(), output.display()),
    });
    Ok(())
}
