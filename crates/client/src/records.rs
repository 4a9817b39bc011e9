//! Records the owner can check and metadata the service cannot read
//! ([`paillier_gpu::verifiable`]): upload, update and delete them (verifiable records with the
//! owner's digest, in one transaction each), over the same API as any other chunk.

use paillier_gpu::context::ExecutionContext;
use paillier_gpu::owner::{
    DeleteById, InsertChunks, RecordsWrite, ReplaceChunks, UpdateById, UploadPlacement,
    UploadRecords,
};
pub use paillier_gpu::verifiable::RecordOptions;
use paillier_gpu::verifiable::{Document, LayoutKind, RecordCodec, RecordNonce};
use paillier_gpu::Error as LibraryError;

use super::partitions::Placement;
use super::Client;
use crate::error::Result;

/// One uploaded record: the id the service gave it and, for a verifiable record, its nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uploaded {
    /// Its chunk id.
    pub chunk_id: i64,
    /// Its nonce, for a verifiable record.
    pub nonce: Option<RecordNonce>,
}

impl Client {
    /// Encrypts `vectors` and uploads them into `kb_id` with their `documents` (one per vector,
    /// or none) as `options` says. Returns each record's chunk id and, for verifiable records,
    /// its nonce, in order. Verifiable records go in batches of [`UPLOAD_BATCH`](crate::UPLOAD_BATCH), each with the
    /// owner's digest advanced, in one transaction. A request whose answer did not arrive is
    /// never sent again (it may have been stored): the error says so.
    pub fn upload_records<V: AsRef<[u8]> + Sync>(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vectors: &[V],
        documents: &[Document],
        options: RecordOptions,
    ) -> Result<Vec<Uploaded>> {
        self.upload_records_placed(
            kb_id,
            context,
            vectors,
            documents,
            options,
            Placement::Follow,
        )
    }

    /// [`upload_records`](Self::upload_records), each record placed in a partition as
    /// `placement` says (verifiable records only): the knowledge base's nearest partition, or
    /// the one a training just gave it. Its partition is sealed in its document and sent as a
    /// token; the owner's digest counts it there.
    pub fn upload_records_placed<V: AsRef<[u8]> + Sync>(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vectors: &[V],
        documents: &[Document],
        options: RecordOptions,
        placement: Placement<'_>,
    ) -> Result<Vec<Uploaded>> {
        self.upload_records_in(kb_id, context, vectors, documents, options, placement, None)
    }

    /// [`upload_records_placed`](Self::upload_records_placed), a knowledge base without
    /// records taking `layout` for them (verifiable records only; none: the context's
    /// preferred Paillier layout). Its first digest fixes the layout: a knowledge base with
    /// records keeps its own, and an upload asking another is refused.
    /// [`LayoutKind::Sealed`] stores sealed vectors, no Paillier ciphertext.
    #[allow(clippy::too_many_arguments)]
    pub fn upload_records_in<V: AsRef<[u8]> + Sync>(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        vectors: &[V],
        documents: &[Document],
        options: RecordOptions,
        placement: Placement<'_>,
        layout: Option<LayoutKind>,
    ) -> Result<Vec<Uploaded>> {
        check_documents(documents.len(), vectors.len())?;
        if layout.is_some() && !options.verifiable {
            return Err(crate::Error::InvalidSetting(
                "a layout of records is chosen for verifiable records".into(),
            ));
        }
        let codec = RecordCodec::new(context, kb_id, options);
        let codec = std::sync::Arc::new(match layout {
            Some(layout) => codec.with_layout(layout),
            None => codec,
        });
        if !options.verifiable && !matches!(placement, Placement::Follow) {
            return Err(crate::Error::InvalidSetting(
                "partitions are counted by the owner's digest: they need verifiable records".into(),
            ));
        }
        if !options.verifiable {
            let records = codec.encrypt(vectors)?;
            let mut sent = Vec::with_capacity(vectors.len());
            for record in 0..vectors.len() {
                sent.push(codec.record(&records, record, documents.get(record))?);
            }
            let batch = std::borrow::Cow::Owned(records.batch);
            let ids = self.drive(InsertChunks::new(codec, batch, sent)?)?;
            return Ok(ids
                .into_iter()
                .map(|chunk_id| Uploaded {
                    chunk_id,
                    nonce: None,
                })
                .collect());
        }
        let placement = match placement {
            Placement::Follow => UploadPlacement::Follow,
            Placement::Trained {
                model,
                partitions,
                decoys,
            } => UploadPlacement::Trained {
                model: model.clone(),
                partitions: partitions.to_vec(),
                decoys,
            },
            Placement::Asked {
                partitions,
                train,
                decoys,
            } => UploadPlacement::Asked {
                count: partitions,
                train: train.clone(),
                decoys,
            },
        };
        let state = self.owner_state()?;
        // An error past the first batch names the chunks stored before it (the library's).
        let upload = UploadRecords::new(codec, state, vectors, documents.to_vec(), placement)?;
        let uploaded = self.drive(upload)?;
        Ok(uploaded
            .records
            .into_iter()
            .map(|(chunk_id, nonce)| Uploaded {
                chunk_id,
                nonce: Some(nonce),
            })
            .collect())
    }

