//! Packing, aggregation and decoding against a direct Hamming count, for both schemes.

use crate::common;

use common::{hamming, small_context, SCHEMES};
use paillier_gpu::hamming::{top_k, EncryptedVector, Selection, VectorLayout};
use paillier_gpu::{ContextOptions, Error, ExecutionContext, Scheme};
use proptest::prelude::*;

fn bits(len: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..=1, len)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn encrypted_hamming_equals_direct_count(
        database in proptest::collection::vec(bits(64), 1..12),
        query in bits(64),
        s in 0usize..2,
    ) {
        let ctx = small_context(SCHEMES[s]);
        let mut index = ctx.new_index().unwrap();
        index.insert_batch(&ctx.encrypt_batch(&database).unwrap()).unwrap();
        let responses = index.aggregate_batch(&ctx.encrypt_batch(&[&query]).unwrap(), &Selection::All).unwrap();
        let expected: Vec<u32> = database.iter().map(|v| hamming(v, &query)).collect();
        prop_assert_eq!(ctx.decode_batch(&responses).unwrap(), expected);
    }

    #[test]
    fn packing_puts_dimension_i_at_bit_2_embed_len_minus_1_minus_i(v in bits(70)) {
        let layout = VectorLayout::new(70, 512).unwrap();
        let packed = &layout.pack(&v, 3)[0];
        for (i, &b) in v.iter().enumerate() {
            let pos = 2 * (70 - 1 - i);
            prop_assert_eq!((packed[pos / 64] >> (pos % 64)) & 1, b as u64);
            prop_assert_eq!((packed[(pos + 1) / 64] >> ((pos + 1) % 64)) & 1, 0);
        }
    }

    /// The slot-bits form a GPU reads spreads into exactly the plaintexts the CPU computes on,
    /// chunk by chunk, for vectors of one and of several chunks.
    #[test]
    fn slot_bits_spread_into_the_packed_plaintexts(embed_len in 1usize..400, seed in any::<u64>()) {
        use paillier_gpu::hazmat::backend::message_form::spread_item;
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let v: Vec<u8> = (0..embed_len).map(|_| rng.gen_range(0..=1)).collect();
        // key_len 128: 127 dimensions per chunk; plaintexts of 8 limbs (n²'s width).
        let layout = VectorLayout::new(embed_len, 128).unwrap();
        let bit_limbs = layout.slot_bit_limbs();
        let mut bits = vec![0u64; layout.pieces() * bit_limbs];
        layout.pack_slot_bits_into(&v, &mut bits);
        for (chunk, plaintext) in layout.pack(&v, 8).iter().enumerate() {
            let mut spread = vec![0u64; 8];
            spread_item(&bits[chunk * bit_limbs..(chunk + 1) * bit_limbs], &mut spread);
            prop_assert_eq!(&spread, plaintext, "chunk {}", chunk);
        }
    }

    #[test]
    fn top_k_is_a_sorted_prefix_with_ties_by_id(d in proptest::collection::vec(0u32..8, 0..40), k in 0usize..45) {
        let top = top_k(&d, k);
        let mut all: Vec<(u32, usize)> = d.iter().copied().zip(0..).collect();
        all.sort();
        let expected: Vec<(u32, usize)> = all.into_iter().take(k).collect();
        prop_assert_eq!(top.ids, expected.iter().map(|e| e.1).collect::<Vec<_>>());
        prop_assert_eq!(top.distances, expected.iter().map(|e| e.0).collect::<Vec<_>>());
    }
}

#[test]
fn vectors_longer_than_a_chunk_span_several_ciphertexts() {
    for scheme in SCHEMES {
        // key_len 128: 127 dimensions per chunk, so 300 dimensions take 3 chunks.
        let options = ContextOptions {
            scheme,
            key_len: 128,
            embed_len: 300,
            alpha_len: 40,
            allow_insecure: true,
            ..Default::default()
        };
        let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
        assert_eq!(ctx.layout().pieces(), 3);
        let database: Vec<Vec<u8>> = (0..5)
            .map(|i| (0..300).map(|j| ((i * 7 + j * 3) % 5 == 0) as u8).collect())
            .collect();
        let query: Vec<u8> = (0..300).map(|j| (j % 3 == 0) as u8).collect();
        let mut index = ctx.new_index().unwrap();
        index
            .insert_batch(&ctx.encrypt_batch(&database).unwrap())
            .unwrap();
        let responses = index
            .aggregate_batch(&ctx.encrypt_batch(&[&query]).unwrap(), &Selection::All)
            .unwrap();
        assert_eq!(responses.pieces_per_record(), 3);
        assert_eq!(responses.records(), database.len());
        let expected: Vec<u32> = database.iter().map(|v| hamming(v, &query)).collect();
        assert_eq!(
            ctx.decode_batch(&responses).unwrap(),
            expected,
            "{scheme:?}"
        );
    }
}

