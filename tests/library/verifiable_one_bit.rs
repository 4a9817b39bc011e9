//! One-bit verifiable records through the public API: decoded with one prime against num-bigint,
//! and every answer a lying service can build refused, as the two-bit layout's are
//! (`verifiable_records.rs`).

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_traits::One;
use paillier_gpu::hamming::Selection;
use paillier_gpu::paillier::{Ciphertext, CiphertextBatch};
use paillier_gpu::verifiable::{
    AnswerRejection, Expectation, FailureKind, LayoutKind, OneBitLayout, RecordCodec, RecordLayout,
    RecordNonce, RecordOptions, VerifiableQuery,
};
use paillier_gpu::{ContextOptions, Error, ExecutionContext, Scheme};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::common::hamming;

/// Dimensions of the records here: a key_len of 512 takes up to 126 one-bit dimensions.
const EMBED: usize = 100;
const KEY_LEN: usize = 512;
const KB: &str = "kb-one-bit";

fn context() -> &'static ExecutionContext {
    static CTX: OnceLock<ExecutionContext> = OnceLock::new();
    CTX.get_or_init(|| {
        let options = ContextOptions {
            scheme: Scheme::Paillier,
            key_len: KEY_LEN,
            embed_len: EMBED,
            allow_insecure: true,
            ..ContextOptions::default()
        };
        ExecutionContext::create_with_passphrase(&options, "pw").unwrap()
    })
}

fn layout() -> RecordLayout {
    context().record_layout(LayoutKind::OneBit).unwrap()
}

fn random_vectors(rng: &mut StdRng, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| (0..EMBED).map(|_| rng.gen_range(0..2u8)).collect())
        .collect()
}

struct Stored {
    vectors: Vec<Vec<u8>>,
    nonces: Vec<RecordNonce>,
    records: CiphertextBatch,
    ids: Vec<i64>,
}

fn store(rng: &mut StdRng, kb: &str, count: usize) -> Stored {
    let vectors = random_vectors(rng, count);
    let (records, nonces) = context()
        .encrypt_records_in(&layout(), kb, &vectors)
        .unwrap();
    Stored {
        vectors,
        nonces,
        records,
        ids: (100..100 + count as i64).collect(),
    }
}

fn answer(records: &CiphertextBatch, query: &VerifiableQuery) -> Vec<Ciphertext> {
    let mut index = context().new_index().unwrap();
    index.insert_batch(records).unwrap();
    let responses = index
        .aggregate_batch(query.encrypted(), &Selection::All)
        .unwrap();
    (0..responses.records())
        .map(|r| responses.ciphertext(r))
        .collect()
}

fn batch_of(ciphertexts: &[Ciphertext]) -> CiphertextBatch {
    CiphertextBatch::from_ciphertexts(context().public().public_key(), 1, ciphertexts).unwrap()
}

fn verify(
    query: &VerifiableQuery,
    answer: &[Ciphertext],
    ids: &[i64],
    expectation: Expectation,
) -> Result<Vec<u32>, AnswerRejection> {
    match context().verify_answer(KB, query, &batch_of(answer), ids, &expectation) {
        Ok(verified) => Ok(verified.distances),
        Err(Error::AnswerRejected(rejection)) => Err(rejection),
        Err(other) => panic!("not a rejection: {other}"),
    }
}

fn invalid_ids(rejection: &AnswerRejection) -> Vec<i64> {
    assert_eq!(rejection.failures.len(), 1, "{rejection}");
    assert_eq!(rejection.failures[0].kind, FailureKind::InvalidRecord);
    rejection.failures[0].chunk_ids.clone()
}

/// The whole plaintext in num-bigint: `L(c^λ mod n²) · λ⁻¹ mod n` (g = n + 1), and p.
fn oracle_decrypt(c: &BigUint) -> (BigUint, BigUint) {
    let (p, q) = context().secret_key().prime_factors();
    let n = &*p * &*q;
    let lambda = (&*p - 1u32) * (&*q - 1u32);
    let l = (c.modpow(&lambda, &(&n * &n)) - 1u32) / &n;
    (l * lambda.modinv(&n).unwrap() % n, p.clone())
}

