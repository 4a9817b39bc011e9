//! What both encrypted-numbers formats share: the opening fields (magic, version, kind, a flag
//! byte, the ciphertext width), the key's fingerprint, and a body read only after its length
//! was checked against the header.

use std::io::Read;

use crate::error::{Error, Result};
use crate::numbers::NumberKind;
use crate::paillier::{KeyFingerprint, PublicKey};

/// One of the two formats: its name in errors, magic and version.
pub(super) struct Format {
    pub name: &'static str,
    pub magic: &'static [u8; 8],
    pub version: u16,
}

impl Format {
    pub fn malformed(&self, detail: String) -> Error {
        Error::MalformedFile {
            kind: self.name,
            detail,
        }
    }

    /// Appends the opening fields: magic, version, kind, `flag`, the key's ciphertext width.
    pub fn write_opening(&self, out: &mut Vec<u8>, kind: NumberKind, flag: u8, key: &PublicKey) {
        out.extend_from_slice(self.magic);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.push(match kind {
            NumberKind::Integer => 0,
            NumberKind::Float => 1,
        });
        out.push(flag);
        out.extend_from_slice(&(key.ciphertext_bytes() as u32).to_le_bytes());
    }

    /// Reads the `N`-byte fixed header and checks its magic, version and kind: the header, its
    /// kind and its flag byte (offset 11, for the caller).
    pub fn read_header<const N: usize>(
        &self,
        reader: &mut impl Read,
    ) -> Result<([u8; N], NumberKind, u8)> {
        let mut header = [0u8; N];
        reader
            .read_exact(&mut header)
            .map_err(|_| self.malformed(format!("shorter than its {N}-byte header")))?;
        if &header[..8] != self.magic {
            return Err(self.malformed(format!("bad magic: not a file of {}", self.name)));
        }
        let version = u16::from_le_bytes([header[8], header[9]]);
        if version != self.version {
            return Err(self.malformed(format!(
                "version {version} (this build reads {})",
                self.version
            )));
        }
        let kind = match header[10] {
            0 => NumberKind::Integer,
            1 => NumberKind::Float,
            k => {
                return Err(self.malformed(format!("number kind {k} (0 integers, 1 floats)")));
            }
        };
        Ok((header, kind, header[11]))
    }

    /// Checks a header against `key`: its 32-byte fingerprint at `fingerprint_at` (first: a
    /// file of another key says so), then its ciphertext width.
    pub fn check_key(&self, header: &[u8], fingerprint_at: usize, key: &PublicKey) -> Result<()> {
        let mut stored = [0u8; 32];
        stored.copy_from_slice(&header[fingerprint_at..fingerprint_at + 32]);
        KeyFingerprint::from_bytes(stored)
            .expect_context_key(&key.fingerprint(), format!("this {} file", self.name))?;
        let width = u32_at(header, 12) as usize;
        if width != key.ciphertext_bytes() {
            return Err(self.malformed(format!(
                "ciphertexts of {width} bytes; the key's are {}",
                key.ciphertext_bytes()
            )));
        }
        Ok(())
    }

    /// The `body` bytes after a `header`-byte header, which promised `promise` ("3 elements"):
    /// checked against the file's `length` first when it is known, and against what the reader
    /// gives otherwise.
    pub fn read_body(
        &self,
        reader: impl Read,
        length: Option<u64>,
        header: usize,
        body: u64,
        promise: &str,
    ) -> Result<Vec<u8>> {
        if let Some(length) = length {
            if length != header as u64 + body {
                return Err(self.malformed(format!(
                    "the header promises {promise} ({} bytes) but the file holds {length} bytes",
                    header as u64 + body
                )));
            }
        }
        let mut rest = Vec::new();
        reader
            .take(body.saturating_add(1))
            .read_to_end(&mut rest)
            .map_err(|e| self.malformed(e.to_string()))?;
        if rest.len() as u64 != body {
            return Err(self.malformed(format!(
                "the header promises {promise} ({body} bytes) but {} bytes follow the header",
                rest.len()
            )));
        }
        Ok(rest)
    }
}

/// The little-endian u32 at `offset`.
pub(super) fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(b)
}

/// The little-endian u64 at `offset`.
pub(super) fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(b)
}
