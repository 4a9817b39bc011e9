//! A search service that lies: `tools/tamper-proxy.py` (the system's python3, standard library
//! only) between a client and a real server, told how to lie by [`TamperProxy::set`]; killed
//! when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// A running tampering proxy in front of one server.
pub struct TamperProxy {
    /// Its address, which clients use as the service's.
    pub url: String,
    child: Child,
}

impl TamperProxy {
    /// A proxy forwarding to `upstream` (the server's URL), honest until told otherwise.
    pub fn start(upstream: &str) -> TamperProxy {
        let script = crate::repo_root().join("tools/tamper-proxy.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--upstream", upstream])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs tools/tamper-proxy.py");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("tamper-proxy said {line:?}"))
            .to_owned();
        TamperProxy { url, child }
    }

    /// How it lies from now on (`{"kind": "none"}`: not at all); see the script's help.
    pub fn set(&self, attack: Value) {
        let answer = reqwest::blocking::Client::new()
            .post(format!("{}/_tamper", self.url))
            .json(&attack)
            .send()
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
    }

    /// The chunk ids of each `GET /v1/chunk` since the last [`set`](Self::set), in the order
    /// asked on the wire.
    pub fn chunk_fetches(&self) -> Vec<Vec<i64>> {
        serde_json::from_value(self.log()["chunk_fetches"].clone()).unwrap()
    }

    /// The `since` of each owner's digest read that asked for links, since the last
    /// [`set`](Self::set).
    pub fn link_reads(&self) -> Vec<i64> {
        serde_json::from_value(self.log()["link_reads"].clone()).unwrap()
    }

    /// `GET /_tamper/log`.
    fn log(&self) -> Value {
        reqwest::blocking::get(format!("{}/_tamper/log", self.url))
            .unwrap()
            .json()
            .unwrap()
    }

    /// The partition tokens each partitioned `compute_hamming` asked for since the last
    /// [`set`](Self::set), sorted: what the service sees of the partitions a search probes.
    pub fn probes(&self) -> Vec<Vec<String>> {
        serde_json::from_value(self.log()["probes"].clone()).unwrap()
    }

    /// Honest again.
    pub fn honest(&self) {
        self.set(json!({"kind": "none"}));
    }
}

impl Drop for TamperProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
