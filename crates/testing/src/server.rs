//! A real server on 127.0.0.1, run by this test's own process: `paillier_gpu_server::serve` on
//! a runtime of its own, over a store of its own, stopped when dropped. Tests that signal or
//! kill the server's process start the `paillier-gpu` program instead (the program's tests).

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
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
    pub metrics: Option<SocketAddr>,
    /// Its store.
    pub store: StoreLocation,
    /// The folder of a SQLite store (empty for PostgreSQL), removed when dropped.
    pub data: tempfile::TempDir,
    /// The options it was served with, its bound address in `listen`: a restart serves them
    /// again on the same address.
    options: ServerOptions,
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
        let (running, address, metrics) = Running::serve(options.clone());
        options.listen = address;
        options.metrics_listen = metrics;
        TestServer {
            service: Service {
                url: format!("http://{address}"),
                org: org.org_id,
                admin_key: org.admin_key.to_string(),
            },
            metrics,
            store,
            data,
            options,
            stop: Some(running.stop),
            thread: Some(running.thread),
        }
    }

    /// Stops serving (its store kept), as a stopped process would, until [`TestServer::restart`].
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Serves again, on the same address and store: for a test that puts the store's files back
    /// to an earlier copy in between.
    pub fn restart(&mut self) {
        self.stop();
        let (running, _, _) = Running::serve(self.options.clone());
        self.stop = Some(running.stop);
        self.thread = Some(running.thread);
    }

    /// A copy of its SQLite store (the database and its journal) in `to`, taken stopped.
    pub fn keep_store(&mut self, to: &Path) {
        self.stop();
        copy_sqlite_files(self.data.path(), to);
        self.restart();
    }

    /// Its SQLite store put back, whole, to the copy [`TestServer::keep_store`] took in
    /// `earlier`: a consistent earlier state, as a service restoring a backup would serve.
    pub fn put_back_store(&mut self, earlier: &Path) {
        self.stop();
        for entry in std::fs::read_dir(self.data.path()).unwrap() {
            let path = entry.unwrap().path();
            if is_sqlite_file(&path) {
                std::fs::remove_file(path).unwrap();
            }
        }
        copy_sqlite_files(earlier, self.data.path());
        self.restart();
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
        self.stop();
    }
}

/// The SQLite store's files (the database, its journal and shared memory).
fn is_sqlite_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("paillier-gpu.sqlite3"))
}

fn copy_sqlite_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if is_sqlite_file(&path) {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

/// `serve` on a thread of its own: how to stop it.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl Running {
    /// Serves `options` on a runtime of its own; the address it listens on and its metrics'.
    fn serve(options: ServerOptions) -> (Running, SocketAddr, Option<SocketAddr>) {
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
        (Running { stop, thread }, address, metrics)
    }
}
