//! A backend's calls: several queries against one resident database in one call, and responses
//! streamed in blocks, each equal to the single-query aggregation, on the CPU and the GPU.

use crate::common;

use std::sync::Arc;

use common::{small_context, small_options};
use paillier_gpu::hazmat::backend::{cpu::CpuBackend, Backend};
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::{Error, ExecutionContext, Scheme, Selection};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn backends() -> Vec<Arc<dyn Backend>> {
    let mut all: Vec<Arc<dyn Backend>> = vec![CpuBackend::shared()];
    if let Some(gpu) = common::shared_gpu() {
        all.push(gpu.checked());
    }
    all
}

fn vectors(rng: &mut StdRng, count: usize, dims: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| (0..dims).map(|_| rng.gen_range(0..=1)).collect())
        .collect()
}

fn records(batch: &CiphertextBatch) -> Vec<CiphertextBatch> {
    (0..batch.records())
        .map(|r| batch.records_in(r..r + 1).unwrap())
        .collect()
}

#[test]
fn query_batches_and_streamed_responses_equal_single_aggregations() {
    let mut rng = StdRng::seed_from_u64(31);
    for scheme in [Scheme::Paillier, Scheme::PaillierLookup] {
        let base = small_context(scheme);
        for backend in backends() {
            let ctx = ExecutionContext::create_with_passphrase(&small_options(scheme, 64), "p")
                .unwrap()
                .with_backend(backend.clone());
            let database = vectors(&mut rng, 37, 64);
            let mut index = ctx.new_index().unwrap();
            index
                .insert_batch(&ctx.encrypt_batch(&database).unwrap())
                .unwrap();
            let queries = ctx.encrypt_batch(&vectors(&mut rng, 5, 64)).unwrap();
            // One output reused across every query and selection (growing and shrinking).
            let mut reused = CiphertextBatch::new(ctx.public().public_key(), 1).unwrap();
            for selection in [
                Selection::All,
                Selection::Range(3..30),
                Selection::Ids(vec![36, 0, 5, 5, 12]),
                Selection::Range(4..4),
            ] {
                let answers = index.aggregate_queries(&queries, &selection).unwrap();
                assert_eq!(answers.len(), 5);
                for (query, answer) in records(&queries).iter().zip(&answers) {
                    let single = index.aggregate_batch(query, &selection).unwrap();
                    assert_eq!(answer, &single, "{scheme:?} {selection:?}");
                    index
                        .aggregate_batch_into(query, &selection, &mut reused)
                        .unwrap();
                    assert_eq!(reused, single, "{scheme:?} {selection:?} into");
                    // Streamed in blocks of 4: the same responses, in order, at their positions.
                    let mut streamed = Vec::new();
                    index
                        .aggregate_streamed(query, &selection, 4, |first, block| {
                            assert_eq!(first, streamed.len());
                            assert!(block.records() <= 4);
                            streamed.extend(records(block));
                            Ok(())
                        })
                        .unwrap();
                    assert_eq!(streamed, records(&single), "{scheme:?} {selection:?}");
                }
            }
            // Bad selections fail before any block is sent; a sink's error stops the stream.
            let query = records(&queries).remove(0);
            let mut sent = 0;
            let bad = index.aggregate_streamed(&query, &Selection::Range(30..40), 4, |_, _| {
                sent += 1;
                Ok(())
            });
            assert!(matches!(bad, Err(Error::InvalidSelection(_))) && sent == 0);
            // A bad selection leaves a reused output empty, not holding the last answers.
            index
                .aggregate_batch_into(&query, &Selection::All, &mut reused)
                .unwrap();
            assert!(index
                .aggregate_batch_into(&query, &Selection::Ids(vec![99]), &mut reused)
                .is_err());
            assert!(reused.is_empty());
            let stopped = index.aggregate_streamed(&query, &Selection::All, 4, |first, _| {
                if first >= 8 {
                    return Err(Error::InvalidParameter("the socket closed".into()));
                }
                Ok(())
            });
            assert!(matches!(stopped, Err(Error::InvalidParameter(_))));
            assert!(index
                .aggregate_streamed(&query, &Selection::All, 0, |_, _| Ok(()))
                .is_err());
            // Queries made under another key are refused by the key, before any product.
            let foreign = base.encrypt_batch(&vectors(&mut rng, 2, 64)).unwrap();
            assert!(matches!(
                index.aggregate_queries(&foreign, &Selection::All),
                Err(Error::KeyMismatch { .. })
            ));
        }
    }
}

