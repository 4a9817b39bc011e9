//! Records written under the earlier key derivation (the data key alone, shared by every
//! knowledge base and context with that key) sealed again under keys bound to their context
//! and knowledge base: each read and verified under the old keys, encrypted again from its bits
//! under a fresh nonce, its document opened and sealed anew, and written with the owner's
//! digest, in batches of one transaction each. Run again after an interruption, it finishes
//! what is left: records that already verify under the new keys are counted, not touched.

use std::sync::Arc;

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::verifiable::{
    Expectation, FailureKind, KeyDerivation, LayoutKind, RecordCodec, RecordOptions,
};
use serde_json::json;

use super::{refused, DigestSummary, Planned};
use crate::error::{Error, Result};
use crate::{Client, UPLOAD_BATCH};

impl Client {
    /// Seals the records of `kb_id` written under the earlier key derivation again under the
    /// current keys (see the module's documentation); the digest after it. Verifiable records
    /// only; a record that verifies under neither derivation stops it, with nothing of its
    /// batch written.
    pub fn reseal_records(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        options: RecordOptions,
    ) -> Result<DigestSummary> {
        if !options.verifiable {
            return Err(Error::InvalidSetting(
                "only verifiable records are sealed to their keys: pass --verifiable".into(),
            ));
        }
        // The digest says the records' layout, which both derivations share; records with no
        // digest at all were written before layouts were named, so two-bit.
        let codec = Arc::new(RecordCodec::new(context, kb_id, options));
        let current = self.current_digest(&codec)?;
        let layout = match current.digest.version() {
            0 => LayoutKind::TwoBit,
            _ => current.digest.layout(),
        };
        let bound = Arc::new(RecordCodec::new(context, kb_id, options).with_layout(layout));
        let legacy = Arc::new(
            RecordCodec::new(context, kb_id, options)
                .with_derivation(KeyDerivation::Legacy)
                .with_layout(layout),
        );
        // Every record's id, from an answer to a zero query (not checked here: each record is
        // fetched and verified below).
        let ids = self.zero_query_answer(&bound)?.1.chunk_ids;
        for batch in ids.chunks(UPLOAD_BATCH) {
            self.write_with_digest_allowing_uncounted(&bound, |current| {
                let records = self.fetch_record_batch(kb_id, context, batch)?;
                let old = legacy.stored_validity(&records)?;
                let new = bound.stored_validity(&records)?;
                if let Some(i) = (0..batch.len()).find(|&i| !old[i] && !new[i]) {
                    return Err(refused(
                        FailureKind::InvalidRecord,
                        format!("chunk {} verifies under neither key derivation", batch[i]),
                    ));
                }
                let field = current.digest.counted_field();
                let stale: Vec<i64> = (0..batch.len())
                    .filter(|&i| old[i])
                    .map(|i| batch[i])
                    .collect();
                let mut planned = Planned::default();
                if stale.is_empty() {
                    return Ok(planned);
                }
                let stale_records = self.fetch_record_batch(kb_id, context, &stale)?;
                let stored = legacy.stored(&stale_records, &stale, &Expectation::default())?;
                let opened: Vec<_> = stale
                    .iter()
                    .zip(&stored.nonces)
                    .map(|(&id, &n)| (id, Some(n)))
                    .collect();
                let documents = self.open_documents(&legacy, &opened, None)?;
                let embed_len = context.embed_len().max(1);
                let vectors: Vec<&[u8]> = stored.bits.chunks(embed_len).collect();
                let records = bound.encrypt(&vectors)?;
                for (i, &chunk_id) in stale.iter().enumerate() {
                    let sent = bound.record(&records, i, documents.get(i))?;
                    let nonce = records.nonces.as_ref().and_then(|n| n.get(i).copied());
                    let Some(nonce) = nonce else { continue };
                    let chunk = json!({
                        "chunk_id": chunk_id,
                        "chunk_content": sent.content,
                        "index": bound.index(&records.batch, i)?,
                        "meta_data": sent.meta_data,
                        "name": sent.name,
                    });
                    let value = super::counted_value(documents.get(i), field);
                    planned
                        .update
                        .push((crate::raw_json(&chunk)?, ((chunk_id, nonce), value)));
                }
                Ok(planned)
            })?;
        }
        self.digest_summary(kb_id, context, options)
    }
}
