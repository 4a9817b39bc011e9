//! The codecs of the crate's files: vectors in (JSON Lines, `.npy`), ciphertexts in and out
//! (JSON Lines of base64, or a compact binary form), numbers in and out, models in. A codec reads
//! from a reader or a path and writes into a [`Destination`]; it never decides whether a user's
//! file may be written: every caller passes an [`io::Output`](crate::io::Output) (checked,
//! locked, atomic), which does.

pub mod ciphertexts;
pub mod model;
pub(crate) mod npy;
pub mod numbers;
mod sink;
pub mod vectors;

use std::io::{BufRead, Read};
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
pub(crate) use sink::sealed;
pub use sink::{Destination, SeekableWrite, StreamedOutput};

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
