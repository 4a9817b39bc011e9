//! Partitions of a knowledge base of verifiable records: `--partitions` on `remote upload`
//! (the first upload to an empty knowledge base trains them), `--probe` on `remote search`, and
//! `remote partitions show|rebuild`. What the owner knows of them (centroids, sizes, recall)
//! is read from its own sealed digest; the service sees only tokens.

use std::path::Path;
use std::time::Instant;

use clap::{Args, Subcommand};
use paillier_gpu::formats::vectors::VectorReader;
use paillier_gpu::partitions::{
    PartitionModel, RecallPoint, TrainOptions, RECALL_TARGET, SEALED_RECALL_TARGET,
};
use paillier_gpu::verifiable::{PartitionCount, UploadPartitions};
use paillier_gpu_client::{PartitionSummary, Probe, RecordOptions};
use serde_json::{json, Value};

use super::remote_args::{print_json, KnowledgeBaseArgs};
use crate::error::{Error, Result};
use crate::say::note;

/// How many partitions to train: a number, or `auto` (about √records).
pub fn parse_partitions(text: &str) -> std::result::Result<PartitionCount, String> {
    match text {
        "auto" => Ok(PartitionCount::Auto),
        n => match n.parse::<usize>() {
            Ok(0) => Err("at least 1 partition (or auto)".into()),
            Ok(n) => Ok(PartitionCount::Exactly(n)),
            Err(_) => Err(format!("{n:?} is neither a number of partitions nor auto")),
        },
    }
}

/// How many partitions a search probes: a number, or `all` (every record).
pub fn parse_probe(text: &str) -> std::result::Result<Probe, String> {
    match text {
        "all" => Ok(Probe::All),
        n => match n.parse::<usize>() {
            Ok(0) => Err("a search probes at least 1 partition (or all)".into()),
            Ok(n) => Ok(Probe::Partitions(n)),
            Err(_) => Err(format!("{n:?} is neither a number of partitions nor all")),
        },
    }
}

/// What training asks for besides the count.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// The recall@10 the recommended probe must reach on the owner's held-out sample (default
    /// 0.9; 0.95 for sealed vectors, whose records cost far less a search).
    #[arg(long, value_name = "RECALL")]
    pub recall_target: Option<f64>,
    /// At training, no partition larger than this times the mean. Records uploaded later go
    /// to their nearest partition whatever its size, so `partitions show` can report more.
    #[arg(long, value_name = "FACTOR", default_value_t = TrainOptions::default().balance)]
    pub balance: f64,
}

impl TrainArgs {
    /// The same options for records of sealed vectors or not: a recall target not given is
    /// theirs (0.95 for sealed vectors, 0.9 otherwise).
    pub fn for_records(&self, sealed: bool) -> TrainArgs {
        let default = match sealed {
            true => SEALED_RECALL_TARGET,
            false => RECALL_TARGET,
        };
        TrainArgs {
            recall_target: Some(self.recall_target.unwrap_or(default)),
            ..self.clone()
        }
    }

    /// The library's options for `partitions` partitions.
    pub fn options(&self, partitions: usize) -> TrainOptions {
        TrainOptions {
            partitions,
            recall_target: self.recall_target.unwrap_or(RECALL_TARGET),
            balance: self.balance,
            ..TrainOptions::default()
        }
    }
}

/// `remote partitions show|rebuild`.
#[derive(Subcommand, Debug)]
pub enum PartitionsCommand {
    /// Print what this owner knows of the knowledge base's partitions, from its sealed digest:
    /// their sizes, the recall the owner estimated per probe, the probe a search uses, the
    /// decoys every search takes.
    Show(PartitionArgs),
    /// Train the partitions again over every record (each verified, all checked against the
    /// digest) and move the records whose partition changes: each encrypted again under a fresh
    /// nonce, its partition token and its sealed document written anew. Run it again to resume
    /// one cut short. Partitions a knowledge base uploaded without them, too.
    Rebuild {
        #[command(flatten)]
        args: PartitionArgs,
        /// How many partitions: a number or auto (about √records).
        #[arg(long, value_name = "N|auto", default_value = "auto", value_parser = parse_partitions)]
        partitions: PartitionCount,
        #[command(flatten)]
        train: TrainArgs,
        /// The fewest decoys every search of the knowledge base takes from now on, sealed with
        /// its partitions (a search's --decoys can ask more, never fewer): each partition a
        /// query wants is hidden in a fixed group of D + 1 rounded up to a power of two,
        /// whatever it asks. Never lowered by a later rebuild.
        #[arg(long, value_name = "D", default_value_t = 0)]
        decoys: usize,
    },
}

#[derive(Args, Debug)]
pub struct PartitionArgs {
    #[command(flatten)]
    target: KnowledgeBaseArgs,
    /// The knowledge base's metadata is private (uploaded with --private-meta).
    #[arg(long)]
    private_meta: bool,
}

