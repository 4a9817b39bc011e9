//! `context create` and `context show`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Subcommand;
use paillier_gpu::context::{FileFormat, PassphraseKeyProvider, ScryptCost};
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};

use crate::error::{Error, Result};
use serde_json::json;

use super::{passphrase, scheme_of, wrote};
use crate::{SchemeArg, ScryptCostArg};

#[derive(Subcommand, Debug)]
pub enum ContextCommand {
    /// Generate keys and write a new context file (needs the passphrase).
    Create {
        /// The context type: `paillier` (the SDK's PaillierClient) or `paillier_lookup`
        /// (PaillierLookupClient).
        #[arg(long = "type", value_enum, default_value = "paillier")]
        scheme: SchemeArg,
        /// Bits of each prime (n has twice as many). Below 1024 needs --insecure.
        #[arg(long, default_value_t = 1024)]
        key_len: usize,
        /// Dimensions of the binary vectors.
        #[arg(long, default_value_t = 512)]
        embed_len: usize,
        /// Lookup contexts only: bits of the noise subgroup order (at least 512 unless --insecure).
        #[arg(long)]
        alpha_len: Option<usize>,
        /// Where the new context file goes.
        #[arg(long = "output", visible_alias = "out", value_name = "CTX")]
        out: PathBuf,
        /// Allow key_len < 1024 and alpha_len < 512. For tests only: such keys can be broken.
        #[arg(long)]
        insecure: bool,
        /// Replace CTX if it exists (its keys, and every ciphertext made under them, are lost).
        #[arg(long)]
        force: bool,
        /// Write the file in the SDK's form, which the Python SDK can open: the secret key sealed
        /// under the data key itself, and pk, type and config not authenticated. Default: our
        /// authenticated form (see SECURITY.md).
        #[arg(long)]
        sdk_compatible: bool,
        /// scrypt cost of the passphrase: `sdk` (N = 2^14, what the SDK uses) or `strong`
        /// (N = 2^17: eight times the work per guess; the SDK cannot open such a file).
        #[arg(long, value_enum, default_value = "sdk")]
        scrypt_cost: ScryptCostArg,
    },
    /// Print a context's id, public-key fingerprint and parameters as one JSON object (needs
    /// the passphrase; the public key is checked against the secret key first).
    Show {
        /// The context file.
        #[arg(long, value_name = "CTX")]
        context: PathBuf,
    },
    #[command(flatten)]
    Remote(super::remote_context::RemoteContextCommand),
}

pub(super) fn run(command: ContextCommand, passphrase_file: Option<&Path>) -> Result<()> {
    match command {
        ContextCommand::Create {
            scheme,
            key_len,
            embed_len,
            alpha_len,
            out,
            insecure,
            force,
            sdk_compatible,
            scrypt_cost,
        } => {
            // Checked and locked before the keys are generated; a file that appears meanwhile
            // is not replaced.
            let passphrase_path: Vec<&Path> = passphrase_file.into_iter().collect();
            let target = Output::prepare(&out, &passphrase_path, OutputKind::Context, force)?;
            let scheme = scheme_of(scheme);
            if scheme == Scheme::Paillier && alpha_len.is_some() {
                return Err(Error::Usage(
                    "--alpha-len applies only to --type paillier_lookup".into(),
                ));
            }
            let options = ContextOptions {
                scheme,
                key_len,
                embed_len,
                alpha_len: alpha_len.unwrap_or(ContextOptions::default().alpha_len),
                allow_insecure: insecure,
                ..ContextOptions::default()
            };
            let cost = match scrypt_cost {
                ScryptCostArg::Sdk => ScryptCost::SDK,
                ScryptCostArg::Strong if sdk_compatible => {
                    return Err(Error::Usage(
                        "--scrypt-cost strong makes a file the SDK cannot open; it cannot be combined with --sdk-compatible".into(),
                    ))
                }
                ScryptCostArg::Strong => ScryptCost::STRONG,
            };
            let passphrase = passphrase(passphrase_file)?;
            let ctx = ExecutionContext::create(
                &options,
                Arc::new(PassphraseKeyProvider::with_cost(&passphrase, cost)?),
            )?
            .with_file_format(if sdk_compatible {
                FileFormat::Sdk
            } else {
                FileFormat::Authenticated
            });
            ctx.save_to(target)?;
            print_summary(&ctx)?;
            wrote(&format!(
                "a {} context ({} bits per prime) to {}",
                ctx.scheme().name(),
                ctx.key_len(),
                out.display()
            ));
            Ok(())
        }
        ContextCommand::Remote(command) => super::remote_context::run(command, passphrase_file),
        ContextCommand::Show { context } => {
            let passphrase = passphrase(passphrase_file)?;
            Ok(print_summary(&ExecutionContext::load_with_passphrase(
                &context,
                &passphrase,
            )?)?)
        }
    }
}

fn print_summary(ctx: &ExecutionContext) -> paillier_gpu::Result<()> {
    let mut summary = json!({
        "id": ctx.id(),
        "fingerprint": ctx.public().public_key().fingerprint().to_string(),
        "type": ctx.scheme().context_type(),
        "scheme": ctx.scheme().name(),
        "key_len": ctx.key_len(),
        "embed_len": ctx.embed_len(),
        "chunks_per_vector": ctx.layout().pieces(),
        "key_provider": ctx.key_provider().provider_id(),
        "file_format": match ctx.file_format() {
            FileFormat::Sdk => "sdk",
            FileFormat::Authenticated => paillier_gpu::context::AUTHENTICATED_FORMAT,
        },
    });
    if let Some(alpha) = ctx.alpha_len() {
        summary["alpha_len"] = json!(alpha);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{summary}").map_err(|e| paillier_gpu::Error::io("<stdout>", e))
}