#[test]
fn an_answer_is_the_record_plus_the_query_below_p_and_decodes_to_its_bits() {
    let mut rng = StdRng::seed_from_u64(17);
    let stored = store(&mut rng, KB, 20);
    let RecordLayout::OneBit(one_bit) = layout() else {
        unreachable!()
    };
    for _ in 0..3 {
        let vector = random_vectors(&mut rng, 1).remove(0);
        let query = context().encrypt_query_in(&layout(), &vector).unwrap();
        let answer = answer(&stored.records, &query);
        let decoded = context()
            .decode_records(KB, &query, &batch_of(&answer))
            .unwrap();
        for (i, record) in decoded.iter().enumerate() {
            let (m, p) = oracle_decrypt(answer[i].as_biguint());
            assert!(m < p, "the answer's plaintext is below the larger prime");
            assert!(m.bits() as usize <= one_bit.query_bits());
            // Its low bits are the record's vector, then its nonce.
            for (d, &bit) in stored.vectors[i].iter().enumerate() {
                assert_eq!(m.bit(d as u64), bit == 1);
            }
            let nonce = (&m >> EMBED) & ((BigUint::one() << 128u32) - 1u32);
            assert_eq!(nonce, BigUint::from_bytes_le(&stored.nonces[i].to_bytes()));
            assert!(record.valid);
            assert_eq!(record.nonce, stored.nonces[i]);
            assert_eq!(record.distance, hamming(&stored.vectors[i], &vector));
        }
        let count = Expectation {
            count: Some(20),
            ..Default::default()
        };
        let distances = verify(&query, &answer, &stored.ids, count).unwrap();
        let expected: Vec<u32> = stored.vectors.iter().map(|v| hamming(v, &vector)).collect();
        assert_eq!(distances, expected);
    }
}

#[test]
fn every_answer_a_lying_service_builds_is_refused() {
    let ctx = context();
    let pk = ctx.public().public_key();
    let n = pk.n().clone();
    let n_squared = &n * &n;
    let mut rng = StdRng::seed_from_u64(19);
    let stored = store(&mut rng, KB, 8);
    let ids = &stored.ids;
    let none = Expectation::default;
    let vector = random_vectors(&mut rng, 1).remove(0);
    let query = ctx.encrypt_query_in(&layout(), &vector).unwrap();
    let honest = answer(&stored.records, &query);
    let one_bit = OneBitLayout::new(EMBED, KEY_LEN).unwrap();

    // Shifted by E(2^bit): a vector bit, the nonce, the tag, the query's nonce, above it all.
    for bit in [
        0,
        63,
        EMBED + 5,
        EMBED + 200,
        one_bit.record_bits() + 1,
        700,
    ] {
        let mut shifted = honest.clone();
        shifted[2] = pk
            .add_plaintext(&shifted[2], &(BigUint::one() << bit))
            .unwrap();
        let rejection = verify(&query, &shifted, ids, none()).unwrap_err();
        assert_eq!(invalid_ids(&rejection), vec![102], "bit {bit}");
    }
    // Shifted by E(−1) (n − 1): wraps below zero.
    let mut negative = honest.clone();
    negative[1] = pk.add_plaintext(&negative[1], &(&n - 1u32)).unwrap();
    assert_eq!(
        invalid_ids(&verify(&query, &negative, ids, none()).unwrap_err()),
        vec![101]
    );

    // A record on its own, without the query: D = R − Q mod p, far above the record's fields.
    let mut bare = honest.clone();
    bare[3] = stored.records.ciphertext(3);
    assert_eq!(
        invalid_ids(&verify(&query, &bare, ids, none()).unwrap_err()),
        vec![103]
    );

    // The guess-confirmation answer E(R)·E(Q)²·E(−C): were C the query's plaintext, it would be
    // the honest answer; but a one-bit query is its random nonce alone, so the service's best
    // C is 0, which leaves R + Q.
    let encrypted_query = query.encrypted().ciphertext(0);
    let twice = |c: &Ciphertext| {
        let squared = encrypted_query
            .as_biguint()
            .modpow(&BigUint::from(2u32), &n_squared);
        Ciphertext::from_biguint(c.as_biguint() * squared % &n_squared)
    };
    let mut guessed = honest.clone();
    guessed[4] = twice(&stored.records.ciphertext(4));
    assert_eq!(
        invalid_ids(&verify(&query, &guessed, ids, none()).unwrap_err()),
        vec![104]
    );

    // Records replayed from another query's answer; a record of another knowledge base; a
    // two-bit record of the same knowledge base; a record uploaded without verification.
    let previous = ctx.encrypt_query_in(&layout(), &vector).unwrap();
    let replayed = answer(&stored.records, &previous);
    assert_eq!(
        invalid_ids(&verify(&query, &replayed, ids, none()).unwrap_err()),
        *ids
    );
    let foreign = store(&mut rng, "another-kb", 1);
    let two_bit = ctx
        .encrypt_records(KB, &[stored.vectors[5].clone()])
        .unwrap()
        .0;
    let plain = ctx.encrypt_batch(&[stored.vectors[6].clone()]).unwrap();
    let mut mixed = honest.clone();
    mixed[0] = answer(&foreign.records, &query).remove(0);
    mixed[5] = answer(&two_bit, &query).remove(0);
    mixed[6] = answer(&plain, &query).remove(0);
    assert_eq!(
        invalid_ids(&verify(&query, &mixed, ids, none()).unwrap_err()),
        vec![100, 105, 106]
    );

    // Swapped, duplicated and dropped records: refused whole, as in the two-bit layout.
    let mut duplicated = honest.clone();
    duplicated[7] = honest[2].clone();
    let rejection = verify(&query, &duplicated, ids, none()).unwrap_err();
    assert!(rejection.has(FailureKind::DuplicatedRecord), "{rejection}");
    let count = Expectation {
        count: Some(8),
        ..Default::default()
    };
    let rejection = verify(&query, &honest[1..], &ids[1..], count).unwrap_err();
    assert!(rejection.has(FailureKind::Missing), "{rejection}");
    let mut swapped = honest.clone();
    swapped.swap(0, 1);
    let distances = verify(&query, &swapped, ids, none()).unwrap();
    assert_eq!(distances[0], hamming(&stored.vectors[1], &vector));
}

