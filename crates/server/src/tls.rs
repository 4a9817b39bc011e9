//! TLS for the server (rustls): the configuration from PEM files, and each connection's
//! handshake, bounded in time, run on the connection's own task (so a slow client delays nobody
//! else, and a connection handshaking counts against the cap on connections like any other).

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

/// How long a client has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's certificate chain and key, read from PEM files, as a handshaker.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    server_config(cert, key).map(TlsAcceptor::from)
}

fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let open = |path: &Path| {
        std::fs::File::open(path)
            .map(BufReader::new)
            .map_err(|e| Error::io(path, e))
    };
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut open(cert)?)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::io(cert, e))?;
    if certs.is_empty() {
        return Err(Error::InvalidSetting(format!(
            "{} holds no PEM certificate",
            cert.display()
        )));
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut open(key)?)
        .map_err(|e| Error::io(key, e))?
        .ok_or_else(|| {
            Error::InvalidSetting(format!("{} holds no PEM private key", key.display()))
        })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| Error::InvalidSetting(format!("the TLS certificate or key: {e}")))?;
    Ok(Arc::new(config))
}

/// The handshake of one accepted connection, within [`HANDSHAKE_TIMEOUT`]; `None` (logged at
/// debug level) when it failed or took too long.
pub async fn handshake(acceptor: &TlsAcceptor, stream: TcpStream) -> Option<TlsStream<TcpStream>> {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "a client".to_owned(), |p| p.to_string());
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            log::debug!("TLS handshake with {peer}: {e}");
            None
        }
        Err(_) => {
            log::debug!("TLS handshake with {peer} timed out");
            None
        }
    }
}
