//! `GET /metrics`: Prometheus text of requests and their latency by method, route and status,
//! connections open, evicted and refused, records aggregated, and the device aggregation runs
//! on. Every label takes one of a fixed set of values, so that no client grows the text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// The methods counted by name; any other is `other` (a client may send any token as a method).
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, String, u16), Series>>,
    records_aggregated: AtomicU64,
    /// The main listener's connections (shared with its accept loop).
    pub connections: Arc<ConnectionCounters>,
}

/// Connections open, evicted for a newcomer, and turned away at the cap.
#[derive(Default)]
pub struct ConnectionCounters {
    open: AtomicU64,
    evicted: AtomicU64,
    refused: AtomicU64,
}

/// The connection counters at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionSnapshot {
    pub open: u64,
    pub evicted: u64,
    pub refused: u64,
}

impl ConnectionCounters {
    pub fn opened(&self) {
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn closed(&self) {
        // Never below zero, whatever the order of the updates.
        let _ = self
            .open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn evicted(&self) {
        self.evicted.fetch_add(1, Ordering::Relaxed);
    }

    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ConnectionSnapshot {
        ConnectionSnapshot {
            open: self.open.load(Ordering::Relaxed),
            evicted: self.evicted.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
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

impl Metrics {
    /// Counts one answered request. `route` is a route's pattern (or `unmatched`), never a
    /// client's path.
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        let seconds = took.as_secs_f64();
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let series = requests
            .entry((method_label(method), route.to_owned(), status))
            .or_default();
        series.count += 1;
        series.seconds += seconds;
        for (bound, bucket) in BUCKETS.iter().zip(series.buckets.iter_mut()) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
    }

    /// Counts records multiplied by a query.
    pub fn aggregated(&self, records: usize) {
        self.records_aggregated
            .fetch_add(records as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, device: &str) -> String {
        let mut out = String::new();
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let labelled: Vec<(String, &Series)> = requests
            .iter()
            .map(|((method, route, status), series)| {
                let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
                (labels, series)
            })
            .collect();
        let name = REQUESTS.header(&mut out);
        for (labels, series) in &labelled {
            let _ = writeln!(out, "{name}{{{labels}}} {}", series.count);
        }
        let name = SECONDS.header(&mut out);
        for (labels, series) in &labelled {
            for (bound, bucket) in BUCKETS.iter().zip(series.buckets) {
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {bucket}");
            }
            let count = series.count;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", series.seconds);
            let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
        }
        let connections = self.connections.snapshot();
        let name = OPEN.header(&mut out);
        let _ = writeln!(out, "{name} {}", connections.open);
        let name = CLOSED_EARLY.header(&mut out);
        let _ = writeln!(out, "{name}{{why=\"evicted\"}} {}", connections.evicted);
        let _ = writeln!(out, "{name}{{why=\"refused\"}} {}", connections.refused);
        let name = AGGREGATED.header(&mut out);
        let aggregated = self.records_aggregated.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name} {aggregated}");
        let name = DEVICE.header(&mut out);
        let _ = writeln!(out, "{name}{{device=\"{device}\"}} 1");
        out
    }
}

/// A metric family: its name, type and help text.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const REQUESTS: Family = Family {
    name: "paillier_gpu_requests_total",
    kind: "counter",
    help: "Requests answered, by route and status.",
};
const SECONDS: Family = Family {
    name: "paillier_gpu_request_seconds",
    kind: "histogram",
    help: "Time to answer, by route and status.",
};
const OPEN: Family = Family {
    name: "paillier_gpu_open_connections",
    kind: "gauge",
    help: "Connections open on the main listener, handshaking ones included.",
};
const CLOSED_EARLY: Family = Family {
    name: "paillier_gpu_connections_shed_total",
    kind: "counter",
    help: "Connections closed at the cap: evicted (idle the longest, for a newcomer) or refused \
           (every connection busy).",
};
const AGGREGATED: Family = Family {
    name: "paillier_gpu_records_aggregated_total",
    kind: "counter",
    help: "Records multiplied by a query.",
};
const DEVICE: Family = Family {
    name: "paillier_gpu_device",
    kind: "gauge",
    help: "Where aggregation runs.",
};

impl Family {
    /// Writes the family's `# HELP` and `# TYPE` lines; returns its name for the samples.
    fn header(&self, out: &mut String) -> &'static str {
        let Family { name, kind, help } = self;
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_buckets_and_the_device() {
        let metrics = Metrics::default();
        metrics.observe(
            "POST",
            "/v1/compute_hamming/{org}",
            200,
            Duration::from_millis(3),
        );
        metrics.observe(
            "POST",
            "/v1/compute_hamming/{org}",
            200,
            Duration::from_millis(30),
        );
        metrics.aggregated(8192);
        let text = metrics.render("cpu");
        assert!(text.contains(
            "paillier_gpu_requests_total{method=\"POST\",route=\"/v1/compute_hamming/{org}\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.05\"} 2"), "{text}");
        assert!(text.contains("paillier_gpu_records_aggregated_total 8192"));
        assert!(text.contains("paillier_gpu_device{device=\"cpu\"} 1"));
        assert!(text.contains("paillier_gpu_open_connections 0"), "{text}");
        assert!(text.contains("paillier_gpu_connections_shed_total{why=\"refused\"} 0"));
        let labels = "method=\"POST\",route=\"/v1/compute_hamming/{org}\",status=\"200\"";
        for line in [
            "# HELP paillier_gpu_requests_total Requests answered, by route and status."
                .to_string(),
            "# TYPE paillier_gpu_requests_total counter".to_string(),
            "# TYPE paillier_gpu_request_seconds histogram".to_string(),
            "# TYPE paillier_gpu_records_aggregated_total counter".to_string(),
            "# TYPE paillier_gpu_device gauge".to_string(),
            format!("paillier_gpu_request_seconds_bucket{{{labels},le=\"+Inf\"}} 2"),
            format!("paillier_gpu_request_seconds_sum{{{labels}}} 0.033"),
            format!("paillier_gpu_request_seconds_count{{{labels}}} 2"),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in {text}");
        }
    }

    #[test]
    fn a_made_up_method_is_other() {
        let metrics = Metrics::default();
        for method in ["FROB", "GET", "FROB2", "get"] {
            metrics.observe(method, "unmatched", 404, Duration::from_millis(1));
        }
        let text = metrics.render("cpu");
        assert!(
            text.contains("method=\"other\",route=\"unmatched\",status=\"404\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("method=\"GET\",route=\"unmatched\",status=\"404\"} 1"),
            "{text}"
        );
        assert!(!text.contains("FROB"), "{text}");
    }
}
