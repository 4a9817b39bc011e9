//! A self-hosted XTrace service: the API the XTrace SDK's client (`XTraceIntegration`) speaks,
//! on this crate's engine and an embedded SQLite store, so that SDK programs run unchanged
//! against `paillier-gpu serve` with only `api_url` and `admin_api_url` changed.
//!
//! The server holds contexts as the clients sent them (their secret keys sealed under keys it
//! never sees), checks every ciphertext on insert, and aggregates queries on one resident
//! [`EncryptedIndex`](crate::EncryptedIndex) per knowledge base and context, on the CPU or the
//! GPU. It never holds a secret key, a passphrase, a vector or a distance.

mod auth;
mod cancel;
mod error;
mod filter;
mod metrics;
mod routes;
mod state;
mod store;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use self::auth::{first_n, key_hash, new_secret};
use self::state::AppState;
use self::store::{SqliteStore, Store};
use crate::error::{Error, Result};
use crate::Device;

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8742";
/// The default largest request body: 64 MiB (a batch of 500 chunks is a few MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 << 20;

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The folder of the store.
    pub data_dir: PathBuf,
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
}

/// What `server init` made: the organisation's id and its admin key (shown once).
pub struct InitReport {
    /// The new organisation's id (the `{org_id}` of every data-plane path).
    pub org_id: String,
    /// Its admin key, stored only as a hash: shown this once.
    pub admin_key: zeroize::Zeroizing<String>,
}

/// Creates the store in `data_dir` if needed, and a new organisation with its admin key.
pub fn init(data_dir: &std::path::Path, org_name: &str) -> Result<InitReport> {
    if org_name.trim().is_empty() {
        return Err(Error::InvalidParameter(
            "the organisation needs a name (--org)".into(),
        ));
    }
    let store = SqliteStore::open(data_dir)?;
    let admin_key = new_secret();
    let org = store.create_org(org_name, &key_hash(&admin_key), &first_n(&admin_key))?;
    Ok(InitReport {
        org_id: org.id,
        admin_key,
    })
}

/// Serves until `shutdown` completes, then finishes the requests in flight and closes the
/// store. Calls `listening` with the bound address once it accepts connections.
pub async fn serve(
    options: ServerOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    listening: impl FnOnce(SocketAddr),
) -> Result<()> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&options.data_dir)?);
    let state = Arc::new(AppState::new(
        store,
        options.device,
        options.allow_weak_contexts,
        options.max_body_bytes,
    ));
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::Store(format!("cannot listen on {}: {e}", options.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Store(format!("cannot listen on {}: {e}", options.listen)))?;
    let router = routes::router(state);
    let stopped = |e: std::io::Error| Error::Store(format!("the server stopped: {e}"));
    match &options.tls {
        None => {
            listening(address);
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(stopped)
        }
        Some((cert, key)) => {
            let config = tls::server_config(cert, key)?;
            let listener = tls::TlsListener::new(listener, config).map_err(stopped)?;
            listening(address);
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(stopped)
        }
    }
}
