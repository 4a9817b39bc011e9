//! Records the owner can check and metadata the service cannot read
//! ([`paillier_gpu::verifiable`]): upload and update them, search them with every answer
//! verified, and find them by metadata, over the same API as any other chunk.

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{
    check_filter, seal_document, tokenise_filter, tokenise_metadata, Document, Expectation,
    RecordKeys, RecordNonce,
};
use paillier_gpu::Error as LibraryError;
use serde_json::Value;

use super::chunks::SentFields;
use super::Client;
use crate::error::{Error, Result};

/// How records are written, and so how they are read: verifiable (nonce and tag in each
/// plaintext, content sealed to the record), with private metadata (tokens), both or neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordOptions {
    /// Records the owner can check ([`paillier_gpu::verifiable`]).
    pub verifiable: bool,
    /// Metadata as tokens; the values and the name only in the sealed copy.
    pub private_meta: bool,
}

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
        let (batch, nonces) = encrypt(kb_id, context, vectors, options)?;
        if !(options.verifiable || options.private_meta) {
            return self.upload(kb_id, context, &batch, documents);
        }
        let keys = context.record_keys()?;
        self.send_records(kb_id, context, &batch, |record| {
            let nonce = nonces.as_ref().map(|n| n[record]);
            fields_of(&keys, kb_id, options, nonce, documents.get(record), record)
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
        let (batch, nonces) = encrypt(kb_id, context, vectors, options)?;
        // The keys only where documents are sealed: a plain update asks the key provider for
        // nothing.
        let keys = match options.verifiable || options.private_meta {
            true => Some(context.record_keys()?),
            false => None,
        };
        let mut updates = Vec::with_capacity(chunk_ids.len());
        for (record, &chunk_id) in chunk_ids.iter().enumerate() {
            let nonce = nonces.as_ref().map(|n| n[record]);
            let fields = match &keys {
                Some(keys) => {
                    fields_of(keys, kb_id, options, nonce, documents.get(record), record)?
                }
                None => {
                    let document = documents.get(record).cloned().unwrap_or_default();
                    SentFields {
                        content: context.encrypt_content(document.content.as_bytes())?,
                        meta_data: document.meta_data,
                        name: document.name,
                    }
                }
            };
            updates.push(serde_json::json!({
                "chunk_id": chunk_id,
                "chunk_content": fields.content,
                "index": self.index_of(context, &batch, record)?,
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
        // The keys only where a filter is tokenised or a document opened: a plain search asks
        // the key provider for nothing.
        let keys = || context.record_keys();
        let filter = match (&options.filter, options.records.private_meta) {
            (Some(filter), true) => Some(tokenise_filter(&keys()?, filter)?),
            (filter, _) => filter.clone(),
        };
        let query = context.encrypt_batch(&[vector])?;
        let answer = self.compute_hamming(
            kb_id,
            context.id(),
            &context.public_context(),
            &query,
            filter.as_ref(),
            options.range,
        )?;
        if !options.records.verifiable {
            let distances = context
                .decode_batch(&answer.responses)
                .map_err(|e| unverified_hint(context, e))?;
            let mut ranked: Vec<(i64, u32)> = answer.chunk_ids.into_iter().zip(distances).collect();
            ranked.sort_by_key(|&(chunk_id, distance)| (distance, chunk_id));
            ranked.truncate(options.top_k);
            let documents = match options.with_content {
                true => {
                    let ids: Vec<i64> = ranked.iter().map(|&(id, _)| id).collect();
                    let found =
                        self.open_unverified(kb_id, context, &keys()?, &ids, options.records)?;
                    if let (Some(filter), true) = (&options.filter, options.records.private_meta) {
                        let opened: Vec<(i64, &Document)> =
                            found.iter().map(|f| (f.chunk_id, &f.document)).collect();
                        check_filter(filter, &opened)?;
                    }
                    found.into_iter().map(|f| Some(f.document)).collect()
                }
                false => vec![None; ranked.len()],
            };
            return Ok(ranked
                .into_iter()
                .zip(documents)
                .map(|((chunk_id, distance), document)| Hit {
                    chunk_id,
                    distance,
                    document,
                })
                .collect());
        }
        let expectation = Expectation {
            range: options.range,
            count: options.expect_count,
        };
        let verified = context.verify_answer(
            kb_id,
            vector,
            &answer.responses,
            &answer.chunk_ids,
            &expectation,
        )?;
        let top = verified.top_k(options.top_k);
        let documents = self.open_sealed(kb_id, &keys()?, &top)?;
        if let Some(filter) = &options.filter {
            let opened: Vec<(i64, &Document)> = top.iter().map(|t| t.0).zip(&documents).collect();
            check_filter(filter, &opened)?;
        }
        Ok(top
            .into_iter()
            .zip(documents)
            .map(|((chunk_id, distance, _), document)| Hit {
                chunk_id,
                distance,
                document: options.with_content.then_some(document),
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

/// The vectors encrypted as `options` says, with their nonces when verifiable.
fn encrypt<V: AsRef<[u8]> + Sync>(
    kb_id: &str,
    context: &ExecutionContext,
    vectors: &[V],
    options: RecordOptions,
) -> Result<(
    paillier_gpu::paillier::CiphertextBatch,
    Option<Vec<RecordNonce>>,
)> {
    Ok(match options.verifiable {
        true => {
            let (batch, nonces) = context.encrypt_records(kb_id, vectors)?;
            (batch, Some(nonces))
        }
        false => (context.encrypt_batch(vectors)?, None),
    })
}

/// What a verifiable or private record sends besides its index: the document sealed to the
/// record, the metadata as written (verifiable) or as tokens (private), and the name unless
/// private.
fn fields_of(
    keys: &RecordKeys,
    kb_id: &str,
    options: RecordOptions,
    nonce: Option<RecordNonce>,
    document: Option<&Document>,
    record: usize,
) -> Result<SentFields> {
    let mut document = document.cloned().unwrap_or_default();
    if document.name.is_none() && !options.private_meta {
        document.name = Some(format!("default_name_chunk_{record}"));
    }
    let meta_data = match options.private_meta {
        true => tokenise_metadata(keys, &document.meta_data)?,
        false => document.meta_data.clone(),
    };
    Ok(SentFields {
        content: seal_document(keys, kb_id, nonce, &document)?,
        meta_data,
        name: document.name.filter(|_| !options.private_meta),
    })
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
