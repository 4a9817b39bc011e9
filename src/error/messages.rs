//! Messages of the error variants that are composed rather than written in one line.

use super::Error;

/// [`Error::BadVector`]'s message: one numbering (from 1) for the line or row and the value in it.
pub(super) fn bad_vector_message(
    path: &std::path::Path,
    unit: &str,
    number: usize,
    source: &Error,
) -> String {
    let place = format!("{}, {unit} {number}", path.display());
    match source {
        Error::NonBinaryValue {
            position, value, ..
        } => {
            let item = if unit == "row" { "column" } else { "value" };
            format!("{place}, {item} {}: {value} is not 0 or 1", position + 1)
        }
        Error::VectorLength {
            expected, found, ..
        } => format!("{place}: {found} values where the context has {expected} dimensions"),
        other => format!("{place}: {other}"),
    }
}
