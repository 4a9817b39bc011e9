//! `server init` and `serve`: a self-hosted XTrace service (see the library's `server` module).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use paillier_gpu::server::{self, ServerOptions, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES};
use paillier_gpu::{Error, Result};
use serde_json::json;

use crate::DeviceArg;

/// The folder of the store when none is given.
const DEFAULT_DATA_DIR: &str = "paillier-gpu-data";

/// `server …`.
#[derive(Subcommand, Debug)]
pub enum ServerCommand {
    /// Create the store if needed and a new organisation with its admin key; prints
    /// {"org_id": …, "admin_key": …} (the key is shown this once and stored as a hash).
    Init {
        /// The store's folder.
        #[arg(long, default_value = DEFAULT_DATA_DIR, value_name = "DIR")]
        data_dir: PathBuf,
        /// The organisation's name.
        #[arg(long, value_name = "NAME")]
        org: String,
    },
}

/// The arguments of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The store's folder (made by `server init`, or created empty).
    #[arg(long, default_value = DEFAULT_DATA_DIR, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = DEFAULT_LISTEN, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Accept contexts weaker than key_len 1024 (and alpha_len 512), which the XTrace SDK makes
    /// when asked. Their keys can be broken.
    #[arg(long)]
    pub allow_weak_contexts: bool,
    /// The largest request body, in bytes (413 past it).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub(super) fn init(command: ServerCommand) -> Result<()> {
    let ServerCommand::Init { data_dir, org } = command;
    let report = server::init(&data_dir, &org)?;
    println!(
        "{}",
        json!({ "org_id": report.org_id, "admin_key": report.admin_key.as_str() })
    );
    Ok(())
}

pub(super) fn serve(args: ServeArgs) -> Result<()> {
    let options = ServerOptions {
        data_dir: args.data_dir,
        listen: args.listen,
        device: args.device.device(),
        allow_weak_contexts: args.allow_weak_contexts,
        max_body_bytes: args.max_body_bytes,
        tls: args.tls_cert.zip(args.tls_key),
    };
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Store(format!("cannot start the server's runtime: {e}")))?;
    runtime.block_on(server::serve(options, shutdown_signal(), |address| {
        // One line a supervisor (or a test) can wait for.
        eprintln!("paillier-gpu: serving on {scheme}://{address}");
    }))
}

/// Completes on SIGINT or SIGTERM: the server then finishes the requests in flight.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    eprintln!("paillier-gpu: shutting down: finishing the requests in flight");
}
