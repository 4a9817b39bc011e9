//! Compatibility with the XTrace Python SDK: real files it wrote load, decrypt and hash exactly.

use crate::common;

use common::{hamming, sdk_batch, sdk_cases};
use paillier_gpu::hamming::{EncryptedVector, Selection};
use paillier_gpu::{ExecutionContext, PublicContext};

#[test]
fn fixture_contexts_load_with_the_sdk_id() {
    for case in sdk_cases() {
        let ctx = ExecutionContext::from_json_with_passphrase(&case.context_json, &case.passphrase)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(ctx.id(), case.context_id, "{}", case.name);
        assert_eq!(ctx.embed_len(), case.embed_len);
    }
}

#[test]
fn fixture_aggregates_decode_to_the_expected_distances() {
    for case in sdk_cases() {
        let ctx = ExecutionContext::from_json_with_passphrase(&case.context_json, &case.passphrase)
            .unwrap();
        let direct: Vec<u32> = case
            .database
            .iter()
            .map(|v| hamming(v, &case.query))
            .collect();
        assert_eq!(
            direct, case.hamming,
            "{}: fixture is self-consistent",
            case.name
        );
        assert_eq!(
            ctx.decode_batch(&sdk_batch(ctx.public().public_key(), &case.aggregated))
                .unwrap(),
            case.hamming,
            "{}",
            case.name
        );
    }
}

#[test]
fn our_aggregation_of_sdk_ciphertexts_matches_the_sdk() {
    for case in sdk_cases() {
        // The search backend needs only the public part of the file.
        let public = PublicContext::from_public_json(&case.context_json).unwrap();
        let mut index = public.new_index_on(paillier_gpu::Device::Cpu).unwrap();
        let pk = public.public_key();
        index
            .insert_batch(&sdk_batch(pk, &case.enc_database))
            .unwrap();
        let query = sdk_batch(pk, std::slice::from_ref(&case.enc_query));
        let responses = index.aggregate_batch(&query, &Selection::All).unwrap();
        // Aggregation is deterministic: byte-for-byte the SDK's result.
        assert_eq!(
            EncryptedVector::from_batch(&responses),
            case.aggregated,
            "{}",
            case.name
        );
    }
}

#[test]
fn our_encryption_under_sdk_contexts_decodes_to_the_expected_distances() {
    for case in sdk_cases() {
        let ctx = ExecutionContext::from_json_with_passphrase(&case.context_json, &case.passphrase)
            .unwrap();
        let mut index = ctx.new_index().unwrap();
        index
            .insert_batch(&ctx.encrypt_batch(&case.database).unwrap())
            .unwrap();
        let query = ctx.encrypt_batch(&[&case.query]).unwrap();
        let responses = index.aggregate_batch(&query, &Selection::All).unwrap();
        assert_eq!(
            ctx.decode_batch(&responses).unwrap(),
            case.hamming,
            "{}",
            case.name
        );
        // Mixed: the SDK's encrypted database with our encrypted query.
        let mut sdk_index = ctx.new_index().unwrap();
        sdk_index
            .insert_batch(&sdk_batch(ctx.public().public_key(), &case.enc_database))
            .unwrap();
        let mixed = sdk_index.aggregate_batch(&query, &Selection::All).unwrap();
        assert_eq!(
            ctx.decode_batch(&mixed).unwrap(),
            case.hamming,
            "{}",
            case.name
        );
    }
}
