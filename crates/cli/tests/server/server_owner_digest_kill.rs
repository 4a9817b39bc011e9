//! kill -9 of a server in the middle of a stream of record writes, each committing its chunks
//! with the owner's digest: after a restart on the same store, the digest and the chunks agree,
//! on SQLite and on PostgreSQL.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::postgres;
use common::server::{sdk_pieces, small_context, vectors, Server};
use paillier_gpu_client::api::{self, DigestWrite, RecordWrites};
use paillier_gpu_client::Client;

const EMBED: usize = 32;
/// Chunks each write inserts.
const PER_WRITE: i64 = 3;
/// Writes acknowledged before the kill.
const BEFORE_KILL: i64 = 15;

#[test]
fn a_server_killed_mid_stream_on_sqlite_keeps_digest_and_chunks_together() {
    killed_mid_stream(Server::start(&["--allow-weak-contexts"]));
}

#[test]
fn a_server_killed_mid_stream_on_postgres_keeps_digest_and_chunks_together() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    killed_mid_stream(Server::start_on(&url, &["--allow-weak-contexts"]));
}

fn killed_mid_stream(mut server: Server) {
    let (kb, key) = server.kb_and_key("docs");
    let ctx = small_context(EMBED);
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    // Encrypted once: each write sends the same pieces again.
    let pieces: Vec<Vec<String>> = vectors(PER_WRITE as usize, 9, EMBED)
        .iter()
        .map(|v| sdk_pieces(&ctx, v))
        .collect();
    let chunks: Vec<api::Chunk> = pieces
        .iter()
        .map(|index| api::Chunk {
            index: index.clone(),
            ..api::Chunk::default()
        })
        .collect();
    let acknowledged = AtomicI64::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut version = 0;
            while !stop.load(Ordering::SeqCst) {
                let count = (version + 1) * PER_WRITE;
                let write = RecordWrites {
                    kb_id: kb.clone(),
                    context_id: ctx.id().to_owned(),
                    owner_digest: DigestWrite {
                        expected_version: version,
                        version: version + 1,
                        sealed: BASE64.encode(format!("count={count}")),
                        link: None,
                    },
                    first_chunk_id: Some(version * PER_WRITE + 1),
                    insert: Some(api::raw_list(&chunks).unwrap()),
                    update: None,
                    delete: Vec::new(),
                    patch: None,
                    pages: None,
                };
                match client.write_records(&write) {
                    Ok(written) => {
                        assert_eq!(written.version, version + 1);
                        version += 1;
                        acknowledged.store(version, Ordering::SeqCst);
                    }
                    Err(_) => break,
                }
            }
        });
        let until = Instant::now() + Duration::from_secs(60);
        while acknowledged.load(Ordering::SeqCst) < BEFORE_KILL && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: kill(2) of the server's own process, by its id.
        unsafe {
            libc::kill(server.pid() as i32, libc::SIGKILL);
        }
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap();
    });
    let acknowledged = acknowledged.load(Ordering::SeqCst);
    assert!(
        acknowledged >= BEFORE_KILL,
        "{acknowledged} writes before the kill"
    );
    server.restart();
    let held = client.owner_digest(&kb, ctx.id()).unwrap();
    let sealed = String::from_utf8(BASE64.decode(held.sealed.unwrap()).unwrap()).unwrap();
    let count: u64 = sealed.strip_prefix("count=").unwrap().parse().unwrap();
    assert_eq!(count, held.chunks, "the digest's count is the chunks'");
    assert_eq!(
        held.version as u64 * PER_WRITE as u64,
        held.chunks,
        "the version is the writes committed"
    );
    // Every acknowledged write is there; the one in flight at the kill, whole or not at all.
    assert!(
        held.version == acknowledged || held.version == acknowledged + 1,
        "version {} after {acknowledged} acknowledged",
        held.version
    );
    assert_eq!(held.next_chunk_id, held.version * PER_WRITE + 1);
}
