//! What each record sends: its encrypted index (one base64 string a piece), its content sealed
//! to the record or encrypted as the SDK does, its metadata as tokens or as written, and its
//! name (the SDK's default when it has none) unless the metadata is private.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::paillier::CiphertextBatch;
use crate::verifiable::metadata::tokens::tokenise_partition;
use crate::verifiable::records::codec::RecordCodec;
use crate::verifiable::{seal_document, tokenise_metadata, Document, RecordNonce};

/// The most metadata one record may carry, as the JSON text the service stores (its tokens,
/// for private metadata): what `paillier-gpu serve` keeps of a chunk's `meta_data`. Both
/// clients refuse a record past it before sending anything.
pub const MAX_META_BYTES: usize = 64 << 10;

/// What one record sends besides its index, as the service stores it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SentRecord {
    /// The chunk content: the document sealed, or its content encrypted as the SDK does.
    pub content: String,
    /// The metadata: tokens for private metadata, as written otherwise.
    pub meta_data: Map<String, Value>,
    /// The name (none for private metadata: it travels only sealed).
    pub name: Option<String>,
}

/// Vectors encrypted as a codec's records: one record each, with its nonce when verifiable.
#[derive(Debug)]
pub struct EncryptedRecords {
    /// The records, in the vectors' order.
    pub batch: CiphertextBatch,
    /// Each record's fresh nonce (what its sealed document is bound to), for verifiable records.
    pub nonces: Option<Vec<RecordNonce>>,
}

impl RecordCodec {
    /// Encrypts `vectors` as this codec's records: verifiable ones each with a fresh nonce (an
    /// update encrypts again, and so gets new ones).
    pub fn encrypt<V: AsRef<[u8]> + Sync>(&self, vectors: &[V]) -> Result<EncryptedRecords> {
        let context = self.context();
        Ok(match self.options().verifiable {
            true => {
                let (batch, nonces) = context.encrypt_records_under(
                    self.keys()?,
                    &self.layout()?,
                    self.kb(),
                    vectors,
                )?;
                EncryptedRecords {
                    batch,
                    nonces: Some(nonces),
                }
            }
            false => EncryptedRecords {
                batch: context.encrypt_batch(vectors)?,
                nonces: None,
            },
        })
    }

    /// Record `record` of `batch` as a chunk's `index`: one base64 string a piece, each the
    /// ciphertext's little-endian bytes padded to the context's width.
    pub fn index(&self, batch: &CiphertextBatch, record: usize) -> Result<Vec<String>> {
        let width = self.context().ciphertext_shape().piece_bytes;
        let mut bytes = Vec::new();
        batch.write_record_le_bytes(record, width, &mut bytes)?;
        Ok(bytes
            .chunks(width)
            .map(|piece| BASE64.encode(piece))
            .collect())
    }

    /// What record `record` of `records` sends with `document` (none: empty content and
    /// metadata): [`fields`](Self::fields) under the record's own nonce.
    pub fn record(
        &self,
        records: &EncryptedRecords,
        record: usize,
        document: Option<&Document>,
    ) -> Result<SentRecord> {
        let nonce = match &records.nonces {
            Some(nonces) => Some(*nonces.get(record).ok_or_else(|| {
                Error::ShapeMismatch(format!("record {record} of {} encrypted", nonces.len()))
            })?),
            None => None,
        };
        self.fields(record, nonce, document)
    }

    /// What the `record`-th record of an upload or update sends with `document` (none: empty
    /// content and metadata), sealed to `nonce` when verifiable. A record without a name gets
    /// the SDK's `default_name_chunk_{record}`, unless its metadata is private: then the name
    /// travels only in the sealed copy.
    pub fn fields(
        &self,
        record: usize,
        nonce: Option<RecordNonce>,
        document: Option<&Document>,
    ) -> Result<SentRecord> {
        let mut document = document.cloned().unwrap_or_default();
        if document.name.is_none() && !self.options().private_meta {
            document.name = Some(format!("default_name_chunk_{record}"));
        }
        let meta_data = self.sent_metadata(&document.meta_data)?;
        Ok(SentRecord {
            content: self.content(nonce, &document)?,
            meta_data,
            name: document.name.filter(|_| !self.options().private_meta),
        })
    }

    /// What a record found by metadata sends once `patch` is merged into its metadata: its
    /// document sealed again under `nonce` (a verifiable record's new one: the owner encrypts
    /// it again, so that the earlier document no longer opens) and the metadata the service
    /// must get. The name is sent as it was (a patch leaves it).
    pub fn patched(
        &self,
        document: &Document,
        patch: &Map<String, Value>,
        nonce: Option<RecordNonce>,
    ) -> Result<SentRecord> {
        let mut document = document.clone();
        for (field, value) in patch {
            document.meta_data.insert(field.clone(), value.clone());
        }
        let meta_data = self.sent_metadata(&document.meta_data)?;
        Ok(SentRecord {
            content: self.content(nonce, &document)?,
            meta_data,
            name: document.name.filter(|_| !self.options().private_meta),
        })
    }

