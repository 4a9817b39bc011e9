//! Where a search's time went: what `--stats` and Python's `stats=True` print beside its cost.

use std::time::Instant;

/// Where a search's time went, in milliseconds; a part the search did not have is none.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SearchTimes {
    /// The owner's digest read and opened (its requests included).
    pub digest_ms: Option<f64>,
    /// The service's own time on the answer, as its `Server-Timing` header says (none where
    /// it says nothing).
    pub service_ms: Option<f64>,
    /// The answer's request and transfer: from its request to its last byte, less the
    /// service's time where it gave one.
    pub transfer_ms: Option<f64>,
    /// The answer opened: pages of sealed vectors opened and their distances taken; for
    /// Paillier answers, decrypting, checking and ranking together.
    pub opening_ms: Option<f64>,
    /// The opened answer checked whole (ids, nonces, the digest's tally) and its top k
    /// selected (sealed vectors).
    pub ranking_ms: Option<f64>,
    /// The top k's documents fetched and opened.
    pub documents_ms: Option<f64>,
}

impl SearchTimes {
    /// The parts measured, by name (`digest`, `service`, `transfer`, `opening`, `ranking`,
    /// `documents`), in that order.
    pub fn parts(&self) -> Vec<(&'static str, f64)> {
        [
            ("digest", self.digest_ms),
            ("service", self.service_ms),
            ("transfer", self.transfer_ms),
            ("opening", self.opening_ms),
            ("ranking", self.ranking_ms),
            ("documents", self.documents_ms),
        ]
        .into_iter()
        .filter_map(|(name, ms)| ms.map(|ms| (name, ms)))
        .collect()
    }

    /// Notes the answer's arrival: its request went at `sent`, and the service said it took
    /// `server_us`.
    pub(super) fn answered(&mut self, sent: Instant, server_us: Option<u64>) {
        let round = ms_since(sent);
        let service = server_us.map(|us| us as f64 / 1000.0);
        self.service_ms = service;
        self.transfer_ms = Some((round - service.unwrap_or(0.0)).max(0.0));
    }
}

/// Milliseconds since `start`.
pub(super) fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}
