//! Verifiable records through the public API: the tagged layout and its decode against
//! num-bigint, and every way a lying service can alter an answer, each refused with its kind.

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_traits::One;
use paillier_gpu::hamming::Selection;
use paillier_gpu::paillier::{Ciphertext, CiphertextBatch};
use paillier_gpu::verifiable::{
    open_records, seal_document, AnswerRejection, Document, Expectation, FailureKind, RecordNonce,
    TaggedLayout, VerifiableQuery,
};
use paillier_gpu::{Error, ExecutionContext, Scheme};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::common::{hamming, small_options};

/// Dimensions of the records here: the most a key_len of 256 holds with the fields (2·127 + 256
/// < 511).
const EMBED: usize = 127;
const KB: &str = "kb-verifiable";

fn context() -> &'static ExecutionContext {
    static CTX: OnceLock<ExecutionContext> = OnceLock::new();
    CTX.get_or_init(|| {
        ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, EMBED), "pw")
            .unwrap()
    })
}

fn random_vectors(rng: &mut StdRng, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| (0..EMBED).map(|_| rng.gen_range(0..2u8)).collect())
        .collect()
}

/// The classic scheme's decryption in num-bigint: `L(c^λ mod n²) · λ⁻¹ mod n` (g = n + 1).
fn oracle_decrypt(ctx: &ExecutionContext, c: &BigUint) -> BigUint {
    let (p, q) = ctx.secret_key().prime_factors();
    let n = &*p * &*q;
    let lambda = (&*p - 1u32) * (&*q - 1u32);
    let l = (c.modpow(&lambda, &(&n * &n)) - 1u32) / &n;
    let mu = lambda.modinv(&n).unwrap();
    l * mu % n
}

/// Records, their vectors and nonces, in a fresh index; ids 100, 101, …
struct Stored {
    vectors: Vec<Vec<u8>>,
    nonces: Vec<RecordNonce>,
    records: CiphertextBatch,
    ids: Vec<i64>,
}

fn store(rng: &mut StdRng, kb: &str, count: usize) -> Stored {
    let ctx = context();
    let vectors = random_vectors(rng, count);
    let (records, nonces) = ctx.encrypt_records(kb, &vectors).unwrap();
    Stored {
        vectors,
        nonces,
        records,
        ids: (100..100 + count as i64).collect(),
    }
}

/// The service's honest answer to `query` over `records`, as ciphertexts.
fn answer(records: &CiphertextBatch, query: &[u8]) -> Vec<Ciphertext> {
    let ctx = context();
    let mut index = ctx.new_index().unwrap();
    index.insert_batch(records).unwrap();
    let responses = index
        .aggregate_batch(query_for(query).encrypted(), &Selection::All)
        .unwrap();
    (0..responses.records())
        .map(|r| responses.ciphertext(r))
        .collect()
}

thread_local! {
    /// Each query vector's one encryption (with its nonce), as an owner keeps it for its answer.
    static QUERIES: std::cell::RefCell<std::collections::HashMap<Vec<u8>, std::rc::Rc<VerifiableQuery>>> =
        Default::default();
}

/// The query the owner sent for `vector`: encrypted once, with a fresh nonce.
fn query_for(vector: &[u8]) -> std::rc::Rc<VerifiableQuery> {
    QUERIES.with(|queries| {
        queries
            .borrow_mut()
            .entry(vector.to_vec())
            .or_insert_with(|| std::rc::Rc::new(context().encrypt_query(vector).unwrap()))
            .clone()
    })
}

fn batch_of(ciphertexts: &[Ciphertext]) -> CiphertextBatch {
    CiphertextBatch::from_ciphertexts(context().public().public_key(), 1, ciphertexts).unwrap()
}

fn verify(
    query: &[u8],
    answer: &[Ciphertext],
    ids: &[i64],
    expectation: Expectation,
) -> Result<Vec<u32>, AnswerRejection> {
    match context().verify_answer(KB, &query_for(query), &batch_of(answer), ids, &expectation) {
        Ok(verified) => Ok(verified.distances),
        Err(Error::AnswerRejected(rejection)) => Err(rejection),
        Err(other) => panic!("not a rejection: {other}"),
    }
}

