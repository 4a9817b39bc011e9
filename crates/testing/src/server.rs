//! A real server on 127.0.0.1, run by this test's own process: `paillier_gpu_server::serve` on
//! a runtime of its own, over a store of its own, stopped when dropped. Tests that signal or
//! kill the server's process start the `paillier-gpu` program instead (the program's tests).

use std::ops::Deref;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use paillier_gpu::Device;
use paillier_gpu_server::{ServerOptions, StoreLocation};

use crate::service::Service;

/// A server running in this process, its organisation and admin key.
pub struct TestServer {
    service: Service,
    /// Where its metrics are served, when they are.
    pub metrics: Option<std::net::SocketAddr>,
    /// Its store.
    pub store: StoreLocation,
    /// The folder of a SQLite store (empty for PostgreSQL), removed when dropped.
    pub data: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Deref for TestServer {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.service
    }
}

impl TestServer {
    /// A new store and organisation, served with the defaults except: test-sized contexts
    /// allowed, aggregation on the CPU, a port of its own and a one-second shutdown.
    ///
    /// The store is SQLite, or a fresh PostgreSQL database when `PAILLIER_GPU_TEST_STORE` is
    /// `postgres` (`tools/test-deep` runs the server tests both ways).
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// As [`TestServer::start`], with `configure` applied to the options first.
    pub fn start_with(configure: impl FnOnce(&mut ServerOptions)) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let store = match std::env::var("PAILLIER_GPU_TEST_STORE").as_deref() {
            Ok("postgres") => StoreLocation::Postgres(
                crate::postgres::fresh_database()
                    .expect("PAILLIER_GPU_TEST_STORE=postgres needs PostgreSQL"),
            ),
            _ => StoreLocation::Sqlite(data.path().to_owned()),
        };
        Self::start_on(store, data, configure)
    }

    /// As [`TestServer::start_with`], on SQLite whatever `PAILLIER_GPU_TEST_STORE` says: for a
    /// test that handles the store's file.
    pub fn start_sqlite(configure: impl FnOnce(&mut ServerOptions)) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let store = StoreLocation::Sqlite(data.path().to_owned());
        Self::start_on(store, data, configure)
    }

    fn start_on(
        store: StoreLocation,
        data: tempfile::TempDir,
        configure: impl FnOnce(&mut ServerOptions),
    ) -> TestServer {
        let org = paillier_gpu_server::init(&store, "acme").unwrap();
        let mut options = ServerOptions::new(store.clone());
        options.listen = ([127, 0, 0, 1], 0).into();
        options.device = Device::Cpu;
        options.allow_weak_contexts = true;
        options.shutdown_timeout = Duration::from_secs(1);
        configure(&mut options);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (listening, bound) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            let shutdown = async {
                let _ = stopped.await;
            };
            let started = listening.clone();
            let served =
                runtime.block_on(paillier_gpu_server::serve(options, shutdown, move |at| {
                    let _ = started.send(Ok((at.address, at.metrics)));
                }));
            if let Err(e) = served {
                let _ = listening.send(Err(e.to_string()));
            }
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
        let (address, metrics) = bound
            .recv_timeout(Duration::from_secs(60))
            .expect("the server starts within a minute")
            .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        TestServer {
            service: Service {
                url: format!("http://{address}"),
                org: org.org_id,
                admin_key: org.admin_key.to_string(),
            },
            metrics,
            store,
            data,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A second organisation in the same store, with a knowledge base and a key holding every
    /// permission on it: that key.
    pub fn other_organisation(&self) -> String {
        let rival = paillier_gpu_server::init(&self.store, "rival").unwrap();
        let rival = Service {
            url: self.url.clone(),
            org: rival.org_id,
            admin_key: rival.admin_key.to_string(),
        };
        rival.kb_and_key("r").1
    }

    /// `/metrics`' text (empty when it cannot be read).
    pub fn metrics_text(&self) -> String {
        let Some(at) = self.metrics else {
            panic!("this server serves no metrics: start it with metrics_listen")
        };
        reqwest::blocking::get(format!("http://{at}/metrics"))
            .and_then(|answer| answer.text())
            .unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
