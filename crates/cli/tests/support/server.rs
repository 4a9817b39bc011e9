//! A real `paillier-gpu serve` on 127.0.0.1 with a temporary store, for the tests that talk to
//! it; killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// The Hamming distance of two bit vectors.
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as u32
}

/// A classic context with a test-sized key (key_len 256, so the server needs
/// `--allow-weak-contexts`) over `embed` dimensions, sealed under the passphrase "pw".
pub fn small_context(embed: usize) -> paillier_gpu::ExecutionContext {
    small_context_of(256, embed)
}

/// [`small_context`] at `key_len`: 512 is the least whose verifiable records take the one-bit
/// layout (up to 126 dimensions), where 256 gives the two-bit one.
pub fn small_context_of(key_len: usize, embed: usize) -> paillier_gpu::ExecutionContext {
    let options = paillier_gpu::ContextOptions {
        scheme: paillier_gpu::Scheme::Paillier,
        key_len,
        embed_len: embed,
        allow_insecure: true,
        ..paillier_gpu::ContextOptions::default()
    };
    paillier_gpu::ExecutionContext::create_with_passphrase(&options, "pw").unwrap()
}

/// The SDK's form of one encrypted vector: base64 of each piece's little-endian bytes.
pub fn sdk_pieces(ctx: &paillier_gpu::ExecutionContext, vector: &[u8]) -> Vec<String> {
    use base64::Engine;
    let batch = ctx.encrypt_batch(&[vector]).unwrap();
    (0..batch.pieces_per_record())
        .map(|item| {
            let mut bytes = Vec::new();
            batch
                .write_item_le_bytes(item, ctx.ciphertext_shape().piece_bytes, &mut bytes)
                .unwrap();
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        })
        .collect()
}

/// `count` random bit vectors of `embed` dimensions from `seed`.
pub fn vectors(count: usize, seed: u64, embed: usize) -> Vec<Vec<u8>> {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..embed)
                .map(|_| rand::Rng::gen_range(&mut rng, 0..2u8))
                .collect()
        })
        .collect()
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

/// A running server, its organisation and admin key.
pub struct Server {
    pub url: String,
    pub org: String,
    pub admin_key: String,
    pub data: tempfile::TempDir,
    /// The PostgreSQL store's URL, when not SQLite in `data`.
    pub store: Option<String>,
    child: Child,
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_paillier-gpu")
}

/// A port free now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// `server init` in a new folder, then `serve` on a free port with `extra` arguments.
    pub fn start(extra: &[&str]) -> Server {
        Self::start_configured(extra, |_| {})
    }

    /// As [`Server::start`], with `configure` applied to the `serve` command before it runs (a
    /// resource limit, say).
    /// The store is SQLite, or a fresh PostgreSQL database when `PAILLIER_GPU_TEST_STORE` is
    /// `postgres` (`tools/test-all` runs the server tests both ways).
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
            url: format!("http://127.0.0.1:{port}"),
            org: org.to_owned(),
            admin_key: admin_key.to_owned(),
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

    /// An admin-plane call; the status and the JSON answer (null when empty).
    pub fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::blocking::Client::new()
            .request(method, format!("{}/api/v1/{path}", self.url))
            .header("x-xtrace-key", &self.admin_key)
            .header("x-xtrace-org-id", &self.org);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A new knowledge base and an API key with every permission on it: `(kb_id, api_key)`.
    pub fn kb_and_key(&self, name: &str) -> (String, String) {
        let (status, key) = self.admin(
            reqwest::Method::POST,
            "keys",
            Some(json!({ "name": name, "description": "a test's" })),
        );
        assert_eq!(status, 200, "{key}");
        let kb_id = self.new_kb(name);
        self.grant_all(key["apiKey"]["hash"].as_str().unwrap(), &kb_id);
        (kb_id, key["secretKey"].as_str().unwrap().to_owned())
    }

    /// A new knowledge base on which `api_key` (of this organisation) has every permission.
    pub fn kb_for(&self, name: &str, api_key: &str) -> String {
        let (status, keys) = self.admin(reqwest::Method::GET, "keys", None);
        assert_eq!(status, 200, "{keys}");
        let hash = keys
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["firstN"] == api_key[..5]))
            .and_then(|k| k["hash"].as_str())
            .unwrap()
            .to_owned();
        let kb_id = self.new_kb(name);
        self.grant_all(&hash, &kb_id);
        kb_id
    }

    fn new_kb(&self, name: &str) -> String {
        let (status, kb) = self.admin(
            reqwest::Method::POST,
            "kbs",
            Some(json!({ "name": name, "description": "a test's" })),
        );
        assert_eq!(status, 200, "{kb}");
        kb["id"].as_str().unwrap().to_owned()
    }

    /// Every permission on `kb_id` for the key hashing to `hash`.
    fn grant_all(&self, hash: &str, kb_id: &str) {
        let (status, answer) = self.admin(
            reqwest::Method::PUT,
            &format!("keys/{hash}/permissions/{kb_id}"),
            Some(json!({ "permission": 7 })),
        );
        assert_eq!(status, 200, "{answer}");
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

    /// A data-plane POST with an API key: the status and the JSON answer.
    pub fn post(&self, path: &str, api_key: &str, body: &Value) -> (u16, Value) {
        let answer = reqwest::blocking::Client::new()
            .post(format!("{}{path}", self.url))
            .header("x-api-key", api_key)
            .json(body)
            .send()
            .unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().unwrap();
        let value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, value)
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