#[test]
fn selections_cover_ranges_and_id_lists_in_order() {
    let ctx = small_context(Scheme::Paillier);
    let database: Vec<Vec<u8>> = (0..6u8)
        .map(|i| {
            (0..64)
                .map(|j| (i as usize + j).is_multiple_of(i as usize + 2) as u8)
                .collect()
        })
        .collect();
    let query = vec![0u8; 64];
    let mut index = ctx.new_index().unwrap();
    assert_eq!(
        index
            .insert_batch(&ctx.encrypt_batch(&database[..4]).unwrap())
            .unwrap(),
        0..4
    );
    assert_eq!(
        index
            .insert_batch(&ctx.encrypt_batch(&database[4..]).unwrap())
            .unwrap(),
        4..6
    );
    let q = ctx.encrypt_batch(&[&query]).unwrap();
    let weight = |i: usize| hamming(&database[i], &query);
    let range = index.aggregate_batch(&q, &Selection::Range(2..5)).unwrap();
    assert_eq!(
        ctx.decode_batch(&range).unwrap(),
        vec![weight(2), weight(3), weight(4)]
    );
    let ids = index
        .aggregate_batch(&q, &Selection::Ids(vec![5, 0, 5]))
        .unwrap();
    assert_eq!(
        ctx.decode_batch(&ids).unwrap(),
        vec![weight(5), weight(0), weight(5)]
    );
    assert!(index.aggregate_batch(&q, &Selection::Range(3..7)).is_err());
    assert!(matches!(
        index.aggregate_batch(&q, &Selection::Ids(vec![6])),
        Err(Error::InvalidSelection(_))
    ));
    assert!(index
        .aggregate_batch(&q, &Selection::Range(0..0))
        .unwrap()
        .is_empty());
}

#[test]
fn bad_vectors_and_bad_records_get_typed_errors() {
    let ctx = small_context(Scheme::PaillierLookup);
    let err = ctx
        .encrypt_batch(&[vec![0u8; 64], vec![0u8; 63]])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::VectorLength {
                index: 1,
                expected: 64,
                found: 63
            }
        ),
        "{err}"
    );
    let mut v = vec![0u8; 64];
    v[10] = 2;
    assert!(matches!(
        ctx.encrypt_batch(&[v]),
        Err(Error::NonBinaryValue {
            index: 0,
            position: 10,
            ..
        })
    ));

    // Ciphertexts out of range are refused where they enter, as a batch is made from them
    // (the SDK's per-vector form); the error names the vector.
    let pk = ctx.public().public_key();
    let good = EncryptedVector::from_batch(&ctx.encrypt_batch(&[&[1u8; 64]]).unwrap()).remove(0);
    let mut too_big = good.clone();
    too_big.chunks[0] = paillier_gpu::paillier::Ciphertext::from_biguint(
        ctx.public().public_key().n_squared().clone(),
    );
    let mut zero = good.clone();
    zero.chunks[0] = paillier_gpu::paillier::Ciphertext::from_biguint(0u32.into());
    for bad in [too_big, zero] {
        assert!(matches!(
            EncryptedVector::to_batch(pk, 1, &[good.clone(), bad.clone()]),
            Err(Error::InvalidCiphertext { index: 1, .. })
        ));
        assert!(matches!(
            EncryptedVector::to_batch(pk, 1, &[bad]),
            Err(Error::InvalidCiphertext { index: 0, .. })
        ));
    }
    let mut two_chunks = good.clone();
    two_chunks.chunks.push(good.chunks[0].clone());
    assert!(matches!(
        EncryptedVector::to_batch(pk, 1, &[two_chunks]),
        Err(Error::InvalidCiphertext { .. })
    ));
    // A batch of another key is refused by the index, which stays unchanged.
    let mut index = ctx.new_index().unwrap();
    let other = small_context(Scheme::Paillier);
    assert!(index
        .insert_batch(&other.encrypt_batch(&[&[1u8; 64]]).unwrap())
        .is_err());
    assert!(
        index.is_empty(),
        "a failed insert leaves the index unchanged"
    );
    assert!(ctx
        .decode_batch(&other.encrypt_batch(&[&[1u8; 64]]).unwrap())
        .is_err());
}

/// Vectors are checked on every core while they are packed; the error is still the first bad
/// vector's, whatever core found a later one first.
#[test]
fn the_first_bad_vector_is_reported_whatever_the_order_of_the_checks() {
    let ctx = small_context(Scheme::Paillier);
    let dims = ctx.embed_len();
    let mut vectors = vec![vec![0u8; dims]; 4000];
    vectors[3999][0] = 2;
    vectors[2500] = vec![1u8; dims + 1];
    vectors[1234][dims - 1] = 7;
    match ctx.encrypt_batch(&vectors) {
        Err(Error::NonBinaryValue {
            index, position, ..
        }) => assert_eq!((index, position), (1234, dims - 1)),
        other => panic!("expected vector 1234's error, got {other:?}"),
    }
    vectors[1234][dims - 1] = 0;
    assert!(matches!(
        ctx.encrypt_batch(&vectors),
        Err(Error::VectorLength { index: 2500, .. })
    ));
}
