//! What needs the server's own process: a descriptor limit set on it (hundreds of idle and
//! half-sent sockets held under it) and SIGTERM while requests are half sent. The rest of the
//! connections' tests run against a server in the test's process (crates/server/tests).

use std::os::unix::process::CommandExt;
use std::time::Duration;

use crate::common::server::{free_port, Server};
use paillier_gpu_testing::sockets::{connect, get, half_sent_body, half_sent_head};

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
