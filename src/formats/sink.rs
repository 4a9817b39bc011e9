//! Where a codec writes a whole file: a [`Destination`] hands the codec a [`StreamedOutput`],
//! seekable or not. The codecs never open a user's file themselves; the crate's checked output
//! ([`io::Output`](crate::io::Output)) is the destination every caller passes.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// A writer that can also seek: what [`StreamedOutput::File`] holds.
pub trait SeekableWrite: Write + std::io::Seek {}

impl<T: Write + std::io::Seek> SeekableWrite for T {}

/// Where a [`Destination`]'s writer callback writes.
pub enum StreamedOutput<'a> {
    /// A new temporary file that replaces the target once complete: it can seek, so a header
    /// whose count is known only at the end can be written first and patched.
    File(&'a mut dyn SeekableWrite),
    /// A FIFO or a character device: written in order, once.
    Stream(&'a mut dyn Write),
}

impl StreamedOutput<'_> {
    /// The writer, whether or not it can seek.
    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            StreamedOutput::File(file) => file,
            StreamedOutput::Stream(stream) => stream,
        }
    }
}

/// Only the crate's checked output may be a [`Destination`], so that no code writes a user's file
/// past its checks, lock and visibility.
pub(crate) mod sealed {
    /// The seal of [`Destination`](super::Destination).
    pub trait Sealed {}
}

/// A file a codec writes whole, through one callback. Sealed: [`io::Output`](crate::io::Output)
/// is the one implementation.
pub trait Destination: sealed::Sealed {
    /// The path as the user named it: messages name it, and its extension picks the form.
    fn requested(&self) -> &Path;

    /// Writes the file through `write`, which is told whether it can seek. On any error the
    /// target is left as it was (a stream keeps what was already written).
    fn write_with(self, write: impl FnOnce(StreamedOutput<'_>) -> Result<()>) -> Result<()>;

    /// Writes `bytes` as the whole file.
    fn write_bytes(self, bytes: &[u8]) -> Result<()>
    where
        Self: Sized,
    {
        let named = self.requested().to_path_buf();
        self.write_with(|mut out| {
            out.writer()
                .write_all(bytes)
                .map_err(|e| Error::io(&named, e))
        })
    }
}
