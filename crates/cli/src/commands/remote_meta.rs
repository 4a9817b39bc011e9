//! `remote find|delete|patch`: records chosen by their metadata, for knowledge bases written
//! with `--private-meta` (the filter tokenised here, the documents opened here) or
//! `--verifiable` (each record found checked before it is shown or patched) as for plain ones.

use std::path::Path;

use clap::Args;
use serde_json::{json, Map, Value};

use paillier_gpu::verifiable::compares_private_values;
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, RecordOptions};

use super::remote_args::{print_json, KnowledgeBaseArgs, RecordArgs};
use crate::error::{Error, Result};
use crate::say::note;

/// A metadata filter given on the command line.
#[derive(Args, Debug)]
pub struct FilterArg {
    /// The metadata filter (the XTrace manual's: tags, facets and their operators), as JSON.
    #[arg(long, value_name = "JSON")]
    filter: String,
}

impl FilterArg {
    fn value(&self) -> Result<Value> {
        serde_json::from_str(&self.filter)
            .map_err(|e| Error::Usage(format!("--filter is not JSON: {e}")))
    }
}

#[derive(Args, Debug)]
pub struct FindArgs {
    #[command(flatten)]
    target: KnowledgeBaseArgs,
    #[command(flatten)]
    filter: FilterArg,
    #[command(flatten)]
    records: RecordArgs,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    target: KnowledgeBaseArgs,
    #[command(flatten)]
    filter: FilterArg,
    #[command(flatten)]
    records: RecordArgs,
    /// Count what the filter selects and delete nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args, Debug)]
pub struct PatchArgs {
    #[command(flatten)]
    target: KnowledgeBaseArgs,
    #[command(flatten)]
    filter: FilterArg,
    /// The metadata to set on every record found, as a JSON object (keys not named keep their
    /// values).
    #[arg(long, value_name = "JSON")]
    patch: String,
    #[command(flatten)]
    records: RecordArgs,
}

/// Prints one JSON line per record the filter selects: its chunk id, content, metadata and name
/// as the owner wrote them.
pub(super) fn find(args: FindArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let filter = args.filter.value()?;
    let (client, ctx) = args.target.open(passphrase_file)?;
    let options = args.records.options();
    let found = client.find_records(args.target.kb(), &ctx, &filter, options)?;
    if found.is_empty() {
        note_private_filter(&client, args.target.kb(), &ctx, &filter, options);
    }
    for record in &found {
        print_json(&json!({
            "chunk_id": record.chunk_id,
            "nonce": record.nonce.map(|n| n.to_hex()),
            "content": record.document.content,
            "meta_data": record.document.meta_data,
            "name": record.document.name,
        }))?;
    }
    Ok(())
}

/// Deletes the records the filter selects and prints how many (`{"deleted": N}`, or
/// `{"would_delete": N}` with `--dry-run`). They are found and opened first, so flags that are
/// not the knowledge base's fail instead of deleting what a filter in the wrong mode selects.
pub(super) fn delete(args: DeleteArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let filter = args.filter.value()?;
    let (client, ctx) = args.target.open(passphrase_file)?;
    let options = args.records.options();
    let count = client.delete_by_meta(args.target.kb(), &ctx, &filter, options, args.dry_run)?;
    if count == 0 {
        note_private_filter(&client, args.target.kb(), &ctx, &filter, options);
    }
    let key = if args.dry_run {
        "would_delete"
    } else {
        "deleted"
    };
    print_json(&json!({ key: count }))
}

/// Sets the patch's metadata on every record the filter selects and prints their chunk ids.
pub(super) fn patch(args: PatchArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let filter = args.filter.value()?;
    let patch: Map<String, Value> = serde_json::from_str(&args.patch)
        .map_err(|e| Error::Usage(format!("--patch is not a JSON object: {e}")))?;
    let (client, ctx) = args.target.open(passphrase_file)?;
    let patched = client.patch_by_meta(
        args.target.kb(),
        &ctx,
        &filter,
        &patch,
        args.records.options(),
    )?;
    print_json(&json!({ "patched": patched }))
}

/// A filter in plain words on a private field finds nothing in a knowledge base of tokens: when
/// one found nothing without --private-meta and the knowledge base holds tokens, says so on
/// stderr (a failed look is no reason to fail a search that succeeded).
fn note_private_filter(
    client: &Client,
    kb: &str,
    ctx: &ExecutionContext,
    filter: &Value,
    options: RecordOptions,
) {
    if options.private_meta || !compares_private_values(filter) {
        return;
    }
    if client
        .stores_private_metadata(kb, ctx.id())
        .unwrap_or(false)
    {
        note(
            "nothing matched, and this knowledge base's records were written with \
             --private-meta: pass it, so that the filter's values are compared as their tokens",
        );
    }
}
