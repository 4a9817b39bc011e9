//! The server's accept loop: HTTP/1.1 on hyper with the router as the service, each connection
//! on a task of its own, bounded in number ([`registry`]), in how long it may wait for a
//! request head (which also bounds idle keep-alive) and in how long a shutdown waits for it.

mod descriptors;
mod registry;
mod service;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

pub use descriptors::clamp;

use self::registry::{Connection, Registration, Registry};
use self::service::Tracked;
use super::metrics::ConnectionCounters;

/// Connections answered 503 at once, at most; past them a newcomer is dropped unanswered, so
/// that refusing costs a bounded number of descriptors.
const REFUSING_AT_ONCE: usize = 16;
/// How long a connection turned away has to send its request head and read the 503.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause after a failed accept (out of descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The bounds of one listener's connections.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Open connections at most (handshaking ones included).
    pub max_connections: usize,
    /// How long a connection may take to send a request head, counted from when it starts
    /// waiting for one: an idle keep-alive connection is closed after it too.
    pub idle_timeout: Duration,
    /// How long a shutdown waits for the connections to finish before dropping them.
    pub shutdown_timeout: Duration,
    /// How long an answer being sent may go without progress (its client not reading) before
    /// its connection is closed: the body timeout, the same bound the other way.
    pub body_timeout: Duration,
}

/// What one listener serves: the router, over TLS or not.
pub struct Listener {
    pub tcp: TcpListener,
    pub tls: Option<TlsAcceptor>,
    pub router: Router,
    pub limits: Limits,
    pub counters: Arc<ConnectionCounters>,
}

/// Accepts and serves until `stop` holds true (or its sender is gone); then stops accepting,
/// asks every connection to finish its request in flight and close, and drops whatever is
/// still open after the shutdown timeout.
pub async fn run(listener: Listener, stop: watch::Receiver<bool>) {
    let Listener {
        tcp,
        tls,
        router,
        limits,
        counters,
    } = listener;
    let registry = Registry::new(limits.max_connections, counters.clone());
    let service = TowerToHyperService::new(router);
    let refusing = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    let mut watching = stop.clone();
    loop {
        tokio::select! {
            biased;
            () = stopping(&mut watching) => break,
            Some(ended) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = ended {
                    if e.is_panic() {
                        log::error!("a connection's task panicked: {e}");
                    }
                }
            }
            accepted = tcp.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        log::warn!("accepting a connection: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                // Answers are written whole or streamed in blocks: no reason to wait for acks.
                let _ = stream.set_nodelay(true);
                match registry.admit() {
                    Some(registration) => {
                        let connection = Accepted {
                            stream,
                            peer,
                            tls: tls.clone(),
                            registration,
                        };
                        tasks.spawn(connection.serve(service.clone(), limits, stop.clone()));
                    }
                    None => {
                        counters.refused();
                        if refusing.load(Ordering::SeqCst) < REFUSING_AT_ONCE {
                            refusing.fetch_add(1, Ordering::SeqCst);
                            let refusing = Refusing(refusing.clone());
                            tasks.spawn(refuse(stream, tls.clone(), refusing));
                        } else {
                            log::debug!("dropped {peer}: at the cap, with {REFUSING_AT_ONCE} refusals under way");
                        }
                    }
                }
            }
        }
    }
    drop(tcp);
    // Each connection saw `stop` too and is finishing; give them the shutdown timeout.
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        log::warn!(
            "{} connections still open after the shutdown timeout ({:?}): dropping them",
            tasks.len(),
            limits.shutdown_timeout
        );
        tasks.shutdown().await;
    }
}

/// A connection admitted, before its handshake (if TLS) and its requests.
struct Accepted {
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    registration: Registration,
}

impl Accepted {
    /// Serves the connection until it closes, is evicted, or the shutdown timeout drops it.
    async fn serve(
        self,
        router: TowerToHyperService<Router>,
        limits: Limits,
        stop: watch::Receiver<bool>,
    ) {
        let Accepted {
            stream,
            peer,
            tls,
            registration,
        } = self;
        let connection = registration.connection().clone();
        let service = Tracked::new(router, connection.clone());
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.idle_timeout)
            .keep_alive(true);
        let served = async {
            match tls {
                None => {
                    drive(
                        builder.serve_connection(TokioIo::new(stream), service),
                        stop,
                    )
                    .await
                }
                Some(acceptor) => {
                    // A handshake under way when the shutdown starts is abandoned.
                    let mut watching = stop.clone();
                    let stream = tokio::select! {
                        stream = super::tls::handshake(&acceptor, stream) => stream,
                        () = stopping(&mut watching) => None,
                    };
                    if let Some(stream) = stream {
                        drive(
                            builder.serve_connection(TokioIo::new(stream), service),
                            stop,
                        )
                        .await;
                    }
                }
            }
        };
        tokio::select! {
            () = served => {}
            () = connection.evicted() => log::debug!("closed {peer}, idle the longest, for a newcomer"),
            () = stalled(&connection, limits.body_timeout) => {
                log::debug!("closed {peer}: it stopped reading its answer");
            }
        }
        drop(registration);
    }
}

/// Completes once the answer being sent on `connection` has made no progress for `limit` (its
/// client stopped reading): dropping the connection then frees the answer's memory and its
/// work slot, which a client that never reads would otherwise hold for good.
async fn stalled(connection: &Connection, limit: Duration) {
    let every = (limit / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        tokio::time::sleep(every).await;
        if connection
            .stalled_for(std::time::Instant::now())
            .is_some_and(|stalled| stalled >= limit)
        {
            return;
        }
    }
}

/// Runs a hyper connection; when `stop` turns true, lets its request in flight finish and
/// closes it (at once if it is idle).
async fn drive<I, S>(connection: http1::Connection<I, S>, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(connection);
    let mut finishing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    log::debug!("a connection ended: {e}");
                }
                return;
            }
            () = stopping(&mut stop), if !finishing => {
                finishing = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Completes once `stop` holds true, or its sender is gone (which is a shutdown too).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|&stopping| stopping).await;
}

/// One refusal under way; dropping it frees its place.
struct Refusing(Arc<AtomicUsize>);

impl Drop for Refusing {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers a connection turned away at the cap with a 503 and closes it, all within
/// [`REFUSAL_TIMEOUT`] (and the handshake's own timeout if TLS).
async fn refuse(stream: TcpStream, tls: Option<TlsAcceptor>, _place: Refusing) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_TIMEOUT)
        .keep_alive(false);
    let service = hyper::service::service_fn(service::refusal);
    let answered = async {
        match tls {
            None => {
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
            Some(acceptor) => {
                if let Some(stream) = super::tls::handshake(&acceptor, stream).await {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        }
    };
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT * 2, answered).await;
}
