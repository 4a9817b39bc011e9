//! Where a command's output may go, decided before any work is done.
//!
//! Nothing a user owns is destroyed by naming it as an output:
//! - an output that is the same file as an input (same device and inode, whatever the names) is
//!   refused;
//! - an existing file is replaced only when it is recognisably the kind of file the command
//!   writes (ciphertexts, distances), or empty; anything else, a context file above all, needs
//!   `force`;
//! - a symbolic link is followed: its target is replaced atomically, the link stays;
//! - a FIFO or a character device (`/dev/null`, a terminal) is written as a stream, never
//!   replaced by a regular file;
//! - anything else that is not a regular file (a folder, a socket, a block device) is refused.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Symbolic links followed at most (as the kernel's own limit, `ELOOP`).
const MAX_LINK_HOPS: usize = 40;

/// What a command writes, which says what an existing output may be replaced without `force`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A ciphertext file (binary with our magic, or JSON Lines of base64 arrays).
    Ciphertexts,
    /// Distances (one integer per line) or a top-k object (`{"ids": ...}`).
    Distances,
    /// A context file: an existing file is never replaced without `force`.
    Context,
    /// An encrypted-numbers or packed-numbers file (our magics).
    EncryptedNumbers,
    /// Decrypted numbers: `.npy`, or JSON Lines of numbers or arrays of numbers.
    Numbers,
}

/// How an output is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// A regular file (existing or not), replaced atomically.
    File,
    /// A FIFO or a character device, written as a stream (no temporary file, no rename).
    Stream,
}

/// An output checked by [`prepare_output`]: the path to write (symbolic links followed) and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputTarget {
    /// The path after following symbolic links: what is written or replaced.
    pub path: PathBuf,
    /// How it is written.
    pub mode: OutputMode,
}

