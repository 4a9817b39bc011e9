//! Records the owner can check and metadata the service cannot read
//! ([`paillier_gpu::verifiable`]): upload and update them, search them with every answer
//! verified, and find them by metadata, over the same API as any other chunk.

use paillier_gpu::context::ExecutionContext;
pub use paillier_gpu::verifiable::RecordOptions;
use paillier_gpu::verifiable::{Document, Expectation, RecordCodec};
use paillier_gpu::Error as LibraryError;
use serde_json::Value;

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
}

/// One nearest record.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Its chunk id.
    pub chunk_id: i64,
    /// Its Hamming distance to the query.
    pub distance: u32,
    /// Its document as the owner wrote it, when asked for.
    pub document: Option<Document>,
}

impl Client {
    /// Encrypts `vectors` and uploads them into `kb_id` with their `documents` (one per vector,
    /// or none) as `options` says. Returns the chunk ids, in order. A request whose answer did
    /// not arrive is never sent again (it may have been stored): the error says so.
    pub fn upload_records<V: AsRef<[u8]> + Sync>(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vectors: &[V],
        documents: &[Document],
        options: RecordOptions,
    ) -> Result<Vec<i64>> {
        check_documents(documents.len(), vectors.len())?;
        let codec = RecordCodec::new(context, kb_id, options);
        let records = codec.encrypt(vectors)?;
        self.send_records(&codec, &records.batch, |record| {
            Ok(codec.record(&records, record, documents.get(record))?)
        })
    }

    /// Replaces the records `chunk_ids` of `kb_id` whole (index, content, metadata, name) with
    /// `vectors` and `documents`: verifiable records get a new nonce, and their documents are
    /// sealed anew.
    pub fn update_records<V: AsRef<[u8]> + Sync>(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        chunk_ids: &[i64],
        vectors: &[V],
        documents: &[Document],
        options: RecordOptions,
    ) -> Result<()> {
        check_documents(documents.len(), vectors.len())?;
        if chunk_ids.len() != vectors.len() {
            return Err(LibraryError::ShapeMismatch(format!(
                "{} chunk ids for {} vectors",
                chunk_ids.len(),
                vectors.len()
            ))
            .into());
        }
        let codec = RecordCodec::new(context, kb_id, options);
        let records = codec.encrypt(vectors)?;
        let mut updates = Vec::with_capacity(chunk_ids.len());
        for (record, &chunk_id) in chunk_ids.iter().enumerate() {
            let fields = codec.record(&records, record, documents.get(record))?;
            updates.push(serde_json::json!({
                "chunk_id": chunk_id,
                "chunk_content": fields.content,
                "index": codec.index(&records.batch, record)?,
                "meta_data": fields.meta_data,
                "name": fields.name,
            }));
        }
        self.update_chunks(kb_id, context.id(), updates)
    }

    /// The owner's search: the `top_k` nearest records to `vector`, nearest first (ties by
    /// chunk id). With `options.records.verifiable`, the whole answer is verified and the top
    /// k's contents opened under their records; any failure is
    /// [`paillier_gpu::Error::AnswerRejected`] and nothing of the answer is returned.
    pub fn search_records(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vector: &[u8],
        options: &SearchOptions,
    ) -> Result<Vec<Hit>> {
        if options.expect_count.is_some() && (options.filter.is_some() || options.range.is_some()) {
            return Err(Error::InvalidSetting(
                "an expected count only holds for a search with no filter and no range".into(),
            ));
        }
        if options.expect_count.is_some() && !options.records.verifiable {
            return Err(Error::InvalidSetting(
                "an expected count is checked only on a verified search (verifiable records)"
                    .into(),
            ));
        }
        let codec = RecordCodec::new(context, kb_id, options.records);
        let filter = options
            .filter
            .as_ref()
            .map(|f| codec.filter(f))
            .transpose()?;
        let query = context.encrypt_batch(&[vector])?;
        let answer = self.compute_hamming(
            kb_id,
            context.id(),
            &context.public_context(),
            &query,
            filter.as_ref(),
            options.range,
        )?;
        let expectation = Expectation {
            range: options.range,
            count: options.expect_count,
        };
        let top = codec
            .rank(
                vector,
                &answer.responses,
                &answer.chunk_ids,
                &expectation,
                options.top_k,
            )
            .map_err(|e| match options.records.verifiable {
                true => e,
                false => unverified_hint(context, e),
            })?;
        let mut documents = match codec.opens_documents(options.with_content) {
            true => {
                let records: Vec<_> = top.iter().map(|hit| (hit.chunk_id, hit.nonce)).collect();
                self.open_documents(&codec, &records, options.filter.as_ref())?
            }
            false => Vec::new(),
        }
        .into_iter();
        Ok(top
            .into_iter()
            .map(|hit| Hit {
                chunk_id: hit.chunk_id,
                distance: hit.distance,
                document: documents.next().filter(|_| options.with_content),
            })
            .collect())
    }
}

/// A response refused by the plain decoder may be a verifiable record's, searched without
/// verification: say so.
fn unverified_hint(context: &ExecutionContext, error: LibraryError) -> LibraryError {
    match error {
        LibraryError::InvalidResponse { index, reason } if context.tagged_layout().is_ok() => {
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

fn check_documents(documents: usize, vectors: usize) -> Result<()> {
    if documents != 0 && documents != vectors {
        return Err(LibraryError::ShapeMismatch(format!(
            "{documents} documents for {vectors} vectors"
        ))
        .into());
    }
    Ok(())
}

pub(crate) fn chunk_id_of(chunk: &Value) -> Option<i64> {
    chunk.get("chunk_id").and_then(Value::as_i64)
}

/// The service's chunks by their ids (the first where an id comes twice), so that looking up
/// every asked id costs one pass, not one pass each.
pub(crate) fn by_chunk_id(chunks: &[Value]) -> std::collections::HashMap<i64, &Value> {
    let mut by_id = std::collections::HashMap::with_capacity(chunks.len());
    for chunk in chunks {
        if let Some(id) = chunk_id_of(chunk) {
            by_id.entry(id).or_insert(chunk);
        }
    }
    by_id
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let search = |verifiable: bool, range: Option<(i64, i64)>| {
            let options = SearchOptions {
                range,
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
        for (verifiable, range, why) in [
            (false, None, "only on a verified search"),
            (true, Some((1, 2)), "no filter and no range"),
        ] {
            match search(verifiable, range) {
                Err(Error::InvalidSetting(message)) => assert!(message.contains(why), "{message}"),
                other => panic!("expected the setting refused, got {other:?}"),
            }
        }
    }
}
