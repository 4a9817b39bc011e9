//! Every file a user names as an output is written through one type, [`Output`], so that
//! nothing the user owns is destroyed by naming it:
//!
//! - **Inputs are never outputs.** The output and each file the writer keeps beside it
//!   (`OUT.lock`, `OUT.partial`, `OUT.progress`) are compared with every input by device and
//!   inode, so another name or a hard link counts as the same file.
//! - **Only its own kind is replaced.** An existing file is replaced without `force` only when
//!   it is, as a whole, the kind of file the writer makes (its whole header, or every line of a
//!   text form: see [`OutputKind`], or a caller's own [`Recognise`]), or holds nothing but
//!   whitespace. A context is never replaced without `force`.
//! - **One writer at a time.** `OUT.lock` is held with an exclusive lock from the first check to
//!   the rename: a second writer of the same file fails at once with [`Error::OutputBusy`].
//! - **Nothing that changed is replaced.** Just before the rename the target is looked at again:
//!   if the path now leads elsewhere, or a file appeared, vanished or changed since the first
//!   check, the write is refused with [`Error::OutputChanged`] and the new file is left alone.
//!   A file that appears after that look and before the rename (microseconds) is not replaced
//!   either when there was none at first, since the rename itself refuses to replace then.
//! - **Atomic.** A regular file is written to a temporary file in the same folder, synced and
//!   renamed over the target: a crash leaves the old file or the new one, complete. A symbolic
//!   link is followed and its target replaced; a FIFO or a character device is written as a
//!   stream (never for a context); anything else is refused.
//!
//! The raw writers are private to `io/`: code outside it can only write a user's file through
//! an [`Output`]. The codecs of [`formats`](crate::formats) write into whatever
//! [`Destination`] they are given; an `Output` is one.

mod atomic;
mod lock;
mod recognise;
mod target;

use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) use self::atomic::replace_side_file;
pub use self::atomic::Visibility;
use self::atomic::{fill_temp, parent_folder, sync_folder, temp_file_in};
pub use self::lock::lock_path;
pub(crate) use self::lock::{open_private, refuse_unless_own_file, OutputLock};
pub use self::recognise::{ExistingFile, Recognise};
pub use self::target::{follow_links, output_mode, same_file, OutputMode};
use crate::error::{Error, Result};
use crate::formats::{Destination, StreamedOutput};

/// What the library's writers make, which says which existing file each may replace without
/// `force`. A caller writing files of its own kinds gives its own [`Recognise`] to
/// [`Output::prepare_as`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A ciphertext file: the binary form whose header's counts match the file's length, or
    /// JSON Lines whose every line is an array of base64 pieces, the same count on each.
    Ciphertexts,
    /// Distances: every line one integer, or one top-k object (`{"ids", "distances"}`).
    Distances,
    /// A context file: an existing file is never replaced without `force`, and a stream (a
    /// device, a FIFO) is refused: a key written there is lost.
    Context,
    /// An encrypted-numbers or packed-numbers file whose header matches its length.
    EncryptedNumbers,
    /// Decrypted numbers: an `int64` or `float64` `.npy` of the length its header says, or JSON
    /// Lines of numbers or arrays of numbers (not rows of zeros and ones: those are vectors).
    Numbers,
}

impl OutputKind {
    /// Who may read what this kind of writer makes: decrypted results and keys are owner-only.
    pub fn visibility(self) -> Visibility {
        match self {
            OutputKind::Context | OutputKind::Distances | OutputKind::Numbers => {
                Visibility::Private
            }
            OutputKind::Ciphertexts | OutputKind::EncryptedNumbers => Visibility::Shared,
        }
    }
}

/// Suffixes of the files a writer may keep beside its output.
const SIDE_FILES: [&str; 3] = [".lock", ".partial", ".progress"];

/// What the target was at the first check, to compare with just before the rename.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Absent,
    File(target::Identity),
    Stream,
}

