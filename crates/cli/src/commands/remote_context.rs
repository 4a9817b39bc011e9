//! `context push|pull|list`: a context file stored on an XTrace service and fetched back,
//! checked against the passphrase both ways.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use paillier_gpu::context::{PassphraseKeyProvider, SDK_DEFAULT_SALT};
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::{Error as LibraryError, ExecutionContext};
use serde_json::json;

use crate::error::{Error, Result};

use super::remote_args::{print_json, ServiceArgs};
use super::{passphrase, wrote};

/// `context push|pull|list`.
#[derive(Subcommand, Debug)]
pub enum RemoteContextCommand {
    /// Store a context file on the service under its id, as it is (secret key sealed); needs
    /// the passphrase, to check the file and compute its id.
    Push {
        #[command(flatten)]
        service: ServiceArgs,
        /// The context file.
        #[arg(long, value_name = "CTX")]
        context: PathBuf,
    },
    /// Fetch a stored context into a file, byte for byte as it was pushed; needs the
    /// passphrase, to check that it is the context stored under ID (its public key matches its
    /// secret key, and it opens as ID) and not one someone replaced on the service.
    Pull {
        #[command(flatten)]
        service: ServiceArgs,
        /// The context id.
        #[arg(long, value_name = "ID")]
        id: String,
        /// Where the context file goes.
        #[arg(long, value_name = "CTX")]
        output: PathBuf,
        /// Replace a context file at OUTPUT.
        #[arg(long)]
        force: bool,
    },
    /// Print the ids of the stored contexts as {"contexts": [...]}.
    List {
        #[command(flatten)]
        service: ServiceArgs,
    },
}

pub(super) fn run(command: RemoteContextCommand, passphrase_file: Option<&Path>) -> Result<()> {
    match command {
        RemoteContextCommand::Push { service, context } => {
            let text = paillier_gpu::context::read_context_file(&context)?;
            let passphrase = passphrase(passphrase_file)?;
            let ctx = ExecutionContext::from_json_with_passphrase(&text, &passphrase)
                .map_err(|e| e.in_file(&context))?;
            let id = service.client()?.push_context_file(&ctx, &text)?;
            print_json(&json!({ "context_id": id }))
        }
        RemoteContextCommand::Pull {
            service,
            id,
            output,
            force,
        } => {
            let target = Output::prepare(&output, &[], OutputKind::Context, force)?;
            let passphrase = passphrase(passphrase_file)?;
            // Opened and checked before anything is written: a context replaced on the service
            // (another public key, another whole context) never reaches the file.
            let provider = PassphraseKeyProvider::with_salt(&passphrase, SDK_DEFAULT_SALT);
            let (_, text) = service
                .client()?
                .pull_context_json(&id, &provider)
                .map_err(|e| match e {
                    paillier_gpu_client::Error::Library(LibraryError::MalformedContext(why)) => {
                        Error::from(LibraryError::MalformedContext(format!(
                            "the service's context {id} does not read: {why}"
                        )))
                    }
                    other => Error::from(other),
                })?;
            target.write_bytes(text.as_bytes())?;
            wrote(&format!("context {id} to {}", output.display()));
            Ok(())
        }
        RemoteContextCommand::List { service } => {
            print_json(&json!({ "contexts": service.client()?.contexts()? }))
        }
    }
}
