//! Several `serve` replicas over one PostgreSQL answer as one service: a write acknowledged by
//! either is seen by every later search on either, and replicas catch up (appends) or rebuild
//! (deletes) their resident indexes from the store. Faults (a replica killed, the database gone)
//! are in `server_replica_faults.rs`. The database is a private PostgreSQL cluster
//! (`paillier_gpu_testing::postgres`).

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::postgres;
use common::server::{hamming, sdk_pieces, small_context, vectors, Server};
use paillier_gpu::ExecutionContext;
use paillier_gpu_client::Client;

pub(crate) const EMBED: usize = 32;

/// Every stored chunk with its distance to `query`, as a search through `client` sees them.
pub(crate) fn everything(
    client: &Client,
    kb: &str,
    ctx: &ExecutionContext,
    query: &[u8],
) -> Vec<(i64, u32)> {
    let mut found = client
        .search(kb, ctx, query, None, None, usize::MAX)
        .unwrap();
    found.sort();
    found
}

/// `(id, distance)` of `stored` (`(id, vector)`) to `query`, by id.
fn expected(stored: &[(i64, Vec<u8>)], query: &[u8]) -> Vec<(i64, u32)> {
    let mut all: Vec<(i64, u32)> = stored
        .iter()
        .map(|(id, v)| (*id, hamming(v, query)))
        .collect();
    all.sort();
    all
}

/// Uploads `vectors` through `client`; `(id, vector)` of each.
pub(crate) fn upload(
    client: &Client,
    kb: &str,
    ctx: &ExecutionContext,
    vectors: &[Vec<u8>],
) -> Vec<(i64, Vec<u8>)> {
    let batch = ctx.encrypt_batch(vectors).unwrap();
    let ids = client.upload(kb, ctx, &batch, &[]).unwrap();
    ids.into_iter().zip(vectors.iter().cloned()).collect()
}

