//! Plain numbers as a caller holds them, the kind an array decrypts to, and the exponents of its
//! elements.

use super::encoding::Scalar;

/// Plain numbers, as a caller holds them.
#[derive(Clone, Copy, Debug)]
pub enum Numbers<'a> {
    /// Floats (finite).
    Floats(&'a [f64]),
    /// Integers.
    Integers(&'a [i64]),
}

impl Numbers<'_> {
    /// How many numbers.
    pub fn len(&self) -> usize {
        match self {
            Numbers::Floats(v) => v.len(),
            Numbers::Integers(v) => v.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number `i`.
    pub fn get(&self, i: usize) -> Scalar {
        match self {
            Numbers::Floats(v) => Scalar::Float(v[i]),
            Numbers::Integers(v) => Scalar::Int(v[i]),
        }
    }

    /// The kind an array of these numbers has.
    pub fn kind(&self) -> NumberKind {
        match self {
            Numbers::Floats(_) => NumberKind::Float,
            Numbers::Integers(_) => NumberKind::Integer,
        }
    }
}

/// Whether an array decrypts to integers or to floats: integers only while every number that
/// went into it was an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberKind {
    /// Every input an integer: decrypts to `i64`.
    Integer,
    /// Decrypts to `f64`.
    Float,
}

impl NumberKind {
    /// Integer only if both are.
    pub fn and(self, other: NumberKind) -> NumberKind {
        if self == NumberKind::Integer && other == NumberKind::Integer {
            NumberKind::Integer
        } else {
            NumberKind::Float
        }
    }
}

/// The base-16 exponents of an array's elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElementExponents {
    /// One exponent for every element (the fast path: no alignment between elements).
    Shared(i32),
    /// One per element.
    PerElement(Vec<i32>),
}

impl ElementExponents {
    /// Element `i`'s exponent.
    pub fn get(&self, i: usize) -> i32 {
        match self {
            ElementExponents::Shared(e) => *e,
            ElementExponents::PerElement(v) => v[i],
        }
    }

    /// The smallest exponent (`None` for an empty per-element list).
    pub fn min(&self) -> Option<i32> {
        match self {
            ElementExponents::Shared(e) => Some(*e),
            ElementExponents::PerElement(v) => v.iter().copied().min(),
        }
    }

    /// Per-element exponents, shared when they all agree.
    pub(crate) fn from_vec(exponents: Vec<i32>) -> Self {
        match exponents.first() {
            Some(&first) if exponents.iter().all(|&e| e == first) => Self::Shared(first),
            _ => Self::PerElement(exponents),
        }
    }
}
