//! The commands that talk to an XTrace service (`paillier-gpu serve` or the hosted one), with
//! the API key in PAILLIER_GPU_API_KEY: `remote upload` and `remote search` here;
//! `context push|pull|list` in `remote_context.rs`, `remote find|delete|patch` in
//! `remote_meta.rs`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use paillier_gpu::formats::vectors::VectorReader;
use paillier_gpu_client::api::SEALED_UPLOAD_BATCH;
use paillier_gpu_client::{Hit, Placement, Probe, RecordOptions, SearchOptions, UPLOAD_BATCH};

use crate::error::{Error, Result};
use serde_json::{json, Value};

use super::documents::DocumentReader;
use super::remote_args::{print_json, KnowledgeBaseArgs, RecordArgs};
use super::remote_digest::{self, DigestCommand};
use super::remote_meta::{self, DeleteArgs, FindArgs, PatchArgs};
use super::remote_partitions::{self, parse_partitions, parse_probe, PartitionsCommand, TrainArgs};
use super::{counted, wrote};
use paillier_gpu::verifiable::{LayoutKind, PartitionCount};

/// `remote upload|search`.
#[derive(Subcommand, Debug)]
pub enum RemoteCommand {
    /// Encrypt vectors and upload them with their documents into a knowledge base; the context
    /// must be stored there first (`context push`). Needs the passphrase.
    Upload(UploadArgs),
    /// Encrypt a query, aggregate on the service, decode here, and print the top k chunk ids
    /// and distances, one JSON line per query. Needs the passphrase.
    Search(SearchArgs),
    /// Print the records a metadata filter selects, one JSON line each, with their content,
    /// metadata and name as the owner wrote them. Needs the passphrase.
    Find(FindArgs),
    /// Delete the records a metadata filter selects. Needs the passphrase.
    Delete(DeleteArgs),
    /// Set metadata on the records a metadata filter selects (private or verifiable records
    /// are found, checked, opened, patched and sealed again here). Needs the passphrase.
    Patch(PatchArgs),
    /// The owner's digest of a knowledge base of verifiable records: show it, or count it
    /// afresh from the records. Needs the passphrase.
    #[command(subcommand)]
    Digest(DigestCommand),
    /// The partitions of a knowledge base of verifiable records: show what this owner knows of
    /// them, or train them again and move the records. Needs the passphrase.
    #[command(subcommand)]
    Partitions(PartitionsCommand),
}

