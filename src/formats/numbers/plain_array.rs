//! Plain numbers as read from a file: the values and their shape.

use crate::error::Error;
use crate::numbers::Numbers;

pub(super) fn malformed(detail: String) -> Error {
    Error::MalformedFile {
        kind: "numbers",
        detail,
    }
}

/// Numbers read from a file, with their shape: integers when every number is one, floats
/// otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainArray {
    /// The numbers, row-major.
    pub values: PlainValues,
    /// The shape (`[rows]` or `[rows, columns]` for JSON Lines; the file's for `.npy`).
    pub shape: Vec<usize>,
}

/// The numbers of a [`PlainArray`].
#[derive(Clone, Debug, PartialEq)]
pub enum PlainValues {
    /// Integers (JSON numbers without fraction or exponent; `.npy` integer or boolean dtypes).
    Integers(Vec<i64>),
    /// Floats, all finite.
    Floats(Vec<f64>),
}

impl PlainArray {
    /// The numbers, as the encryption takes them.
    pub fn numbers(&self) -> Numbers<'_> {
        match &self.values {
            PlainValues::Integers(v) => Numbers::Integers(v),
            PlainValues::Floats(v) => Numbers::Floats(v),
        }
    }
}
