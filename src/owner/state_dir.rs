//! The owner's own copy of each knowledge base's digest, under a state folder of its machine:
//! the highest version it has seen and its sealed bytes, so that a service that later serves an
//! older one (rolled back, or deleted) is caught. One file per (context, knowledge base),
//! private (folders 0700, files 0600), replaced atomically, under a lock so that two processes
//! of one owner never lower it. Beside it, an empty `<kb>.rolled-back` file says this owner
//! found the knowledge base rolled back or forked, and has not rebuilt its digest since: a
//! plain rebuild is refused while it is there, whatever digest the service shows later.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A sealed digest at a version, as seen by this owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenDigest {
    /// Its version.
    pub version: i64,
    /// Its sealed bytes (base64), as the service stores them.
    pub sealed: String,
}

/// A folder of the owner's digests (the CLI's `$PAILLIER_GPU_STATE_DIR`; [`StateDir::default_for`]
/// says where it is when none is chosen).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state kept under `root` (created, private, on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder both clients and the CLI use when their caller chose none: `chosen` (the
    /// CLI's `$PAILLIER_GPU_STATE_DIR`) when set, else `paillier-gpu/state` in the user's data
    /// folder (`data_home`, `$XDG_DATA_HOME`, else `.local/share` in `home`). The caller reads
    /// the environment; `None` when none of them is set.
    ///
    /// ```
    /// use paillier_gpu::owner::StateDir;
    /// let dir = StateDir::default_for(None, None, Some("/home/o".into())).unwrap();
    /// assert_eq!(dir.root(), std::path::Path::new("/home/o/.local/share/paillier-gpu/state"));
    /// ```
    pub fn default_for(
        chosen: Option<PathBuf>,
        data_home: Option<PathBuf>,
        home: Option<PathBuf>,
    ) -> Option<Self> {
        let nonempty = |p: &PathBuf| !p.as_os_str().is_empty();
        if let Some(chosen) = chosen.filter(nonempty) {
            return Some(Self::new(chosen));
        }
        let data = data_home
            .filter(nonempty)
            .or_else(|| Some(home.filter(nonempty)?.join(".local").join("share")))?;
        Some(Self::new(data.join("paillier-gpu").join("state")))
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the digest of `kb` under the context `context_id` is kept. Both are named in hex:
    /// a knowledge base's id is the service's, and may hold any character.
    pub fn path(&self, context_id: &str, kb: &str) -> PathBuf {
        self.root
            .join("digests")
            .join(hex(context_id))
            .join(format!("{}.json", hex(kb)))
    }

    /// Where the mark of a rollback found in `kb` under `context_id` is kept.
    pub fn rollback_path(&self, context_id: &str, kb: &str) -> PathBuf {
        self.path(context_id, kb).with_extension("rolled-back")
    }

    /// Whether this owner found `kb` under `context_id` rolled back or forked and has not
    /// rebuilt its digest since.
    pub fn rollback_noted(&self, context_id: &str, kb: &str) -> Result<bool> {
        let path = self.rollback_path(context_id, kb);
        path.try_exists().map_err(|e| failed(&path, "read", e))
    }

    /// Keeps the mark that `kb` under `context_id` was found rolled back or forked, until a
    /// digest rebuild [`replace`](Self::replace)s what was seen.
    pub fn note_rollback(&self, context_id: &str, kb: &str) -> Result<()> {
        let path = self.rollback_path(context_id, kb);
        let folder = path.parent().unwrap_or(&self.root).to_path_buf();
        private_folders(&folder)?;
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .and_then(|file| file.sync_all())
            .map_err(|e| failed(&path, "write", e))?;
        File::open(&folder)
            .and_then(|f| f.sync_all())
            .map_err(|e| failed(&folder, "sync", e))
    }

    /// The highest digest seen of `kb` under `context_id`, if any.
    pub fn read(&self, context_id: &str, kb: &str) -> Result<Option<SeenDigest>> {
        read_file(&self.path(context_id, kb))
    }

    /// Keeps `seen` as the digest of `kb` under `context_id` if it is newer than the one kept;
    /// the one kept after.
    pub fn keep(&self, context_id: &str, kb: &str, seen: &SeenDigest) -> Result<SeenDigest> {
        self.write(context_id, kb, seen, false)
    }

    /// Keeps `seen` whatever was kept, and forgets a rollback noted: only for a digest the
    /// owner rebuilt from the records.
    pub fn replace(&self, context_id: &str, kb: &str, seen: &SeenDigest) -> Result<SeenDigest> {
        self.write(context_id, kb, seen, true)
    }

    fn write(
        &self,
        context_id: &str,
        kb: &str,
        seen: &SeenDigest,
        replace: bool,
    ) -> Result<SeenDigest> {
        let path = self.path(context_id, kb);
        let folder = path.parent().unwrap_or(&self.root).to_path_buf();
        private_folders(&folder)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(folder.join(".lock"))
            .map_err(|e| failed(&folder, "lock", e))?;
        lock.lock().map_err(|e| failed(&folder, "lock", e))?;
        let kept = read_file(&path)?;
        if let Some(kept) = kept.filter(|kept| !replace && kept.version >= seen.version) {
            return Ok(kept);
        }
        let bytes = serde_json::to_vec(seen)
            .map_err(|e| Error::OwnerState(format!("the digest does not serialise: {e}")))?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".digest-");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
        let mut file = builder
            .tempfile_in(&folder)
            .map_err(|e| failed(&folder, "write in", e))?;
        file.write_all(&bytes)
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| failed(&path, "write", e))?;
        file.persist(&path)
            .map_err(|e| failed(&path, "replace", e.error))?;
        if replace {
            let mark = self.rollback_path(context_id, kb);
            match fs::remove_file(&mark) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(failed(&mark, "remove", e))
                }
                _ => {}
            }
        }
        File::open(&folder)
            .and_then(|f| f.sync_all())
            .map_err(|e| failed(&folder, "sync", e))?;
        Ok(seen.clone())
    }
}

