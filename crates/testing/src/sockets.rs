//! Sockets that misbehave as a client may: requests sent in part, connections held busy, and
//! reading until the server closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::net::read_through;
use crate::service::Service;

/// Connects to the server behind `url` (`http://127.0.0.1:PORT`).
pub fn connect(url: &str) -> TcpStream {
    let address = url.trim_start_matches("http://");
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection, read for at most `within`: the
/// text, and whether it closed (rather than the time running out).
pub fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
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
pub fn half_sent_body(server: &Service) -> TcpStream {
    let mut stream = connect(&server.url);
    stream
        .write_all(create_kb_head(server, "").as_bytes())
        .unwrap();
    stream.write_all(PART_OF_A_BODY).unwrap();
    stream
}

/// The first bytes of a 1,000-byte body.
pub const PART_OF_A_BODY: &[u8] = b"{\"name\": \"";

/// The head of a `POST /api/v1/kbs` with the admin key and a 1,000-byte body, with `extra`
/// (whole header lines) added.
pub fn create_kb_head(server: &Service, extra: &str) -> String {
    format!(
        "POST /api/v1/kbs HTTP/1.1\r\nHost: 127.0.0.1\r\nx-xtrace-key: {}\r\n\
         x-xtrace-org-id: {}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\
         {extra}\r\n",
        server.admin_key, server.org
    )
}

/// A connection whose request is with its handler: the head asks `Expect: 100-continue`, and
/// the part of the body goes once the server, reading the body, said to continue.
pub fn busy_with_a_half_sent_body(server: &Service) -> TcpStream {
    let mut stream = connect(&server.url);
    let head = create_kb_head(server, "expect: 100-continue\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let seen = read_through(&mut stream, b"\r\n\r\n", Duration::from_secs(30));
    assert!(seen.starts_with("HTTP/1.1 100"), "{seen}");
    stream.write_all(PART_OF_A_BODY).unwrap();
    stream
}

/// A request head sent in part.
pub fn half_sent_head(url: &str) -> TcpStream {
    let mut stream = connect(url);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partial: ")
        .unwrap();
    stream
}

/// GET `url` with a generous timeout: the status and the text.
pub fn get(url: &str) -> (u16, String) {
    let answer = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(url)
        .send()
        .unwrap();
    (answer.status().as_u16(), answer.text().unwrap())
}
