//! A client that asks for a large answer and never reads it, against a real `paillier-gpu
//! serve`: its connection is closed once the answer has made no progress for the body timeout,
//! which frees the answer's memory and its work slot for everyone else; meanwhile a request
//! that finds no free slot within the work queue timeout is a 503.

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};
use paillier_gpu_client::Client;
use paillier_gpu_testing::data::vectors;
use paillier_gpu_testing::net::read_through;
use paillier_gpu_testing::TestServer;
use serde_json::json;

/// A TCP connection to `port` on 127.0.0.1 whose receive buffer is as small as the kernel
/// allows, so that an answer it does not read backs up into the server quickly.
#[cfg(unix)]
fn small_window_connection(port: u16) -> std::net::TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns until it hands it to
    // TcpStream, which then owns and closes it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 1024;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            std::ptr::addr_of!(size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let address = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
            },
            sin_zero: [0; 8],
        };
        let connected = libc::connect(
            fd,
            std::ptr::addr_of!(address).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(connected, 0);
        std::net::TcpStream::from_raw_fd(fd)
    }
}

#[cfg(unix)]
#[test]
fn a_client_that_never_reads_its_answer_loses_its_connection_and_its_work_slot() {
    let server = TestServer::start_with(|o| {
        o.body_timeout = Duration::from_secs(10);
        o.max_concurrent_work = 1;
        o.work_queue_timeout = Duration::from_secs(1);
    });
    let (kb, key) = server.kb_and_key("docs");
    let options = ContextOptions {
        scheme: Scheme::Paillier,
        key_len: 256,
        embed_len: 64,
        allow_insecure: true,
        ..ContextOptions::default()
    };
    let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
    let client = Client::new(&server.url, &server.org, &key)
        .unwrap()
        .with_state_in_memory();
    client.push_context(&ctx).unwrap();
    // About 17 MB of JSON answer: more than the socket buffers on both sides hold.
    let stored = vectors(100_000, 3, 64);
    client
        .upload(&kb, &ctx, &ctx.encrypt_batch(&stored).unwrap(), &[])
        .unwrap();

    let query = ctx.encrypt_batch(&[&stored[0]]).unwrap();
    let mut piece = Vec::new();
    query
        .write_item_le_bytes(0, ctx.ciphertext_shape().piece_bytes, &mut piece)
        .unwrap();
    let body = json!({
        "kb_id": kb, "context_id": ctx.id(),
        "query": [base64::engine::general_purpose::STANDARD.encode(&piece)],
    })
    .to_string();
    let port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let mut stalled = small_window_connection(port);
    write!(
        stalled,
        "POST /v1/compute_hamming/{} HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\n\
         accept: application/json\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        server.org,
        body.len()
    )
    .unwrap();

    // The stalled request is answered before anyone else asks, so the only work slot is its
    // answer's from then until its connection is closed (10 s without progress). A search
    // started earlier could hold the slot past the stalled request's own one-second wait.
    let status_line = read_through(&mut stalled, b"\r\n", Duration::from_secs(300));
    assert!(status_line.starts_with("HTTP/1.1 200"), "{status_line}");
    // Meanwhile a search waits a second for the slot, then is told the server is busy.
    match client.search(&kb, &ctx, &stored[5], None, None, 1) {
        Err(paillier_gpu_client::Error::Remote {
            status: 503,
            message,
        }) => assert!(message.contains("busy"), "{message}"),
        other => panic!("while the slot is held: {other:?}"),
    }
    // Once the stalled connection is closed, the slot is free again. (Without the closing, it
    // stays taken and every search is a 503.)
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let found = loop {
        match client.search(&kb, &ctx, &stored[5], None, None, 1) {
            Err(paillier_gpu_client::Error::Remote { status: 503, .. })
                if std::time::Instant::now() < until => {}
            other => break other.unwrap(),
        }
    };
    assert_eq!(found, vec![(6, 0)]);
    drop(stalled);
}
