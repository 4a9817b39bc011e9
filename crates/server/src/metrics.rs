//! `GET /metrics`: OpenMetrics text (by `prometheus-client`) of requests and their latency by
//! method, route and status, connections open, evicted and refused, records aggregated, the
//! device aggregation runs on, and the resident indexes. Every label takes one of a fixed set of
//! values, so that no client grows the text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The answer's Content-Type: OpenMetrics text, which Prometheus prefers to the older format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every name's prefix (`paillier_gpu_requests_total`, …).
const PREFIX: &str = "paillier_gpu";

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The methods counted by name; any other is `other` (a client may send any token as a method).
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// A request's series: its method's label, its route's pattern (or `unmatched`), its status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// Why a connection was closed at the cap: `evicted` or `refused`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShedLabels {
    why: &'static str,
}

/// Where aggregation runs.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    device: String,
}

/// A gauge of counts, which are never negative.
type CountGauge = Gauge<u64, AtomicU64>;

/// A histogram family's constructor: every series with [`BUCKETS`].
type NewHistogram = fn() -> Histogram;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The server's counters, and the registry that writes them out.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    seconds: Family<RequestLabels, Histogram, NewHistogram>,
    records_aggregated: Counter,
    work_abandoned: Counter,
    device: Family<DeviceLabels, Gauge>,
    resident_indexes: CountGauge,
    resident_records: CountGauge,
    resident_host_bytes: CountGauge,
    /// The main listener's connections (shared with its accept loop).
    pub connections: Arc<ConnectionCounters>,
}

/// Connections open, evicted for a newcomer, and turned away at the cap.
pub struct ConnectionCounters {
    open: CountGauge,
    shed: Family<ShedLabels, Counter>,
    // Handles on `shed`'s two series, made up front so that both read 0 before the first.
    evicted: Counter,
    refused: Counter,
}

/// The connection counters at one instant, for the tests (the registry reads them itself).
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionSnapshot {
    pub open: u64,
    pub evicted: u64,
    pub refused: u64,
}

impl Default for ConnectionCounters {
    fn default() -> Self {
        let shed = Family::<ShedLabels, Counter>::default();
        let evicted = shed.get_or_create_owned(&ShedLabels { why: "evicted" });
        let refused = shed.get_or_create_owned(&ShedLabels { why: "refused" });
        Self {
            open: CountGauge::default(),
            shed,
            evicted,
            refused,
        }
    }
}

impl ConnectionCounters {
    pub fn opened(&self) {
        self.open.inc();
    }

    pub fn closed(&self) {
        // Never below zero, whatever the order of the updates.
        let _ = self
            .open
            .inner()
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn evicted(&self) {
        self.evicted.inc();
    }

    pub fn refused(&self) {
        self.refused.inc();
    }

    #[cfg(test)]
    pub fn snapshot(&self) -> ConnectionSnapshot {
        ConnectionSnapshot {
            open: self.open.get(),
            evicted: self.evicted.get(),
            refused: self.refused.get(),
        }
    }
}

/// The method's label: its name if one of [`METHODS`], else `other`.
fn method_label(method: &str) -> &'static str {
    METHODS
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Registry::with_prefix(PREFIX),
            requests: Family::default(),
            seconds: Family::new_with_constructor(latency_histogram as NewHistogram),
            records_aggregated: Counter::default(),
            work_abandoned: Counter::default(),
            device: Family::default(),
            resident_indexes: CountGauge::default(),
            resident_records: CountGauge::default(),
            resident_host_bytes: CountGauge::default(),
            connections: Arc::new(ConnectionCounters::default()),
        };
        metrics.registered()
    }
}

impl Metrics {
    /// Registers every metric under its name; the registry holds handles on the same values.
    /// Counters are named without `_total`, and help texts without their full stop: the
    /// registry adds both.
    fn registered(mut self) -> Self {
        let registry = &mut self.registry;
        registry.register(
            "requests",
            "Requests answered, by route and status",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "request",
            "Time to answer, by route and status",
            Unit::Seconds,
            self.seconds.clone(),
        );
        registry.register(
            "open_connections",
            "Connections open on the main listener, handshaking ones included",
            self.connections.open.clone(),
        );
        registry.register(
            "connections_shed",
            "Connections closed at the cap: evicted (idle the longest, for a newcomer) or \
             refused (every connection busy)",
            self.connections.shed.clone(),
        );
        registry.register(
            "records_aggregated",
            "Records multiplied by a query",
            self.records_aggregated.clone(),
        );
        registry.register(
            "work_abandoned",
            "Searches, filters and inferences stopped because their client had gone",
            self.work_abandoned.clone(),
        );
        registry.register("device", "Where aggregation runs", self.device.clone());
        registry.register(
            "resident_indexes",
            "Indexes built and held",
            self.resident_indexes.clone(),
        );
        registry.register(
            "resident_records",
            "Records held by the resident indexes",
            self.resident_records.clone(),
        );
        registry.register_with_unit(
            "resident_host",
            "Host memory of the resident indexes (ciphertexts, chunk ids, metadata references)",
            Unit::Bytes,
            self.resident_host_bytes.clone(),
        );
        self
    }

