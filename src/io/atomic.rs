//! The raw pieces of an atomic write: a temporary file beside the target, synced, renamed over
//! it, the folder synced. Private to `io/`: every file a user names is written through
//! [`Output`](super::Output), which decides first whether it may be written at all.

use std::io::Write;
use std::path::Path;

use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::formats::StreamedOutput;

/// Who may read a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Owner only (mode 0600 on Unix, whatever the umask): context files, decrypted results,
    /// job state.
    Private,
    /// What the umask allows (mode 0666 less the umask on Unix, so 0644 under the usual 022 and
    /// 0600 under 077): data that is safe to share, such as ciphertexts.
    Shared,
}

impl Visibility {
    #[cfg(unix)]
    fn mode(self) -> u32 {
        match self {
            Visibility::Private => 0o600,
            Visibility::Shared => 0o666,
        }
    }
}

/// The folder `path` goes into, which must exist (an error names it, not a temporary file).
pub(crate) fn parent_folder(path: &Path) -> Result<&Path> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if folder.is_dir() {
        Ok(folder)
    } else {
        Err(Error::MissingFolder(folder.to_path_buf()))
    }
}

/// A new temporary file in `folder` with the mode `visibility` gives, set at creation so that
/// no other reader ever sees a wider one.
pub(super) fn temp_file_in(
    folder: &Path,
    visibility: Visibility,
) -> std::io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".paillier-gpu-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(visibility.mode()));
    }
    #[cfg(not(unix))]
    let _ = visibility;
    builder.tempfile_in(folder)
}

/// Writes the temporary file through `write`, then flushes and syncs it.
pub(super) fn fill_temp(
    temp: &mut NamedTempFile,
    named: &Path,
    write: impl FnOnce(StreamedOutput<'_>) -> Result<()>,
) -> Result<()> {
    {
        let mut writer = std::io::BufWriter::new(temp.as_file_mut());
        write(StreamedOutput::File(&mut writer))?;
        writer.flush().map_err(|e| Error::io(named, e))?;
    }
    temp.as_file().sync_all().map_err(|e| Error::io(named, e))
}

/// Makes a rename in `path`'s folder durable; not every platform lets a folder be opened for
/// this, so a failure is not an error.
pub(super) fn sync_folder(path: &Path) {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
}

/// Replaces one of a job's own side files (never a user's output) atomically.
pub(crate) fn replace_side_file(path: &Path, bytes: &[u8], visibility: Visibility) -> Result<()> {
    let folder = parent_folder(path)?;
    let mut temp = temp_file_in(folder, visibility).map_err(|e| Error::io(path, e))?;
    fill_temp(&mut temp, path, |mut out| {
        out.writer()
            .write_all(bytes)
            .map_err(|e| Error::io(path, e))
    })?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_folder(path);
    Ok(())
}
