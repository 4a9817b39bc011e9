//! docs/library.md's verifiable-records example, compiled by `cargo test`
//! (`tests/cli/guide_blocks.rs` checks that the guide's block is this file's code, line for
//! line): records with nonces and tags, an honest answer verified, a dropped record caught.

use paillier_gpu::hamming::Selection;
use paillier_gpu::verifiable::{Expectation, FailureKind};
use paillier_gpu::{ContextOptions, Error, ExecutionContext};

// Kept as the guide writes it, so that the two can be compared line for line.
#[rustfmt::skip]
fn main() -> paillier_gpu::Result<()> {
    let ctx = ExecutionContext::create_with_passphrase(&ContextOptions::default(), "passphrase")?;
    let layout = ctx.preferred_layout()?;                    // one-bit: 512 dimensions fit
    let (records, nonces) = ctx.encrypt_records_in(&layout, "kb-1", &[vec![0u8; 512], vec![1; 512]])?;
    let mut index = ctx.new_index()?;                         // the service's side, unchanged
    index.insert_batch(&records)?;
    let query = ctx.encrypt_query_in(&layout, &[0u8; 512])?;   // a fresh nonce, kept here
    let answer = index.aggregate_batch(query.encrypted(), &Selection::All)?;
    let count = Expectation { count: Some(2), ..Default::default() };
    let verified = ctx.verify_answer("kb-1", &query, &answer, &[1, 2], &count)?;
    assert_eq!(verified.distances, vec![0, 512]);
    assert_eq!(verified.nonces, nonces);
    match ctx.verify_answer("kb-1", &query, &answer.records_in(0..1)?, &[1], &count) {
        Err(Error::AnswerRejected(why)) => assert!(why.has(FailureKind::Missing)),
        other => panic!("{other:?}"),
    }
    println!("verified: {:?}", verified.distances);
    Ok(())
}