    /// Replaces the records `chunk_ids` of `kb_id` whole (index, content, metadata, name) with
    /// `vectors` and `documents`: verifiable records get a new nonce (their new nonces are
    /// returned, in order), their documents are sealed anew, and the owner's digest trades each
    /// record's old pair for its new one in the same transaction.
    pub fn update_records<V: AsRef<[u8]> + Sync>(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        chunk_ids: &[i64],
        vectors: &[V],
        documents: &[Document],
        options: RecordOptions,
    ) -> Result<Vec<Uploaded>> {
        check_documents(documents.len(), vectors.len())?;
        if chunk_ids.len() != vectors.len() {
            return Err(LibraryError::ShapeMismatch(format!(
                "{} chunk ids for {} vectors",
                chunk_ids.len(),
                vectors.len()
            ))
            .into());
        }
        let codec = std::sync::Arc::new(RecordCodec::new(context, kb_id, options));
        if !options.verifiable {
            let records = codec.encrypt(vectors)?;
            let mut sent = Vec::with_capacity(chunk_ids.len());
            for record in 0..chunk_ids.len() {
                sent.push(codec.record(&records, record, documents.get(record))?);
            }
            let batch = std::borrow::Cow::Owned(records.batch);
            self.drive(ReplaceChunks::new(codec, chunk_ids, batch, sent)?)?;
            let uploaded = chunk_ids.iter().map(|&chunk_id| Uploaded {
                chunk_id,
                nonce: None,
            });
            return Ok(uploaded.collect());
        }
        let plan = UpdateById::new(
            std::sync::Arc::clone(&codec),
            chunk_ids,
            vectors,
            documents.to_vec(),
        )?;
        let write = self.drive_write(RecordsWrite::new(codec, self.owner_state()?, plan))?;
        let nonces = write.planner().nonces();
        let uploaded = chunk_ids
            .iter()
            .zip(nonces)
            .map(|(&chunk_id, &nonce)| Uploaded {
                chunk_id,
                nonce: Some(nonce),
            });
        Ok(uploaded.collect())
    }

    /// Deletes the records `chunk_ids` of `kb_id`; how many. Verifiable records are read first
    /// (each verified) and deleted with the owner's digest less their pairs, in one
    /// transaction; other records as the SDK deletes chunks.
    pub fn delete_records(
        &self,
        kb_id: &str,
        context: &ExecutionContext,
        chunk_ids: &[i64],
        options: RecordOptions,
    ) -> Result<u64> {
        if !options.verifiable {
            return self.delete_chunks(kb_id, chunk_ids);
        }
        let codec = std::sync::Arc::new(RecordCodec::new(context, kb_id, options));
        let plan = DeleteById::new(std::sync::Arc::clone(&codec), chunk_ids);
        self.drive(RecordsWrite::new(codec, self.owner_state()?, plan))?;
        Ok(chunk_ids.len() as u64)
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