/// An output checked and locked: the only way to write a file a user names.
///
/// ```
/// use paillier_gpu::io::{Output, OutputKind};
/// let folder = tempfile::tempdir().unwrap();
/// let input = folder.path().join("v.jsonl");
/// std::fs::write(&input, "[0, 1]\n").unwrap();
/// // The input itself as the output: refused, even with force.
/// assert!(Output::prepare(&input, &[&input], OutputKind::Ciphertexts, true).is_err());
/// // A context is not a distances file: refused without force.
/// let ctx = folder.path().join("ctx.json");
/// std::fs::write(&ctx, r#"{"pk": "…", "sk": "…"}"#).unwrap();
/// assert!(Output::prepare(&ctx, &[], OutputKind::Distances, false).is_err());
/// // A new file: written atomically.
/// let out = Output::prepare(&folder.path().join("d.txt"), &[&input], OutputKind::Distances, false)?;
/// out.write_bytes(b"3\n")?;
/// # Ok::<(), paillier_gpu::Error>(())
/// ```
#[derive(Debug)]
pub struct Output {
    requested: PathBuf,
    path: PathBuf,
    visibility: Visibility,
    seen: Seen,
    lock: Option<OutputLock>,
}

impl Output {
    /// Checks `requested` as an output of `kind` before any work, and takes its lock. `inputs`
    /// are every file the writer reads (those that do not exist are skipped); `force` allows
    /// replacing an existing file of another kind, never an input.
    pub fn prepare(
        requested: &Path,
        inputs: &[&Path],
        kind: OutputKind,
        force: bool,
    ) -> Result<Self> {
        Self::prepare_checked(requested, inputs, &kind, kind == OutputKind::Context, force)
    }

    /// [`prepare`](Self::prepare) for a file of the caller's own kind: `kind` says who may read
    /// it and which existing file it may replace without `force`.
    pub fn prepare_as(
        requested: &Path,
        inputs: &[&Path],
        kind: &dyn Recognise,
        force: bool,
    ) -> Result<Self> {
        Self::prepare_checked(requested, inputs, kind, false, force)
    }

