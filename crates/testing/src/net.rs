//! Plain HTTP and socket calls, for the tests that send what no client would.

use serde_json::Value;

/// A port free now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request; the status and the JSON answer (null when none).
pub fn call(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = reqwest::blocking::Client::new().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let answer = request.send().unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// What arrives on `stream` up to and including `end`, read a byte at a time so that nothing
/// past it leaves the socket's buffer; waits up to `within` for each byte.
pub fn read_through(
    stream: &mut std::net::TcpStream,
    end: &[u8],
    within: std::time::Duration,
) -> String {
    use std::io::Read;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(end) {
        let read = stream.read(&mut byte).unwrap();
        assert_eq!(read, 1, "closed after {:?}", String::from_utf8_lossy(&seen));
        seen.push(byte[0]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}
