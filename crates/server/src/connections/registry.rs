//! The open connections of one listener, each with its requests in flight and the instant it
//! went idle, so that a newcomer at the cap takes the place of the connection idle the longest
//! rather than being turned away while idle sockets hold every slot.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::metrics::ConnectionCounters;

/// One open connection as the registry sees it.
pub struct Connection {
    /// Requests whose answer has not been dropped yet (a streamed body counts until it ends).
    in_flight: AtomicUsize,
    /// When the last request in flight ended, or the connection opened.
    idle_since: Mutex<Instant>,
    /// Told when the registry evicts the connection: its task then drops it.
    evicted: Notify,
    /// While an answer's body is being sent: when it last handed hyper a frame. A client that
    /// stops reading stops this clock, since hyper asks for the next frame only once the last
    /// one is written.
    body_progress: Mutex<Option<Instant>>,
}

impl Connection {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            evicted: Notify::new(),
            body_progress: Mutex::new(None),
        }
    }

    /// Notes that an answer's body handed hyper a frame (or started), or, with `false`, ended.
    pub fn body_progressed(&self, sending: bool) {
        *self.body_progress.lock().unwrap_or_else(|e| e.into_inner()) = sending.then(Instant::now);
    }

    /// How long the answer being sent has gone without progress; `None` when none is sent.
    pub fn stalled_for(&self, now: Instant) -> Option<Duration> {
        let progress = *self.body_progress.lock().unwrap_or_else(|e| e.into_inner());
        progress.map(|at| now.saturating_duration_since(at))
    }

    /// Counts a request in flight until the returned guard drops.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Completes once the registry has evicted this connection (at once if it already has).
    pub async fn evicted(&self) {
        self.evicted.notified().await;
    }

    /// How long the connection has been idle, or `None` while a request is in flight. A
    /// connection still sending its request head (or its TLS handshake) is idle: nothing of it
    /// has reached a handler.
    fn idle_for(&self, now: Instant) -> Option<Duration> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = *self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        Some(now.saturating_duration_since(since))
    }
}

/// A request in flight on a connection; dropping it (with the answer's body) makes the
/// connection idle again if it was the last.
pub struct InFlight(Arc<Connection>);

impl Drop for InFlight {
    fn drop(&mut self) {
        // The instant first, so that whoever sees no request in flight sees a fresh instant.
        *self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The connections of one listener, at most `cap` of them.
pub struct Registry {
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
    cap: usize,
    counters: Arc<ConnectionCounters>,
}

impl Registry {
    /// An empty registry that admits at most `cap` connections (at least one).
    pub fn new(cap: usize, counters: Arc<ConnectionCounters>) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            cap: cap.max(1),
            counters,
        })
    }

    /// Registers a new connection. At the cap, the connection idle the longest is evicted to
    /// make room; `None` when every connection has a request in flight.
    pub fn admit(self: &Arc<Self>) -> Option<Registration> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= self.cap {
            let now = Instant::now();
            let idlest = open
                .iter()
                .filter_map(|(id, connection)| connection.idle_for(now).map(|idle| (idle, *id)))
                .max();
            let (_, id) = idlest?;
            if let Some(connection) = open.remove(&id) {
                // A stored permit: the task drops the connection even if it is not waiting yet.
                connection.evicted.notify_one();
                self.counters.evicted();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection::new());
        open.insert(id, connection.clone());
        self.counters.opened();
        Some(Registration {
            registry: self.clone(),
            id,
            connection,
        })
    }

    /// Connections registered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A connection's place in the registry, given up when its task ends (or is aborted).
pub struct Registration {
    registry: Arc<Registry>,
    id: u64,
    connection: Arc<Connection>,
}

impl Registration {
    /// The connection, for its service and its task.
    pub fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&self.id);
        self.registry.counters.closed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_longest_idle_connection_makes_room() {
        let counters = Arc::new(ConnectionCounters::default());
        let registry = Registry::new(2, counters.clone());
        let first = registry.admit().unwrap();
        let second = registry.admit().unwrap();
        // The first is busy, the second idle: the newcomer evicts the second.
        let busy = first.connection().request_started();
        let third = registry.admit().unwrap();
        assert_eq!(registry.len(), 2);
        assert_eq!(counters.snapshot().evicted, 1);
        // Both now busy: no room.
        let _busy_too = third.connection().request_started();
        assert!(registry.admit().is_none());
        // The first's request ends: it is idle, and evicted next.
        drop(busy);
        assert!(registry.admit().is_some());
        assert_eq!(counters.snapshot().evicted, 2);
        drop((first, second, third));
    }

    #[tokio::test]
    async fn an_evicted_connection_hears_of_it_even_if_told_before_it_listens() {
        let registry = Registry::new(1, Arc::default());
        let first = registry.admit().unwrap();
        let _second = registry.admit().unwrap();
        tokio::time::timeout(Duration::from_secs(5), first.connection().evicted())
            .await
            .unwrap();
    }
}