/// A database spread over several device buffers (shards of 5 records here): ranges within one
/// shard and across shards give the CPU's responses.
#[test]
fn aggregation_across_resident_shards_matches_the_cpu() {
    use paillier_gpu::hazmat::backend::gpu::{GpuBackend, GpuOptions};
    if common::shared_gpu().is_none() {
        return;
    }
    let options = GpuOptions {
        resident_shard_items: Some(5),
        min_batch: Some(1),
        ..GpuOptions::default()
    };
    let gpu: Arc<dyn Backend> = Arc::new(GpuBackend::new(&options).unwrap());
    let ctx = small_context(Scheme::Paillier);
    let mut rng = StdRng::seed_from_u64(32);
    let batch = ctx.encrypt_batch(&vectors(&mut rng, 23, 64)).unwrap();
    let query = ctx.encrypt_batch(&vectors(&mut rng, 1, 64)).unwrap();
    let mut on_cpu = ctx.new_index().unwrap().with_backend(CpuBackend::shared());
    let mut on_gpu = ctx.new_index().unwrap().with_backend(gpu);
    on_cpu.insert_batch(&batch).unwrap();
    on_gpu.insert_batch(&batch).unwrap();
    let mut reused = CiphertextBatch::new(ctx.public().public_key(), 1).unwrap();
    for selection in [
        Selection::All,
        Selection::Range(1..4),
        Selection::Range(5..10),
        Selection::Range(3..17),
        Selection::Range(20..23),
    ] {
        let expected = on_cpu.aggregate_batch(&query, &selection).unwrap();
        assert_eq!(
            on_gpu.aggregate_batch(&query, &selection).unwrap(),
            expected,
            "{selection:?}"
        );
        // Each shard's products read straight into their place of a reused output.
        on_gpu
            .aggregate_batch_into(&query, &selection, &mut reused)
            .unwrap();
        assert_eq!(reused, expected, "{selection:?} into");
    }
}

#[test]
fn records_removed_from_an_index_leave_the_others_in_order_on_every_backend() {
    let mut rng = StdRng::seed_from_u64(32);
    for backend in backends() {
        let ctx =
            ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, 64), "p")
                .unwrap()
                .with_backend(backend.clone());
        let mut database = vectors(&mut rng, 20, 64);
        let mut index = ctx.new_index().unwrap();
        index
            .insert_batch(&ctx.encrypt_batch(&database).unwrap())
            .unwrap();
        let query_vector = vectors(&mut rng, 1, 64).remove(0);
        let query = ctx.encrypt_batch(&[&query_vector]).unwrap();
        let distances = |index: &paillier_gpu::EncryptedIndex| {
            ctx.decode_batch(&index.aggregate_batch(&query, &Selection::All).unwrap())
                .unwrap()
        };
        let expected = |database: &[Vec<u8>]| -> Vec<u32> {
            database
                .iter()
                .map(|v| common::hamming(v, &query_vector))
                .collect()
        };
        let device = backend.device().as_str();
        // Searched once first, so that a backend with memory of its own holds a copy.
        assert_eq!(distances(&index).len(), 20);

        let out_of_range = index.remove_records(&[2, 20]).unwrap_err();
        assert!(
            matches!(out_of_range, Error::InvalidSelection(_)),
            "{out_of_range}"
        );
        assert_eq!(index.len(), 20);

        index.remove_records(&[0, 3, 4, 19]).unwrap();
        for removed in [19, 4, 3, 0] {
            database.remove(removed);
        }
        assert_eq!(distances(&index), expected(&database), "{device}");

        // Appends after a removal land after the records left.
        let more = vectors(&mut rng, 3, 64);
        index
            .insert_batch(&ctx.encrypt_batch(&more).unwrap())
            .unwrap();
        database.extend(more);
        assert_eq!(distances(&index), expected(&database), "{device}");
    }
}
