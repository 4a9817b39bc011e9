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
            &EncryptedVector::to_batch(ctx.public().public_key(), shape.pieces, &per_vector).unwrap(),
            &batch
        );

        let binary = encode_binary_batch(&batch, shape).unwrap();
        prop_assert_eq!(&binary, &encode_binary(&per_vector, shape).unwrap());
        prop_assert_eq!(&read_binary_batch(&binary[..], shape, ctx.public().public_key()).unwrap(), &batch);

        let jsonl = encode_jsonl_batch(&batch, shape).unwrap();
        prop_assert_eq!(&jsonl, &encode_jsonl(&per_vector, shape).unwrap());
        prop_assert_eq!(&read_jsonl_batch(&jsonl[..], shape, ctx.public().public_key()).unwrap(), &batch);
    }

    #[test]
    fn batch_aggregation_gives_the_plaintext_distances_for_every_selection(
        database in proptest::collection::vec(bits(64), 1..8),
        query in bits(64),
        s in 0usize..2,
    ) {
        let ctx = small_context(SCHEMES[s]);
        let chunks = ctx.ciphertext_shape().pieces;
        let records = ctx.encrypt_batch(&database).unwrap();
        let query_batch = ctx.encrypt_batch(&[&query]).unwrap();
        let mut index = ctx.new_index().unwrap();
        // Records that went through the per-vector form aggregate as the batch's own.
        let through_vectors = EncryptedVector::to_batch(
            ctx.public().public_key(),
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
    let pk = ctx.public().public_key();
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
        let mut bytes = good.to_le_bytes(shape.piece_bytes).unwrap();
        let mut wide = bad.as_biguint().to_bytes_le();
        wide.resize(shape.piece_bytes.max(wide.len()), 0);
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
    let chunks = classic.ciphertext_shape().pieces;
    // 5 is a valid value under either key (below either n²), but this batch is the lookup key's.
    let five = Ciphertext::from_biguint(BigUint::from(5u32));
    let foreign = CiphertextBatch::from_ciphertexts(
        lookup.public().public_key(),
        chunks,
        vec![&five; chunks],
    )
    .unwrap();
    let mut index = classic.new_index().unwrap();
    assert!(matches!(
        index.insert_batch(&foreign).unwrap_err(),
        Error::KeyMismatch { .. }
    ));
    let wrong_shape = CiphertextBatch::from_ciphertexts(
        classic.public().public_key(),
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

/// Values below n² that share a factor with n (n itself, a multiple of each prime, of n), and
/// values at or above n², each with what its refusal says.
fn bad_values(ctx: &paillier_gpu::ExecutionContext) -> Vec<(BigUint, &'static str)> {
    let n = ctx.public().public_key().n();
    let n_squared = n * n;
    let (larger, smaller) = ctx.secret_key().prime_factors();
    vec![
        (n.clone(), "shares a factor with n"),
        (&*larger * 7u32, "shares a factor with n"),
        (&*smaller * 3u32, "shares a factor with n"),
        (n * (n - 1u32), "shares a factor with n"),
        (n_squared.clone(), "not below n^2"),
        (&n_squared + n, "not below n^2"),
    ]
}

/// A ciphertext's bytes at the file width (wider when the value is).
fn le_bytes(value: &BigUint, width: usize) -> Vec<u8> {
    let mut bytes = value.to_bytes_le();
    bytes.resize(width.max(bytes.len()), 0);
    bytes
}

/// The library itself refuses, where values from outside become a batch, every value that is no
/// ciphertext of the key: out of range, or sharing a factor with n. Each error is an
/// `InvalidCiphertext` naming the record and what failed, and a refused append leaves the batch
/// as it was.
#[test]
fn a_batch_refuses_values_that_share_a_factor_with_n_or_are_out_of_range() {
    for scheme in SCHEMES {
        let ctx = small_context(scheme);
        let (pk, shape) = (ctx.public().public_key(), ctx.ciphertext_shape());
        let good = ctx.encrypt_batch(&[vec![1u8; 64]]).unwrap();
        let good_chunks: Vec<Ciphertext> = (0..shape.pieces).map(|i| good.ciphertext(i)).collect();
        for (bad, reason_says) in bad_values(ctx) {
            let says = |err: &Error, record: usize| match err {
                Error::InvalidCiphertext { index, reason } => {
                    *index == record && reason.contains(reason_says)
                }
                _ => false,
            };
            // Record 1's last chunk is bad.
            let mut chunks = good_chunks.clone();
            chunks.extend(good_chunks[1..].iter().cloned());
            chunks.push(Ciphertext::from_biguint(bad.clone()));
            let err = CiphertextBatch::from_ciphertexts(pk, shape.pieces, &chunks).unwrap_err();
            assert!(says(&err, 1), "{scheme:?}, {reason_says}: {err:?}");

            let bytes: Vec<u8> = chunks
                .iter()
                .flat_map(|c| le_bytes(c.as_biguint(), shape.piece_bytes))
                .collect();
            if bytes.len() == 2 * shape.pieces * shape.piece_bytes {
                let err =
                    CiphertextBatch::from_le_bytes(pk, shape.pieces, shape.piece_bytes, &bytes, 10)
                        .unwrap_err();
                assert!(says(&err, 11), "{scheme:?}, {reason_says}: {err:?}");
                let mut batch = good.clone();
                let err = batch
                    .push_le_records(pk, shape.piece_bytes, &bytes, 1)
                    .unwrap_err();
                assert!(says(&err, 2), "{scheme:?}, {reason_says}: {err:?}");
                assert_eq!(batch, good, "a refused append changed the batch");
            }

            // The file readers, binary and JSON Lines, name the record too.
            let vectors = [
                EncryptedVector::new(good_chunks.clone()),
                EncryptedVector::new(chunks[shape.pieces..].to_vec()),
            ];
            if let Ok(binary) = encode_binary(&vectors, shape) {
                let err = read_binary_batch(&binary[..], shape, pk).unwrap_err();
                assert!(
                    says(err.innermost(), 1),
                    "{scheme:?}, {reason_says}: {err:?}"
                );
            }
            if let Ok(jsonl) = encode_jsonl(&vectors, shape) {
                let err = read_jsonl_batch(&jsonl[..], shape, pk).unwrap_err();
                assert!(
                    says(err.innermost(), 1),
                    "{scheme:?}, {reason_says}: {err:?}"
                );
            }
        }
    }
}

/// The first bad ciphertext is the one named, whichever check it fails: a value sharing a
/// factor with n before one out of range, and the other way round.
#[test]
fn the_first_bad_ciphertext_is_named_whichever_check_it_fails() {
    let ctx = small_context(SCHEMES[0]);
    let (pk, width) = (
        ctx.public().public_key(),
        ctx.public().public_key().ciphertext_bytes(),
    );
    let five = BigUint::from(5u32);
    let (n, n_squared) = (pk.n().clone(), pk.n() * pk.n());
    for (values, record, says) in [
        ([&five, &n, &n_squared], 1, "shares a factor"),
        ([&five, &n_squared, &n], 1, "not below n^2"),
        ([&n, &five, &n_squared], 0, "shares a factor"),
    ] {
        let ciphertexts: Vec<Ciphertext> = values
            .iter()
            .map(|v| Ciphertext::from_biguint((*v).clone()))
            .collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| le_bytes(v, width)).collect();
        for err in [
            CiphertextBatch::from_ciphertexts(pk, 1, &ciphertexts).unwrap_err(),
            CiphertextBatch::from_le_bytes(pk, 1, width, &bytes, 0).unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::InvalidCiphertext { index, reason }
                    if *index == record && reason.contains(says)),
                "{values:?}: {err:?}"
            );
        }
    }
    // Many good records and one bad among them, wherever it is: the check of a large batch
    // goes by groups, and still names the one bad record.
    let good = ctx.encrypt_batch(&vec![vec![1u8; 64]; 300]).unwrap();
    let chunks = good.pieces_per_record();
    let mut bytes = Vec::new();
    good.write_le_bytes(width, &mut bytes).unwrap();
    for record in [0, 63, 64, 200, 299] {
        let mut bad = bytes.clone();
        let at = (record * chunks + chunks - 1) * width;
        bad[at..at + width].copy_from_slice(&le_bytes(&(&n * 2u32), width));
        let err = CiphertextBatch::from_le_bytes(pk, chunks, width, &bad, 0).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidCiphertext { index, .. } if *index == record),
            "record {record}: {err:?}"
        );
    }
    assert_eq!(
        CiphertextBatch::from_le_bytes(pk, chunks, width, &bytes, 0).unwrap(),
        good
    );
}

