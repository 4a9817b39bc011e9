//! Where an output path leads: symbolic links followed, what kind of file is there, and the
//! identity of a file to compare before and after.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Symbolic links followed at most (as the kernel's own limit, `ELOOP`).
const MAX_LINK_HOPS: usize = 40;

/// How an output is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// A regular file (existing or not), replaced atomically.
    File,
    /// A FIFO or a character device, written as a stream (no temporary file, no rename).
    Stream,
}

/// Follows `path` through symbolic links to the path that would be written (which need not
/// exist). A relative link is resolved against the folder of the link.
pub fn follow_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current).map_err(|e| Error::io(&current, e))?;
                current = match current.parent() {
                    Some(folder) if target.is_relative() => folder.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(Error::io(&current, e)),
        }
    }
    Err(Error::UnsupportedOutput {
        path: path.to_path_buf(),
        reason: format!("more than {MAX_LINK_HOPS} symbolic links deep"),
    })
}

/// How `path` (links already followed) can be written: a regular file or a new one, a stream,
/// or an error for anything else.
pub fn output_mode(path: &Path) -> Result<OutputMode> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            super::atomic::parent_folder(path)?;
            return Ok(OutputMode::File);
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(OutputMode::File);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() || kind.is_char_device() {
            return Ok(OutputMode::Stream);
        }
    }
    let what = if kind.is_dir() {
        "a folder"
    } else {
        special_file_kind(&meta)
    };
    Err(Error::UnsupportedOutput {
        path: path.to_path_buf(),
        reason: format!("it is {what}; an output is a regular file, a FIFO or a character device"),
    })
}

#[cfg(unix)]
fn special_file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_file_kind(_: &std::fs::Metadata) -> &'static str {
    "not a regular file"
}

/// True when both paths name one existing file (links followed): same device and inode on
/// Unix, same canonical path elsewhere.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// What identifies a file's state: which file it is, and its length and time of change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Identity {
    is_file: bool,
    device: u64,
    inode: u64,
    length: u64,
    modified: Option<std::time::SystemTime>,
}

impl Identity {
    /// The identity of whatever is at `path` itself (a link is not followed, so a link that
    /// replaced a file counts as a change), or None.
    pub(super) fn of(path: &Path) -> Result<Option<Self>> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);
        Ok(Some(Self {
            is_file: meta.file_type().is_file(),
            device,
            inode,
            length: meta.len(),
            modified: meta.modified().ok(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn links_are_followed_relative_to_their_folder() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::create_dir(folder.path().join("sub")).unwrap();
        let link = folder.path().join("sub/link");
        std::os::unix::fs::symlink("../target", &link).unwrap();
        assert_eq!(
            follow_links(&link).unwrap(),
            folder.path().join("sub/../target")
        );
        let loop_a = folder.path().join("a");
        std::os::unix::fs::symlink("a", &loop_a).unwrap();
        assert!(matches!(
            follow_links(&loop_a),
            Err(Error::UnsupportedOutput { .. })
        ));
    }
}
