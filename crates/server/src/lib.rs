//! A self-hosted XTrace service: the API the XTrace SDK's client (`XTraceIntegration`) speaks,
//! on the `paillier-gpu` library and an embedded SQLite store (or PostgreSQL, for replicas), so
//! that SDK programs run unchanged against `paillier-gpu serve` with only `api_url` and
//! `admin_api_url` changed.
//!
//! The server holds contexts as the clients sent them (their secret keys sealed under keys it
//! never sees), checks every ciphertext on insert, and aggregates queries on one resident
//! [`EncryptedIndex`](paillier_gpu::EncryptedIndex) per knowledge base and context, on the CPU or the
//! GPU. It never holds a secret key, a passphrase, a vector or a distance.

pub mod api_error;
mod auth;
mod cancel;
mod connections;
pub mod error;
mod filter;
mod metadata;
mod metrics;
mod opened_contexts;
mod resident;
mod routes;
mod service;
mod state;
pub mod store;
pub use service::{ServiceError, ServiceResult};
#[cfg(test)]
mod test_log;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use self::auth::{first_n, key_hash, new_secret};
use self::state::AppState;
pub use self::store::{backup, migrate, StoreLocation};
use self::store::{open_store, Store};
pub use crate::error::{Error, Result};
use paillier_gpu::Device;

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8742";
/// The default largest request body: 64 MiB (a batch of 500 chunks is a few MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 << 20;

/// The default cap on open connections (lowered at start to what the descriptor limit allows).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The default time a connection has to send a request head, idle keep-alive included.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time a request's body has to arrive once its head has.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// The default time a request waits for a work slot.
pub const DEFAULT_WORK_QUEUE_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time a shutdown waits for the requests in flight.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time between two looks for knowledge bases another replica deleted.
pub const DEFAULT_DELETED_KB_SWEEP: Duration = Duration::from_secs(30);
/// Open connections at most on the metrics listener (it answers a scraper or two).
const METRICS_MAX_CONNECTIONS: usize = 16;

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Where the store is: SQLite in a folder, or PostgreSQL (shared by replicas).
    pub store: StoreLocation,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where aggregation runs.
    pub device: Device,
    /// Accept contexts below this crate's floors (key_len 1024, alpha_len 512).
    pub allow_weak_contexts: bool,
    /// The largest request body read (413 past it).
    pub max_body_bytes: usize,
    /// A PEM certificate chain and private key: serve HTTPS (rustls) instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Open connections at most; at the cap a newcomer replaces the connection idle the
    /// longest, or is answered 503 when none is idle.
    pub max_connections: usize,
    /// How long a connection may take to send a request head (idle keep-alive included).
    pub idle_timeout: Duration,
    /// How long a request's body may take to arrive (408 past it).
    pub body_timeout: Duration,
    /// How long a shutdown waits for the requests in flight before dropping them.
    pub shutdown_timeout: Duration,
    /// Where to serve `/metrics` (plain HTTP); without it, `/metrics` is served nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Searches, metadata filters, writes and inferences run at once (the rest wait up to 30 s,
    /// then get a 503): each holds a core and its answer's memory.
    pub max_concurrent_work: usize,
    /// How long a request waits for a work slot before it is answered 503.
    pub work_queue_timeout: Duration,
    /// How often this server looks for knowledge bases another replica deleted, to drop their
    /// resident indexes (one read of the store each time).
    pub deleted_kb_sweep: Duration,
}

impl ServerOptions {
    /// The defaults `paillier-gpu serve` starts with, on `store`: listening on
    /// [`DEFAULT_LISTEN`], aggregation wherever `Device::Auto` finds, two work slots a core.
    ///
    /// ```
    /// use paillier_gpu_server::{ServerOptions, StoreLocation};
    /// let options = ServerOptions::new(StoreLocation::Sqlite("data".into()));
    /// assert_eq!(options.listen.to_string(), paillier_gpu_server::DEFAULT_LISTEN);
    /// assert_eq!(options.max_connections, paillier_gpu_server::DEFAULT_MAX_CONNECTIONS);
    /// ```
    pub fn new(store: StoreLocation) -> Self {
        Self {
            store,
            listen: SocketAddr::from(([127, 0, 0, 1], 8742)),
            device: Device::Auto,
            allow_weak_contexts: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            tls: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            metrics_listen: None,
            max_concurrent_work: 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            work_queue_timeout: DEFAULT_WORK_QUEUE_TIMEOUT,
            deleted_kb_sweep: DEFAULT_DELETED_KB_SWEEP,
        }
    }
}

/// What a started server says about itself, for its one startup line.
#[derive(Clone, Debug)]
pub struct Listening {
    /// The bound address of the API.
    pub address: SocketAddr,
    /// `https` or `http`.
    pub scheme: &'static str,
    /// Where the store is, without a password.
    pub store: String,
    /// Where aggregation runs, `auto` resolved.
    pub device: String,
    /// The cap on connections in force.
    pub max_connections: usize,
    /// The descriptor limit, when it lowered the cap below the one asked for.
    pub clamped_by: Option<u64>,
    /// The bound address of the metrics listener.
    pub metrics: Option<SocketAddr>,
}

impl std::fmt::Display for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "serving on {}://{} (store: {}; aggregation on {}; at most {} connections",
            self.scheme, self.address, self.store, self.device, self.max_connections
        )?;
        if let Some(limit) = self.clamped_by {
            write!(
                f,
                ", lowered to fit the limit of {limit} open descriptors (ulimit -n)"
            )?;
        }
        match self.metrics {
            Some(metrics) => write!(f, "; /metrics on http://{metrics})"),
            None => write!(f, "; /metrics off)"),
        }
    }
}

