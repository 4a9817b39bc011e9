//! [`RecordCodec`]: the rules of what one owner's records send and how their answers are read,
//! written once for every client. It does no I/O: a client fetches and sends, the codec builds
//! what is sent and checks what came back.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::meta_filter::PARTITION_FIELD;
use crate::verifiable::keys::KeyDerivation;
use crate::verifiable::metadata::filter::tokenise_partition_condition;
use crate::verifiable::metadata::tokens::check_private_sort;
use crate::verifiable::records::record_layout::{LayoutKind, RecordLayout};
use crate::verifiable::{tokenise_filter, RecordKeys};
use crate::ExecutionContext;

/// How a knowledge base's records are written, and so how they are read: verifiable (a nonce
/// and a tag in each plaintext, the document sealed to the record), with private metadata
/// (tokens), both or neither (the SDK's records).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordOptions {
    /// Records the owner can check (see [`crate::verifiable`]).
    pub verifiable: bool,
    /// Metadata as tokens; the values and the name only in the sealed copy.
    pub private_meta: bool,
}

impl RecordOptions {
    /// Whether each record's document travels sealed ([`seal_document`](crate::verifiable::seal_document))
    /// rather than as the SDK's encrypted content with its metadata and name in the clear.
    pub fn sealed(self) -> bool {
        self.verifiable || self.private_meta
    }
}

/// The records of knowledge base `kb` as the owner of `context` writes and reads them, under
/// [`RecordOptions`]: builds what each record sends ([`fields`](Self::fields),
/// [`index`](Self::index)), tokenises filters ([`filter`](Self::filter)), ranks and checks an
/// answer ([`rank`](Self::rank)) and opens the documents fetched for it
/// ([`open`](Self::open)).
///
/// The record keys are derived on first use (a codec of plain records never asks the key
/// provider for them), bound to the context and the knowledge base unless
/// [`with_derivation`](Self::with_derivation) says otherwise.
///
/// ```
/// use paillier_gpu::verifiable::{Document, Expectation, FetchedRecord, OwnerDigest, RecordCodec, RecordOptions};
/// use paillier_gpu::{ContextOptions, ExecutionContext};
///
/// # fn main() -> paillier_gpu::Result<()> {
/// // Small INSECURE parameters keep the example fast; use ContextOptions::default() for real.
/// let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
/// let ctx = ExecutionContext::create_with_passphrase(&options, "passphrase")?;
/// let both = RecordOptions { verifiable: true, private_meta: true };
/// let codec = RecordCodec::new(&ctx, "kb-1", both);
/// // A knowledge base with no digest takes the context's preferred layout (as the first
/// // writer reads it); the first write seals a digest that fixes it, and a read opens it.
/// let first: OwnerDigest = RecordCodec::new(&ctx, "kb-1", both).open_digest(0, None, None)?;
/// let (_, sealed) = codec.next_digest(&first, &Default::default())?;
/// assert_eq!(codec.open_digest(1, Some(&sealed), None)?.layout(), codec.layout()?.kind());
/// let vector = [0u8, 1, 1, 0, 1, 0, 0, 1];
/// let records = codec.encrypt(&[vector])?;
/// let document = Document { content: "hello".into(), ..Default::default() };
/// let sent = codec.record(&records, 0, Some(&document))?; // sealed, no name
/// assert_eq!(sent.name, None);
///
/// let mut index = ctx.new_index()?; // the service's side
/// index.insert_batch(&records.batch)?;
/// let query = codec.encrypt_query(&[0u8, 1, 1, 0, 1, 0, 0, 0])?; // with a fresh nonce
/// let answer = index.aggregate_batch(query.encrypted(), &paillier_gpu::hamming::Selection::All)?;
/// let top = codec.rank(&query, &answer, &[7], &Expectation::default(), 1)?;
/// assert_eq!((top[0].chunk_id, top[0].distance), (7, 1));
/// let fetched = FetchedRecord { chunk_id: 7, nonce: top[0].nonce, content: Some(&sent.content), ..Default::default() };
/// assert_eq!(codec.open(&[fetched], None)?, vec![document]);
/// # Ok(()) }
/// ```
pub struct RecordCodec {
    context: ExecutionContext,
    kb: String,
    options: RecordOptions,
    derivation: KeyDerivation,
    keys: OnceLock<RecordKeys>,
    layout: OnceLock<LayoutKind>,
    /// Whether the digest last opened was the service's "none" (version 0).
    told_no_digest: AtomicBool,
}