#[derive(Args, Debug)]
pub struct UploadArgs {
    #[command(flatten)]
    target: KnowledgeBaseArgs,
    /// Binary vectors (JSON Lines or .npy).
    #[arg(long, value_name = "FILE")]
    vectors: PathBuf,
    /// JSON Lines, one object per vector: {"content": text, "meta_data": {...}, "name": ...}.
    /// The content is AES-GCM-encrypted under the context's data key before it is sent; with
    /// --verifiable or --private-meta, content, metadata and name are sealed together under a
    /// key derived from it (the name is not sent).
    #[arg(long, value_name = "FILE")]
    documents: Option<PathBuf>,
    /// Write each record's chunk id and, for verifiable records, its nonce (what the owner
    /// identifies it by: a hit carries it) here, as JSON Lines {"record", "chunk_id", "nonce"}.
    #[arg(long, value_name = "FILE")]
    ids_out: Option<PathBuf>,
    #[command(flatten)]
    records: RecordArgs,
    /// Partition the knowledge base (verifiable records): N partitions, or auto (about
    /// √records). The first upload to an empty knowledge base trains them on its vectors (all
    /// read first); later uploads place their records in the nearest partition, with or
    /// without this flag.
    #[arg(long, value_name = "N|auto", requires = "verifiable", value_parser = parse_partitions)]
    partitions: Option<PartitionCount>,
    #[command(flatten)]
    train: TrainArgs,
    /// With --partitions, when they are trained: the fewest decoys every search of the
    /// knowledge base takes, sealed with them (as `partitions rebuild --decoys`). A knowledge
    /// base already partitioned keeps its own.
    #[arg(long, value_name = "D", default_value_t = 0, requires = "partitions")]
    decoys: usize,
    /// Store sealed vectors (verifiable records): each record's bits sealed with AES-256-GCM
    /// in pages, no Paillier ciphertext. A verified search then opens and ranks them, far
    /// faster than decrypting Paillier records. Chosen by the first upload to an empty
    /// knowledge base; an edit of some of a page's records seals the page again whole.
    #[arg(long, requires = "verifiable")]
    sealed_vectors: bool,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    target: KnowledgeBaseArgs,
    /// Query vectors (JSON Lines or .npy); each is one search.
    #[arg(long, value_name = "FILE")]
    query: PathBuf,
    /// How many nearest chunks to print per query.
    #[arg(long, default_value_t = 10)]
    top_k: usize,
    /// A metadata filter (the XTrace manual's: tags, facets and their operators), as JSON; only
    /// the chunks it selects are aggregated.
    #[arg(long, value_name = "JSON")]
    filter: Option<String>,
    /// Only chunk ids from FIRST to LAST (both included) are aggregated.
    #[arg(long, num_args = 2, value_names = ["FIRST", "LAST"])]
    range: Option<Vec<i64>>,
    /// Verify every answer (a knowledge base uploaded with --verifiable): a record forged,
    /// altered, duplicated, replayed, from another knowledge base, outside the range, or a
    /// top-k content swapped fails the search, which prints nothing of it and exits non-zero.
    #[arg(long)]
    verify: bool,
    /// With --verify and no filter or range: the knowledge base holds N records, and an answer
    /// with fewer (or more) fails.
    #[arg(long, value_name = "N", requires = "verify")]
    expect_count: Option<usize>,
    /// Print each top-k chunk's content, metadata and name (with --verify or --private-meta,
    /// as the owner wrote and sealed them; otherwise the metadata and name as the service
    /// returns them).
    #[arg(long)]
    with_content: bool,
    /// The knowledge base's metadata is private (uploaded with --private-meta): the filter is
    /// tokenised; order, prefix and substring operators are refused.
    #[arg(long)]
    private_meta: bool,
    /// Of a partitioned knowledge base, with --verify and no filter or range: probe the P
    /// partitions nearest each query, or all (every record). By default, the probe the owner's
    /// recall estimate recommended when the partitions were trained.
    #[arg(long, value_name = "P|all", value_parser = parse_probe, requires = "verify")]
    probe: Option<Probe>,
    /// Of a partitioned search: hide each wanted partition in a fixed group of at least D + 1
    /// (D + 1 rounded up to a power of two), drawn once under the owner's key for the knowledge
    /// base, searched and checked like the nearest, so that the tokens a query names do not
    /// single out its region; groups of a larger D are unions of smaller ones, and a probe of
    /// P partitions always names P groups (its cost grows with their records). At least the D
    /// sealed with the partitions (upload or `partitions rebuild --decoys`).
    #[arg(long, value_name = "D", default_value_t = 0, requires = "verify")]
    decoys: usize,
    /// Add to each query's line what it cost: the records answered and decoded, the answer's
    /// ciphertext bytes, the partitions probed, and its time end to end (milliseconds).
    #[arg(long)]
    stats: bool,
}

pub(super) fn run(command: RemoteCommand, passphrase_file: Option<&Path>) -> Result<()> {
    match command {
        RemoteCommand::Upload(args) => upload(args, passphrase_file),
        RemoteCommand::Search(args) => search(args, passphrase_file),
        RemoteCommand::Find(args) => remote_meta::find(args, passphrase_file),
        RemoteCommand::Delete(args) => remote_meta::delete(args, passphrase_file),
        RemoteCommand::Patch(args) => remote_meta::patch(args, passphrase_file),
        RemoteCommand::Digest(command) => remote_digest::run(command, passphrase_file),
        RemoteCommand::Partitions(command) => remote_partitions::run(command, passphrase_file),
    }
}

