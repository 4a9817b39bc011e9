//! `server init` and `serve`: a self-hosted XTrace service (the `paillier-gpu-server` crate).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use clap::{Args, Subcommand};
use paillier_gpu_server::{
    ServerOptions, StoreLocation, DEFAULT_BODY_TIMEOUT, DEFAULT_DELETED_KB_SWEEP,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_WORK_QUEUE_TIMEOUT,
};
use serde_json::json;

use crate::DeviceArg;

/// The folder of the store when none is given.
const DEFAULT_DATA_DIR: &str = "paillier-gpu-data";

/// Where the store is, for `serve` and every `server` command.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The SQLite store's folder (made by `server init`, or created empty); not used with
    /// --store.
    #[arg(long, default_value = DEFAULT_DATA_DIR, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// A PostgreSQL store shared by every replica: postgres://user:password@host:port/database
    /// (prefer the environment variable, which keeps a password out of the process list).
    #[arg(
        long,
        env = "PAILLIER_GPU_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub store: Option<String>,
}

impl StoreArgs {
    fn location(&self) -> Result<StoreLocation> {
        Ok(StoreLocation::new(self.store.as_deref(), &self.data_dir)?)
    }
}

/// `server …`.
#[derive(Subcommand, Debug)]
pub enum ServerCommand {
    /// Create the store if needed and a new organisation with its admin key; prints
    /// {"org_id": …, "admin_key": …} (the key is shown this once and stored as a hash).
    Init {
        #[command(flatten)]
        store: StoreArgs,
        /// The organisation's name.
        #[arg(long, value_name = "NAME")]
        org: String,
    },
    /// Bring the store's schema up to this version of paillier-gpu (serve does it too on
    /// start; replicas starting together migrate one at a time); prints {"schema_version": …}.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Copy a SQLite store, as of one instant and while it serves, to a new file (private to
    /// this user). A PostgreSQL store is backed up with pg_dump.
    Backup {
        #[command(flatten)]
        store: StoreArgs,
        /// The backup's file; it must not exist.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
}

/// The arguments of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
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
    /// Open connections at most (lowered at start to the descriptor limit, `ulimit -n`, less 64).
    /// At the cap a newcomer replaces the connection idle the longest, or is answered 503 when
    /// every connection has a request in flight. Higher lets more clients in at once and more
    /// idle sockets hold memory.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: usize,
    /// Seconds a connection has to send a request head, counted from when it waits for one: an
    /// idle keep-alive connection is closed after it too. Longer keeps a slow or idle client's
    /// socket (and a slot) that much longer.
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs(), value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Seconds a request's body has to arrive once its head has (408 past it). Longer lets a
    /// client on a slow link send bigger bodies, and a client that stalls hold a request that
    /// much longer.
    #[arg(long, default_value_t = DEFAULT_BODY_TIMEOUT.as_secs(), value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Seconds SIGINT or SIGTERM waits for the requests in flight before dropping them. Longer
    /// lets a long search finish, and lets a client that stalls a request delay the exit that
    /// long.
    #[arg(long, default_value_t = DEFAULT_SHUTDOWN_TIMEOUT.as_secs(), value_name = "SECONDS")]
    pub shutdown_timeout: u64,
    /// Serve GET /metrics (Prometheus text) and /healthz on this address, in plain HTTP; keep it
    /// on 127.0.0.1 or a private network, since the metrics describe the traffic. Without it,
    /// /metrics is served nowhere.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,
    /// Searches, metadata filters, writes and inferences run at once; the rest wait up to 30 s
    /// for a slot, then get a 503. Each holds a core and its answer's memory (a search over a
    /// million records answers 512 MiB): more lets more clients through at once and costs that
    /// much more memory at the peak. Default: twice the cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_concurrent_work: Option<u64>,
    /// Seconds a request waits for one of those slots before it is answered 503. Longer lets
    /// a burst wait out a busy moment, and holds each waiting request's connection and body
    /// that much longer.
    #[arg(long, default_value_t = DEFAULT_WORK_QUEUE_TIMEOUT.as_secs(), value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub work_queue_timeout: u64,
    /// Seconds between two looks for knowledge bases another replica deleted (PostgreSQL
    /// stores), after which this replica drops their resident indexes; a search there answers
    /// 404 at once either way. Shorter frees that memory sooner, at one read of the store each
    /// time.
    #[arg(long, default_value_t = DEFAULT_DELETED_KB_SWEEP.as_secs(), value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub deleted_kb_sweep: u64,
}

pub(super) fn run(command: ServerCommand) -> Result<()> {
    match command {
        ServerCommand::Init { store, org } => {
            let report = paillier_gpu_server::init(&store.location()?, &org)?;
            println!(
                "{}",
                json!({ "org_id": report.org_id, "admin_key": report.admin_key.as_str() })
            );
        }
        ServerCommand::Migrate { store } => {
            let version = paillier_gpu_server::migrate(&store.location()?)?;
            println!("{}", json!({ "schema_version": version }));
        }
        ServerCommand::Backup { store, output } => {
            paillier_gpu_server::backup(&store.location()?, &output)?;
            println!("{}", json!({ "backup": output }));
        }
    }
    Ok(())
}

pub(super) fn serve(args: ServeArgs) -> Result<()> {
    let options = ServerOptions {
        store: args.store.location()?,
        listen: args.listen,
        device: args.device.device(),
        allow_weak_contexts: args.allow_weak_contexts,
        max_body_bytes: args.max_body_bytes,
        tls: args.tls_cert.zip(args.tls_key),
        max_connections: args.max_connections,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
        metrics_listen: args.metrics_listen,
        max_concurrent_work: args.max_concurrent_work.map_or_else(
            || 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            |n| usize::try_from(n).unwrap_or(usize::MAX),
        ),
        work_queue_timeout: Duration::from_secs(args.work_queue_timeout),
        deleted_kb_sweep: Duration::from_secs(args.deleted_kb_sweep),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let served = runtime.block_on(paillier_gpu_server::serve(
        options,
        shutdown_signal(),
        |listening| {
            // One line a supervisor (or a test) can wait for: the first on stderr.
            eprintln!("paillier-gpu: {listening}");
        },
    ));
    // A handler still computing on the blocking pool past the shutdown timeout is not waited
    // for: its store writes are transactions, whole or absent.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(served?)
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
    eprintln!("paillier-gpu: shutting down: finishing the requests in flight (--shutdown-timeout)");
}