impl fmt::Debug for RecordCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordCodec")
            .field("context", &self.context.id())
            .field("kb", &self.kb)
            .field("options", &self.options)
            .field("derivation", &self.derivation)
            .field("layout", &self.layout.get())
            .finish_non_exhaustive()
    }
}

impl RecordCodec {
    /// The codec of `kb`'s records under `context` (a clone of it: the same keys, shared).
    pub fn new(context: &ExecutionContext, kb: &str, options: RecordOptions) -> Self {
        Self {
            context: context.clone(),
            kb: kb.to_owned(),
            options,
            derivation: KeyDerivation::Bound,
            keys: OnceLock::new(),
            layout: OnceLock::new(),
            told_no_digest: AtomicBool::new(false),
        }
    }

    /// The same codec, its records in `layout` (what the knowledge base's digest says:
    /// [`open_digest`](Self::open_digest) sets it from there).
    pub fn with_layout(self, layout: LayoutKind) -> Self {
        Self {
            layout: OnceLock::from(layout),
            ..self
        }
    }

    /// The layout of the knowledge base's verifiable records, as its digest or
    /// [`with_layout`](Self::with_layout) gave it: never guessed, so a codec of verifiable
    /// records that has neither refuses to encrypt or read them.
    pub fn layout(&self) -> Result<RecordLayout> {
        let kind = self.layout.get().copied().ok_or_else(|| {
            Error::InvalidParameter(format!(
                "the layout of knowledge base {}'s verifiable records is kept in the owner's \
                 digest: open the digest before encrypting or reading its records",
                self.kb
            ))
        })?;
        if kind == LayoutKind::Sealed {
            return Err(Error::SealedVectors(format!(
                "knowledge base {} holds sealed vectors, not Paillier ciphertexts: this \
                 operation reads Paillier records (uploads and verified searches work on \
                 sealed vectors)",
                self.kb
            )));
        }
        self.context.record_layout(kind)
    }

    /// The layouts its records may be in, to try in order where their digest did not open
    /// (a rebuild): the one held, or else every layout the context fits, its preferred first.
    /// Nothing is guessed: a record verifies only under its own layout's tag domain.
    pub fn layouts_to_try(&self) -> Vec<LayoutKind> {
        if let Some(layout) = self.known_layout() {
            return vec![layout];
        }
        let preferred = self
            .context
            .preferred_layout()
            .ok()
            .map(|layout| layout.kind());
        [LayoutKind::OneBit, LayoutKind::TwoBit]
            .into_iter()
            .filter(|&kind| self.context.record_layout(kind).is_ok())
            .fold(Vec::new(), |mut kinds, kind| {
                match Some(kind) == preferred {
                    true => kinds.insert(0, kind),
                    false => kinds.push(kind),
                }
                kinds
            })
    }

    /// Notes that the service said the knowledge base has no digest (version 0). Sticky: a
    /// digest opened later on the same codec does not clear it, so records read under an
    /// expectation built from "none" cannot pass by a later open.
    pub(in crate::verifiable) fn note_digest(&self, version: i64) {
        if version == 0 {
            self.told_no_digest.store(true, Ordering::SeqCst);
        }
    }

    /// Refuses verified records (`chunk_ids`, any) once the service said the knowledge base
    /// has no digest: verifiable records are always written with one, so "none" is a lie that
    /// would skip the completeness checks (a service without the digest routes, or records
    /// written before digests, which `remote digest rebuild` counts). A codec that never opened
    /// a digest (one made [`with_layout`](Self::with_layout), for a rebuild) makes no such
    /// check: its caller has no digest to hold the records to.
    pub(in crate::verifiable) fn check_digest_claim(&self, chunk_ids: &[i64]) -> Result<()> {
        if chunk_ids.is_empty() || !self.told_no_digest.load(Ordering::SeqCst) {
            return Ok(());
        }
        Err(Error::AnswerRejected(crate::error::AnswerRejection {
            failures: vec![crate::error::AnswerFailure {
                kind: crate::error::FailureKind::NoDigest,
                chunk_ids: chunk_ids.to_vec(),
                detail: Some(format!(
                    "the service holds no owner's digest of knowledge base {} but answered \
                     with {} verifiable records; a service without the digest routes (XTrace's \
                     hosted one, say) cannot serve verified searches, and records written \
                     before digests are counted by `paillier-gpu remote digest rebuild`",
                    self.kb,
                    chunk_ids.len()
                )),
            }],
        }))
    }

