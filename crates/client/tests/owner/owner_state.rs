//! A client that keeps verifiable records must be told where it keeps the versions it has
//! seen: until then it refuses every verifiable operation, and writes nothing.

use paillier_gpu_client::{Client, Error};
use paillier_gpu_testing::data::{small_context, vectors};
use paillier_gpu_testing::TestServer;

#[test]
fn verifiable_records_wait_for_the_owner_to_choose_where_versions_are_kept() {
    let server = TestServer::start();
    let (kb, owner) = server.kb_and_key("docs");
    // Records of 48 dimensions fit the small test key's verifiable layout.
    let ctx = small_context(48);
    let verifiable = paillier_gpu_client::RecordOptions {
        verifiable: true,
        private_meta: false,
    };
    // Plain operations need no choice.
    let unchosen = Client::new(&server.url, &server.org, &owner).unwrap();
    unchosen.push_context(&ctx).unwrap();
    let stored = vectors(4, 2, 48);
    let refused = unchosen
        .upload_records(&kb, &ctx, &stored, &[], verifiable)
        .unwrap_err();
    assert!(matches!(refused, Error::NoOwnerState), "{refused}");
    let message = refused.to_string();
    assert!(
        message.contains("with_state_dir") && message.contains("with_state_in_memory"),
        "{message}"
    );
    let search = paillier_gpu_client::SearchOptions {
        top_k: 1,
        records: verifiable,
        ..paillier_gpu_client::SearchOptions::default()
    };
    assert!(matches!(
        unchosen.search_records(&kb, &ctx, &stored[0], &search),
        Err(Error::NoOwnerState)
    ));
    assert!(matches!(
        unchosen.rebuild_digest(&kb, &ctx, verifiable, None, false),
        Err(Error::NoOwnerState)
    ));
    // Nothing was written; once chosen, the same calls go through.
    let chosen = unchosen.with_state_in_memory();
    assert_eq!(
        chosen
            .digest_summary(&kb, &ctx, verifiable)
            .unwrap()
            .records,
        0
    );
    chosen
        .upload_records(&kb, &ctx, &stored, &[], verifiable)
        .unwrap();
    let hits = chosen
        .search_records(&kb, &ctx, &stored[0], &search)
        .unwrap();
    assert_eq!(hits[0].distance, 0);
}
