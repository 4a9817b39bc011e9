//! The `.npy` header, read with limits: NumPy's files for vectors and numbers come from users,
//! so a header is bounded in length and nesting before `npyz` parses it.

use std::io::Read;

use crate::error::{Error, Result};

/// True when `path` names a NumPy file (`.npy`).
pub(crate) fn is_npy(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// The largest `.npy` header read (NumPy writes well under 256 bytes; the format allows 4 GiB).
const MAX_NPY_HEADER: usize = 4096;

/// Brackets a real header nests: the dict, and the shape tuple inside it.
const MAX_NPY_HEADER_DEPTH: usize = 2;

/// Refuses header text that NumPy never writes before the Python-literal parser sees it: that
/// parser backtracks exponentially on deeply nested brackets (found by fuzzing; an input of
/// 237 bytes ran for minutes).
fn check_npy_header_text(header: &[u8], kind: &'static str) -> Result<()> {
    let malformed = |detail: String| Error::MalformedFile { kind, detail };
    let mut depth = 0usize;
    for &b in header {
        match b {
            b'{' | b'(' | b'[' => {
                depth += 1;
                if depth > MAX_NPY_HEADER_DEPTH {
                    return Err(malformed("npy header: brackets nested too deeply".into()));
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            b' '..=b'~' | b'\n' | b'\r' | b'\t' => {}
            _ => return Err(malformed("npy header: not printable ASCII".into())),
        }
    }
    Ok(())
}

/// Reads an `.npy` file's preamble and header from `reader` (left at the first data byte);
/// returns the parsed header and its length in bytes (preamble included). Errors are
/// [`Error::MalformedFile`] of `kind`.
pub(crate) fn read_header(
    mut reader: impl Read,
    kind: &'static str,
) -> Result<(npyz::NpyHeader, usize)> {
    let malformed = |detail: String| Error::MalformedFile { kind, detail };
    // magic (6), version (2), header length (2 bytes in version 1, 4 in 2 and 3).
    let mut prefix = vec![0u8; 10];
    reader
        .read_exact(&mut prefix)
        .map_err(|_| malformed("npy header: shorter than the preamble".into()))?;
    if &prefix[..6] != b"\x93NUMPY" {
        return Err(malformed("npy header: bad magic".into()));
    }
    let header_len = match prefix[6] {
        1 => u16::from_le_bytes([prefix[8], prefix[9]]) as usize,
        2 | 3 => {
            let mut rest = [0u8; 2];
            reader
                .read_exact(&mut rest)
                .map_err(|_| malformed("npy header: shorter than the preamble".into()))?;
            prefix.extend_from_slice(&rest);
            u32::from_le_bytes([prefix[8], prefix[9], rest[0], rest[1]]) as usize
        }
        v => return Err(malformed(format!("npy header: version {v}"))),
    };
    if header_len > MAX_NPY_HEADER {
        return Err(malformed(format!(
            "npy header of {header_len} bytes (at most {MAX_NPY_HEADER})"
        )));
    }
    let preamble = prefix.len();
    prefix.resize(preamble + header_len, 0);
    reader
        .read_exact(&mut prefix[preamble..])
        .map_err(|_| malformed("npy header: cut short".into()))?;
    check_npy_header_text(&prefix[preamble..], kind)?;
    let header = npyz::NpyHeader::from_reader(&prefix[..])
        .map_err(|e| malformed(format!("npy header: {e}")))?;
    Ok((header, prefix.len()))
}