impl OutputTarget {
    /// True for a FIFO or a character device.
    pub fn is_stream(&self) -> bool {
        self.mode == OutputMode::Stream
    }
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
            super::parent_folder(path)?;
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

/// Checks an output before any work: the rules of this module's documentation. `inputs` are
/// every file the command reads (the context included); those that do not exist are skipped.
///
/// ```
/// use paillier_gpu::formats::output::{prepare_output, OutputKind};
/// let folder = tempfile::tempdir().unwrap();
/// let input = folder.path().join("v.jsonl");
/// std::fs::write(&input, "[0, 1]\n").unwrap();
/// // The input itself as the output: refused, even with force.
/// assert!(prepare_output(&input, &[&input], OutputKind::Ciphertexts, true).is_err());
/// // A new file: fine.
/// let out = folder.path().join("c.bin");
/// assert!(prepare_output(&out, &[&input], OutputKind::Ciphertexts, false).is_ok());
/// ```
pub fn prepare_output(
    requested: &Path,
    inputs: &[&Path],
    kind: OutputKind,
    force: bool,
) -> Result<OutputTarget> {
    let path = follow_links(requested)?;
    let mode = output_mode(&path)?;
    if let Some(input) = inputs.iter().find(|input| same_file(&path, input)) {
        return Err(Error::OutputIsInput {
            output: requested.to_path_buf(),
            input: input.to_path_buf(),
        });
    }
    if mode == OutputMode::File && !force && path.exists() && !replaceable(&path, kind)? {
        return Err(Error::WouldOverwrite(requested.to_path_buf()));
    }
    Ok(OutputTarget { path, mode })
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

/// Bytes of an existing output looked at to recognise it.
const SNIFF_BYTES: u64 = 64 << 10;

/// True when the existing regular file at `path` may be replaced without `force`: it is empty,
/// or its first bytes are the kind of file the command writes (never a context file).
fn replaceable(path: &Path, kind: OutputKind) -> Result<bool> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(SNIFF_BYTES).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if head.iter().all(u8::is_ascii_whitespace) {
        return Ok(true);
    }
    let first_line = head
        .split(|&b| b == b'\n')
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(&[]);
    let first_line = std::str::from_utf8(first_line).unwrap_or("").trim();
    Ok(match kind {
        OutputKind::Context => false,
        OutputKind::Ciphertexts => {
            head.starts_with(super::ciphertexts::MAGIC)
                || serde_json::from_str::<Vec<String>>(first_line).is_ok()
        }
        OutputKind::EncryptedNumbers => {
            head.starts_with(super::numbers::NUMBERS_MAGIC)
                || head.starts_with(super::numbers::PACKED_MAGIC)
        }
        OutputKind::Numbers => decrypted_numbers(&head, first_line),
        OutputKind::Distances => {
            first_line.parse::<u64>().is_ok()
                || serde_json::from_str::<serde_json::Value>(first_line)
                    .is_ok_and(|v| v.get("ids").is_some() && v.get("distances").is_some())
        }
    })
}

/// Whether a file starting with `head` (first non-blank line `first_line`) is what a numbers
/// decryption writes: an `int64` or `float64` `.npy`, or JSON Lines of numbers or arrays of
/// numbers. A binary vector file (a `uint8` or `bool` `.npy`, or rows of zeros and ones) is the
/// owner's plaintext embeddings, not such an output: it needs `force`.
fn decrypted_numbers(head: &[u8], first_line: &str) -> bool {
    if head.starts_with(b"\x93NUMPY") {
        return super::npy::read_header(head, "numbers").is_ok_and(|(header, _)| {
            matches!(header.dtype().descr().trim_matches('\''), "<i8" | "<f8")
        });
    }
    if serde_json::from_str::<f64>(first_line).is_ok() {
        return true;
    }
    serde_json::from_str::<Vec<f64>>(first_line)
        .is_ok_and(|row| !row.iter().all(|&v| v == 0.0 || v == 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_what_each_command_writes() {
        let folder = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &[u8]| {
            let path = folder.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let jsonl = file("c.jsonl", b"[\"AAE=\", \"AgM=\"]\n");
        let distances = file("d.txt", b"3\n17\n");
        let top = file("t.json", b"{\"ids\": [1], \"distances\": [0]}\n");
        let vectors = file("v.jsonl", b"[0, 1, 1]\n");
        let context = file("ctx.json", b"{\"pk\": \"x\", \"sk\": \"y\"}");
        let empty = file("e", b"");
        assert!(replaceable(&jsonl, OutputKind::Ciphertexts).unwrap());
        assert!(replaceable(&distances, OutputKind::Distances).unwrap());
        assert!(replaceable(&top, OutputKind::Distances).unwrap());
        assert!(replaceable(&empty, OutputKind::Ciphertexts).unwrap());
        assert!(!replaceable(&vectors, OutputKind::Ciphertexts).unwrap());
        assert!(!replaceable(&context, OutputKind::Ciphertexts).unwrap());
        assert!(!replaceable(&context, OutputKind::Distances).unwrap());
        assert!(!replaceable(&jsonl, OutputKind::Distances).unwrap());
        assert!(!replaceable(&distances, OutputKind::Context).unwrap());
        let numbers = file("n.jsonl", b"[1.5, -2]\n");
        let encrypted = file("n.enc", b"PGPUNUMS\x01\x00");
        assert!(replaceable(&numbers, OutputKind::Numbers).unwrap());
        assert!(replaceable(&distances, OutputKind::Numbers).unwrap());
        assert!(!replaceable(&context, OutputKind::Numbers).unwrap());
        assert!(!replaceable(&jsonl, OutputKind::Numbers).unwrap());
        assert!(replaceable(&encrypted, OutputKind::EncryptedNumbers).unwrap());
        assert!(!replaceable(&numbers, OutputKind::EncryptedNumbers).unwrap());
        assert!(!replaceable(&encrypted, OutputKind::Ciphertexts).unwrap());
        let packed = file("n.pack", b"PGPUPACK\x01\x00");
        assert!(replaceable(&packed, OutputKind::EncryptedNumbers).unwrap());
        assert!(!replaceable(&packed, OutputKind::Numbers).unwrap());
        // Binary vectors are the owner's data, not decrypted numbers.
        assert!(!replaceable(&vectors, OutputKind::Numbers).unwrap());
        let npy = |name: &str, descr: &str| {
            let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}");
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            let padded = (10 + header.len() + 1).next_multiple_of(64) - 10;
            bytes.extend((padded as u16).to_le_bytes());
            bytes.extend(format!("{header:<width$}\n", width = padded - 1).bytes());
            bytes.extend([0u8; 8]);
            file(name, &bytes)
        };
        assert!(replaceable(&npy("f.npy", "<f8"), OutputKind::Numbers).unwrap());
        assert!(replaceable(&npy("i.npy", "<i8"), OutputKind::Numbers).unwrap());
        assert!(!replaceable(&npy("u.npy", "|u1"), OutputKind::Numbers).unwrap());
        assert!(!replaceable(&npy("b.npy", "|b1"), OutputKind::Numbers).unwrap());
    }

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
