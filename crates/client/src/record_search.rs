//! The owner's search over its records: the library's [`RecordSearch`] driver (the query
//! encrypted with a fresh nonce, the answer verified record by record and, where the owner's
//! digest covers the search, as a whole against it; the top k's documents fetched in id order
//! and opened under their records), carried by this client.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
pub use paillier_gpu::owner::SearchTimes;
use paillier_gpu::owner::{RecordSearch, SearchAsk};
use paillier_gpu::verifiable::{Document, RecordCodec, RecordNonce, RecordOptions};
use serde_json::Value;

use super::partitions::Probe;
use super::Client;
use crate::error::Result;

/// A search's options.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchOptions {
    /// The manual's metadata filter (tokenised first for private metadata).
    pub filter: Option<Value>,
    /// First and last chunk id.
    pub range: Option<(i64, i64)>,
    /// How many nearest records to return.
    pub top_k: usize,
    /// How the knowledge base's records were written; `verifiable` checks every answer.
    pub records: RecordOptions,
    /// How many records the knowledge base holds (only without filter and range): a record
    /// missing, or one more, fails the search.
    pub expect_count: Option<usize>,
    /// Return each hit's document (a verified search opens them anyway).
    pub with_content: bool,
    /// How many partitions of a partitioned knowledge base a search with no filter and no
    /// range probes.
    pub probe: Probe,
    /// How many decoys hide each partition a partitioned search wants: its whole group of
    /// `decoys + 1` rounded up to a power of two, fixed under the owner's key and searched and
    /// checked like it, so that its tokens do not single out its region; at least the decoys
    /// sealed with the partitions.
    pub decoys: usize,
}

/// One nearest record.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Its chunk id (the service's name for it; a verifiable record's nonce is the owner's).
    pub chunk_id: i64,
    /// Its Hamming distance to the query.
    pub distance: u32,
    /// Its nonce, for a verifiable record: what the owner identifies it by (the service
    /// chooses ids; [`Uploaded::nonce`](crate::Uploaded::nonce) is what this record was uploaded under).
    pub nonce: Option<RecordNonce>,
    /// Its document as the owner wrote it, when asked for.
    pub document: Option<Document>,
}

/// What one search cost: what the service answered and this owner decoded, and where the
/// time went.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SearchCost {
    /// The records answered (each decoded here).
    pub records: usize,
    /// The answer's ciphertext bytes.
    pub answer_bytes: usize,
    /// The partitions probed (none: every record the search selects).
    pub partitions: Option<usize>,
    /// Where the time went (see [`SearchTimes`]).
    pub times: SearchTimes,
}

impl Client {
    /// The owner's search: the `top_k` nearest records to `vector`, nearest first (ties by
    /// chunk id). With `options.records.verifiable`, the whole answer is verified (against the
    /// owner's digest when the search covers whole counted values or the whole knowledge base)
    /// and the top k's contents opened under their records; any failure is
    /// [`paillier_gpu::Error::AnswerRejected`] and nothing of the answer is returned.
    pub fn search_records(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vector: &[u8],
        options: &SearchOptions,
    ) -> Result<Vec<Hit>> {
        Ok(self
            .search_records_measured(kb_id, context, vector, options)?
            .0)
    }

    /// [`search_records`](Self::search_records), with what the search cost: the records the
    /// service answered (and this owner decoded), the answer's bytes, the partitions probed.
    /// A partitioned knowledge base's search with no filter and no range probes the
    /// `options.probe` partitions nearest the query (the owner's recommendation by default):
    /// the service aggregates their records only, and the answer is checked complete for each
    /// against the owner's digest.
    pub fn search_records_measured(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vector: &[u8],
        options: &SearchOptions,
    ) -> Result<(Vec<Hit>, SearchCost)> {
        let codec = Arc::new(RecordCodec::new(context, kb_id, options.records));
        let ask = SearchAsk {
            filter: options.filter.clone(),
            range: options.range,
            top_k: options.top_k,
            expect_count: options.expect_count,
            with_content: options.with_content,
            probe: options.probe,
            decoys: options.decoys,
        };
        // The options are checked first; then a verified search needs the owner's state.
        let search = match RecordSearch::new(codec, self.state.clone(), vector, ask) {
            Err(paillier_gpu::Error::OwnerState(_)) => return Err(crate::Error::NoOwnerState),
            other => other?,
        };
        let outcome = self.drive(search)?;
        let hits = outcome
            .hits
            .into_iter()
            .map(|hit| Hit {
                chunk_id: hit.chunk_id,
                distance: hit.distance,
                nonce: hit.nonce,
                document: hit.document,
            })
            .collect();
        let cost = SearchCost {
            records: outcome.records,
            answer_bytes: outcome.answer_bytes,
            partitions: outcome.partitions,
            times: outcome.times,
        };
        Ok((hits, cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RecordOptions;
    use crate::Error;
    use paillier_gpu::ContextOptions;
    use paillier_gpu::Error as LibraryError;

    /// A count is refused where it would not be checked, before anything is sent (the service
    /// here does not exist).
    #[test]
    fn a_count_is_refused_where_it_is_not_checked() {
        let options = ContextOptions {
            key_len: 256,
            embed_len: 8,
            allow_insecure: true,
            ..Default::default()
        };
        let context = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
        let client = Client::new("http://127.0.0.1:9", "org", "key").unwrap();
        let search = |verifiable: bool, range: Option<(i64, i64)>, probe: Probe| {
            let options = SearchOptions {
                range,
                probe,
                top_k: 1,
                records: RecordOptions {
                    verifiable,
                    private_meta: false,
                },
                expect_count: Some(3),
                ..Default::default()
            };
            client.search_records("kb", &context, &[0; 8], &options)
        };
        // Refused before anything is sent (nothing listens at that address).
        for (verifiable, range, probe, why) in [
            (false, None, Probe::All, "only on a verified search"),
            (true, Some((1, 2)), Probe::All, "no filter and no range"),
            (true, None, Probe::Partitions(2), "probe every record"),
        ] {
            match search(verifiable, range, probe) {
                Err(Error::Library(LibraryError::InvalidParameter(message))) => {
                    assert!(message.contains(why), "{message}")
                }
                other => panic!("expected the setting refused, got {other:?}"),
            }
        }
    }
}