/// The rejection's failure of `kind`, with its chunk ids.
fn failed_ids(rejection: &AnswerRejection, kind: FailureKind) -> Vec<i64> {
    rejection
        .failures
        .iter()
        .find(|f| f.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} in: {rejection}"))
        .chunk_ids
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_tagged_plaintext_is_slots_then_nonce_then_tag(
        embed in 1usize..=EMBED,
        seed in any::<u64>(),
        nonce in any::<u128>(),
        tag in any::<u128>(),
    ) {
        let layout = TaggedLayout::new(embed, 256).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let vector: Vec<u8> = (0..embed).map(|_| rng.gen_range(0..2u8)).collect();
        let mut limbs = vec![0u64; 8];
        let nonce_value = RecordNonce::from_bytes(nonce.to_le_bytes());
        layout.pack_into(&vector, nonce_value, tag, &mut limbs);
        let mut expected = BigUint::from(tag);
        expected <<= 128;
        expected += BigUint::from(nonce);
        for &bit in &vector {
            expected <<= 2;
            expected += u32::from(bit);
        }
        let got = BigUint::from_slice(
            &limbs.iter().flat_map(|l| [*l as u32, (*l >> 32) as u32]).collect::<Vec<_>>(),
        );
        prop_assert_eq!(got, expected);
        let fields = layout.fields(&limbs);
        prop_assert_eq!((fields.nonce, fields.tag, fields.query_nonce, fields.above), (nonce_value, tag, 0, false));
    }
}

#[test]
fn decoding_agrees_with_num_bigint_field_by_field() {
    let ctx = context();
    let mut rng = StdRng::seed_from_u64(7);
    let stored = store(&mut rng, KB, 24);
    let layout = ctx.tagged_layout().unwrap();
    for _ in 0..4 {
        let query = random_vectors(&mut rng, 1).remove(0);
        let answer = answer(&stored.records, &query);
        let decoded = ctx
            .decode_records(KB, &query_for(&query), &batch_of(&answer))
            .unwrap();
        for (i, record) in decoded.iter().enumerate() {
            let m = oracle_decrypt(ctx, answer[i].as_biguint());
            assert!(m.bits() as usize <= layout.plaintext_bits());
            let mask = (BigUint::one() << 128u32) - 1u32;
            let nonce = (&m >> layout.nonce_offset()) & &mask;
            assert_eq!(nonce, BigUint::from_bytes_le(&stored.nonces[i].to_bytes()));
            assert_ne!((&m >> layout.tag_offset()) & &mask, BigUint::default());
            assert_eq!(record.nonce, stored.nonces[i]);
            assert_eq!(record.distance, hamming(&stored.vectors[i], &query));
            assert!(record.valid);
        }
    }
}

#[test]
fn honest_answers_never_raise_an_alarm() {
    let mut rng = StdRng::seed_from_u64(11);
    let stored = store(&mut rng, KB, 40);
    for _ in 0..50 {
        let query = random_vectors(&mut rng, 1).remove(0);
        let count = Expectation {
            count: Some(40),
            ..Default::default()
        };
        let distances =
            verify(&query, &answer(&stored.records, &query), &stored.ids, count).unwrap();
        let expected: Vec<u32> = stored.vectors.iter().map(|v| hamming(v, &query)).collect();
        assert_eq!(distances, expected);
    }
}

