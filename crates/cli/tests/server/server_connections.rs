//! The server's connections against a client that misbehaves: idle and half-sent sockets by the
//! hundred under a small descriptor limit, a request head or body never finished, a shutdown
//! while one is held, a request refused before its body was read on a keep-alive connection,
//! made-up methods against the metrics, and a full house of busy connections. Every wait is
//! bounded; the limits are generous and no time is a claim about speed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use crate::common;

use common::server::{free_port, read_through, Server};
use serde_json::{json, Value};

/// Connects to the server behind `url` (`http://127.0.0.1:PORT`).
fn connect(url: &str) -> TcpStream {
    let address = url.trim_start_matches("http://");
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection, read for at most `within`: the
/// text, and whether it closed (rather than the time running out).
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let until = Instant::now() + within;
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    while Instant::now() < until {
        match stream.read(&mut buffer) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buffer[..n]),
            // A reset is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true)
            }
            Err(_) => break,
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

/// An admin POST with its headers and a Content-Length of 1,000, of which only ten bytes are
/// sent: the request reaches its handler, which waits for the rest.
fn half_sent_body(server: &Server) -> TcpStream {
    let mut stream = connect(&server.url);
    stream
        .write_all(create_kb_head(server, "").as_bytes())
        .unwrap();
    stream.write_all(PART_OF_A_BODY).unwrap();
    stream
}

/// The first bytes of a 1,000-byte body.
const PART_OF_A_BODY: &[u8] = b"{\"name\": \"";

/// The head of a `POST /api/v1/kbs` with the admin key and a 1,000-byte body, with `extra`
/// (whole header lines) added.
fn create_kb_head(server: &Server, extra: &str) -> String {
    format!(
        "POST /api/v1/kbs HTTP/1.1\r\nHost: 127.0.0.1\r\nx-xtrace-key: {}\r\n\
         x-xtrace-org-id: {}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\
         {extra}\r\n",
        server.admin_key, server.org
    )
}

/// A connection whose request is with its handler: the head asks `Expect: 100-continue`, and
/// the part of the body goes once the server, reading the body, said to continue.
fn busy_with_a_half_sent_body(server: &Server) -> TcpStream {
    let mut stream = connect(&server.url);
    let head = create_kb_head(server, "expect: 100-continue\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let seen = read_through(&mut stream, b"\r\n\r\n", Duration::from_secs(30));
    assert!(seen.starts_with("HTTP/1.1 100"), "{seen}");
    stream.write_all(PART_OF_A_BODY).unwrap();
    stream
}

/// A request head sent in part.
fn half_sent_head(url: &str) -> TcpStream {
    let mut stream = connect(url);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partial: ")
        .unwrap();
    stream
}

/// GET `url` with a generous timeout: the status and the text.
fn get(url: &str) -> (u16, String) {
    let answer = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(url)
        .send()
        .unwrap();
    (answer.status().as_u16(), answer.text().unwrap())
}

#[test]
fn healthz_answers_while_hundreds_of_idle_and_half_sent_sockets_are_held() {
    let metrics_port = free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    // 256 descriptors: the server lowers its cap to fit, and evicts idle sockets past it.
    let server = Server::start_configured(&["--metrics-listen", &metrics], |command| {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        #[allow(unsafe_code)]
        unsafe {
            command.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 256,
                    rlim_max: 256,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(connect(&server.url));
    }
    for _ in 0..20 {
        held.push(half_sent_head(&server.url));
    }
    for attempt in 0..3 {
        let (status, text) = get(&format!("{}/healthz", server.url));
        assert_eq!((status, text.as_str()), (200, "ok"), "attempt {attempt}");
    }
    let (status, text) = get(&format!("http://{metrics}/metrics"));
    assert_eq!(status, 200, "{text}");
    let evicted = text
        .lines()
        .find_map(|l| l.strip_prefix("paillier_gpu_connections_shed_total{why=\"evicted\"} "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no eviction counter in {text}"));
    assert!(evicted >= 100, "{evicted} evicted: {text}");
    drop(held);
}

#[test]
fn a_half_sent_request_head_is_closed_after_the_idle_timeout() {
    let server = Server::start(&["--idle-timeout", "2"]);
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
    let server = Server::start(&["--body-timeout", "2"]);
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
fn sigterm_ends_the_server_within_the_shutdown_timeout_while_a_request_is_half_sent() {
    let mut server = Server::start(&[
        "--shutdown-timeout",
        "2",
        "--idle-timeout",
        "120",
        "--body-timeout",
        "120",
    ]);
    let _head = half_sent_head(&server.url);
    let _body = half_sent_body(&server);
    // Both requests are with the server before the signal.
    std::thread::sleep(Duration::from_millis(500));
    let pid = libc::pid_t::try_from(server.pid()).unwrap();
    // SAFETY: kill sends a signal to our own child, by its id.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let status = server.wait_exit(Duration::from_secs(20));
    let status = status.unwrap_or_else(|| panic!("still running 20 s after SIGTERM"));
    assert!(status.success(), "{status}");
}

#[test]
fn a_request_refused_before_its_body_is_read_closes_its_connection_and_the_client_goes_on() {
    let server = Server::start(&[]);
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
    let server = Server::start(&["--metrics-listen", &metrics]);
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
    let server = Server::start(&["--max-connections", "2"]);
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
