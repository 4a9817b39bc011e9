//! `remote digest show|rebuild|reseal`: the owner's digest of a knowledge base of verifiable
//! records, as the service holds it (checked against the versions this owner has seen), counted
//! afresh from the records after the owner has looked at them, and records written under the
//! earlier key derivation sealed again under the current one.

use std::path::Path;

use clap::{Args, Subcommand};
use paillier_gpu_client::DigestSummary;
use serde_json::json;

use super::remote_args::{print_json, KnowledgeBaseArgs};
use crate::error::Result;
use paillier_gpu_client::RecordOptions;

/// `remote digest show|rebuild|reseal`.
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
