//! Replicas over one PostgreSQL under faults: a replica killed mid-write loses nothing
//! acknowledged and leaves no batch in part, a database that goes away is a 503 until it comes
//! back, and values PostgreSQL refuses are a 400.

use crate::common;
use crate::server_replicas::{everything, EMBED};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::postgres;
use common::server::{sdk_pieces, small_context, vectors, Server};
use paillier_gpu_client::Client;
use paillier_gpu_client::Error;

#[test]
fn a_replica_killed_during_inserts_loses_nothing_acknowledged() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    let mut a = Server::start_on(&url, &["--allow-weak-contexts"]);
    let b = a.replica(&["--allow-weak-contexts"]);
    let (kb, key) = a.kb_and_key("docs");
    let ctx = small_context(EMBED);
    let on_a = Client::new(&a.url, &a.org, &key)
        .unwrap()
        .with_state_in_memory();
    let on_b = Client::new(&b.url, &b.org, &key)
        .unwrap()
        .with_state_in_memory();
    on_a.push_context(&ctx).unwrap();
    let acknowledged: Mutex<Vec<i64>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let batch = ctx.encrypt_batch(&vectors(200, 5, EMBED)).unwrap();
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            // Until the kill: each upload is one request of 200 chunks.
            while !stop.load(Ordering::SeqCst) {
                match on_a.upload(&kb, &ctx, &batch, &[]) {
                    Ok(ids) => acknowledged.lock().unwrap().extend(ids),
                    Err(_) => break,
                }
            }
        });
        let until = Instant::now() + Duration::from_secs(60);
        while acknowledged.lock().unwrap().len() < 1000 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: kill(2) of the replica's own process.
        unsafe {
            libc::kill(a.pid() as i32, libc::SIGKILL);
        }
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap();
    });
    // The other replica answers meanwhile, with every acknowledged batch and no batch in part.
    let query = &vectors(1, 6, EMBED)[0];
    let check = |client: &Client| {
        let seen: Vec<i64> = everything(client, &kb, &ctx, query)
            .iter()
            .map(|(id, _)| *id)
            .collect();
        let acknowledged = acknowledged.lock().unwrap().clone();
        assert!(
            acknowledged.iter().all(|id| seen.contains(id)),
            "an acknowledged chunk is lost"
        );
        assert_eq!(
            seen.len() % 200,
            0,
            "a batch is there in part: {} chunks",
            seen.len()
        );
        assert_eq!(seen, (1..=seen.len() as i64).collect::<Vec<_>>());
        seen.len()
    };
    let after_kill = check(&on_b);
    assert!(after_kill >= 1000);
    a.restart();
    assert_eq!(check(&on_a), after_kill);
    on_a.upload(&kb, &ctx, &batch, &[]).unwrap();
    assert_eq!(check(&on_b), after_kill + 200);
}

#[test]
fn the_database_going_away_under_load_is_a_503_until_it_returns() {
    let Some(cluster) = postgres::private_cluster() else {
        return;
    };
    // Each request meets the outage with a 503 after the URL's connect_timeout.
    let url = format!("{}?connect_timeout=1", cluster.fresh_database());
    let a = Server::start_on(&url, &["--allow-weak-contexts"]);
    let (kb, key) = a.kb_and_key("docs");
    let ctx = small_context(EMBED);
    let client = Client::new(&a.url, &a.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    let query = &vectors(1, 8, EMBED)[0];
    let batch = ctx.encrypt_batch(&vectors(5, 7, EMBED)).unwrap();
    let acknowledged: Mutex<Vec<i64>> = Mutex::new(Vec::new());
    let refused: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Writers throughout: before, during and after the outage.
        for _ in 0..4 {
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    match client.upload(&kb, &ctx, &batch, &[]) {
                        Ok(ids) => acknowledged.lock().unwrap().extend(ids),
                        Err(Error::Remote { status, .. }) => refused.lock().unwrap().push(status),
                        Err(e) => panic!("not an answer: {e}"),
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        cluster.stop();
        for attempt in [
            client.search(&kb, &ctx, query, None, None, 10).map(drop),
            client.contexts().map(drop),
        ] {
            match attempt {
                Err(Error::Remote { status: 503, .. }) => {}
                other => panic!("while the database is down: {other:?}"),
            }
        }
        let (status, _) = a.admin(reqwest::Method::GET, "kbs", None);
        assert_eq!(status, 503);
        cluster.start();
        postgres::wait_until_up(cluster);
        // The replica connects again by itself.
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            match client.search(&kb, &ctx, query, None, None, 1) {
                Ok(_) => break,
                Err(Error::Remote { status: 503, .. }) if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("after the database returned: {e}"),
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::SeqCst);
    });
    let refused = refused.into_inner().unwrap();
    assert!(!refused.is_empty(), "no write met the outage");
    assert!(refused.iter().all(|&status| status == 503), "{refused:?}");
    // Nothing acknowledged is lost, and no batch is there in part.
    let seen: Vec<i64> = everything(&client, &kb, &ctx, query)
        .iter()
        .map(|(id, _)| *id)
        .collect();
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.iter().all(|id| seen.contains(id)),
        "an acknowledged write is lost"
    );
    assert_eq!(
        seen.len() % 5,
        0,
        "a batch is there in part: {} chunks",
        seen.len()
    );
    assert_eq!(seen, (1..=seen.len() as i64).collect::<Vec<_>>());
}

#[test]
fn values_postgresql_refuses_are_a_400() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    let a = Server::start_on(&url, &["--allow-weak-contexts"]);
    let (kb, key) = a.kb_and_key("docs");
    let ctx = small_context(EMBED);
    Client::new(&a.url, &a.org, &key)
        .unwrap()
        .with_state_in_memory()
        .push_context(&ctx)
        .unwrap();
    // A NUL in a text: SQLite stores it, PostgreSQL refuses it; a client's mistake either way.
    let chunk = serde_json::json!({ "chunk_content": "a\u{0}b", "name": "x",
                                    "index": sdk_pieces(&ctx, &vectors(1, 1, EMBED)[0]) });
    let (status, answer) = a.post(
        &format!("/v1/chunk/{}", a.org),
        &key,
        &serde_json::json!({ "kb_id": kb, "context_id": ctx.id(), "chunks": [chunk] }),
    );
    assert_eq!(status, 400, "{answer}");
    let status = reqwest::blocking::Client::new()
        .get(format!(
            "{}/v1/chunk/{}?kb_id=%00&chunk_ids=1",
            a.url, a.org
        ))
        .header("x-api-key", &key)
        .send()
        .unwrap()
        .status()
        .as_u16();
    assert!((400..500).contains(&status), "{status}");
}
