//! What the commands that talk to a service share: where the service is (`ServiceArgs`), a
//! knowledge base and its context (`KnowledgeBaseArgs`), how its records are written
//! (`RecordArgs`), and one JSON line of output.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::{Client, RecordOptions, StateDir};
use serde_json::Value;

use super::passphrase;
use crate::error::{Error, Result};
use crate::DeviceArg;

/// Where the service is and whose data to reach.
#[derive(Args, Debug)]
pub struct ServiceArgs {
    /// The service's address (its api_url), such as http://127.0.0.1:8742.
    #[arg(long, value_name = "URL", env = "PAILLIER_GPU_REMOTE")]
    pub remote: String,
    /// The organisation id (`server init` prints it).
    #[arg(long, value_name = "ORG", env = "PAILLIER_GPU_ORG")]
    pub org: String,
    /// Trust this PEM CA certificate too (a server with a self-made certificate).
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
}

impl ServiceArgs {
    /// The client, with the API key from PAILLIER_GPU_API_KEY (never a command-line value: it
    /// would show in the process list).
    pub(super) fn client(&self) -> Result<Client> {
        let key = std::env::var("PAILLIER_GPU_API_KEY").map_err(|_| {
            Error::Usage(
                "set PAILLIER_GPU_API_KEY to an API key of the organisation (an admin makes one \
                 with `paillier-gpu admin key create` and grants it with `admin key grant`)"
                    .into(),
            )
        })?;
        let client = match &self.ca_cert {
            None => Client::new(&self.remote, &self.org, &key)?,
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| io_error(path, e))?;
                Client::with_ca_certificate(&self.remote, &self.org, &key, &pem)?
            }
        };
        Ok(match state_dir() {
            Some(state) => client.with_state_dir(StateDir::new(state)),
            None => client.with_state_in_memory(),
        })
    }
}

/// Where the owner keeps the digests it has seen: the library's rule
/// ([`StateDir::default_for`]) over `$PAILLIER_GPU_STATE_DIR`, `$XDG_DATA_HOME` and `$HOME`
/// (none without a home: rollbacks are then caught only within one command).
fn state_dir() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).map(PathBuf::from);
    StateDir::default_for(
        set("PAILLIER_GPU_STATE_DIR"),
        set("XDG_DATA_HOME"),
        set("HOME"),
    )
    .map(|dir| dir.root().to_path_buf())
}

/// A knowledge base on the service, and the context its vectors are encrypted under.
#[derive(Args, Debug)]
pub struct KnowledgeBaseArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// The knowledge base id (`admin kb create` prints it).
    #[arg(long, value_name = "KB", env = "PAILLIER_GPU_KB")]
    kb: String,
    /// The context file (its passphrase in PAILLIER_GPU_PASSPHRASE or --passphrase-file).
    #[arg(long, value_name = "CTX")]
    context: PathBuf,
    #[command(flatten)]
    device: DeviceArg,
}

impl KnowledgeBaseArgs {
    /// The knowledge base id.
    pub(super) fn kb(&self) -> &str {
        &self.kb
    }

    /// The client and the opened context.
    pub(super) fn open(
        &self,
        passphrase_file: Option<&Path>,
    ) -> Result<(Client, ExecutionContext)> {
        let client = self.service.client()?;
        let passphrase = passphrase(passphrase_file)?;
        let context = ExecutionContext::load_with_passphrase(&self.context, &passphrase)?
            .with_device(self.device.device());
        Ok((client, context))
    }
}

/// How a knowledge base's records are written (and so must be read: give a search the same).
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Verifiable records: a nonce and a tag in each plaintext, and the document sealed to the
    /// record, so that `remote search --verify` catches a service that lies (classic contexts
    /// only; for our clients alone: the SDK cannot decode such records).
    #[arg(long)]
    verifiable: bool,
    /// Private metadata: tag1–tag5 and facets sent as keyed tokens, the values and the name
    /// only in the sealed document; filters are tokenised the same way.
    #[arg(long)]
    private_meta: bool,
}

impl RecordArgs {
    pub(super) fn options(&self) -> RecordOptions {
        RecordOptions {
            verifiable: self.verifiable,
            private_meta: self.private_meta,
        }
    }
}

pub(super) fn print_json(value: &Value) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{value}").map_err(|e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    })
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