    /// The layout of the knowledge base's verifiable records, as its digest (or
    /// [`with_layout`](Self::with_layout)) gave it; none before either.
    pub fn layout_kind(&self) -> Option<LayoutKind> {
        self.known_layout()
    }

    /// Whether the knowledge base's records, as its digest (or
    /// [`with_layout`](Self::with_layout)) says, are sealed vectors.
    pub fn holds_sealed_vectors(&self) -> bool {
        self.known_layout() == Some(LayoutKind::Sealed)
    }

    /// The layout this codec holds, if any.
    pub(in crate::verifiable) fn known_layout(&self) -> Option<LayoutKind> {
        self.layout.get().copied()
    }

    /// Takes `layout` as the knowledge base's (from its digest), or refuses it when the codec
    /// already holds another.
    pub(in crate::verifiable) fn learn_layout(&self, layout: LayoutKind) -> Result<()> {
        let known = *self.layout.get_or_init(|| layout);
        match known == layout {
            true => Ok(()),
            false => Err(Error::InvalidParameter(format!(
                "knowledge base {}'s records were taken as {known}, and its digest says {layout}",
                self.kb
            ))),
        }
    }

    /// The same codec with keys of `derivation`: [`KeyDerivation::Legacy`] reads records
    /// written before keys were bound to their context and knowledge base.
    pub fn with_derivation(self, derivation: KeyDerivation) -> Self {
        Self {
            derivation,
            keys: OnceLock::new(),
            ..self
        }
    }

    /// Which derivation the keys come from.
    pub fn derivation(&self) -> KeyDerivation {
        self.derivation
    }

    /// The owner's context.
    pub fn context(&self) -> &ExecutionContext {
        &self.context
    }

    /// The knowledge base.
    pub fn kb(&self) -> &str {
        &self.kb
    }

    /// How the records are written.
    pub fn options(&self) -> RecordOptions {
        self.options
    }

    /// The record keys, derived from the context's data key on first use.
    pub fn keys(&self) -> Result<&RecordKeys> {
        if let Some(keys) = self.keys.get() {
            return Ok(keys);
        }
        let keys = self.context.record_keys_with(self.derivation, &self.kb)?;
        Ok(self.keys.get_or_init(|| keys))
    }

    /// `filter` (the manual's metadata filter) as the service must get it: tokenised for
    /// private metadata (order, prefix and substring operators refused), unchanged otherwise
    /// but for a condition on the partition, whose values are always tokens.
    pub fn filter(&self, filter: &Value) -> Result<Value> {
        match self.options.private_meta {
            true => tokenise_filter(self.keys()?, filter),
            false if filter.get(PARTITION_FIELD).is_some() => {
                tokenise_partition_condition(self.keys()?, filter)
            }
            false => Ok(filter.clone()),
        }
    }

    /// The tokens the service holds for `partitions` in the partition field (what a page of
    /// sealed vectors is selected by), in order.
    pub fn partition_tokens(&self, partitions: &[u32]) -> Result<Vec<String>> {
        let sent = self.filter(&crate::verifiable::partitions_filter(partitions))?;
        let tokens = sent
            .get(PARTITION_FIELD)
            .and_then(|condition| condition.get("$in"))
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .filter(|tokens| tokens.len() == partitions.len());
        tokens.ok_or_else(|| {
            Error::InvalidParameter("the partitions' tokens do not read back".into())
        })
    }

    /// Refuses sorting a page by a private field (tokens do not keep the values' order).
    pub fn check_sort(&self, sort_by: Option<&str>) -> Result<()> {
        match self.options.private_meta {
            true => check_private_sort(sort_by),
            false => Ok(()),
        }
    }
}