/// What `server init` made: the organisation's id and its admin key (shown once).
pub struct InitReport {
    /// The new organisation's id (the `{org_id}` of every data-plane path).
    pub org_id: String,
    /// Its admin key, stored only as a hash: shown this once.
    pub admin_key: zeroize::Zeroizing<String>,
}

/// Creates the store if needed (its schema migrated), and a new organisation with its admin key.
pub fn init(store: &StoreLocation, org_name: &str) -> Result<InitReport> {
    if org_name.trim().is_empty() {
        return Err(Error::InvalidSetting(
            "the organisation needs a name (--org)".into(),
        ));
    }
    let store = open_store(store)?;
    let admin_key = new_secret();
    let org = store.create_org(org_name, &key_hash(&admin_key), &first_n(&admin_key))?;
    Ok(InitReport {
        org_id: org.id,
        admin_key,
    })
}

/// Serves until `shutdown` completes, then stops accepting, lets the requests in flight finish
/// for at most the shutdown timeout, drops what is left and closes the store. Calls `listening`
/// once it accepts connections.
pub async fn serve(
    options: ServerOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    listening: impl FnOnce(&Listening),
) -> Result<()> {
    // Off the async workers: opening connects (and a database driver may block on its own).
    let location = options.store.clone();
    let store: Arc<dyn Store> = tokio::task::spawn_blocking(move || open_store(&location))
        .await
        .map_err(|e| Error::Store(format!("opening the store failed: {e}")))??;
    let state = Arc::new(AppState::new(
        store,
        options.device,
        options.allow_weak_contexts,
        options.max_body_bytes,
        options.max_concurrent_work,
        options.work_queue_timeout,
    ));
    let bind = |address: SocketAddr| async move {
        let cannot = |source| Error::Listen {
            address: address.to_string(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(cannot)?;
        let bound = listener.local_addr().map_err(cannot)?;
        Ok::<_, Error>((listener, bound))
    };
    let (tcp, address) = bind(options.listen).await?;
    let metrics = match options.metrics_listen {
        Some(at) => Some(bind(at).await?),
        None => None,
    };
    let tls = match &options.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let (max_connections, clamped_by) = connections::clamp(options.max_connections);
    let device = tokio::task::spawn_blocking(move || describe_device(options.device))
        .await
        .unwrap_or_else(|_| options.device.to_string());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(sweep_deleted_kbs(
        state.clone(),
        options.deleted_kb_sweep,
        stopped.clone(),
    ));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
        // Kept until every listener has seen it: a closed channel reads as a shutdown too.
        stop.closed().await;
    });
    listening(&Listening {
        address,
        scheme: if tls.is_some() { "https" } else { "http" },
        store: options.store.to_string(),
        device,
        max_connections,
        clamped_by,
        metrics: metrics.as_ref().map(|(_, bound)| *bound),
    });
    let limits = connections::Limits {
        max_connections,
        idle_timeout: options.idle_timeout,
        shutdown_timeout: options.shutdown_timeout,
        body_timeout: options.body_timeout,
    };
    let main = connections::run(
        connections::Listener {
            tcp,
            tls,
            router: routes::router(state.clone(), options.body_timeout),
            limits,
            counters: state.metrics.connections.clone(),
        },
        stopped.clone(),
    );
    let operations = async {
        if let Some((tcp, _)) = metrics {
            let listener = connections::Listener {
                tcp,
                tls: None,
                router: routes::operations_router(state.clone()),
                limits: connections::Limits {
                    max_connections: METRICS_MAX_CONNECTIONS,
                    ..limits
                },
                counters: Arc::default(),
            };
            connections::run(listener, stopped.clone()).await;
        }
    };
    tokio::join!(main, operations);
    Ok(())
}

/// Every `every` until shutdown, drops the resident indexes of knowledge bases that another
/// replica deleted (on the blocking pool: it reads the store).
async fn sweep_deleted_kbs(
    state: Arc<AppState>,
    every: Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
        let state = state.clone();
        let _ = tokio::task::spawn_blocking(move || state.indexes.forget_deleted_kbs()).await;
    }
}

/// Where aggregation runs, as the startup line says it: for `auto`, what it resolved to (this
/// probes the GPU once, as the first search would).
fn describe_device(device: Device) -> String {
    let resolved = paillier_gpu::hazmat::backend::backend_for(device);
    match (device, resolved) {
        (Device::Cpu, _) => "cpu".to_owned(),
        (Device::Gpu, Ok(_)) => format!("gpu: {}", gpu_name()),
        (Device::Gpu, Err(e)) => format!("gpu, which is unavailable: {e}"),
        (Device::Auto, Ok(backend)) if backend.device() == Device::Auto => {
            format!("auto: gpu: {}, the CPU if it fails", gpu_name())
        }
        (Device::Auto, _) => "auto: cpu (no hardware GPU answered)".to_owned(),
    }
}

/// The GPU in use, in one line.
#[cfg(feature = "gpu")]
fn gpu_name() -> String {
    paillier_gpu::hazmat::backend::gpu::GpuBackend::shared()
        .map_or_else(|e| e.to_string(), |gpu| gpu.describe())
}

#[cfg(not(feature = "gpu"))]
fn gpu_name() -> String {
    "none in this build".to_owned()
}
