//! `aggregate`: the search backend's product of a query with every stored ciphertext.

use std::path::PathBuf;

use clap::Args;
use paillier_gpu::formats::ciphertexts::{
    read_ciphertext_batch, CiphertextForm, CiphertextReader, CiphertextWriter,
};
use paillier_gpu::formats::StreamedOutput;
use paillier_gpu::hamming::{aggregate_blocks, stream_block_records};
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::paillier::{CiphertextBatch, KeyFingerprint};
use paillier_gpu::{Error, Result};

use super::{counted, file_form, load_pinned_public, wrote};
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
    let target = Output::prepare(
        &output,
        &[&context, &database, &query],
        OutputKind::Ciphertexts,
        force,
    )?;
    let public = load_pinned_public(&context, device, expect_key)?;
    let shape = public.try_ciphertext_shape()?;
    let key = public.public_key();
    let query = read_ciphertext_batch(&query, shape, key)?;
    if query.records() != 1 {
        return Err(Error::MalformedFile {
            kind: "ciphertexts",
            detail: format!("the query file holds {} vectors, not 1", query.records()),
        });
    }
    // The database streams through a block at a time, from the reader through the products to
    // the writer, each ciphertext checked once as it is read: memory stays at one block, and
    // nothing becomes a big integer.
    let mut database = CiphertextReader::open(&database, shape, key)?;
    let backend = public.backend()?;
    let block = stream_block_records(backend.as_ref(), shape.pieces);
    let mut answered = 0;
    let form = CiphertextForm::of_path(&output);
    let promised = database.records_promised();
    // A JSON Lines database does not say how many records it holds: into a file, the binary
    // header's count is patched in at the end; only a pipe makes the writer hold the records.
    let mut answer_into = |writer: &mut dyn FnMut(&CiphertextBatch) -> Result<()>| {
        aggregate_blocks(
            backend.as_ref(),
            key,
            &query,
            block,
            |max, records| database.read_block(max, records),
            writer,
        )
    };
    target.write_with(|out| match out {
        StreamedOutput::File(file) => {
            let mut writer = CiphertextWriter::new_seekable(file, &output, form, shape, promised)?;
            answered = answer_into(&mut |responses| writer.write_batch(responses))?;
            writer.finish().map(drop)
        }
        StreamedOutput::Stream(stream) => {
            let mut writer = CiphertextWriter::new(stream, &output, form, shape, promised)?;
            answered = answer_into(&mut |responses| writer.write_batch(responses))?;
            writer.finish().map(drop)
        }
    })?;
    wrote(&format!(
        "{} to {} ({})",
        counted(answered, "response", "responses"),
        output.display(),
        file_form(&output)
    ));
    Ok(())
}
