//! Files: vectors in (JSON Lines, `.npy`), ciphertexts in and out (JSON Lines of base64, or a
//! compact binary form), distances out, all written atomically.

pub mod ciphertexts;
pub mod encrypt_job;
mod npy;
pub mod numbers;
pub mod output;
pub mod vectors;

use std::io::{BufRead, Read, Write};
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// Opens an input file; with it, its length when it is a regular file (a FIFO's is not known):
/// readers check a header's promises against it before reading a body.
pub(crate) fn open_input(path: &Path) -> Result<(std::fs::File, Option<u64>)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let length = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    Ok((file, length))
}

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

/// Whether [`write_atomic_with`] may replace an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Replace whatever regular file is there.
    Allowed,
    /// Fail with [`Error::WouldOverwrite`] if the path exists (checked by the rename itself, so
    /// no other writer can slip in between a check and the write).
    Refused,
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

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, complete:
/// a temporary file in the same folder, fsync, rename over the target, fsync of the folder.
///
/// A symbolic link is followed and its target replaced; a FIFO or a character device is written
/// as a stream; any other file that is not a regular file is refused (see [`output`]).
pub fn write_atomic(path: &Path, bytes: &[u8], visibility: Visibility) -> Result<()> {
    write_atomic_with(path, visibility, Replace::Allowed, |w| w.write_all(bytes))
}

/// [`write_atomic`] with a writer callback, for streamed output, and a choice to refuse an
/// existing file.
pub fn write_atomic_with(
    path: &Path,
    visibility: Visibility,
    replace: Replace,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_atomic_streamed(path, visibility, replace, |w| {
        write(w).map_err(|e| Error::io(path, e))
    })
}

/// [`write_atomic_with`] for a callback that can fail for other reasons than I/O (a bad record
/// met while streaming): on any error the target is left as it was (a FIFO or a device, being a
/// stream, keeps what was already written).
pub fn write_atomic_streamed(
    path: &Path,
    visibility: Visibility,
    replace: Replace,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    write_atomic_output(path, visibility, replace, |out| match out {
        StreamedOutput::File(file) => write(file),
        StreamedOutput::Stream(stream) => write(stream),
    })
}

/// A writer that can also seek: what [`StreamedOutput::File`] holds.
pub trait SeekableWrite: Write + std::io::Seek {}

impl<T: Write + std::io::Seek> SeekableWrite for T {}

/// Where [`write_atomic_output`]'s callback writes.
pub enum StreamedOutput<'a> {
    /// A new temporary file that replaces the target once complete: it can seek, so a header
    /// whose count is known only at the end can be written first and patched.
    File(&'a mut dyn SeekableWrite),
    /// A FIFO or a character device: written in order, once.
    Stream(&'a mut dyn Write),
}

/// [`write_atomic_streamed`] that tells the callback whether its writer can seek.
pub fn write_atomic_output(
    path: &Path,
    visibility: Visibility,
    replace: Replace,
    write: impl FnOnce(StreamedOutput<'_>) -> Result<()>,
) -> Result<()> {
    let target = output::follow_links(path)?;
    if output::output_mode(&target)? == output::OutputMode::Stream {
        if replace == Replace::Refused {
            return Err(Error::WouldOverwrite(path.to_path_buf()));
        }
        let mut stream = std::fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .map_err(|e| Error::io(path, e))?;
        let mut writer = std::io::BufWriter::new(&mut stream);
        write(StreamedOutput::Stream(&mut writer))?;
        return writer.flush().map_err(|e| Error::io(path, e));
    }
    let folder = parent_folder(&target)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".paillier-gpu-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Given at creation, so the umask applies and no other reader sees a wider mode.
        builder.permissions(std::fs::Permissions::from_mode(visibility.mode()));
    }
    #[cfg(not(unix))]
    let _ = visibility;
    let mut temp = builder
        .tempfile_in(folder)
        .map_err(|e| Error::io(path, e))?;
    {
        let mut writer = std::io::BufWriter::new(temp.as_file_mut());
        write(StreamedOutput::File(&mut writer))?;
        writer.flush().map_err(|e| Error::io(path, e))?;
    }
    temp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    match replace {
        Replace::Allowed => temp
            .persist(&target)
            .map_err(|e| Error::io(path, e.error))?,
        Replace::Refused => temp.persist_noclobber(&target).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::WouldOverwrite(path.to_path_buf())
            } else {
                Error::io(path, e.error)
            }
        })?,
    };
    // Make the rename itself durable; not every platform lets a folder be opened for this.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The non-blank lines of a JSON Lines stream, parsed one at a time, reading at most `max_line`
/// bytes per line so that a huge line is an error rather than an allocation. Errors name `kind`
/// (`vectors`, `ciphertexts`) and the 1-based line.
pub(crate) struct JsonLines<R> {
    reader: R,
    max_line: u64,
    kind: &'static str,
    line: String,
    line_number: usize,
}

impl<R: BufRead> JsonLines<R> {
    pub(crate) fn new(reader: R, max_line: u64, kind: &'static str) -> Self {
        Self {
            reader,
            max_line,
            kind,
            line: String::new(),
            line_number: 0,
        }
    }

    /// The next non-blank line as `(line_number, value)`, or None at the end.
    pub(crate) fn next_value(&mut self) -> Result<Option<(usize, Value)>> {
        let kind = self.kind;
        let Some((line_number, text)) = self.next_line()? else {
            return Ok(None);
        };
        let value: Value = serde_json::from_str(text).map_err(|e| Error::MalformedFile {
            kind,
            detail: format!("line {line_number}: {e}"),
        })?;
        Ok(Some((line_number, value)))
    }

    /// The next non-blank line, trimmed, as `(line_number, text)`, or None at the end: for a
    /// reader with a faster parser of its own for the common case.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
        let kind = self.kind;
        let malformed = |detail: String| Error::MalformedFile { kind, detail };
        loop {
            self.line.clear();
            self.line_number += 1;
            let line_number = self.line_number;
            let read = (&mut self.reader)
                .take(self.max_line + 1)
                .read_line(&mut self.line)
                .map_err(|e| malformed(format!("line {line_number}: {e}")))?;
            if read == 0 {
                return Ok(None);
            }
            if read as u64 > self.max_line {
                return Err(malformed(format!(
                    "line {line_number} is longer than {} bytes",
                    self.max_line
                )));
            }
            if !self.line.trim().is_empty() {
                return Ok(Some((line_number, self.line.trim())));
            }
        }
    }
}

/// Calls `each(line_number, value)` for every non-blank line of a JSON Lines stream (see
/// [`JsonLines`]).
pub(crate) fn read_json_lines(
    reader: impl BufRead,
    max_line: u64,
    kind: &'static str,
    mut each: impl FnMut(usize, Value) -> Result<()>,
) -> Result<()> {
    let mut lines = JsonLines::new(reader, max_line, kind);
    while let Some((line_number, value)) = lines.next_value()? {
        each(line_number, value)?;
    }
    Ok(())
}