    /// The chunk content: sealed (with the name and metadata) for verifiable or private
    /// records, the SDK's content encryption otherwise.
    fn content(&self, nonce: Option<RecordNonce>, document: &Document) -> Result<String> {
        match self.options().sealed() {
            true => seal_document(self.keys()?, self.kb(), nonce, document),
            false => self.context().encrypt_content(document.content.as_bytes()),
        }
    }

    /// The metadata the service stores: tokens for private metadata, as written otherwise
    /// but for a partition, which is always a token; refused past [`MAX_META_BYTES`] as JSON
    /// text, before anything is sent (a service would refuse the whole write, and a rebuild
    /// resumed would meet the same record again).
    fn sent_metadata(&self, meta_data: &Map<String, Value>) -> Result<Map<String, Value>> {
        let sent = match self.options().private_meta {
            true => tokenise_metadata(self.keys()?, meta_data)?,
            false => {
                let mut sent = meta_data.clone();
                tokenise_partition(self.keys()?, &mut sent)?;
                sent
            }
        };
        let bytes = serde_json::to_vec(&sent)
            .map_err(|e| Error::InvalidParameter(format!("metadata does not serialise: {e}")))?
            .len();
        if bytes > MAX_META_BYTES {
            return Err(Error::InvalidParameter(format!(
                "a record's metadata would be {bytes} bytes as the service stores it{}, past \
                 the {MAX_META_BYTES} a service keeps: shorten or remove fields",
                match self.options().private_meta {
                    true => " (as tokens)",
                    false => "",
                }
            )));
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifiable::{open_document, RecordOptions};
    use crate::{ContextOptions, ExecutionContext};

    fn context() -> ExecutionContext {
        let options = ContextOptions {
            key_len: 256,
            embed_len: 8,
            allow_insecure: true,
            ..Default::default()
        };
        ExecutionContext::create_with_passphrase(&options, "pw").unwrap()
    }

    fn document() -> Document {
        let meta = serde_json::json!({"tag1": "a", "owner": "me"});
        Document {
            content: "text".into(),
            meta_data: meta.as_object().cloned().unwrap_or_default(),
            name: None,
        }
    }

    #[test]
    fn each_mode_sends_what_its_rules_say() {
        let ctx = context();
        let codec = |verifiable, private_meta| {
            let options = RecordOptions {
                verifiable,
                private_meta,
            };
            RecordCodec::new(&ctx, "kb", options)
        };
        let plain = codec(false, false)
            .fields(3, None, Some(&document()))
            .unwrap();
        assert_eq!(plain.name.as_deref(), Some("default_name_chunk_3"));
        assert_eq!(plain.meta_data, document().meta_data);
        assert_eq!(
            ctx.decrypt_content(&plain.content).unwrap().as_slice(),
            b"text"
        );

        let verifiable = codec(true, false);
        let sent = verifiable.fields(3, None, Some(&document())).unwrap();
        assert_eq!(sent.name.as_deref(), Some("default_name_chunk_3"));
        assert_eq!(sent.meta_data, document().meta_data);
        let keys = verifiable.keys().unwrap();
        let opened = open_document(keys, "kb", None, &sent.content).unwrap();
        assert_eq!(opened.name.as_deref(), Some("default_name_chunk_3"));

        let private = codec(false, true);
        let sent = private.fields(3, None, Some(&document())).unwrap();
        assert_eq!(sent.name, None);
        assert!(sent.meta_data.get("owner").is_none());
        assert_ne!(sent.meta_data["tag1"], "a");
        let opened = open_document(private.keys().unwrap(), "kb", None, &sent.content).unwrap();
        assert_eq!(opened, document()); // no default name in the sealed copy either

        let patch = serde_json::json!({"tag2": "b"});
        let patch = patch.as_object().cloned().unwrap_or_default();
        let sent = private.patched(&document(), &patch, None).unwrap();
        assert!(sent.meta_data.contains_key("tag2") && sent.name.is_none());
    }

    #[test]
    fn metadata_past_what_a_service_keeps_is_refused_before_sending() {
        let ctx = context();
        let codec = RecordCodec::new(
            &ctx,
            "kb",
            RecordOptions {
                verifiable: true,
                private_meta: false,
            },
        );
        // {"note":"xx…x"}: 11 bytes around the value.
        let at_most = |extra: usize| {
            let meta = serde_json::json!({ "note": "x".repeat(MAX_META_BYTES - 11 + extra) });
            Document {
                content: "text".into(),
                meta_data: meta.as_object().cloned().unwrap_or_default(),
                name: None,
            }
        };
        let fits = codec.fields(1, None, Some(&at_most(0))).unwrap();
        assert_eq!(
            serde_json::to_vec(&fits.meta_data).unwrap().len(),
            MAX_META_BYTES
        );
        let message = codec
            .fields(1, None, Some(&at_most(1)))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(&format!("{} bytes", MAX_META_BYTES + 1)),
            "{message}"
        );
        // A patch that grows a record past it (a partition rebuild's token, say) is refused too.
        let patch = serde_json::json!({"partition": "3"});
        let patch = patch.as_object().cloned().unwrap_or_default();
        assert!(codec.patched(&at_most(0), &patch, None).is_err());
    }
}
