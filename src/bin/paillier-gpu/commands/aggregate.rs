//! `aggregate`: the search backend's product of a query with every stored ciphertext.

use std::path::PathBuf;

use clap::Args;
use paillier_gpu::formats::ciphertexts::{read_ciphertext_batch, write_ciphertext_batch};
use paillier_gpu::formats::output::{prepare_output, OutputKind};
use paillier_gpu::paillier::KeyFingerprint;
use paillier_gpu::{Error, PublicContext, Result, Selection};

use super::{check_pinned_key, counted, file_form, wrote};
use crate::DeviceArg;

/// The arguments of `aggregate` (its description is the `Command` variant's).
#[derive(Args, Debug)]
pub struct AggregateArgs {
    /// The context file (only its public key is read).
    #[arg(long, value_name = "CTX")]
    pub context: PathBuf,
    /// The encrypted database: .jsonl or the binary form.
    #[arg(long, value_name = "CIPHERTEXTS")]
    pub database: PathBuf,
    /// A ciphertext file holding exactly one vector.
    #[arg(long, value_name = "CIPHERTEXTS")]
    pub query: PathBuf,
    /// Where the responses go, one per database record: .jsonl or the binary form.
    #[arg(long, value_name = "CIPHERTEXTS")]
    pub output: PathBuf,
    /// Refuse to work unless the context's public key has this fingerprint (64 hex digits,
    /// as `context show` prints it).
    #[arg(long, value_name = "FINGERPRINT")]
    pub expect_key: Option<KeyFingerprint>,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Replace OUTPUT even when it is not a ciphertext file (a ciphertext file, an empty file,
    /// a FIFO or a device is written without it; an input never is).
    #[arg(long)]
    pub force: bool,
}

pub(super) fn run(args: AggregateArgs) -> Result<()> {
    let AggregateArgs {
        context,
        database,
        query,
        output,
        expect_key,
        device,
        force,
    } = args;
    let target = prepare_output(
        &output,
        &[&context, &database, &query],
        OutputKind::Ciphertexts,
        force,
    )?;
    let public = PublicContext::load(&context)?;
    check_pinned_key(&public, &context, expect_key)?;
    let shape = public.ciphertext_shape()?;
    // One batch type from the reader to the writer: each ciphertext is checked once,
    // when it is read, and never becomes a big integer.
    let key = public.public_key();
    let records = read_ciphertext_batch(&database, shape, key)?;
    let query = read_ciphertext_batch(&query, shape, key)?;
    if query.records() != 1 {
        return Err(Error::MalformedFile {
            kind: "ciphertexts",
            detail: format!("the query file holds {} vectors, not 1", query.records()),
        });
    }
    let mut index = public.new_index(device.device())?;
    index.insert_batch(&records)?;
    let responses = index.aggregate_batch(&query, &Selection::All)?;
    write_ciphertext_batch(&target.path, &responses, shape)?;
    wrote(&format!(
        "{} to {} ({})",
        counted(responses.records(), "response", "responses"),
        output.display(),
        file_form(&output)
    ));
    Ok(())
}