#[test]
fn every_alteration_is_refused_with_its_kind_and_ids() {
    let ctx = context();
    let pk = ctx.public().public_key();
    let mut rng = StdRng::seed_from_u64(3);
    let stored = store(&mut rng, KB, 12);
    let query = random_vectors(&mut rng, 1).remove(0);
    let honest = answer(&stored.records, &query);
    let ids = &stored.ids;
    let none = Expectation::default();
    let layout = ctx.tagged_layout().unwrap();

    // A piece forged as E(0) under the public key.
    let mut forged = honest.clone();
    forged[3] = ctx
        .public_context()
        .encrypt_batch(&[vec![0u8; EMBED]])
        .unwrap()
        .ciphertext(0);
    let rejection = verify(&query, &forged, ids, none).unwrap_err();
    assert_eq!(
        failed_ids(&rejection, FailureKind::InvalidRecord),
        vec![103]
    );

    // Shifted by E(δ): into a slot's low and high bit, into the nonce and the tag, above the
    // fields; one kind for all.
    for bit in [
        0,
        1,
        layout.nonce_offset() + 5,
        layout.tag_offset() + 9,
        layout.plaintext_bits() + 3,
    ] {
        let mut shifted = honest.clone();
        shifted[5] = pk
            .add_plaintext(&shifted[5], &(BigUint::one() << bit))
            .unwrap();
        let rejection = verify(&query, &shifted, ids, none).unwrap_err();
        assert_eq!(rejection.failures.len(), 1, "bit {bit}: {rejection}");
        assert_eq!(
            failed_ids(&rejection, FailureKind::InvalidRecord),
            vec![105],
            "bit {bit}"
        );
    }

    // One record under another id; the same id twice.
    let mut duplicated = honest.clone();
    duplicated[7] = honest[2].clone();
    let rejection = verify(&query, &duplicated, ids, none).unwrap_err();
    assert_eq!(
        failed_ids(&rejection, FailureKind::DuplicatedRecord),
        vec![102, 107]
    );
    let mut twice = honest.clone();
    twice.push(honest[4].clone());
    let mut twice_ids = ids.clone();
    twice_ids.push(104);
    let rejection = verify(&query, &twice, &twice_ids, none).unwrap_err();
    assert_eq!(failed_ids(&rejection, FailureKind::DuplicatedId), vec![104]);

    // A record dropped, caught by the caller's count; one more than the count.
    let count = Expectation {
        count: Some(12),
        ..Default::default()
    };
    let rejection = verify(&query, &honest[1..], &ids[1..], count).unwrap_err();
    assert!(rejection.has(FailureKind::Missing), "{rejection}");
    assert!(verify(&query, &honest[1..], &ids[1..], none).is_ok());

    // Ids outside the asked range.
    let range = Expectation {
        range: Some((100, 105)),
        ..Default::default()
    };
    let rejection = verify(&query, &honest, ids, range).unwrap_err();
    assert_eq!(
        failed_ids(&rejection, FailureKind::OutsideRange),
        (106..112).collect::<Vec<_>>()
    );

    // The previous query's answer replayed.
    let previous = random_vectors(&mut rng, 1).remove(0);
    let replayed = answer(&stored.records, &previous);
    let rejection = verify(&query, &replayed, ids, none).unwrap_err();
    assert_eq!(failed_ids(&rejection, FailureKind::InvalidRecord), *ids);
    assert!(rejection.to_string().contains("replayed"), "{rejection}");

    // A record of another knowledge base under the same key.
    let other = store(&mut rng, "another-kb", 1);
    let mut foreign = honest.clone();
    foreign[9] = answer(&other.records, &query).remove(0);
    let rejection = verify(&query, &foreign, ids, none).unwrap_err();
    assert_eq!(
        failed_ids(&rejection, FailureKind::InvalidRecord),
        vec![109]
    );
    assert!(rejection.to_string().contains("foreign"), "{rejection}");

    // A record uploaded without verification.
    let mut plain = honest.clone();
    let plain_record = ctx.encrypt_batch(&[stored.vectors[0].clone()]).unwrap();
    plain[0] = answer(&plain_record, &query).remove(0);
    let rejection = verify(&query, &plain, ids, none).unwrap_err();
    assert_eq!(
        failed_ids(&rejection, FailureKind::InvalidRecord),
        vec![100]
    );
    assert!(rejection
        .to_string()
        .contains("uploaded without verification"));
}

/// A service that shifts one slot of every record (`E(4^i)`: the stored bit plus the query's,
/// plus one) would learn each stored bit if the verdict said which check failed (the slot
/// check for a 1, the tag for a 0), and the query's bit if it said whether the answer is another
/// query's. Every record is refused under one kind, whatever the bits.
#[test]
fn refusals_name_one_kind_whatever_the_stored_bits() {
    let ctx = context();
    let pk = ctx.public().public_key();
    let mut rng = StdRng::seed_from_u64(11);
    let stored = store(&mut rng, KB, 16);
    let none = Expectation::default();
    for dimension in [0, 1, 63, EMBED - 1] {
        let query = random_vectors(&mut rng, 1).remove(0);
        let stored_bits: Vec<u8> = stored.vectors.iter().map(|v| v[dimension]).collect();
        assert!(stored_bits.contains(&0) && stored_bits.contains(&1));
        let position = 2 * (EMBED - 1 - dimension);
        let shifted: Vec<Ciphertext> = answer(&stored.records, &query)
            .iter()
            .map(|c| pk.add_plaintext(c, &(BigUint::one() << position)).unwrap())
            .collect();
        let rejection = verify(&query, &shifted, &stored.ids, none).unwrap_err();
        assert_eq!(rejection.failures.len(), 1, "{rejection}");
        // With a query bit of 0 the shifted answer is another query's honest answer: told
        // apart, that would say the bit (and, over few records, the records' bits).
        assert_eq!(
            failed_ids(&rejection, FailureKind::InvalidRecord),
            stored.ids,
            "dimension {dimension}"
        );
        let decoded = ctx
            .decode_records(KB, &query_for(&query), &batch_of(&shifted))
            .unwrap();
        assert!(decoded
            .iter()
            .all(|record| !record.valid && record.distance == 0));
    }
}

