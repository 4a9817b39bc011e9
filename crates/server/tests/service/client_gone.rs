//! Work stops when its client goes: a search whose index must first be built from the store,
//! over a knowledge base of 100,001 records, whose client resets its connection (RST) while the
//! build runs, stops, and aggregates nothing.

use std::io::Write;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use paillier_gpu_testing::data::sdk_pieces;
use paillier_gpu_testing::net::free_port;
use paillier_gpu_testing::TestServer;

/// Records in the knowledge base: enough that building its index takes well beyond the reset.
const RECORDS: usize = 100_001;
/// Chunks sent per insert (the server takes at most 10,000).
const PER_INSERT: usize = 10_000;

/// The value of one sample line of `/metrics`, by its name and labels as printed.
fn sample(metrics: &str, name: &str) -> Option<u64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

fn metrics(address: &str) -> String {
    reqwest::blocking::get(format!("http://{address}/metrics"))
        .and_then(|answer| answer.text())
        .unwrap_or_default()
}

/// Closes `stream` with a reset (SO_LINGER of zero), as a client that gives up does.
fn reset(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket this function owns, with a value of the size it names.
    #[allow(unsafe_code)]
    let set = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "{}", std::io::Error::last_os_error());
    drop(stream);
}

#[test]
fn a_search_reset_during_its_index_build_aggregates_nothing() {
    let metrics_address = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start_with(|o| o.metrics_listen = metrics_address.parse().ok());
    let (kb_id, key) = server.kb_and_key("client gone");
    // key_len 2048 (bits a prime): each record costs enough that building and aggregating
    // 100,001 of them takes well beyond the 300 ms before the reset, even on a fast machine.
    // The keys are a fixture's (passphrase "pw"): generating them took 5 to 18 s of this test.
    let ctx = paillier_gpu::ExecutionContext::from_json_with_passphrase(
        include_str!("fixtures/test_context_2048.json"),
        "pw",
    )
    .unwrap();
    assert_eq!((ctx.key_len(), ctx.embed_len()), (2048, 16));
    let context: Value = serde_json::from_str(&ctx.to_json().unwrap()).unwrap();
    let (status, answer) = server.post(
        &format!("/v1/exec_context/{}", server.org),
        &key,
        &json!({ "context_id": ctx.id(), "data": context }),
    );
    assert_eq!(status, 200, "{answer}");
    // One record's pieces, stored 100,001 times: the server checks and aggregates them all.
    let pieces = sdk_pieces(&ctx, &[1; 16]);
    let mut stored = 0;
    while stored < RECORDS {
        let count = PER_INSERT.min(RECORDS - stored);
        let chunks: Vec<Value> = (0..count)
            .map(|_| json!({ "chunk_content": "", "index": pieces }))
            .collect();
        let (status, answer) = server.post(
            &format!("/v1/chunk/{}", server.org),
            &key,
            &json!({ "kb_id": kb_id, "context_id": ctx.id(), "chunks": chunks }),
        );
        assert_eq!(status, 200, "{answer}");
        stored += count;
    }
    let aggregated = "paillier_gpu_records_aggregated_total";
    let abandoned = "paillier_gpu_work_abandoned_total";
    assert_eq!(sample(&metrics(&metrics_address), aggregated), Some(0));
    let body = json!({ "kb_id": kb_id, "context_id": ctx.id(), "query": pieces }).to_string();
    let address = server.url.trim_start_matches("http://").to_owned();

    // No search has run yet, so the first builds the index from the store. On a machine fast
    // enough to finish before the reset, a deleted chunk drops the index and a shorter wait
    // tries again.
    let mut records = RECORDS as u64;
    let mut outcome = None;
    for delay_ms in [300, 150, 75, 30] {
        let before = sample(&metrics(&metrics_address), aggregated).unwrap_or(0);
        let mut stream = TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "POST /v1/compute_hamming/{} HTTP/1.1\r\nhost: {address}\r\nx-api-key: {key}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            server.org,
            body.len()
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        reset(stream);
        // The work stops at its next look (the build's next page, the aggregation's next
        // block); the request itself is never answered. Or it had finished.
        let started = Instant::now();
        let text = loop {
            let text = metrics(&metrics_address);
            let stopped = sample(&text, abandoned) == Some(1);
            let finished = sample(&text, aggregated) == Some(before + records);
            if stopped || finished || started.elapsed() > Duration::from_secs(120) {
                break text;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if sample(&text, abandoned) == Some(1) {
            outcome = Some((text, before));
            break;
        }
        let deleted = reqwest::blocking::Client::new()
            .delete(format!(
                "{}/v1/chunk/{}?kb_id={kb_id}&chunk_ids={records}",
                server.url, server.org
            ))
            .header("x-api-key", &key)
            .send()
            .unwrap();
        assert_eq!(deleted.status().as_u16(), 200);
        records -= 1;
    }
    let (text, before) = outcome.expect("a search reset before its work finished stopped");
    assert_eq!(sample(&text, aggregated), Some(before), "{text}");

    // The next search builds the index anew and answers every record.
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}/v1/compute_hamming/{}", server.url, server.org))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(!answer.bytes().unwrap().is_empty());
    let text = metrics(&metrics_address);
    assert_eq!(sample(&text, aggregated), Some(before + records), "{text}");
}
