//! A real `paillier-gpu serve` on 127.0.0.1 with a temporary store, for the tests that talk to
//! it; killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub use paillier_gpu_testing::data::{
    hamming, sdk_pieces, small_context, small_context_of, vectors,
};
pub use paillier_gpu_testing::net::free_port;
use paillier_gpu_testing::Service;

/// A running server, its organisation and admin key.
pub struct Server {
    service: Service,
    pub data: tempfile::TempDir,
    /// The PostgreSQL store's URL, when not SQLite in `data`.
    pub store: Option<String>,
    child: Child,
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_paillier-gpu")
}

impl Server {
    /// `server init` in a new folder, then `serve` on a free port with `extra` arguments.
    pub fn start(extra: &[&str]) -> Server {
        Self::start_configured(extra, |_| {})
    }

    /// As [`Server::start`], with `configure` applied to the `serve` command before it runs (a
    /// resource limit, say).
    /// The store is SQLite, or a fresh PostgreSQL database when `PAILLIER_GPU_TEST_STORE` is
    /// `postgres` (`tools/test-deep` runs the server tests both ways).
    pub fn start_configured(extra: &[&str], configure: impl FnOnce(&mut Command)) -> Server {
        let store = match std::env::var("PAILLIER_GPU_TEST_STORE").as_deref() {
            Ok("postgres") => Some(
                super::postgres::fresh_database()
                    .expect("PAILLIER_GPU_TEST_STORE=postgres needs PostgreSQL"),
            ),
            _ => None,
        };
        Self::init_and_serve(store.as_deref(), extra, configure)
    }

    /// As [`Server::start`], on SQLite whatever `PAILLIER_GPU_TEST_STORE` says: for a test that
    /// handles the store's file.
    pub fn start_sqlite(extra: &[&str]) -> Server {
        Self::init_and_serve(None, extra, |_| {})
    }

    /// `--store URL`, or `--data-dir DIR`: this server's store, for another command on it.
    pub fn store_args(&self, command: &mut Command) {
        store_args(command, self.store.as_deref(), self.data.path());
    }

    /// `server init` and `serve` on the PostgreSQL store at `store`.
    pub fn start_on(store: &str, extra: &[&str]) -> Server {
        Self::init_and_serve(Some(store), extra, |_| {})
    }

    fn init_and_serve(
        store: Option<&str>,
        extra: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Server {
        let data = tempfile::tempdir().unwrap();
        let mut init = Command::new(binary());
        init.args(["server", "init", "--org", "acme"]);
        store_args(&mut init, store, data.path());
        let init = init.output().unwrap();
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let org: Value = serde_json::from_slice(&init.stdout).unwrap();
        Self::serve(
            data,
            store,
            org["org_id"].as_str().unwrap(),
            org["admin_key"].as_str().unwrap(),
            extra,
            configure,
        )
    }

    /// Another `serve` on this one's store (a replica, for a PostgreSQL store), with the same
    /// organisation.
    pub fn replica(&self, extra: &[&str]) -> Server {
        let data = tempfile::tempdir().unwrap();
        Self::serve(
            data,
            self.store.as_deref(),
            &self.org,
            &self.admin_key,
            extra,
            |_| {},
        )
    }

    /// Kills this server's process (its store stays, for [`restart`](Self::restart)).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts this server's process again (after a kill), on the same store and port.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port: u16 = self.url.rsplit(':').next().unwrap().parse().unwrap();
        self.child = spawn_serve(port, self.store.as_deref(), self.data.path(), &[], |_| {});
    }

    fn serve(
        data: tempfile::TempDir,
        store: Option<&str>,
        org: &str,
        admin_key: &str,
        extra: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Server {
        let port = free_port();
        let child = spawn_serve(port, store, data.path(), extra, configure);
        Server {
            service: Service {
                url: format!("http://127.0.0.1:{port}"),
                org: org.to_owned(),
                admin_key: admin_key.to_owned(),
            },
            data,
            store: store.map(str::to_owned),
            child,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's exit status, if it exits within `within` (polled; bounded).
    pub fn wait_exit(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() >= until {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// A second organisation in the same store, with a knowledge base and a key holding every
    /// permission on it: that key.
    pub fn other_organisation(&self) -> String {
        let mut init = Command::new(binary());
        init.args(["server", "init", "--org", "rival"]);
        self.store_args(&mut init);
        let init = init.output().unwrap();
        assert!(init.status.success());
        let org: Value = serde_json::from_slice(&init.stdout).unwrap();
        let rival = Service {
            url: self.url.clone(),
            org: org["org_id"].as_str().unwrap().to_owned(),
            admin_key: org["admin_key"].as_str().unwrap().to_owned(),
        };
        rival.kb_and_key("r").1
    }

    /// The program run in `dir` against this server (`PAILLIER_GPU_REMOTE` and `_ORG` set, on the
    /// CPU) with `passphrase` and, when given, `api_key`.
    pub fn cli(
        &self,
        dir: &std::path::Path,
        passphrase: &str,
        api_key: Option<&str>,
        args: &[&str],
    ) -> std::process::Output {
        let mut env = vec![
            ("PAILLIER_GPU_DEVICE", "cpu"),
            ("PAILLIER_GPU_REMOTE", self.url.as_str()),
            ("PAILLIER_GPU_ORG", self.org.as_str()),
        ];
        if let Some(key) = api_key {
            env.push(("PAILLIER_GPU_API_KEY", key));
        }
        crate::common::cli::run_with(dir, Some(passphrase), args, &env)
    }
}

/// `--store URL`, or `--data-dir DIR` for SQLite.
fn store_args(command: &mut Command, store: Option<&str>, data: &std::path::Path) {
    match store {
        Some(url) => command.args(["--store", url]),
        None => command.arg("--data-dir").arg(data),
    };
}

/// Starts `serve` on `port` and waits for its startup line.
fn spawn_serve(
    port: u16,
    store: Option<&str>,
    data: &std::path::Path,
    extra: &[&str],
    configure: impl FnOnce(&mut Command),
) -> Child {
    let mut command = Command::new(binary());
    command
        .args(["serve", "--device", "cpu", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .stderr(Stdio::piped());
    store_args(&mut command, store, data);
    configure(&mut command);
    let mut child = command.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("serving on"), "{line}");
    // Whatever the server says later must not fill the pipe and stall it.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    child
}

impl std::ops::Deref for Server {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.service
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