    /// The checks of [`prepare`](Self::prepare). A `context` is never replaced without `force`
    /// and never written to a stream.
    fn prepare_checked(
        requested: &Path,
        inputs: &[&Path],
        kind: &dyn Recognise,
        context: bool,
        force: bool,
    ) -> Result<Self> {
        let path = follow_links(requested)?;
        let mode = output_mode(&path)?;
        let is_input = |candidate: &Path| inputs.iter().find(|input| same_file(candidate, input));
        if let Some(input) = is_input(&path) {
            return Err(Error::OutputIsInput {
                output: requested.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
        if mode == OutputMode::Stream {
            if context {
                return Err(Error::UnsupportedOutput {
                    path: requested.to_path_buf(),
                    reason: "it is a FIFO or a device, and a context's keys written there \
                             could not be read back; name a regular file"
                        .into(),
                });
            }
            return Ok(Self {
                requested: requested.to_path_buf(),
                path,
                visibility: kind.visibility(),
                seen: Seen::Stream,
                lock: None,
            });
        }
        for suffix in SIDE_FILES {
            let side = with_suffix(&path, suffix);
            if let Some(input) = is_input(&side) {
                return Err(Error::OutputIsInput {
                    output: side,
                    input: input.to_path_buf(),
                });
            }
        }
        let lock = OutputLock::acquire(&path, requested, inputs)?;
        let seen = match target::Identity::of(&path)? {
            None => Seen::Absent,
            Some(identity) => {
                if !force && (context || !recognise::replaceable(&path, kind)?) {
                    return Err(Error::WouldOverwrite(requested.to_path_buf()));
                }
                Seen::File(identity)
            }
        };
        Ok(Self {
            requested: requested.to_path_buf(),
            path,
            visibility: kind.visibility(),
            seen,
            lock: Some(lock),
        })
    }

    /// [`prepare`](Self::prepare) with no inputs and no `force`: refuses any existing file that
    /// is not of `kind`.
    pub fn new(requested: &Path, kind: OutputKind) -> Result<Self> {
        Self::prepare(requested, &[], kind, false)
    }

    /// The path as the caller named it (for messages).
    pub fn requested(&self) -> &Path {
        &self.requested
    }

    /// The path written: `requested` with symbolic links followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True for a FIFO or a character device, written as a stream.
    pub fn is_stream(&self) -> bool {
        self.seen == Seen::Stream
    }

    /// Writes `bytes` as the whole output.
    pub fn write_bytes(self, bytes: &[u8]) -> Result<()> {
        Destination::write_bytes(self, bytes)
    }

    /// Writes the output through `write`, which is told whether it can seek. On any error the
    /// target is left as it was (a stream keeps what was already written).
    pub fn write_with(
        mut self,
        write: impl FnOnce(StreamedOutput<'_>) -> Result<()>,
    ) -> Result<()> {
        if self.is_stream() {
            let mut stream = std::fs::OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(|e| Error::io(&self.requested, e))?;
            let mut writer = std::io::BufWriter::new(&mut stream);
            write(StreamedOutput::Stream(&mut writer))?;
            return writer.flush().map_err(|e| Error::io(&self.requested, e));
        }
        let folder = parent_folder(&self.path)?;
        let mut temp =
            temp_file_in(folder, self.visibility).map_err(|e| Error::io(&self.requested, e))?;
        fill_temp(&mut temp, &self.requested, write)?;
        self.recheck()?;
        let persisted = match self.seen {
            Seen::Absent => temp.persist_noclobber(&self.path),
            _ => temp.persist(&self.path),
        };
        persisted.map_err(|e| self.rename_error(e.error))?;
        sync_folder(&self.path);
        self.finished();
        Ok(())
    }

    /// `<output><suffix>`, beside the resolved output: a file the writer keeps there.
    pub(crate) fn side_file(&self, suffix: &str) -> PathBuf {
        with_suffix(&self.path, suffix)
    }

    /// The lock held on the output (None for a stream).
    pub(crate) fn lock_mut(&mut self) -> Option<&mut OutputLock> {
        self.lock.as_mut()
    }

    /// Renames a finished file of the writer's own (`OUT.partial`) over the output, after the
    /// same last look as [`write_with`](Self::write_with). The lock stays held until the
    /// output is dropped.
    pub(crate) fn install(&mut self, finished: &Path) -> Result<()> {
        self.recheck()?;
        match self.seen {
            Seen::Absent => rename_noreplace(finished, &self.path),
            _ => std::fs::rename(finished, &self.path),
        }
        .map_err(|e| self.rename_error(e))?;
        sync_folder(&self.path);
        self.finished();
        Ok(())
    }

    /// After a completed write: what is there now is ours, for any later look.
    fn finished(&mut self) {
        self.seen = match target::Identity::of(&self.path) {
            Ok(Some(identity)) => Seen::File(identity),
            _ => Seen::Absent,
        };
    }

    /// An error unless the target is what the first check saw: the same path through the same
    /// links, and the same file (or still none).
    fn recheck(&self) -> Result<()> {
        let changed = |detail: &str| Error::OutputChanged {
            path: self.requested.clone(),
            detail: detail.to_string(),
        };
        if follow_links(&self.requested)? != self.path {
            return Err(changed(
                "it now leads somewhere else through a symbolic link",
            ));
        }
        let now = target::Identity::of(&self.path)?;
        match (&self.seen, now) {
            (Seen::Absent, None) => Ok(()),
            (Seen::Absent, Some(_)) => Err(changed("a file appeared there while this ran")),
            (Seen::File(_), None) => Err(changed("the file there was removed while this ran")),
            (Seen::File(before), Some(now)) if *before == now => Ok(()),
            (Seen::File(_), Some(_)) => Err(changed(
                "the file there was changed or replaced while this ran",
            )),
            (Seen::Stream, _) => Ok(()),
        }
    }

    fn rename_error(&self, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::OutputChanged {
                path: self.requested.clone(),
                detail: "a file appeared there while this ran".into(),
            }
        } else {
            Error::io(&self.requested, e)
        }
    }
}

impl crate::formats::sealed::Sealed for Output {}

impl Destination for Output {
    fn requested(&self) -> &Path {
        Output::requested(self)
    }

    fn write_with(self, write: impl FnOnce(StreamedOutput<'_>) -> Result<()>) -> Result<()> {
        Output::write_with(self, write)
    }
}

/// Renames `from` to `to` unless `to` exists (checked by the operation itself).
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    // A hard link fails if `to` exists; then the old name goes. Where hard links are not
    // supported, fall back to a check and a rename.
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if !to.exists() => std::fs::rename(from, to),
        Err(e) => Err(e),
    }
}

/// `path` with `suffix` appended to its file name.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