fn delete(server: &Server, key: &str, kb: &str, ids: &[i64]) -> u16 {
    let query: String = ids.iter().map(|id| format!("&chunk_ids={id}")).collect();
    reqwest::blocking::Client::new()
        .delete(format!(
            "{}/v1/chunk/{}?kb_id={kb}{query}",
            server.url, server.org
        ))
        .header("x-api-key", key)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn two_replicas_over_one_postgres_answer_as_one() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    let a = Server::start_on(&url, &["--allow-weak-contexts"]);
    let metrics = format!("127.0.0.1:{}", common::server::free_port());
    // The second replica looks for knowledge bases deleted elsewhere every second (30 by
    // default), so that the end of this test waits that long, not half a minute.
    let b = a.replica(&[
        "--allow-weak-contexts",
        "--metrics-listen",
        &metrics,
        "--deleted-kb-sweep",
        "1",
    ]);
    let (kb, key) = a.kb_and_key("docs");
    let ctx = small_context(EMBED);
    let on_a = Client::new(&a.url, &a.org, &key)
        .unwrap()
        .with_state_in_memory();
    let on_b = Client::new(&b.url, &b.org, &key)
        .unwrap()
        .with_state_in_memory();
    // The context stored through one replica is read through the other.
    on_b.push_context(&ctx).unwrap();
    let pw = paillier_gpu::context::PassphraseKeyProvider::new("pw");
    assert_eq!(on_a.pull_context(ctx.id(), &pw).unwrap().id(), ctx.id());

    let query = &vectors(1, 9, EMBED)[0];
    let mut stored = upload(&on_a, &kb, &ctx, &vectors(300, 1, EMBED));
    assert_eq!(stored.first().unwrap().0, 1);
    assert_eq!(
        everything(&on_b, &kb, &ctx, query),
        expected(&stored, query)
    );
    // Appends through either replica are seen by the other's next search (it catches up).
    stored.extend(upload(&on_a, &kb, &ctx, &vectors(120, 2, EMBED)));
    assert_eq!(
        everything(&on_b, &kb, &ctx, query),
        expected(&stored, query)
    );
    stored.extend(upload(&on_b, &kb, &ctx, &vectors(80, 3, EMBED)));
    assert_eq!(
        everything(&on_a, &kb, &ctx, query),
        expected(&stored, query)
    );
    assert_eq!(
        stored.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        (1..=500).collect::<Vec<i64>>(),
        "one numbering across replicas"
    );
    // A delete through one replica is seen by the other (it rebuilds).
    let gone: Vec<i64> = (1..=50).collect();
    assert_eq!(delete(&b, &key, &kb, &gone), 200);
    stored.retain(|(id, _)| !gone.contains(id));
    assert_eq!(
        everything(&on_a, &kb, &ctx, query),
        expected(&stored, query)
    );
    assert_eq!(
        everything(&on_b, &kb, &ctx, query),
        expected(&stored, query)
    );

    // The knowledge base deleted through one replica: the other lets go of its index too.
    let resident = || {
        let text = reqwest::blocking::get(format!("http://{metrics}/metrics"))
            .unwrap()
            .text()
            .unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("paillier_gpu_resident_indexes "))
            .unwrap()
            .to_owned();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(resident(), 1);
    let (status, _) = a.admin(reqwest::Method::DELETE, &format!("kbs/{kb}"), None);
    assert_eq!(status, 200);
    let until = Instant::now() + Duration::from_secs(60);
    while resident() != 0 {
        assert!(
            Instant::now() < until,
            "the other replica still holds the deleted index"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What a search saw: the inserts and deletes acknowledged before it began, the deletes begun
/// before it ended, and its `(id, distance)` answer.
struct Search {
    inserted_before: BTreeSet<i64>,
    deleted_before: BTreeSet<i64>,
    deleting_by_end: BTreeSet<i64>,
    seen: Vec<(i64, u32)>,
}

/// What the clients have had acknowledged, or begun.
#[derive(Default)]
struct History {
    inserted: Vec<(i64, Vec<u8>)>,
    deleting: BTreeSet<i64>,
    deleted: BTreeSet<i64>,
}

#[test]
fn searches_on_two_replicas_see_the_records_of_one_instant() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    let a = Server::start_on(&url, &["--allow-weak-contexts"]);
    let b = a.replica(&["--allow-weak-contexts"]);
    let (kb, key) = a.kb_and_key("docs");
    let ctx = small_context(EMBED);
    let clients = [
        Client::new(&a.url, &a.org, &key)
            .unwrap()
            .with_state_in_memory(),
        Client::new(&b.url, &b.org, &key)
            .unwrap()
            .with_state_in_memory(),
    ];
    let servers = [&a, &b];
    clients[0].push_context(&ctx).unwrap();
    let query = vectors(1, 99, EMBED).remove(0);
    let history = Mutex::new(History::default());
    let searches: Mutex<Vec<Search>> = Mutex::new(Vec::new());
    // 32 clients over both replicas: 12 writing, 4 deleting, 16 searching.
    const WRITERS: usize = 12;
    const DELETERS: usize = 4;
    const SEARCHERS: usize = 16;
    const BATCHES: u64 = 4;
    // Deleters wait on this rather than on a clock, so a slow machine still deletes.
    let writing = AtomicUsize::new(WRITERS);
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (client, ctx, kb, history) = (&clients[w % 2], &ctx, &kb, &history);
            let writing = &writing;
            scope.spawn(move || {
                for batch in 0..BATCHES {
                    let written = upload(
                        client,
                        kb,
                        ctx,
                        &vectors(10, 1000 * w as u64 + batch, EMBED),
                    );
                    history.lock().unwrap().inserted.extend(written);
                }
                writing.fetch_sub(1, Ordering::SeqCst);
            });
        }
        for d in 0..DELETERS {
            let (server, key, kb, history) = (servers[d % 2], &key, &kb, &history);
            let writing = &writing;
            scope.spawn(move || {
                let mut deleted = 0;
                // The deadline only ends the loop if a writer died without counting itself out.
                let until = Instant::now() + Duration::from_secs(300);
                while deleted < 6 && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(30));
                    let writers_done = writing.load(Ordering::SeqCst) == 0;
                    let victim = {
                        let mut history = history.lock().unwrap();
                        let victim = history
                            .inserted
                            .iter()
                            .map(|(id, _)| *id)
                            .find(|id| id % 3 == 0 && !history.deleting.contains(id));
                        if let Some(id) = victim {
                            history.deleting.insert(id);
                        }
                        victim
                    };
                    let Some(id) = victim else {
                        if writers_done {
                            break;
                        }
                        continue;
                    };
                    assert_eq!(delete(server, key, kb, &[id]), 200);
                    history.lock().unwrap().deleted.insert(id);
                    deleted += 1;
                }
            });
        }
        for s in 0..SEARCHERS {
            let (client, ctx, kb, query) = (&clients[s % 2], &ctx, &kb, &query);
            let (history, searches) = (&history, &searches);
            scope.spawn(move || {
                for _ in 0..3 {
                    let (inserted_before, deleted_before) = {
                        let history = history.lock().unwrap();
                        let ids = history.inserted.iter().map(|(id, _)| *id).collect();
                        (ids, history.deleted.clone())
                    };
                    let seen = everything(client, kb, ctx, query);
                    let deleting_by_end = history.lock().unwrap().deleting.clone();
                    searches.lock().unwrap().push(Search {
                        inserted_before,
                        deleted_before,
                        deleting_by_end,
                        seen,
                    });
                }
            });
        }
    });
    let history = history.into_inner().unwrap();
    assert_eq!(history.inserted.len(), WRITERS * BATCHES as usize * 10);
    assert!(!history.deleted.is_empty());
    let truth = expected(&history.inserted, &query);
    for search in searches.into_inner().unwrap() {
        let ids: BTreeSet<i64> = search.seen.iter().map(|(id, _)| *id).collect();
        for id in &search.inserted_before {
            assert!(
                ids.contains(id) || search.deleting_by_end.contains(id),
                "a search missed chunk {id}, acknowledged before it and not deleted"
            );
        }
        assert!(
            ids.is_disjoint(&search.deleted_before),
            "a search saw a chunk deleted before it began"
        );
        // One instant: ids follow the commit order, so a snapshot with chunk k holds every
        // chunk below k but those deleted.
        let top = ids.iter().next_back().copied().unwrap_or(0);
        for id in 1..=top {
            assert!(
                ids.contains(&id) || search.deleting_by_end.contains(&id),
                "chunk {id} is missing below {top}: not the records of one instant"
            );
        }
        let of_these: Vec<(i64, u32)> = truth
            .iter()
            .filter(|(id, _)| ids.contains(id))
            .copied()
            .collect();
        assert_eq!(
            search.seen, of_these,
            "distances of exactly the records seen"
        );
    }
    let left: Vec<(i64, Vec<u8>)> = history
        .inserted
        .iter()
        .filter(|(id, _)| !history.deleted.contains(id))
        .cloned()
        .collect();
    for client in &clients {
        assert_eq!(
            everything(client, &kb, &ctx, &query),
            expected(&left, &query)
        );
    }
}

