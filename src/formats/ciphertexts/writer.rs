//! Writing a ciphertext file a block of records at a time, through one reused buffer.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::binary::binary_header;
use super::jsonl::append_jsonl_records;
use super::{CiphertextForm, CiphertextShape, COUNT_OFFSET};
use crate::error::{Error, Result};
use crate::paillier::CiphertextBatch;

/// A ciphertext file written block by block to `out` (a file, a pipe, an
/// [`Output`](crate::io::Output)'s writer).
///
/// The binary form's header holds the record count: when it is given to
/// [`new`](Self::new), the header goes out first and every block is written as it comes.
/// When it is not, a writer that can seek ([`new_seekable`](Self::new_seekable): a file)
/// writes a provisional header and patches the count in at [`finish`](Self::finish); any other
/// writer (a pipe) holds the binary records until `finish`. JSON Lines, which has no header,
/// always streams.
///
/// ```
/// # use paillier_gpu::{ContextOptions, ExecutionContext};
/// use paillier_gpu::formats::ciphertexts::{CiphertextForm, CiphertextWriter};
/// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
/// let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
/// let batch = ctx.encrypt_batch(&[[0u8; 8], [1; 8]]).unwrap();
/// let mut writer = CiphertextWriter::new(
///     Vec::new(), "out.ct".as_ref(), CiphertextForm::Binary, ctx.ciphertext_shape(), Some(2),
/// ).unwrap();
/// writer.write_batch(&batch).unwrap();
/// let bytes = writer.finish().unwrap();
/// assert_eq!(&bytes[..8], b"PGPUCTXT");
/// ```
pub struct CiphertextWriter<W: Write> {
    out: W,
    /// Named in I/O errors.
    path: PathBuf,
    form: CiphertextForm,
    shape: CiphertextShape,
    /// The count the binary header was written with, or None when the header waits for
    /// `finish` (binary records are then held in `held`).
    promised: Option<u64>,
    held: Vec<u8>,
    encoded: Vec<u8>,
    scratch: Vec<u8>,
    written: u64,
    /// Where a provisional binary header was written, and how to write its count there (a
    /// seeking writer's): records then stream instead of being held.
    patch: Option<(u64, PatchCount<W>)>,
}

/// Writes the count into a provisional header at a position, and returns to the end.
type PatchCount<W> = fn(&mut W, u64, &[u8]) -> std::io::Result<()>;

fn patch_count<W: Write + Seek>(out: &mut W, header_at: u64, count: &[u8]) -> std::io::Result<()> {
    out.seek(SeekFrom::Start(header_at + COUNT_OFFSET as u64))?;
    out.write_all(count)?;
    out.seek(SeekFrom::End(0)).map(drop)
}

impl<W: Write + Seek> CiphertextWriter<W> {
    /// [`new`](Self::new) for a writer that can seek: without a count, the binary form gets a
    /// provisional header, every block is written as it comes, and [`finish`](Self::finish)
    /// writes the count into the header. Memory stays at one block whatever the file's size.
    pub fn new_seekable(
        mut out: W,
        path: &Path,
        form: CiphertextForm,
        shape: CiphertextShape,
        records: Option<u64>,
    ) -> Result<Self> {
        if form != CiphertextForm::Binary || records.is_some() {
            return Self::new(out, path, form, shape, records);
        }
        let header_at = out.stream_position().map_err(|e| Error::io(path, e))?;
        out.write_all(&binary_header(shape, 0)?)
            .map_err(|e| Error::io(path, e))?;
        let mut writer = Self::new(out, path, form, shape, None)?;
        writer.patch = Some((header_at, patch_count::<W>));
        Ok(writer)
    }
}

impl<W: Write> CiphertextWriter<W> {
    /// A writer of `form` to `out`; `records` is the count a binary header will promise, when
    /// known (ignored for JSON Lines). `path` names the output in errors.
    pub fn new(
        mut out: W,
        path: &Path,
        form: CiphertextForm,
        shape: CiphertextShape,
        records: Option<u64>,
    ) -> Result<Self> {
        let promised = match (form, records) {
            (CiphertextForm::Binary, Some(count)) => {
                out.write_all(&binary_header(shape, count)?)
                    .map_err(|e| Error::io(path, e))?;
                Some(count)
            }
            _ => None,
        };
        Ok(Self {
            out,
            path: path.to_path_buf(),
            form,
            shape,
            promised,
            held: Vec::new(),
            encoded: Vec::new(),
            scratch: Vec::new(),
            written: 0,
            patch: None,
        })
    }