impl PartitionArgs {
    fn options(&self) -> RecordOptions {
        RecordOptions {
            verifiable: true,
            private_meta: self.private_meta,
        }
    }
}

pub(super) fn run(command: PartitionsCommand, passphrase_file: Option<&Path>) -> Result<()> {
    match command {
        PartitionsCommand::Show(args) => {
            let (client, ctx) = args.target.open(passphrase_file)?;
            match client.partition_summary(args.target.kb(), &ctx, args.options())? {
                Some(summary) => print_json(&summary_json(&summary)),
                None => Err(Error::Usage(format!(
                    "knowledge base {} is not partitioned (upload with --partitions, or \
                     `remote partitions rebuild`)",
                    args.target.kb()
                ))),
            }
        }
        PartitionsCommand::Rebuild {
            args,
            partitions,
            train,
            decoys,
        } => {
            let (client, ctx) = args.target.open(passphrase_file)?;
            let count = match partitions {
                PartitionCount::Auto => None,
                PartitionCount::Exactly(n) => Some(n),
            };
            let started = Instant::now();
            let report = client.rebuild_partitions(
                args.target.kb(),
                &ctx,
                args.options(),
                count,
                &train.options(0),
                decoys,
            )?;
            if report.resumed {
                note("resumed the rebuild under way, with the partitions it had trained");
            }
            print_json(&json!({
                "partitions": report.partitions,
                "records": report.records,
                "moved": report.moved,
                "resumed": report.resumed,
                "seconds": started.elapsed().as_secs_f64(),
            }))
        }
    }
}

/// The first upload's vectors, read whole, and the partitions trained over them.
pub(super) struct Trained {
    pub vectors: Vec<Vec<u8>>,
    pub model: PartitionModel,
    pub partitions: Vec<u32>,
    /// How long the training took.
    pub seconds: f64,
}

/// With `--partitions`: trains over the whole file when the knowledge base is empty and not
/// partitioned (none when it already is: its records follow its partitions).
pub(super) fn train_first(
    client: &paillier_gpu_client::Client,
    ctx: &paillier_gpu::ExecutionContext,
    kb: &str,
    options: RecordOptions,
    vectors: &mut VectorReader<std::io::BufReader<std::fs::File>>,
    count: PartitionCount,
    args: &TrainArgs,
) -> Result<Option<Trained>> {
    let count = match client.upload_partitions(kb, ctx, options, Some(count))? {
        UploadPartitions::Follow { note: said } => {
            if let Some(said) = said {
                note(&said);
            }
            return Ok(None);
        }
        UploadPartitions::Train { partitions } => partitions,
    };
    let all = vectors.next_batch(usize::MAX)?;
    if all.is_empty() {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let (model, partitions) = train(&all, count, args)?;
    Ok(Some(Trained {
        vectors: all,
        model,
        partitions,
        seconds: started.elapsed().as_secs_f64(),
    }))
}

/// Trains `count` partitions over the first upload's `vectors`: the model and each vector's
/// partition, with a line on stderr of what it found.
pub fn train(
    vectors: &[Vec<u8>],
    count: PartitionCount,
    args: &TrainArgs,
) -> Result<(PartitionModel, Vec<u32>)> {
    let started = Instant::now();
    let partitions = count.resolve(vectors.len());
    let (model, assigned) = PartitionModel::train(vectors, &args.options(partitions))?;
    let at_default = (model.recall().iter())
        .find(|point| point.probe == model.default_probe())
        .cloned()
        .unwrap_or(RecallPoint {
            probe: model.default_probe(),
            recall: f64::NAN,
            share: f64::NAN,
            error: f64::NAN,
        });
    note(&format!(
        "trained {partitions} partitions over {} records in {:.1} s; a search probes {} by \
         default (estimated recall@10 {:.3} ± {:.3}, one standard error)",
        vectors.len(),
        started.elapsed().as_secs_f64(),
        model.default_probe(),
        at_default.recall,
        at_default.error,
    ));
    Ok((model, assigned))
}

fn summary_json(summary: &PartitionSummary) -> Value {
    let mean = summary.records as f64 / summary.partitions.max(1) as f64;
    let largest = summary.sizes.iter().copied().max().unwrap_or(0);
    let recall: Vec<Value> = summary
        .recall
        .iter()
        .map(|p| json!({"probe": p.probe, "recall": p.recall, "error": p.error, "share": p.share}))
        .collect();
    json!({
        "records": summary.records,
        "partitions": summary.partitions,
        "recommended_probe": summary.recommended_probe,
        "balance": summary.balance,
        "largest_over_mean": if mean > 0.0 { largest as f64 / mean } else { 0.0 },
        "sizes": summary.sizes,
        "recall": recall,
        "rebuilding": summary.rebuilding,
        "decoys": summary.decoys,
    })
}