#[test]
fn a_context_stored_anew_through_one_replica_is_a_new_index_on_the_other() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    let a = Server::start_on(&url, &["--allow-weak-contexts"]);
    let b = a.replica(&["--allow-weak-contexts"]);
    let (kb, key) = a.kb_and_key("docs");
    let (first, second) = (small_context(EMBED), small_context(EMBED));
    let id = first.id().to_owned();
    let on_a = Client::new(&a.url, &a.org, &key)
        .unwrap()
        .with_state_in_memory();
    let on_b = Client::new(&b.url, &b.org, &key)
        .unwrap()
        .with_state_in_memory();
    on_a.push_context(&first).unwrap();
    let query = &vectors(1, 4, EMBED)[0];
    // The second replica builds its index under the first key (empty as yet).
    assert!(everything(&on_b, &kb, &first, query).is_empty());
    // Through the first replica: the context deleted, other keys stored under its id, and
    // chunks encrypted under those.
    on_a.delete_context(&id).unwrap();
    on_a.push_context_json(&id, &second.to_json().unwrap())
        .unwrap();
    let stored = vectors(12, 5, EMBED);
    let chunks: Vec<serde_json::Value> = stored
        .iter()
        .map(|v| serde_json::json!({ "chunk_content": "", "index": sdk_pieces(&second, v) }))
        .collect();
    let (status, answer) = a.post(
        &format!("/v1/chunk/{}", a.org),
        &key,
        &serde_json::json!({ "kb_id": kb, "context_id": id, "chunks": chunks }),
    );
    assert_eq!(status, 200, "{answer}");
    // The second replica searches them under the keys stored now, not the index it built.
    let answer = on_b
        .compute_hamming(
            &kb,
            &id,
            &second.public_context(),
            &second.encrypt_batch(&[query]).unwrap(),
            None,
            None,
        )
        .unwrap();
    let distances = second.decode_batch(&answer.responses).unwrap();
    let found: Vec<(i64, u32)> = answer.chunk_ids.into_iter().zip(distances).collect();
    let truth: Vec<(i64, Vec<u8>)> = (1..).zip(stored).collect();
    assert_eq!(found, expected(&truth, query));
}