    /// Counts one answered request. `route` is a route's pattern (or `unmatched`), never a
    /// client's path.
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            method: method_label(method),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// The counter of work stopped because its client had gone (a handle on the same value).
    pub fn abandoned_counter(&self) -> Counter {
        self.work_abandoned.clone()
    }

    /// Counts records multiplied by a query.
    pub fn aggregated(&self, records: usize) {
        self.records_aggregated.inc_by(records as u64);
    }

    /// The OpenMetrics text, ending in `# EOF`, with the device and the resident indexes'
    /// `(indexes, records, host bytes)` as of this scrape.
    pub fn render(
        &self,
        device: &str,
        (indexes, records, host_bytes): (usize, usize, usize),
    ) -> Result<String, std::fmt::Error> {
        // The device is fixed for the server's life: its one series is made once and stays.
        self.device
            .get_or_create(&DeviceLabels {
                device: device.to_owned(),
            })
            .set(1);
        self.resident_indexes.set(indexes as u64);
        self.resident_records.set(records as u64);
        self.resident_host_bytes.set(host_bytes as u64);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_line(text: &str, line: &str) {
        assert!(text.lines().any(|l| l == line), "{line} not in {text}");
    }

    #[test]
    fn renders_counts_buckets_the_device_and_the_residents() {
        let metrics = Metrics::default();
        for millis in [3, 30] {
            metrics.observe(
                "POST",
                "/v1/compute_hamming/{org}",
                200,
                Duration::from_millis(millis),
            );
        }
        metrics.aggregated(8192);
        let text = metrics.render("cpu", (1, 8192, 4096)).unwrap();
        let labels = "method=\"POST\",route=\"/v1/compute_hamming/{org}\",status=\"200\"";
        for line in [
            format!("paillier_gpu_requests_total{{{labels}}} 2"),
            format!("paillier_gpu_request_seconds_bucket{{le=\"0.0025\",{labels}}} 0"),
            format!("paillier_gpu_request_seconds_bucket{{le=\"0.005\",{labels}}} 1"),
            format!("paillier_gpu_request_seconds_bucket{{le=\"0.05\",{labels}}} 2"),
            format!("paillier_gpu_request_seconds_bucket{{le=\"10.0\",{labels}}} 2"),
            format!("paillier_gpu_request_seconds_bucket{{le=\"+Inf\",{labels}}} 2"),
            format!("paillier_gpu_request_seconds_sum{{{labels}}} 0.033"),
            format!("paillier_gpu_request_seconds_count{{{labels}}} 2"),
            "# HELP paillier_gpu_requests Requests answered, by route and status.".into(),
            "# TYPE paillier_gpu_requests counter".into(),
            "# TYPE paillier_gpu_request_seconds histogram".into(),
            "# UNIT paillier_gpu_request_seconds seconds".into(),
            "# TYPE paillier_gpu_records_aggregated counter".into(),
            "paillier_gpu_records_aggregated_total 8192".into(),
            "# TYPE paillier_gpu_device gauge".into(),
            "paillier_gpu_device{device=\"cpu\"} 1".into(),
            "paillier_gpu_open_connections 0".into(),
            "paillier_gpu_connections_shed_total{why=\"evicted\"} 0".into(),
            "paillier_gpu_connections_shed_total{why=\"refused\"} 0".into(),
            "paillier_gpu_resident_indexes 1".into(),
            "paillier_gpu_resident_records 8192".into(),
            "# UNIT paillier_gpu_resident_host_bytes bytes".into(),
            "paillier_gpu_resident_host_bytes 4096".into(),
        ] {
            has_line(&text, &line);
        }
        assert!(text.ends_with("\n# EOF\n"), "{text}");
    }

    #[test]
    fn a_made_up_method_is_other() {
        let metrics = Metrics::default();
        for method in ["FROB", "GET", "FROB2", "get"] {
            metrics.observe(method, "unmatched", 404, Duration::from_millis(1));
        }
        let text = metrics.render("cpu", (0, 0, 0)).unwrap();
        has_line(
            &text,
            "paillier_gpu_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 3",
        );
        has_line(
            &text,
            "paillier_gpu_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        );
        assert!(!text.contains("FROB"), "{text}");
    }

    #[test]
    fn connections_count_and_never_go_below_zero() {
        let metrics = Metrics::default();
        let connections = &metrics.connections;
        connections.closed();
        connections.opened();
        connections.opened();
        connections.closed();
        connections.evicted();
        connections.refused();
        connections.refused();
        let expected = ConnectionSnapshot {
            open: 1,
            evicted: 1,
            refused: 2,
        };
        assert_eq!(connections.snapshot(), expected);
        let text = metrics.render("gpu", (0, 0, 0)).unwrap();
        has_line(&text, "paillier_gpu_open_connections 1");
        has_line(
            &text,
            "paillier_gpu_connections_shed_total{why=\"refused\"} 2",
        );
    }
}
