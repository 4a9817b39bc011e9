//! A record's content, metadata and name sealed together with AES-256-GCM under the seal key,
//! with the knowledge base and the record's nonce as associated data: a content served under
//! another record, or altered, does not open.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::context::aes;
use crate::error::{AnswerFailure, AnswerRejection, Error, FailureKind, Result};
use crate::verifiable::records::layout::RecordNonce;
use crate::verifiable::RecordKeys;

const SEAL_DOMAIN: &[u8] = b"paillier-gpu/record-seal/1";

/// What goes with one encrypted vector: its text, its metadata (the manual's `tag1`–`tag5` and
/// `facets`, and anything else of the owner's) and a name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The chunk's text.
    #[serde(default, alias = "chunk_content")]
    pub content: String,
    /// The chunk's metadata.
    #[serde(default)]
    pub meta_data: Map<String, Value>,
    /// The chunk's name.
    #[serde(default)]
    pub name: Option<String>,
}

fn associated_data(kb: &str, nonce: Option<RecordNonce>) -> Vec<u8> {
    let mut aad = SEAL_DOMAIN.to_vec();
    aad.extend_from_slice(&(kb.len() as u64).to_be_bytes());
    aad.extend_from_slice(kb.as_bytes());
    aad.extend_from_slice(&nonce.map_or([0; 16], RecordNonce::to_bytes));
    aad
}

/// Seals `document` for record `nonce` of knowledge base `kb` (no nonce: a record with private
/// metadata that is not verifiable), base64 in the SDK's AES-GCM layout.
///
/// ```
/// use paillier_gpu::context::DataKey;
/// use paillier_gpu::verifiable::{open_document, seal_document, Document, RecordKeys, RecordNonce};
/// let keys = RecordKeys::derive(&DataKey::new([1; 32]));
/// let (a, b) = (RecordNonce::random(), RecordNonce::random());
/// let doc = Document { content: "hello".into(), ..Default::default() };
/// let sealed = seal_document(&keys, "kb", Some(a), &doc).unwrap();
/// assert_eq!(open_document(&keys, "kb", Some(a), &sealed).unwrap(), doc);
/// assert!(open_document(&keys, "kb", Some(b), &sealed).is_err()); // another record's
/// assert!(open_document(&keys, "kb2", Some(a), &sealed).is_err()); // another knowledge base's
/// ```
pub fn seal_document(
    keys: &RecordKeys,
    kb: &str,
    nonce: Option<RecordNonce>,
    document: &Document,
) -> Result<String> {
    let plaintext =
        Zeroizing::new(serde_json::to_vec(document).map_err(|e| {
            Error::InvalidParameter(format!("the document does not serialise: {e}"))
        })?);
    aes::encrypt_with_aad(&keys.seal, &plaintext, &associated_data(kb, nonce))
}

/// Opens what [`seal_document`] sealed for the same knowledge base and nonce;
/// [`Error::ContentAuthentication`] for anything else.
pub fn open_document(
    keys: &RecordKeys,
    kb: &str,
    nonce: Option<RecordNonce>,
    sealed: &str,
) -> Result<Document> {
    let plaintext = aes::decrypt_with_aad(&keys.seal, sealed, &associated_data(kb, nonce))
        .map_err(|_| Error::ContentAuthentication)?;
    serde_json::from_slice(&plaintext).map_err(|_| Error::ContentAuthentication)
}

/// Opens the sealed documents of verified records, each `(chunk id, nonce, sealed document as
/// the service returned it, if it did)`, in order. A document missing, or not opening under its
/// record (another record's content swapped in, or altered), fails them all with
/// [`Error::AnswerRejected`] naming those ids.
pub fn open_records(
    keys: &RecordKeys,
    kb: &str,
    records: &[(i64, RecordNonce, Option<&str>)],
) -> Result<Vec<Document>> {
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    let mut documents = Vec::with_capacity(records.len());
    for &(id, nonce, sealed) in records {
        match sealed.map(|s| open_document(keys, kb, Some(nonce), s)) {
            None => missing.push(id),
            Some(Err(_)) => mismatched.push(id),
            Some(Ok(document)) => documents.push(document),
        }
    }
    let failures: Vec<AnswerFailure> = [
        (FailureKind::ContentMismatch, mismatched),
        (FailureKind::ContentMissing, missing),
    ]
    .into_iter()
    .filter(|(_, ids)| !ids.is_empty())
    .map(|(kind, chunk_ids)| AnswerFailure {
        kind,
        chunk_ids,
        detail: None,
    })
    .collect();
    match failures.is_empty() {
        true => Ok(documents),
        false => Err(Error::AnswerRejected(AnswerRejection { failures })),
    }
}
