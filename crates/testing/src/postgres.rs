//! A private PostgreSQL for the tests: Debian's `postgresql` binaries, a cluster made with
//! `initdb` in a temporary folder, its server on a free port of 127.0.0.1, run as `nobody` when
//! the tests run as root (PostgreSQL refuses root), and a new database for each caller.
//!
//! The server is started once per test binary, by a thread that lives as long as the binary, and
//! is told to stop (SIGINT, its fast shutdown) when that thread ends: with the process.
//! Without PostgreSQL installed the tests that need it are skipped with a message, except under
//! CI (`CI` set), where they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The one cluster of this test binary.
pub struct Postgres {
    /// The folder of PostgreSQL's programs.
    pub bin: PathBuf,
    /// The cluster's folder.
    pub data: PathBuf,
    pub port: u16,
    /// The server's process, while it runs.
    child: Mutex<Option<Child>>,
    /// The folder of the cluster, removed when the binary exits.
    root: PathBuf,
}

const USER: &str = "paillier";

static CLUSTER: OnceLock<Option<&'static Postgres>> = OnceLock::new();
/// Every cluster started, to stop at exit.
static STARTED: Mutex<Vec<&'static Postgres>> = Mutex::new(Vec::new());
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The cluster, started on first use; `None` (the test should return) where PostgreSQL is not
/// installed and this is not CI.
pub fn cluster() -> Option<&'static Postgres> {
    *CLUSTER.get_or_init(|| match postgres_bin() {
        Some(bin) => Some(start_cluster(bin)),
        None if std::env::var_os("CI").is_some() => {
            panic!("PostgreSQL is not installed (apt-get install postgresql), and CI needs it")
        }
        None => {
            eprintln!("skipped: PostgreSQL is not installed (apt-get install postgresql)");
            None
        }
    })
}

/// A cluster of the caller's own, for a test that stops and starts it; `None` as for
/// [`cluster`].
pub fn private_cluster() -> Option<&'static Postgres> {
    cluster()?;
    postgres_bin().map(start_cluster)
}

/// The URL of a new, empty database of the shared cluster; `None` as for [`cluster`].
pub fn fresh_database() -> Option<String> {
    Some(cluster()?.fresh_database())
}

impl Postgres {
    /// The URL of a new, empty database of this cluster.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst)
        );
        self.client("postgres")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        self.url(&name)
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// A direct connection to database `name`, for a test to look at or break what a store
    /// wrote.
    pub fn client(&self, name: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(name), postgres::NoTls).unwrap()
    }

    /// Stops the server (fast shutdown: open connections are cut), as a database going away.
    pub fn stop(&self) {
        let mut child = self.child.lock().unwrap();
        if let Some(mut running) = child.take() {
            signal(&running, libc::SIGINT);
            let _ = running.wait();
        }
    }

    /// Starts the server again after [`stop`](Self::stop).
    pub fn start(&self) {
        let mut child = self.child.lock().unwrap();
        if child.is_none() {
            *child = Some(spawn_server(&self.bin, &self.data, self.port));
        }
    }
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: a plain kill(2) of our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `postgres` and `initdb`.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("postgres").exists() && bin.join("initdb").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Runs as `nobody` when this process is root.
fn unprivileged(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        command.uid(65534).gid(65534);
    }
    command
}

fn start_cluster(bin: PathBuf) -> &'static Postgres {
    let dir = tempfile::Builder::new()
        .prefix("paillier-pg-")
        .tempdir()
        .unwrap()
        .keep();
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    // SAFETY: plain chown/chmod of folders this process made.
    unsafe {
        if libc::geteuid() == 0 {
            for path in [dir.as_path(), data.as_path()] {
                let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
                assert_eq!(libc::chown(path.as_ptr(), 65534, 65534), 0);
            }
        }
    }
    let initdb = unprivileged(
        Command::new(bin.join("initdb"))
            .args([
                "--auth=trust",
                "--username",
                USER,
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .current_dir(&dir),
    )
    .output()
    .unwrap();
    assert!(
        initdb.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cluster: &'static Postgres = Box::leak(Box::new(Postgres {
        bin: bin.clone(),
        data: data.clone(),
        port,
        child: Mutex::new(None),
        root: dir,
    }));
    let mut started = STARTED.lock().unwrap();
    if started.is_empty() {
        // SAFETY: registers a plain function; the test harness exits through `exit`, which
        // runs it.
        unsafe {
            libc::atexit(stop_at_exit);
        }
    }
    started.push(cluster);
    drop(started);
    // The server's keeper: starts it, then lives as long as the test binary; when the binary
    // exits the server is told to stop (the parent-death signal is tied to this thread).
    let (started, ready) = mpsc::channel();
    std::thread::spawn(move || {
        cluster.start();
        started.send(()).unwrap();
        loop {
            std::thread::park();
        }
    });
    ready.recv().unwrap();
    wait_until_accepting(cluster);
    cluster
}

/// Stops the cluster and removes its folder as the test binary exits.
extern "C" fn stop_at_exit() {
    let started = STARTED.lock().map(|s| s.clone()).unwrap_or_default();
    for cluster in started {
        cluster.stop();
        let _ = std::fs::remove_dir_all(&cluster.root);
    }
}

fn spawn_server(bin: &Path, data: &Path, port: u16) -> Child {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(bin.join("postgres"));
    command
        .arg("-D")
        .arg(data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "unix_socket_directories=", "-c", "fsync=off"])
        .args(["-c", "max_connections=200", "-c", "shared_buffers=64MB"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    unprivileged(&mut command);
    // SAFETY: prctl in the child before exec, async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
            Ok(())
        });
    }
    command.spawn().unwrap()
}

fn wait_until_accepting(cluster: &Postgres) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).is_ok() {
            return;
        }
        assert!(Instant::now() < until, "PostgreSQL did not start in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the cluster accepts connections again (after [`Postgres::start`]).
pub fn wait_until_up(cluster: &Postgres) {
    wait_until_accepting(cluster);
}