/// Pieces a service makes from the query's own ciphertext decrypt to values it chose to compare
/// with a secret: `E(q)^(1/2)` is small exactly when the query's lowest slot bit is 0, and
/// `E(q) · E(2^(2·dims + 128) − t)` has no tag exactly when `q < t`. Were a missing tag told
/// apart, each such piece would answer a question about the query; every one is refused under
/// the one kind.
#[test]
fn pieces_made_from_the_query_are_refused_under_the_one_kind() {
    let ctx = context();
    let pk = ctx.public().public_key();
    let mut rng = StdRng::seed_from_u64(13);
    let stored = store(&mut rng, KB, 4);
    let layout = ctx.tagged_layout().unwrap();
    let n = pk.n().clone();
    let half = (&n + 1u32) >> 1u32;
    for _ in 0..4 {
        let query = random_vectors(&mut rng, 1).remove(0);
        let encrypted_query = query_for(&query).encrypted().ciphertext(0);
        let halved =
            Ciphertext::from_biguint(encrypted_query.as_biguint().modpow(&half, &(&n * &n)));
        let mut answer = answer(&stored.records, &query);
        answer[0] = halved;
        for (i, threshold) in [1u32, 1 << 20].into_iter().enumerate() {
            let shift = (BigUint::one() << layout.tag_offset()) - threshold;
            answer[1 + i] = pk.add_plaintext(&encrypted_query, &shift).unwrap();
        }
        let rejection = verify(&query, &answer, &stored.ids, Expectation::default()).unwrap_err();
        assert_eq!(rejection.failures.len(), 1, "{rejection}");
        assert_eq!(
            failed_ids(&rejection, FailureKind::InvalidRecord),
            stored.ids[..3].to_vec()
        );
    }
}

#[test]
fn a_swap_into_the_top_k_passes_the_tags_and_fails_the_contents() {
    let ctx = context();
    let keys = ctx.record_keys(KB).unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let stored = store(&mut rng, KB, 6);
    let documents: Vec<String> = stored
        .nonces
        .iter()
        .enumerate()
        .map(|(i, &nonce)| {
            let doc = Document {
                content: format!("document {i}"),
                ..Default::default()
            };
            seal_document(&keys, KB, Some(nonce), &doc).unwrap()
        })
        .collect();
    let query = stored.vectors[1].clone();
    let mut swapped = answer(&stored.records, &query);
    swapped.swap(1, 4);
    // Every record is genuine: the answer passes, with record 1's distance (0) under id 104.
    let verified = ctx
        .verify_answer(
            KB,
            &query_for(&query),
            &batch_of(&swapped),
            &stored.ids,
            &Expectation::default(),
        )
        .unwrap();
    let top = verified.top_k(1);
    assert_eq!((top[0].0, top[0].1), (104, 0));
    // Its content, sealed to record 4, does not open under record 1's nonce.
    let opened = open_records(&keys, KB, &[(104, top[0].2, Some(documents[4].as_str()))]);
    match opened {
        Err(Error::AnswerRejected(rejection)) => {
            assert_eq!(
                failed_ids(&rejection, FailureKind::ContentMismatch),
                vec![104]
            )
        }
        other => panic!("expected a content mismatch, got {other:?}"),
    }
    let honest = open_records(
        &keys,
        KB,
        &[(101, stored.nonces[1], Some(documents[1].as_str()))],
    );
    assert_eq!(honest.unwrap()[0].content, "document 1");
}

#[test]
fn layouts_that_do_not_fit_and_the_lookup_scheme_are_refused() {
    let message = TaggedLayout::new(128, 256).unwrap_err().to_string();
    assert!(message.contains("up to 127 dimensions"), "{message}");
    assert!(TaggedLayout::new(895, 1024).is_ok());
    let lookup = crate::common::small_context(Scheme::PaillierLookup);
    let error = lookup
        .encrypt_records(KB, &[vec![0u8; 64]])
        .unwrap_err()
        .to_string();
    assert!(error.contains("classic scheme"), "{error}");
}