fn upload(args: UploadArgs, passphrase_file: Option<&Path>) -> Result<()> {
    if let Some(path) = args.ids_out.as_ref().filter(|p| p.exists()) {
        return Err(Error::Usage(format!(
            "--ids-out {} exists: name a new file",
            path.display()
        )));
    }
    let (client, ctx) = args.target.open(passphrase_file)?;
    let mut vectors = VectorReader::open(&args.vectors, ctx.embed_len())?;
    let mut documents = match &args.documents {
        Some(path) => Some(DocumentReader::open(path)?),
        None => None,
    };
    let trained = match args.partitions {
        Some(count) => remote_partitions::train_first(
            &client,
            &ctx,
            args.target.kb(),
            args.records.options(),
            &mut vectors,
            count,
            &args.train.for_records(args.sealed_vectors),
        )?,
        None => None,
    };
    // Sealed vectors go partition by partition within each call, in larger writes: the more
    // records a call holds, the fuller each partition's pages. Partitions just trained hold
    // every vector in memory already: up to 2^20 of them go in one call.
    let per_call = match (args.sealed_vectors, &trained) {
        (true, Some(_)) => 1 << 20,
        (true, None) => 8 * SEALED_UPLOAD_BATCH,
        (false, _) => 8 * UPLOAD_BATCH,
    };
    let (mut uploaded, mut first, mut last) = (0usize, None, None);
    let mut ids_out = args.ids_out.as_ref().map(|_| Vec::new());
    loop {
        let batch = match &trained {
            Some(trained) => trained.vectors[uploaded..]
                .iter()
                .take(per_call)
                .cloned()
                .collect(),
            None => vectors.next_batch(per_call)?,
        };
        if batch.is_empty() {
            break;
        }
        let docs = match documents.as_mut() {
            Some(reader) => reader.take(batch.len())?,
            None => Vec::new(),
        };
        let placement = match &trained {
            Some(trained) => Placement::Trained {
                model: &trained.model,
                partitions: &trained.partitions[uploaded..uploaded + batch.len()],
                decoys: args.decoys,
            },
            None => Placement::Follow,
        };
        let ids = client
            .upload_records_in(
                args.target.kb(),
                &ctx,
                &batch,
                &docs,
                args.records.options(),
                placement,
                args.sealed_vectors.then_some(LayoutKind::Sealed),
            )
            .map_err(|source| {
                if uploaded == 0 {
                    Error::from(source)
                } else {
                    Error::PartialUpload {
                        source,
                        uploaded,
                        first: first.unwrap_or(0),
                        last: last.unwrap_or(0),
                    }
                }
            })?;
        if let Some(out) = ids_out.as_mut() {
            for (i, record) in ids.iter().enumerate() {
                out.push(json!({
                    "record": uploaded + i,
                    "chunk_id": record.chunk_id,
                    "nonce": record.nonce.map(|n| n.to_hex()),
                }));
            }
        }
        first = first.or(ids.first().map(|r| r.chunk_id));
        last = ids.last().map(|r| r.chunk_id).or(last);
        uploaded += ids.len();
    }
    if let (Some(path), Some(lines)) = (&args.ids_out, ids_out) {
        write_json_lines(path, &lines)?;
    }
    if let Some(reader) = documents.as_mut() {
        reader.expect_end()?;
    }
    let mut line = json!({ "uploaded": uploaded, "first_chunk_id": first, "last_chunk_id": last });
    if let Some(trained) = &trained {
        line["partitions"] = json!(trained.model.partitions());
        line["recommended_probe"] = json!(trained.model.default_probe());
        line["training_seconds"] = json!(trained.seconds);
    }
    print_json(&line)?;
    wrote(&format!(
        "{} into knowledge base {}",
        counted(uploaded, "chunk", "chunks"),
        args.target.kb()
    ));
    Ok(())
}

fn search(args: SearchArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let filter: Option<Value> = args
        .filter
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| Error::Usage(format!("--filter is not JSON: {e}")))?;
    let range = args.range.as_deref().map(|r| (r[0], r[1]));
    if range.is_some_and(|(first, last)| first > last) {
        return Err(Error::Usage("--range FIRST LAST needs FIRST ≤ LAST".into()));
    }
    let (client, ctx) = args.target.open(passphrase_file)?;
    let queries = paillier_gpu::formats::vectors::read_vectors(&args.query, ctx.embed_len())?;
    let options = SearchOptions {
        filter,
        range,
        top_k: args.top_k,
        records: RecordOptions {
            verifiable: args.verify,
            private_meta: args.private_meta,
        },
        expect_count: args.expect_count,
        with_content: args.with_content,
        probe: args.probe.unwrap_or_default(),
        decoys: args.decoys,
    };
    for (n, query) in queries.iter().enumerate() {
        let started = std::time::Instant::now();
        let (found, cost) =
            client.search_records_measured(args.target.kb(), &ctx, query, &options)?;
        let elapsed = started.elapsed();
        let results: Vec<Value> = found.iter().map(hit_json).collect();
        let mut line = json!({ "query": n, "results": results });
        if args.stats {
            line["records"] = json!(cost.records);
            line["answer_bytes"] = json!(cost.answer_bytes);
            line["partitions"] = json!(cost.partitions);
            line["elapsed_ms"] = json!(elapsed.as_secs_f64() * 1e3);
            let parts = cost.times.parts().into_iter();
            line["times_ms"] = Value::Object(parts.map(|(k, ms)| (k.into(), json!(ms))).collect());
        }
        print_json(&line)?;
    }
    Ok(())
}

/// JSON Lines into a new file at `path`, private to its owner (an existing file is refused:
/// it may be another upload's).
fn write_json_lines(path: &Path, lines: &[Value]) -> Result<()> {
    use std::io::Write;
    let mut text = String::new();
    for line in lines {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// One result line's entry: id, distance and (verifiable records) nonce, and the document
/// when asked for.
fn hit_json(hit: &Hit) -> Value {
    let mut entry = json!({ "chunk_id": hit.chunk_id, "distance": hit.distance });
    if let Some(nonce) = hit.nonce {
        entry["nonce"] = json!(nonce.to_hex());
    }
    if let Some(document) = &hit.document {
        entry["content"] = json!(document.content);
        entry["meta_data"] = json!(document.meta_data);
        entry["name"] = json!(document.name);
    }
    entry
}