    /// Writes every record of `batch` (records of the writer's shape).
    pub fn write_batch(&mut self, batch: &CiphertextBatch) -> Result<()> {
        if batch.pieces_per_record() != self.shape.pieces {
            return Err(Error::InvalidParameter(format!(
                "records of {} chunk(s) written as records of {}",
                batch.pieces_per_record(),
                self.shape.pieces
            )));
        }
        let records = batch.records() as u64;
        if let Some(promised) = self.promised {
            if self.written + records > promised {
                return Err(self.count_error(self.written + records));
            }
        }
        self.encoded.clear();
        match self.form {
            CiphertextForm::Binary => {
                batch.write_le_bytes(self.shape.piece_bytes, &mut self.encoded)?
            }
            CiphertextForm::JsonLines => {
                append_jsonl_records(batch, self.shape, &mut self.encoded, &mut self.scratch)?
            }
        }
        if self.form == CiphertextForm::Binary && self.promised.is_none() && self.patch.is_none() {
            self.held.extend_from_slice(&self.encoded);
        } else {
            self.out
                .write_all(&self.encoded)
                .map_err(|e| Error::io(&self.path, e))?;
        }
        self.written += records;
        Ok(())
    }

    /// Records written so far.
    pub fn records_written(&self) -> u64 {
        self.written
    }

    /// Ends the file: writes what was held (a binary header that waited for its count, and
    /// the records after it) or the count into a provisional header, flushes, and returns the
    /// output. A count given to `new` that was not met is an error.
    pub fn finish(mut self) -> Result<W> {
        match (self.form, self.promised) {
            (CiphertextForm::Binary, Some(promised)) if promised != self.written => {
                return Err(self.count_error(self.written));
            }
            (CiphertextForm::Binary, None) if self.patch.is_some() => {
                if let Some((header_at, patch)) = self.patch {
                    let header = binary_header(self.shape, self.written)?;
                    patch(
                        &mut self.out,
                        header_at,
                        &header[COUNT_OFFSET..COUNT_OFFSET + 8],
                    )
                    .map_err(|e| Error::io(&self.path, e))?;
                }
            }
            (CiphertextForm::Binary, None) => {
                let header = binary_header(self.shape, self.written)?;
                self.out
                    .write_all(&header)
                    .and_then(|()| self.out.write_all(&self.held))
                    .map_err(|e| Error::io(&self.path, e))?;
            }
            _ => {}
        }
        self.out.flush().map_err(|e| Error::io(&self.path, e))?;
        Ok(self.out)
    }

    fn count_error(&self, records: u64) -> Error {
        Error::InvalidParameter(format!(
            "{}: {records} records written where the header promises {}",
            self.path.display(),
            self.promised.unwrap_or(0)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContextOptions, ExecutionContext};
    use std::io::Cursor;

    /// Without a count, a seeking writer streams every block and patches the count in: the
    /// same bytes as a writer told the count, after whatever preceded the header.
    #[test]
    fn a_seeking_writer_patches_the_count_in() {
        let options = ContextOptions {
            key_len: 256,
            embed_len: 8,
            allow_insecure: true,
            ..Default::default()
        };
        let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
        let batch = ctx
            .encrypt_batch(&[[0u8; 8], [1; 8], [0, 1, 0, 1, 0, 1, 0, 1]])
            .unwrap();
        let shape = ctx.ciphertext_shape();
        let path = Path::new("out.ct");
        let mut told =
            CiphertextWriter::new(Vec::new(), path, CiphertextForm::Binary, shape, Some(6))
                .unwrap();
        told.write_batch(&batch).unwrap();
        told.write_batch(&batch).unwrap();
        let expected = told.finish().unwrap();

        let mut prefix = Cursor::new(b"prefix".to_vec());
        prefix.seek(SeekFrom::End(0)).unwrap();
        let mut patched =
            CiphertextWriter::new_seekable(prefix, path, CiphertextForm::Binary, shape, None)
                .unwrap();
        patched.write_batch(&batch).unwrap();
        // Streamed, not held: the file already has the header and the first block.
        assert!(patched.held.is_empty());
        patched.write_batch(&batch).unwrap();
        let bytes = patched.finish().unwrap().into_inner();
        assert_eq!(&bytes[..6], b"prefix");
        assert_eq!(&bytes[6..], &expected[..]);
    }
}
