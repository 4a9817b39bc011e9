//! The one ciphertext batch type: the same bytes as the per-vector path in both file forms, the
//! same products through the index, and each invariant refused when a batch is made.

use crate::common;

use common::{small_context, SCHEMES};
use num_bigint::BigUint;
use paillier_gpu::formats::ciphertexts::{
    encode_binary, encode_binary_batch, encode_jsonl, encode_jsonl_batch, read_binary_batch,
    read_jsonl_batch,
};
use paillier_gpu::hamming::{EncryptedVector, Selection};
use paillier_gpu::paillier::{Ciphertext, CiphertextBatch};
use paillier_gpu::Error;
use proptest::prelude::*;

fn bits(len: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..=1, len)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn batches_write_and_read_the_bytes_of_the_vector_path(
        vectors in proptest::collection::vec(bits(64), 0..6),
        s in 0usize..2,
    ) {
        let ctx = small_context(SCHEMES[s]);
        let shape = ctx.ciphertext_shape();
        let batch = ctx.encrypt_batch(&vectors).unwrap();
        prop_assert_eq!(batch.records(), vectors.len());
        // The per-vector form of the SDK's edge, and back.
        let per_vector = EncryptedVector::from_batch(&batch);
        prop_assert_eq!(
            &EncryptedVector::to_batch(ctx.public_key(), shape.chunks, &per_vector).unwrap(),
            &batch
        );

        let binary = encode_binary_batch(&batch, shape).unwrap();
        prop_assert_eq!(&binary, &encode_binary(&per_vector, shape).unwrap());
        prop_assert_eq!(&read_binary_batch(&binary[..], shape, ctx.public_key()).unwrap(), &batch);

        let jsonl = encode_jsonl_batch(&batch, shape).unwrap();
        prop_assert_eq!(&jsonl, &encode_jsonl(&per_vector, shape).unwrap());
        prop_assert_eq!(&read_jsonl_batch(&jsonl[..], shape, ctx.public_key()).unwrap(), &batch);
    }

    #[test]
    fn batch_aggregation_gives_the_plaintext_distances_for_every_selection(
        database in proptest::collection::vec(bits(64), 1..8),
        query in bits(64),
        s in 0usize..2,
    ) {
        let ctx = small_context(SCHEMES[s]);
        let chunks = ctx.ciphertext_shape().chunks;
        let records = ctx.encrypt_batch(&database).unwrap();
        let query_batch = ctx.encrypt_batch(&[&query]).unwrap();
        let mut index = ctx.new_index().unwrap();
        // Records that went through the per-vector form aggregate as the batch's own.
        let through_vectors = EncryptedVector::to_batch(
            ctx.public_key(),
            chunks,
            &EncryptedVector::from_batch(&records),
        )
        .unwrap();
        index.insert_batch(&through_vectors).unwrap();
        let distance = |v: &Vec<u8>| v.iter().zip(&query).filter(|(a, b)| a != b).count() as u32;
        for (selection, ids) in [
            (Selection::All, (0..database.len()).collect::<Vec<_>>()),
            (Selection::Ids(vec![0, 0]), vec![0, 0]),
            (Selection::Range(0..1), vec![0]),
        ] {
            let expected: Vec<u32> = ids.iter().map(|&i| distance(&database[i])).collect();
            let got = index.aggregate_batch(&query_batch, &selection).unwrap();
            prop_assert_eq!(ctx.decode_batch(&got).unwrap(), expected.clone());
            if got.records() > 1 {
                prop_assert_eq!(
                    ctx.decode_batch(&got.records_in(1..got.records()).unwrap()).unwrap(),
                    expected[1..].to_vec()
                );
            }
        }
    }
}

#[test]
fn a_batch_refuses_zero_values_at_or_above_n_squared_and_partial_records() {
    let ctx = small_context(SCHEMES[0]);
    let pk = ctx.public_key();
    let shape = ctx.ciphertext_shape();
    let n_squared = pk.n() * pk.n();
    let good = Ciphertext::from_biguint(BigUint::from(5u32));
    for (bad, what) in [
        (BigUint::from(0u32), "zero"),
        (n_squared.clone(), "n^2"),
        (&n_squared + 1u32, "n^2"),
    ] {
        let bad = Ciphertext::from_biguint(bad);
        let err = CiphertextBatch::from_ciphertexts(pk, 1, [&good, &bad]).unwrap_err();
        assert!(
            matches!(err, Error::InvalidCiphertext { index: 1, .. }),
            "{what}: {err:?}"
        );
        // The same values as file bytes: refused by the reader, naming the record.
        let mut bytes = good.to_le_bytes(shape.chunk_bytes).unwrap();
        let mut wide = bad.as_biguint().to_bytes_le();
        wide.resize(shape.chunk_bytes.max(wide.len()), 0);
        bytes.extend(wide);
        let err = CiphertextBatch::from_le_bytes(pk, 1, bytes.len() / 2, &bytes, 10).unwrap_err();
        assert!(
            matches!(err, Error::InvalidCiphertext { index: 11, .. }),
            "{what}: {err:?}"
        );
    }
    let err = CiphertextBatch::from_ciphertexts(pk, 2, [&good, &good, &good]).unwrap_err();
    assert!(
        matches!(err, Error::InvalidCiphertext { index: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn an_index_refuses_a_batch_of_another_key_or_record_shape() {
    let (classic, lookup) = (small_context(SCHEMES[0]), small_context(SCHEMES[1]));
    let chunks = classic.ciphertext_shape().chunks;
    // 5 is a valid value under either key (below either n²), but this batch is the lookup key's.
    let five = Ciphertext::from_biguint(BigUint::from(5u32));
    let foreign =
        CiphertextBatch::from_ciphertexts(lookup.public_key(), chunks, vec![&five; chunks])
            .unwrap();
    let mut index = classic.new_index().unwrap();
    assert!(matches!(
        index.insert_batch(&foreign).unwrap_err(),
        Error::KeyMismatch { .. }
    ));
    let wrong_shape = CiphertextBatch::from_ciphertexts(
        classic.public_key(),
        chunks + 1,
        vec![&five; chunks + 1],
    )
    .unwrap();
    assert!(matches!(
        index.insert_batch(&wrong_shape).unwrap_err(),
        Error::InvalidCiphertext { .. }
    ));
    assert!(index.is_empty());
}

#[test]
fn decoding_refuses_a_batch_of_another_key() {
    let (classic, lookup) = (small_context(SCHEMES[0]), small_context(SCHEMES[1]));
    let responses = lookup.encrypt_batch(&[vec![1u8; 64]]).unwrap();
    assert!(matches!(
        classic.decode_batch(&responses).unwrap_err(),
        Error::KeyMismatch { .. }
    ));
    assert!(matches!(
        responses.records_in(0..2).unwrap_err(),
        Error::InvalidSelection(_)
    ));
}
