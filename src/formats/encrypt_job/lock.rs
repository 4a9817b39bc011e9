//! One writer per output: `<output>.lock`, held with an exclusive lock for a whole run, which
//! also keeps the run's secret key for binding a resume to its input.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;
use zeroize::Zeroizing;

use super::with_suffix;
use crate::error::{Error, Result};

/// Bytes of the per-run key.
pub(super) const KEY_BYTES: usize = 32;

/// `<output>.lock`: the lock of the run writing `output`, and its input-binding key.
pub fn lock_path(output: &Path) -> PathBuf {
    with_suffix(output, ".lock")
}

/// The exclusive lock on an output, held until dropped or [`release`](JobLock::release)d.
pub(super) struct JobLock {
    file: File,
    path: PathBuf,
}

impl JobLock {
    /// Takes the lock of `output`, failing at once when another run holds it.
    pub(super) fn acquire(output: &Path) -> Result<Self> {
        let path = lock_path(output);
        // A run that finishes removes the lock file while holding it; a file opened just before
        // that is no longer the one at the path, so take the lock again on the new one.
        for _ in 0..8 {
            let file = open_private(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::OutputBusy {
                        path: output.to_path_buf(),
                        detail: format!("{} is locked", path.display()),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            if still_at(&file, &path) {
                return Ok(Self { file, path });
            }
        }
        Err(Error::OutputBusy {
            path: output.to_path_buf(),
            detail: format!("{} keeps being replaced", path.display()),
        })
    }

    /// The key an earlier run of this output kept, if the lock file holds one.
    pub(super) fn stored_key(&mut self) -> Result<Option<Zeroizing<[u8; KEY_BYTES]>>> {
        let mut text = Zeroizing::new(Vec::new());
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| {
                (&self.file)
                    .take(4 * KEY_BYTES as u64)
                    .read_to_end(&mut text)
            })
            .map_err(|e| Error::io(&self.path, e))?;
        let text = std::str::from_utf8(&text).unwrap_or("").trim();
        if text.len() != 2 * KEY_BYTES {
            return Ok(None);
        }
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        for (i, byte) in key.iter_mut().enumerate() {
            match u8::from_str_radix(&text[2 * i..2 * i + 2], 16) {
                Ok(value) => *byte = value,
                Err(_) => return Ok(None),
            }
        }
        Ok(Some(key))
    }

    /// Draws a new key for this run and stores it (synced) in the lock file.
    pub(super) fn new_key(&mut self) -> Result<Zeroizing<[u8; KEY_BYTES]>> {
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        let text = Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect::<String>());
        self.file
            .set_len(0)
            .and_then(|_| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| self.file.write_all(text.as_bytes()))
            .and_then(|_| self.file.sync_all())
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(key)
    }

    /// Removes the lock file (while still holding it), then lets go: the run is over and its key
    /// is no longer needed.
    pub(super) fn release(self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }
}

/// An error when `path`, one of the job's own files, is a symbolic link or anything but a
/// regular file: followed, a link planted at such a name would send the job's truncations and
/// replacements to whatever it names. (The output itself follows links on purpose; see
/// [`output`](crate::formats::output).)
pub(super) fn refuse_unless_own_file(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(Error::UnsupportedOutput {
            path: path.to_path_buf(),
            reason: "the job keeps its own file under this name, and this is a symbolic link or \
                     not a regular file; remove it"
                .into(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Opens (or creates, owner-only) a file without truncating it: another run may hold it.
pub(super) fn open_private(path: &Path) -> Result<File> {
    refuse_unless_own_file(path)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| Error::io(path, e))
}

/// True when `path` still names the file `file` has open.
fn still_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}
