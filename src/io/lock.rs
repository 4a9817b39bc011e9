//! One writer per output: `<output>.lock`, held with an exclusive lock from an output's first
//! check to its rename. An encryption job also keeps its random input-binding key in it, so that
//! a killed job can be resumed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;
use zeroize::Zeroizing;

use super::{same_file, with_suffix};
use crate::error::{Error, Result};

/// Bytes of an encryption job's per-run key.
pub(crate) const KEY_BYTES: usize = 32;

/// `<output>.lock`: the lock of the writer of `output` (links followed).
pub fn lock_path(output: &Path) -> PathBuf {
    with_suffix(output, ".lock")
}

/// The exclusive lock on an output, held until dropped. The lock file is removed on drop when
/// this writer created it or [claimed](Self::claim) it; one that an earlier, killed job left
/// (holding that job's key) is otherwise kept for its resume.
#[derive(Debug)]
pub(crate) struct OutputLock {
    file: File,
    path: PathBuf,
    remove_on_drop: bool,
}

impl OutputLock {
    /// Takes the lock of `output` (named `requested` in messages), failing at once when another
    /// writer holds it; refuses a lock file that is one of `inputs`.
    pub(super) fn acquire(output: &Path, requested: &Path, inputs: &[&Path]) -> Result<Self> {
        let path = lock_path(output);
        // A writer that finishes removes the lock file while holding it; a file opened just
        // before that is no longer the one at the path, so take the lock again on the new one.
        for _ in 0..8 {
            let (file, created) = open_private(&path)?;
            if let Some(input) = inputs.iter().find(|input| same_file(&path, input)) {
                return Err(Error::OutputIsInput {
                    output: path,
                    input: input.to_path_buf(),
                });
            }
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::OutputBusy {
                        path: requested.to_path_buf(),
                        detail: format!("{} is locked", path.display()),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            if still_at(&file, &path) {
                return Ok(Self {
                    file,
                    path,
                    remove_on_drop: created,
                });
            }
        }
        Err(Error::OutputBusy {
            path: requested.to_path_buf(),
            detail: format!("{} keeps being replaced", path.display()),
        })
    }

    /// Makes this writer the owner of the lock file: it is removed when the lock is dropped.
    pub(crate) fn claim(&mut self) {
        self.remove_on_drop = true;
    }

    /// The key an earlier run of this output kept, if the lock file holds one.
    pub(crate) fn stored_key(&mut self) -> Result<Option<Zeroizing<[u8; KEY_BYTES]>>> {
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

    /// Draws a new key for this run and stores it (synced) in the lock file, which this writer
    /// now owns.
    pub(crate) fn new_key(&mut self) -> Result<Zeroizing<[u8; KEY_BYTES]>> {
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        let text = Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect::<String>());
        self.file
            .set_len(0)
            .and_then(|_| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| self.file.write_all(text.as_bytes()))
            .and_then(|_| self.file.sync_all())
            .map_err(|e| Error::io(&self.path, e))?;
        self.claim();
        Ok(key)
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // A panic is a crash: what a job left is kept for its resume, as after a kill.
        // Otherwise removed while still held, so a writer waiting on the old file takes the
        // lock again.
        if self.remove_on_drop && !std::thread::panicking() && still_at(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// An error when `path`, one of a writer's own files, is a symbolic link or anything but a
/// regular file: followed, a link planted at such a name would send the writer's truncations
/// and replacements to whatever it names. (The output itself follows links on purpose.)
pub(crate) fn refuse_unless_own_file(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(Error::UnsupportedOutput {
            path: path.to_path_buf(),
            reason: "the writer keeps its own file under this name, and this is a symbolic link \
                     or not a regular file; remove it"
                .into(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Opens (or creates, owner-only) a writer's own file without truncating it: another writer
/// may hold it. Also says whether this call created it.
pub(crate) fn open_private(path: &Path) -> Result<(File, bool)> {
    refuse_unless_own_file(path)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        // Never through a link planted between the check above and the open.
        options.custom_flags(libc::O_NOFOLLOW);
    }
    match options.clone().create_new(true).open(path) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => options
            .open(path)
            .map(|file| (file, false))
            .map_err(|e| Error::io(path, e)),
        Err(e) => Err(Error::io(path, e)),
    }
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