fn read_file(path: &Path) -> Result<Option<SeenDigest>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::OwnerState(format!(
                "{} is not a digest this client wrote ({e}): move it away only if you know the \
                 knowledge base's latest state",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(failed(path, "read", e)),
    }
}

/// Creates `folder` and those above it that are missing, each private (0700); one that exists
/// keeps its mode.
fn private_folders(folder: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(folder)
        .map_err(|e| failed(folder, "create", e))
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn failed(path: &Path, what: &str, error: std::io::Error) -> Error {
    Error::OwnerState(format!("cannot {what} {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_newer_digest_replaces_the_one_kept() {
        let folder = tempfile::tempdir().unwrap();
        let state = StateDir::new(folder.path().join("state"));
        assert_eq!(state.read("ctx", "kb/1").unwrap(), None);
        let seen = |version: i64| SeenDigest {
            version,
            sealed: format!("s{version}"),
        };
        assert_eq!(state.keep("ctx", "kb/1", &seen(2)).unwrap(), seen(2));
        assert_eq!(state.keep("ctx", "kb/1", &seen(1)).unwrap(), seen(2));
        assert_eq!(state.keep("ctx", "kb/1", &seen(3)).unwrap(), seen(3));
        assert_eq!(state.read("ctx", "kb/1").unwrap(), Some(seen(3)));
        assert_eq!(state.read("ctx", "kb/2").unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = state.path("ctx", "kb/1");
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
            assert_eq!(mode(&folder.path().join("state")), 0o700);
        }
        // A rollback noted stays until a rebuild replaces what was seen.
        assert!(!state.rollback_noted("ctx", "kb/1").unwrap());
        state.note_rollback("ctx", "kb/1").unwrap();
        assert!(state.rollback_noted("ctx", "kb/1").unwrap());
        assert!(!state.rollback_noted("ctx", "kb/2").unwrap());
        state.keep("ctx", "kb/1", &seen(4)).unwrap();
        assert!(state.rollback_noted("ctx", "kb/1").unwrap());
        state.replace("ctx", "kb/1", &seen(2)).unwrap();
        assert!(!state.rollback_noted("ctx", "kb/1").unwrap());
        fs::write(state.path("ctx", "kb/1"), b"garbage").unwrap();
        assert!(state.read("ctx", "kb/1").is_err());
    }
}
