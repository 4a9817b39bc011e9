//! A service that forks a knowledge base's history: its store put back to an earlier copy and
//! written again by another machine of the owner. The machine that saw the lost branch refuses
//! the other one as forked, its rebuild waits for the owner to take that branch, and honest
//! machines that saw only one branch raise no alarm. A service that pages the links between
//! versions for ever is read a few pages and refused. The CLI's half is the program's test
//! server_owner_digest_fork.rs.

use paillier_gpu::verifiable::FailureKind;
use paillier_gpu_client::{Client, Error, SearchOptions, StateDir};
use paillier_gpu_testing::data::{small_context, vectors, BOTH};
use paillier_gpu_testing::tamper::TamperProxy;
use paillier_gpu_testing::TestServer;

const EMBED: usize = 32;

fn refused_as(result: Result<impl std::fmt::Debug, Error>, kind: FailureKind) -> String {
    match result {
        Err(Error::Library(paillier_gpu::Error::AnswerRejected(rejection))) => {
            assert!(rejection.has(kind), "{rejection}");
            rejection.to_string()
        }
        other => panic!("not refused as {kind:?}: {other:?}"),
    }
}

#[test]
fn a_write_lost_to_a_fork_is_refused_by_the_machine_that_made_it() {
    let mut server = TestServer::start_sqlite(|_| {});
    let (kb, key) = server.kb_and_key("forked");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = small_context(EMBED);
    let (url, org) = (server.url.clone(), server.org.clone());
    let machine = |name: &str| {
        Client::new(&url, &org, &key)
            .unwrap()
            .with_state_dir(StateDir::new(d.join(name)))
    };
    let (a, b) = (machine("state-a"), machine("state-b"));
    a.push_context(&ctx).unwrap();
    let stored = vectors(40, 8, EMBED);
    a.upload_records(&kb, &ctx, &stored[..10], &[], BOTH)
        .unwrap();
    let earlier = d.join("earlier");
    server.keep_store(&earlier);
    // Machine A writes version 2: twenty more records.
    a.upload_records(&kb, &ctx, &stored[10..30], &[], BOTH)
        .unwrap();
    let options = SearchOptions {
        top_k: 3,
        records: BOTH,
        ..SearchOptions::default()
    };
    a.search_records(&kb, &ctx, &stored[20], &options).unwrap();

    // The store put back to version 1; machine B, which never saw version 2, writes twice.
    server.put_back_store(&earlier);
    b.upload_records(&kb, &ctx, &stored[30..35], &[], BOTH)
        .unwrap();
    b.upload_records(&kb, &ctx, &stored[35..], &[], BOTH)
        .unwrap();
    let hits = b.search_records(&kb, &ctx, &stored[36], &options).unwrap();
    assert_eq!(hits[0].distance, 0, "machine B saw one history: no alarm");

    // Version 3 is later than A's 2 but does not extend it: A's twenty records are gone.
    let message = refused_as(
        a.search_records(&kb, &ctx, &stored[36], &options),
        FailureKind::Forked,
    );
    assert!(message.contains("does not extend version 2"), "{message}");

    // A rebuild on A would take B's branch: refused unless the owner says so.
    let message = refused_as(
        a.rebuild_digest(&kb, &ctx, BOTH, None, false),
        FailureKind::Forked,
    );
    assert!(message.contains("--after-rollback"), "{message}");
    let rebuilt = a.rebuild_digest(&kb, &ctx, BOTH, None, true).unwrap();
    assert_eq!((rebuilt.version, rebuilt.records), (4, 20));
    // The rebuild continues B's branch: both machines read on without an alarm.
    for machine in [&a, &b] {
        let hits = machine
            .search_records(&kb, &ctx, &stored[5], &options)
            .unwrap();
        assert_eq!(hits[0].distance, 0);
    }
}

#[test]
fn two_machines_writing_in_turn_raise_no_alarm() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("in-turn");
    let dir = tempfile::tempdir().unwrap();
    let ctx = small_context(EMBED);
    let machine = |name: &str| {
        Client::new(&server.url, &server.org, &key)
            .unwrap()
            .with_state_dir(StateDir::new(dir.path().join(name)))
    };
    let (a, b) = (machine("a"), machine("b"));
    a.push_context(&ctx).unwrap();
    let stored = vectors(24, 9, EMBED);
    let options = SearchOptions {
        top_k: 2,
        records: BOTH,
        ..SearchOptions::default()
    };
    // A sees every other version only: B's writes lie between, linked by the service.
    for (i, batch) in stored.chunks(4).enumerate() {
        let (writer, reader) = if i % 3 == 2 { (&a, &b) } else { (&b, &a) };
        writer.upload_records(&kb, &ctx, batch, &[], BOTH).unwrap();
        if i % 2 == 1 {
            let hits = reader
                .search_records(&kb, &ctx, &batch[0], &options)
                .unwrap();
            assert_eq!(hits[0].distance, 0);
        }
    }
}

/// The service answers every page of the links with the first one, its oldest and newest links
/// left out, saying more follow: the client stops when a page does not move on (two reads, not the 256
/// pages of `MAX_LINKS_READ`) and refuses the version it cannot reach.
#[test]
fn links_paged_for_ever_are_read_a_few_pages_and_the_gap_is_refused() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("endless-links");
    let dir = tempfile::tempdir().unwrap();
    let ctx = small_context(EMBED);
    let proxy = TamperProxy::start(&server.url);
    let a = Client::new(&proxy.url, &server.org, &key)
        .unwrap()
        .with_state_dir(StateDir::new(dir.path().join("a")));
    let b = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_dir(StateDir::new(dir.path().join("b")));
    a.push_context(&ctx).unwrap();
    let stored = vectors(12, 10, EMBED);
    a.upload_records(&kb, &ctx, &stored[..6], &[], BOTH)
        .unwrap();
    let options = SearchOptions {
        top_k: 2,
        records: BOTH,
        ..SearchOptions::default()
    };
    a.search_records(&kb, &ctx, &stored[0], &options).unwrap();
    for batch in stored[6..].chunks(2) {
        b.upload_records(&kb, &ctx, batch, &[], BOTH).unwrap();
    }
    proxy.set(serde_json::json!({"kind": "endless_links"}));
    let message = refused_as(
        a.search_records(&kb, &ctx, &stored[0], &options),
        FailureKind::Forked,
    );
    assert!(message.contains("no link for version 2"), "{message}");
    assert_eq!(proxy.link_reads(), vec![1, 3]);
    proxy.honest();
    let hits = a.search_records(&kb, &ctx, &stored[7], &options).unwrap();
    assert_eq!(hits[0].distance, 0);
}
