//! `decode`: responses into Hamming distances, or the top k.

use std::path::{Path, PathBuf};

use clap::Args;
use paillier_gpu::formats::ciphertexts::read_ciphertext_batch;
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::{top_k, ExecutionContext, Result};
use serde_json::json;

use super::{counted, passphrase, progress, wrote};
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
    /// Distances: JSON Lines, one integer per line in input order (with --top-k, the one
    /// object). Without it, they are printed on standard output.
    #[arg(long, value_name = "DISTANCES")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Replace DISTANCES even when it is not a distances file (a distances file, an empty
    /// file, a FIFO or a device is written without it; an input never is).
    #[arg(long)]
    pub force: bool,
}

pub(super) fn run(args: DecodeArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let DecodeArgs {
        context,
        input,
        top_k: k,
        output,
        device,
        force,
    } = args;
    let passphrase_path: Vec<&Path> = passphrase_file.into_iter().collect();
    let inputs = [&[context.as_path(), input.as_path()][..], &passphrase_path].concat();
    let target = output
        .as_deref()
        .map(|output| Output::prepare(output, &inputs, OutputKind::Distances, force))
        .transpose()?;
    let passphrase = passphrase(passphrase_file)?;
    let ctx =
        ExecutionContext::load_with_passphrase(&context, &passphrase)?.with_device(device.device());
    let responses =
        read_ciphertext_batch(&input, ctx.ciphertext_shape(), ctx.public().public_key())?;
    let count = responses.records();
    let bar = progress(count, "decoding");
    let mut distances = Vec::with_capacity(count);
    for start in (0..count).step_by(BATCH) {
        let part = responses.records_in(start..(start + BATCH).min(count))?;
        let decoded = ctx
            .decode_batch(&part)
            .map_err(|e| e.with_index_offset(start).in_file(&input))?;
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
    let (Some(target), Some(output)) = (target, output) else {
        print!("{text}");
        return Ok(());
    };
    // Decrypted results are the owner's: owner-only, whatever the umask.
    target.write_bytes(text.as_bytes())?;
    wrote(&match k {
        Some(k) => format!(
            "the {} nearest of {} to {}",
            k.min(distances.len()),
            counted(distances.len(), "record", "records"),
            output.display()
        ),
        None => format!(
            "{} to {}",
            counted(distances.len(), "distance", "distances"),
            output.display()
        ),
    });
    Ok(())
}
