//! `admin kb create|list|show|delete` and `admin key create|list|permissions|grant|revoke`: an
//! organisation's knowledge bases, API keys and permissions on an XTrace service's admin plane,
//! with the admin key (the one `server init` printed) in PAILLIER_GPU_ADMIN_KEY.

use clap::{Subcommand, ValueEnum};
use paillier_gpu_client::AdminClient;
use serde_json::{json, Value};

use super::remote_args::{print_json, ServiceArgs};
use crate::error::{Error, Result};

/// `admin …`.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Knowledge bases: create, list, show, delete.
    #[command(subcommand)]
    Kb(KbCommand),
    /// API keys: create, list, show permissions, grant a permission, revoke.
    #[command(subcommand)]
    Key(KeyCommand),
}

/// `admin kb …`.
#[derive(Subcommand, Debug)]
pub enum KbCommand {
    /// Make a knowledge base; prints it as one JSON object (its `id` is what `--kb` takes).
    Create {
        #[command(flatten)]
        service: ServiceArgs,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Its description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Print the organisation's knowledge bases, one JSON object a line.
    List {
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Print one knowledge base as a JSON object (with how many chunks it holds).
    Show {
        #[command(flatten)]
        service: ServiceArgs,
        /// The knowledge base id.
        #[arg(value_name = "KB")]
        kb: String,
    },
    /// Delete a knowledge base with its chunks, permissions and bindings.
    Delete {
        #[command(flatten)]
        service: ServiceArgs,
        /// The knowledge base id.
        #[arg(value_name = "KB")]
        kb: String,
    },
}

/// `admin key …`.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Make an API key with no permission yet; prints {"apiKey": {"hash": …, …}, "secretKey":
    /// …}. The secret is shown this once: keep it (PAILLIER_GPU_API_KEY takes it).
    Create {
        #[command(flatten)]
        service: ServiceArgs,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Its description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Print the organisation's API keys (hash, first characters, name, status), one JSON
    /// object a line; never their secrets.
    List {
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Print a key's permissions, one {"knowledgeBaseId", "permission"} a line.
    Permissions {
        #[command(flatten)]
        service: ServiceArgs,
        /// The key's hash (`admin key create` and `admin key list` print it).
        #[arg(value_name = "KEY_HASH")]
        hash: String,
    },
    /// Set what a key may do on a knowledge base, replacing what it could: read, write,
    /// delete, comma-separated (`all` is the three, `none` takes every permission away).
    Grant {
        #[command(flatten)]
        service: ServiceArgs,
        /// The key's hash (`admin key create` and `admin key list` print it).
        #[arg(value_name = "KEY_HASH")]
        hash: String,
        /// The knowledge base id.
        #[arg(value_name = "KB")]
        kb: String,
        /// The permissions, comma-separated.
        #[arg(
            value_name = "PERMISSIONS",
            value_enum,
            value_delimiter = ',',
            required = true
        )]
        permissions: Vec<PermissionArg>,
    },
    /// Revoke a key: the service refuses it from its next request on.
    Revoke {
        #[command(flatten)]
        service: ServiceArgs,
        /// The key's hash.
        #[arg(value_name = "KEY_HASH")]
        hash: String,
    },
}

/// One permission of a key on a knowledge base (the API's bits: 1, 2 and 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PermissionArg {
    /// Search, fetch and list its chunks, and read the contexts bound to it (1).
    Read,
    /// Upload, update and patch chunks, and bind contexts (2).
    Write,
    /// Delete chunks (4).
    Delete,
    /// Read, write and delete (7).
    All,
    /// No permission (0).
    None,
}

/// The API's bits for `permissions`; `none` only alone.
fn bits_of(permissions: &[PermissionArg]) -> Result<u8> {
    if permissions.len() > 1 && permissions.contains(&PermissionArg::None) {
        return Err(Error::Usage(
            "the permission `none` cannot be combined with others".into(),
        ));
    }
    Ok(permissions.iter().fold(0, |bits, p| {
        bits | match p {
            PermissionArg::Read => 1,
            PermissionArg::Write => 2,
            PermissionArg::Delete => 4,
            PermissionArg::All => 7,
            PermissionArg::None => 0,
        }
    }))
}

/// The admin client, with the admin key from PAILLIER_GPU_ADMIN_KEY (never a command-line
/// value: it would show in the process list).
fn client(service: &ServiceArgs) -> Result<AdminClient> {
    let key = std::env::var("PAILLIER_GPU_ADMIN_KEY").map_err(|_| {
        Error::Usage(
            "set PAILLIER_GPU_ADMIN_KEY to the organisation's admin key (`server init` printed \
             it)"
            .into(),
        )
    })?;
    Ok(match &service.ca_cert {
        None => AdminClient::new(&service.remote, &service.org, &key)?,
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| Error::Io {
                path: path.clone(),
                source: e,
            })?;
            AdminClient::with_ca_certificate(&service.remote, &service.org, &key, &pem)?
        }
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn print_lines<T: serde::Serialize>(values: &[T]) -> Result<()> {
    values.iter().try_for_each(|v| print_json(&to_json(v)))
}

pub(super) fn run(command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::Kb(command) => kb(command),
        AdminCommand::Key(command) => key(command),
    }
}

fn kb(command: KbCommand) -> Result<()> {
    match command {
        KbCommand::Create {
            service,
            name,
            description,
        } => print_json(&to_json(&client(&service)?.create_kb(&name, &description)?)),
        KbCommand::List { service } => print_lines(&client(&service)?.kbs()?),
        KbCommand::Show { service, kb } => print_json(&to_json(&client(&service)?.kb(&kb)?)),
        KbCommand::Delete { service, kb } => {
            client(&service)?.delete_kb(&kb)?;
            print_json(&json!({ "deleted": kb }))
        }
    }
}

fn key(command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::Create {
            service,
            name,
            description,
        } => print_json(&to_json(
            &client(&service)?.create_key(&name, &description)?,
        )),
        KeyCommand::List { service } => print_lines(&client(&service)?.keys()?),
        KeyCommand::Permissions { service, hash } => {
            print_lines(&client(&service)?.permissions(&hash)?)
        }
        KeyCommand::Grant {
            service,
            hash,
            kb,
            permissions,
        } => {
            let bits = bits_of(&permissions)?;
            print_json(&to_json(
                &client(&service)?.set_permission(&hash, &kb, bits)?,
            ))
        }
        KeyCommand::Revoke { service, hash } => {
            client(&service)?.revoke_key(&hash)?;
            print_json(&json!({ "hash": hash, "status": "revoked" }))
        }
    }
}
