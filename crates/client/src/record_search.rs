//! The owner's search over its records: the query encrypted with a fresh nonce, the answer
//! verified record by record and, where the owner's digest covers the search, as a whole
//! against it; the top k's documents fetched in id order (not in rank order, which would show
//! the service the ranking) and opened under their records.

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{
    covered_tally, partitions_filter, Document, Expectation, KeyDerivation, RecordCodec,
    RecordNonce, RecordOptions, SearchAsked,
};
use paillier_gpu::Error as LibraryError;
use serde_json::Value;

use super::partitions::Probe;
use super::Client;
use crate::error::{Error, Result};

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
    /// How many partitions drawn at random a partitioned search probes besides the nearest
    /// (searched and checked like them), so that its tokens do not single out its region.
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

/// What one search cost: what the service answered and this owner decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchCost {
    /// The records answered (each decoded here).
    pub records: usize,
    /// The answer's ciphertext bytes.
    pub answer_bytes: usize,
    /// The partitions probed (none: every record the search selects).
    pub partitions: Option<usize>,
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
        let filtered = options.filter.is_some() || options.range.is_some();
        SearchAsked {
            verified: options.records.verifiable,
            probe: options.probe,
            decoys: options.decoys,
            filtered,
            expect_count: options.expect_count.is_some(),
        }
        .check()?;
        let codec = std::sync::Arc::new(RecordCodec::new(context, kb_id, options.records));
        let digest = match options.records.verifiable {
            true => Some(self.current_digest(&codec)?.digest).filter(|d| d.version() > 0),
            false => None,
        };
        let probe = match options.expect_count {
            // A count is of the whole knowledge base.
            Some(_) if options.probe == Probe::Recommended => Probe::All,
            _ => options.probe,
        };
        let probed = codec.probed_partitions(
            digest.as_ref(),
            vector,
            probe,
            filtered || options.expect_count.is_some(),
            options.decoys,
        )?;
        let owner_filter = match &probed {
            Some(partitions) => Some(partitions_filter(partitions)),
            None => options.filter.clone(),
        };
        let filter = owner_filter.as_ref().map(|f| codec.filter(f)).transpose()?;
        let query = codec.encrypt_query(vector)?;
        let answer = self.compute_hamming(
            kb_id,
            context.id(),
            &context.public_context(),
            query.encrypted(),
            filter.as_ref(),
            options.range,
        )?;
        let expectation = Expectation {
            range: options.range,
            count: options.expect_count,
            digest: digest
                .as_ref()
                .and_then(|d| covered_tally(d, owner_filter.as_ref(), options.range)),
        };
        let top = codec
            .rank(
                &query,
                &answer.responses,
                &answer.chunk_ids,
                &expectation,
                options.top_k,
            )
            .map_err(|e| match (options.records.verifiable, &digest) {
                (true, None) => earlier_keys_hint(&codec, &query, &answer, e),
                (true, Some(_)) => super::digest::with_rebuild_hint(e).into(),
                (false, _) => unverified_hint(context, e).into(),
            })?;
        let documents = match codec.opens_documents(options.with_content) {
            true => {
                let mut records: Vec<_> = top.iter().map(|hit| (hit.chunk_id, hit.nonce)).collect();
                // Fetched in id order: the service learns which records are the top k, not
                // their ranking.
                records.sort_unstable_by_key(|&(id, _)| id);
                let opened = self.open_documents(&codec, &records, owner_filter.as_ref())?;
                records.into_iter().map(|(id, _)| id).zip(opened).collect()
            }
            false => std::collections::HashMap::new(),
        };
        let mut documents = documents;
        let hits = top
            .into_iter()
            .map(|hit| Hit {
                chunk_id: hit.chunk_id,
                distance: hit.distance,
                nonce: hit.nonce,
                document: documents
                    .remove(&hit.chunk_id)
                    .filter(|_| options.with_content),
            })
            .collect();
        let shape = context.ciphertext_shape();
        let cost = SearchCost {
            records: answer.chunk_ids.len(),
            answer_bytes: answer.chunk_ids.len() * shape.pieces * shape.piece_bytes,
            partitions: probed.map(|p| p.len()),
        };
        Ok((hits, cost))
    }
}

/// A verified search refused over a knowledge base with no digest may be over records written
/// under the earlier key derivation: if they verify under it, say which command seals them
/// again (a service cannot forge that: it would need the old keys).
fn earlier_keys_hint(
    codec: &RecordCodec,
    query: &paillier_gpu::verifiable::VerifiableQuery,
    answer: &crate::HammingAnswer,
    error: LibraryError,
) -> Error {
    if !matches!(error, LibraryError::AnswerRejected(_)) {
        return error.into();
    }
    let Ok(layout) = codec.layout() else {
        return error.into();
    };
    let legacy = RecordCodec::new(codec.context(), codec.kb(), codec.options())
        .with_derivation(KeyDerivation::Legacy)
        .with_layout(layout.kind());
    let expectation = Expectation::default();
    match legacy.rank(query, &answer.responses, &answer.chunk_ids, &expectation, 0) {
        Ok(_) => Error::InvalidSetting(format!(
            "the records of knowledge base {} were written under the earlier key derivation \
             (keys not bound to their context and knowledge base): seal them again with \
             `paillier-gpu remote digest reseal`, then search",
            codec.kb()
        )),
        Err(_) => error.into(),
    }
}

/// A response refused by the plain decoder may be a verifiable record's, searched without
/// verification: say so.
fn unverified_hint(context: &ExecutionContext, error: LibraryError) -> LibraryError {
    match error {
        LibraryError::InvalidResponse { index, reason } if context.preferred_layout().is_ok() => {
            LibraryError::InvalidResponse {
                index,
                reason: format!(
                    "{reason} (records uploaded as verifiable are searched with verification: \
                     --verify)"
                ),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RecordOptions;
    use paillier_gpu::ContextOptions;

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
