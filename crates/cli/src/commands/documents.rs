//! The documents file of `remote upload`: JSON Lines, one document per vector, read as many
//! lines at a time as there are vectors.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use paillier_gpu_client::Document;

use crate::error::{Error, Result};

/// The documents file, read as many lines at a time as there are vectors.
pub(super) struct DocumentReader {
    path: PathBuf,
    lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
    line: usize,
}

impl DocumentReader {
    pub(super) fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            lines: std::io::BufReader::new(file).lines(),
            line: 0,
        })
    }

    fn next(&mut self) -> Result<Option<Document>> {
        loop {
            let Some(line) = self.lines.next() else {
                return Ok(None);
            };
            self.line += 1;
            let line = line.map_err(|e| io_error(&self.path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            return serde_json::from_str(&line).map(Some).map_err(|e| {
                Error::Usage(format!(
                    "{} line {}: not a document ({{\"content\", \"meta_data\", \"name\"}}): {e}",
                    self.path.display(),
                    self.line
                ))
            });
        }
    }

    pub(super) fn take(&mut self, count: usize) -> Result<Vec<Document>> {
        let mut documents = Vec::with_capacity(count);
        while documents.len() < count {
            match self.next()? {
                Some(document) => documents.push(document),
                None => {
                    return Err(Error::Usage(format!(
                        "{} ends before the vectors do: one document per vector",
                        self.path.display()
                    )))
                }
            }
        }
        Ok(documents)
    }

    pub(super) fn expect_end(&mut self) -> Result<()> {
        match self.next()? {
            None => Ok(()),
            Some(_) => Err(Error::Usage(format!(
                "{} holds more documents than there are vectors (nothing past the last vector \
                 was uploaded)",
                self.path.display()
            ))),
        }
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
