//! The server's connections against a client that misbehaves: a request head or body never
//! finished, a request refused before its body was read on a keep-alive connection, made-up
//! methods against the metrics, and a full house of busy connections. Every wait is bounded;
//! the limits are generous and no time is a claim about speed. (A descriptor limit and SIGTERM
//! need the server's own process: the program's tests, `server_process.rs`.)

use std::io::Write;
use std::time::Duration;

use paillier_gpu_testing::net::free_port;
use paillier_gpu_testing::sockets::{
    busy_with_a_half_sent_body, connect, get, half_sent_body, half_sent_head, read_until_closed,
};
use paillier_gpu_testing::TestServer;
use serde_json::{json, Value};

#[test]
fn a_half_sent_request_head_is_closed_after_the_idle_timeout() {
    let server = TestServer::start_with(|o| o.idle_timeout = Duration::from_secs(2));
    let mut stream = half_sent_head(&server.url);
    let (text, closed) = read_until_closed(&mut stream, Duration::from_secs(12));
    assert!(closed, "still open after 12 s: {text:?}");
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    // An idle keep-alive connection is closed after it too.
    let mut stream = connect(&server.url);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let (text, closed) = read_until_closed(&mut stream, Duration::from_secs(12));
    assert!(closed, "still open after 12 s: {text:?}");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[test]
fn a_half_sent_body_is_a_408_after_the_body_timeout() {
    let server = TestServer::start_with(|o| o.body_timeout = Duration::from_secs(2));
    let mut stream = half_sent_body(&server);
    let (text, closed) = read_until_closed(&mut stream, Duration::from_secs(12));
    assert!(closed, "still open after 12 s: {text:?}");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{text}"
    );
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let answer: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(answer["message"].is_string(), "{answer}");
}

#[test]
fn a_request_refused_before_its_body_is_read_closes_its_connection_and_the_client_goes_on() {
    let server = TestServer::start();
    let (kb, key) = server.kb_and_key("closing");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let chunk = format!("{}/v1/chunk/{}", server.url, server.org);
    let body = json!({ "kb_id": kb, "chunks": [] });
    for round in 0..3 {
        let refused = client.post(&chunk).json(&body).send().unwrap();
        assert_eq!(refused.status().as_u16(), 401, "round {round}");
        let connection = refused.headers().get("connection").cloned();
        assert_eq!(
            connection.as_ref().and_then(|v| v.to_str().ok()),
            Some("close"),
            "round {round}"
        );
        let message: Value = refused.json().unwrap();
        assert!(message["message"].is_string(), "{message}");
        // The same client, its next requests: a new connection, answered.
        let healthy = client
            .get(format!("{}/healthz", server.url))
            .send()
            .unwrap();
        assert_eq!(healthy.status().as_u16(), 200, "round {round}");
        let listed = client
            .get(format!("{}/v1/exec_context/{}", server.url, server.org))
            .header("x-api-key", &key)
            .send()
            .unwrap();
        assert_eq!(listed.status().as_u16(), 200, "round {round}");
    }
}

#[test]
fn made_up_methods_do_not_grow_the_metrics_and_metrics_are_off_the_main_listener() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = TestServer::start_with(|o| o.metrics_listen = metrics.parse().ok());
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for i in 0..2000 {
        let method = reqwest::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let answer = client
            .request(method, format!("{}/healthz", server.url))
            .send()
            .unwrap();
        assert!(answer.status().is_client_error(), "{}", answer.status());
    }
    let (status, text) = get(&format!("http://{metrics}/metrics"));
    assert_eq!(status, 200);
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    assert!(series < 200, "{series} series:\n{text}");
    assert!(!text.contains("MADEUP"), "{text}");
    assert!(text.contains("method=\"other\""), "{text}");
    // OpenMetrics text: a scrape without its end marker is one Prometheus rejects.
    assert!(text.ends_with("\n# EOF\n"), "{text}");
    let (status, text) = get(&format!("{}/metrics", server.url));
    assert_eq!(status, 404, "{text}");
    // The metrics listener serves nothing of the API.
    let (status, _) = get(&format!("http://{metrics}/api/v1/kbs"));
    assert_eq!(status, 404);
}

#[test]
fn at_the_cap_with_every_connection_busy_a_newcomer_is_a_503_that_closes() {
    let server = TestServer::start_with(|o| o.max_connections = 2);
    let _busy = [
        busy_with_a_half_sent_body(&server),
        busy_with_a_half_sent_body(&server),
    ];
    let mut newcomer = connect(&server.url);
    newcomer
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let (text, closed) = read_until_closed(&mut newcomer, Duration::from_secs(12));
    assert!(closed, "still open after 12 s: {text:?}");
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{text}"
    );
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let answer: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(answer["message"].is_string(), "{answer}");
}