/// Only the owner's knowledge of p separates the two decodings: a plaintext shifted by a
/// multiple of p decodes modulo p as the honest one. Building such an answer takes p (the
/// service knows only n), which is what SECURITY.md's reduction says.
#[test]
fn one_prime_sees_the_plaintext_modulo_p_only() {
    let ctx = context();
    let pk = ctx.public().public_key();
    let mut rng = StdRng::seed_from_u64(23);
    let stored = store(&mut rng, KB, 2);
    let vector = random_vectors(&mut rng, 1).remove(0);
    let query = ctx.encrypt_query_in(&layout(), &vector).unwrap();
    let mut shifted = answer(&stored.records, &query);
    let (p, _) = ctx.secret_key().prime_factors();
    shifted[0] = pk.add_plaintext(&shifted[0], &p).unwrap();
    assert!(verify(&query, &shifted, &stored.ids, Expectation::default()).is_ok());
}

#[test]
fn stored_records_pass_on_their_own_and_an_answer_in_their_place_does_not() {
    let ctx = context();
    let options = RecordOptions {
        verifiable: true,
        private_meta: false,
    };
    let first = RecordCodec::new(ctx, KB, options);
    let none = first.open_digest(0, None, None).unwrap();
    assert_eq!(first.layout().unwrap().kind(), LayoutKind::OneBit);
    // A codec told "no digest" refuses verified records for good: read under the digest the
    // first write made.
    let (_, sealed) = first.next_digest(&none, &Default::default()).unwrap();
    let codec = RecordCodec::new(ctx, KB, options);
    codec.open_digest(1, Some(&sealed), None).unwrap();
    let mut rng = StdRng::seed_from_u64(29);
    let stored = store(&mut rng, KB, 4);
    let read = codec
        .stored(&stored.records, &stored.ids, &Expectation::default())
        .unwrap();
    assert_eq!(read.nonces, stored.nonces);
    assert_eq!(&read.bits[..], &stored.vectors.concat()[..]);
    let query = codec.encrypt_query(&stored.vectors[0]).unwrap();
    let mut records: Vec<Ciphertext> = (0..4).map(|i| stored.records.ciphertext(i)).collect();
    records[2] = answer(&stored.records, &query).remove(2);
    match codec.stored(&batch_of(&records), &stored.ids, &Expectation::default()) {
        Err(Error::AnswerRejected(rejection)) => assert_eq!(invalid_ids(&rejection), vec![102]),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn each_layout_states_its_largest_dimension() {
    assert_eq!(OneBitLayout::largest_embed_len(KEY_LEN), 126);
    assert!(OneBitLayout::new(126, KEY_LEN).is_ok());
    let message = OneBitLayout::new(127, KEY_LEN).unwrap_err().to_string();
    assert!(message.contains("up to 126 dimensions"), "{message}");
    assert_eq!(
        LayoutKind::preferred(638, 1024).unwrap(),
        LayoutKind::OneBit
    );
    assert_eq!(
        LayoutKind::preferred(639, 1024).unwrap(),
        LayoutKind::TwoBit
    );
    let both = LayoutKind::preferred(832, 1024).unwrap_err().to_string();
    assert!(both.contains("one-bit layout takes up to 638"), "{both}");
    assert!(both.contains("two-bit layout up to 831"), "{both}");
}