/// An index never takes in a value that is no ciphertext of its key: every way a user has to
/// put values from outside into it (a batch from bytes, from big integers, from the per-vector
/// form, from a file) is refused by the library before the index sees it, and the index stays
/// as it was. Searching never checks again: the records' invariants come with the batch.
#[test]
fn an_index_never_takes_in_a_value_sharing_a_factor_with_n_or_out_of_range() {
    for scheme in SCHEMES {
        let ctx = small_context(scheme);
        let (pk, shape) = (ctx.public().public_key(), ctx.ciphertext_shape());
        let mut index = ctx.new_index().unwrap();
        let good = ctx.encrypt_batch(&[vec![1u8; 64]]).unwrap();
        index.insert_batch(&good).unwrap();
        for (bad, reason_says) in bad_values(ctx) {
            let chunks: Vec<Ciphertext> = (0..shape.pieces)
                .map(|i| match i {
                    0 => Ciphertext::from_biguint(bad.clone()),
                    _ => good.ciphertext(i),
                })
                .collect();
            let bytes: Vec<u8> = chunks
                .iter()
                .flat_map(|c| le_bytes(c.as_biguint(), shape.piece_bytes))
                .collect();
            let vector = [EncryptedVector::new(chunks.clone())];
            let mut attempts = vec![
                CiphertextBatch::from_ciphertexts(pk, shape.pieces, &chunks),
                EncryptedVector::to_batch(pk, shape.pieces, &vector),
                CiphertextBatch::from_le_bytes(pk, shape.pieces, shape.piece_bytes, &bytes, 0),
            ];
            if let Ok(binary) = encode_binary(&vector, shape) {
                attempts.push(read_binary_batch(&binary[..], shape, pk));
            }
            for attempt in attempts {
                let inserted = attempt.and_then(|batch| index.insert_batch(&batch));
                match inserted {
                    Err(Error::InvalidCiphertext { index: 0, reason }) => {
                        assert!(reason.contains(reason_says), "{reason}")
                    }
                    Err(e) if matches!(e.innermost(), Error::InvalidCiphertext { .. }) => {}
                    other => panic!("{scheme:?}, {reason_says}: inserted: {other:?}"),
                }
            }
            assert_eq!(index.len(), 1, "{scheme:?}: the index changed");
            // A query from outside is refused the same way.
            assert!(
                CiphertextBatch::from_le_bytes(pk, shape.pieces, shape.piece_bytes, &bytes, 0)
                    .is_err()
            );
        }
        let query = ctx.encrypt_batch(&[vec![0u8; 64]]).unwrap();
        let responses = index.aggregate_batch(&query, &Selection::All).unwrap();
        assert_eq!(ctx.decode_batch(&responses).unwrap(), vec![64]);
    }
}

/// A value out of range late in a large batch given as big integers: its conversion runs on
/// every core and stops where one core meets the bad value, so items before it may be left
/// unconverted; none of them may then be taken for a ciphertext sharing a factor with n.
#[test]
fn an_out_of_range_value_late_in_a_large_batch_is_the_one_named() {
    let ctx = small_context(SCHEMES[0]);
    let pk = ctx.public().public_key();
    let good = ctx.encrypt_batch(&vec![vec![1u8; 64]; 16384]).unwrap();
    let chunks = good.pieces_per_record();
    let mut vectors = paillier_gpu::hamming::EncryptedVector::from_batch(&good);
    for record in [16383, 16000, 8192] {
        let kept = vectors[record].chunks[0].clone();
        vectors[record].chunks[0] = Ciphertext::from_biguint(BigUint::from(0u32));
        for _ in 0..4 {
            match paillier_gpu::hamming::EncryptedVector::to_batch(pk, chunks, &vectors) {
                Err(Error::InvalidCiphertext { index, reason }) => {
                    assert_eq!(index, record, "{reason}");
                    assert!(!reason.contains("shares a factor"), "{reason}");
                }
                other => panic!("record {record}: {other:?}"),
            }
        }
        vectors[record].chunks[0] = kept;
    }
}
