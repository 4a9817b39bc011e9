//! `remote digest show|rebuild|reseal|seal-vectors`: the owner's digest of a knowledge base of
//! verifiable records, as the service holds it (checked against the versions this owner has
//! seen), counted afresh from the records after the owner has looked at them, records written
//! under the earlier key derivation sealed again under the current one, and a knowledge base
//! of Paillier records moved to sealed vectors.

use std::path::Path;

use clap::{Args, Subcommand};
use paillier_gpu_client::DigestSummary;
use serde_json::json;

use super::remote_args::{print_json, KnowledgeBaseArgs};
use crate::error::Result;
use paillier_gpu_client::RecordOptions;

/// `remote digest show|rebuild|reseal|seal-vectors`.
#[derive(Subcommand, Debug)]
pub enum DigestCommand {
    /// Print the owner's digest as the service holds it: its version, how many records it
    /// counts, the field it counts per value. Fails as a verified search would on a digest
    /// older than this owner has seen (a rollback), not extending it (a fork) or not the one it
    /// wrote.
    Show(DigestArgs),
    /// Count the digest afresh from the records the service holds, each verified, and store it
    /// as the next version: for a knowledge base written before digests, or after a verified
    /// search said that digest and records disagree and you have looked at the records (the
    /// service's choice of which records it holds is taken as it is).
    Rebuild {
        #[command(flatten)]
        args: DigestArgs,
        /// Count the records per value of this metadata field too (tag1, say), so that a
        /// search filtered on whole values of it is checked against the digest.
        #[arg(long, value_name = "FIELD")]
        count: Option<String>,
        /// Rebuild even though this machine has seen a later version than the service holds
        /// (a rollback), or one the service's version does not extend (a fork): the records it
        /// holds now are taken as they are, deleted ones that came back and writes lost
        /// included. The new version is past the one seen, never a number reused.
        #[arg(long)]
        after_rollback: bool,
    },
    /// Seal records written under the earlier key derivation (keys from the data key alone,
    /// before they were bound to their context and knowledge base) again under the current
    /// keys: each verified under the old keys, encrypted again under a fresh nonce, its
    /// document sealed anew, and counted in the digest. Run it again after an interruption to
    /// finish.
    Reseal(DigestArgs),
    /// Move a knowledge base of Paillier records to sealed vectors (as `remote upload
    /// --sealed-vectors` writes them): each record read and verified once, then written back
    /// with its vector sealed in a page of its partition and its document sealed anew, the
    /// digest advanced as for any write; the last write names the layout sealed vectors. Run
    /// it again after an interruption to finish.
    SealVectors(DigestArgs),
}

#[derive(Args, Debug)]
pub struct DigestArgs {
    #[command(flatten)]
    target: KnowledgeBaseArgs,
    /// The knowledge base's metadata is private (uploaded with --private-meta).
    #[arg(long)]
    private_meta: bool,
}

impl DigestArgs {
    fn options(&self) -> RecordOptions {
        RecordOptions {
            verifiable: true,
            private_meta: self.private_meta,
        }
    }
}

pub(super) fn run(command: DigestCommand, passphrase_file: Option<&Path>) -> Result<()> {
    let summary = match &command {
        DigestCommand::SealVectors(args) => {
            let (client, ctx) = args.target.open(passphrase_file)?;
            let report = client.seal_vectors(args.target.kb(), &ctx, args.options())?;
            let summary = client.digest_summary(args.target.kb(), &ctx, args.options())?;
            let mut line = summary_json(&summary);
            line["moved"] = json!(report.moved);
            line["resumed"] = json!(report.resumed);
            return print_json(&line);
        }
        DigestCommand::Show(args) => {
            let (client, ctx) = args.target.open(passphrase_file)?;
            client.digest_summary(args.target.kb(), &ctx, args.options())?
        }
        DigestCommand::Rebuild {
            args,
            count,
            after_rollback,
        } => {
            let (client, ctx) = args.target.open(passphrase_file)?;
            let (kb, options) = (args.target.kb(), args.options());
            client.rebuild_digest(kb, &ctx, options, count.as_deref(), *after_rollback)?
        }
        DigestCommand::Reseal(args) => {
            let (client, ctx) = args.target.open(passphrase_file)?;
            client.reseal_records(args.target.kb(), &ctx, args.options())?
        }
    };
    print_json(&summary_json(&summary))
}

fn summary_json(summary: &DigestSummary) -> serde_json::Value {
    let (field, values) = match &summary.counted {
        Some((field, values)) => (Some(field.as_str()), Some(*values)),
        None => (None, None),
    };
    json!({
        "version": summary.version,
        "records": summary.records,
        "counted_field": field,
        "counted_values": values,
        "layout": summary.layout.name(),
    })
}
