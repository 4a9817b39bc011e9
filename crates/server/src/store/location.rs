//! Where the store lives: a SQLite file in a data folder (one `serve` alone), or a PostgreSQL
//! database (any number of replicas), and what can be done to it whole: open, migrate, back up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{PostgresStore, SqliteStore, Store};
use crate::error::{Error, Result};

/// A store's place.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `paillier-gpu.sqlite3` in this folder.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://…`).
    Postgres(String),
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(dir) => f.debug_tuple("Sqlite").field(dir).finish(),
            // May hold a password.
            Self::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// Where the store is, for a person: the folder, or PostgreSQL's user, hosts and database
/// without the password.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(dir) => write!(f, "SQLite in {}", dir.display()),
            Self::Postgres(url) => match url.parse::<r2d2_postgres::postgres::Config>() {
                Ok(config) => {
                    let hosts: Vec<String> = config
                        .get_hosts()
                        .iter()
                        .enumerate()
                        .map(|(i, host)| {
                            let port = config.get_ports().get(i).or(config.get_ports().first());
                            let name = match host {
                                r2d2_postgres::postgres::config::Host::Tcp(name) => name.clone(),
                                r2d2_postgres::postgres::config::Host::Unix(folder) => {
                                    folder.display().to_string()
                                }
                            };
                            match port {
                                Some(port) => format!("{name}:{port}"),
                                None => name,
                            }
                        })
                        .collect();
                    write!(
                        f,
                        "PostgreSQL {}@{}/{}",
                        config.get_user().unwrap_or("(default user)"),
                        hosts.join(","),
                        config.get_dbname().unwrap_or("(default database)")
                    )
                }
                Err(_) => f.write_str("PostgreSQL (an unreadable URL)"),
            },
        }
    }
}

impl StoreLocation {
    /// The store named by `store` (a `postgres://` or `postgresql://` URL), or else the SQLite
    /// store in `data_dir`.
    ///
    /// ```
    /// use paillier_gpu_server::StoreLocation;
    /// let here = StoreLocation::new(None, "data".as_ref())?;
    /// assert_eq!(here, StoreLocation::Sqlite("data".into()));
    /// let shared = StoreLocation::new(Some("postgres://app@db/paillier"), "data".as_ref())?;
    /// assert_eq!(shared.kind(), "postgres");
    /// assert!(StoreLocation::new(Some("mysql://db"), "data".as_ref()).is_err());
    /// # Ok::<(), paillier_gpu_server::Error>(())
    /// ```
    pub fn new(store: Option<&str>, data_dir: &Path) -> Result<Self> {
        match store {
            None => Ok(Self::Sqlite(data_dir.to_owned())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres(url.to_owned()))
            }
            Some(other) => Err(Error::InvalidSetting(format!(
                "--store takes a postgres:// URL (got {:?}); without it the store is SQLite in \
                 --data-dir",
                other.split("://").next().unwrap_or(other)
            ))),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Opens the store, creating and migrating its schema as needed.
pub fn open_store(location: &StoreLocation) -> Result<Arc<dyn Store>> {
    Ok(match location {
        StoreLocation::Sqlite(dir) => Arc::new(SqliteStore::open(dir)?),
        StoreLocation::Postgres(url) => Arc::new(PostgresStore::open(url)?),
    })
}

/// Brings the store's schema up to this program's version; returns that version.
pub fn migrate(location: &StoreLocation) -> Result<usize> {
    match location {
        StoreLocation::Sqlite(dir) => {
            SqliteStore::open(dir).map(|_| super::sqlite::schema::MIGRATIONS.len())
        }
        StoreLocation::Postgres(url) => PostgresStore::open(url)?.migrate(),
    }
}

/// Copies a SQLite store, consistent while it serves, to `output` (a new file, private to this
/// user). PostgreSQL has its own tools: `pg_dump`, or its continuous archiving.
pub fn backup(location: &StoreLocation, output: &Path) -> Result<()> {
    match location {
        StoreLocation::Sqlite(dir) => SqliteStore::open(dir)?.backup(output),
        StoreLocation::Postgres(_) => Err(Error::InvalidSetting(
            "a PostgreSQL store is backed up with PostgreSQL's own tools: pg_dump (see \
             docs/deployment.md)"
                .into(),
        )),
    }
}
