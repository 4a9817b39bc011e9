//! Numbers in JSON: JSON Lines (a number, or an array of numbers, per line) or one JSON document
//! (a number, an array of numbers, or an array of arrays of numbers: the inference service's
//! `input_data`). Both are read a row at a time into 16 bytes per number, whatever the text.

use std::fmt;
use std::io::{BufRead, Read};
use std::path::Path;

use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::Value;

use super::plain_array::{malformed, PlainArray, PlainValues};
use crate::error::{Error, Result};
use crate::formats::JsonLines;

/// The longest JSON Lines line of numbers read (a row of many thousands of numbers).
const MAX_LINE: u64 = 16 << 20;
/// The largest JSON document of numbers read.
const MAX_DOCUMENT: u64 = 256 << 20;

/// True when `path` names one JSON document (`.json`).
pub(super) fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Numbers from one JSON document: a number (shape `[1]`), an array of numbers (`[n]`), or an
/// array of equally long arrays of numbers (`[rows, columns]`), as the inference service's
/// `input_data`. Errors name the row ("line") and value as for JSON Lines.
pub fn read_json_numbers(reader: impl Read) -> Result<PlainArray> {
    let mut reader = std::io::BufReader::new(reader.take(MAX_DOCUMENT));
    let mut rows = Rows::default();
    if first_byte(&mut reader)? != Some(b'[') {
        // Anything but an array can only be one number: a few bytes at most.
        let mut text = Vec::new();
        reader
            .take(4096)
            .read_to_end(&mut text)
            .map_err(|e| malformed(format!("JSON document: {e}")))?;
        match serde_json::from_slice::<Value>(&text) {
            Ok(number @ Value::Number(_)) => rows.push(1, &number)?,
            _ => {
                return Err(malformed(
                    "the JSON document is not a number, an array of numbers or an array of \
                     arrays of numbers"
                        .into(),
                ))
            }
        }
        return rows.finish();
    }
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let mut failure = None;
    let parsed = Document {
        rows: &mut rows,
        failure: &mut failure,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Some(e) = failure {
        return Err(e);
    }
    parsed.map_err(|e| malformed(format!("JSON document: {e}")))?;
    if rows.rows == 0 {
        return Err(malformed("the JSON document is an empty array".into()));
    }
    rows.finish()
}

/// The first byte that is not whitespace, left unread.
fn first_byte(reader: &mut impl BufRead) -> Result<Option<u8>> {
    loop {
        let buffer = reader
            .fill_buf()
            .map_err(|e| malformed(format!("JSON document: {e}")))?;
        let Some(&first) = buffer.first() else {
            return Ok(None);
        };
        if !first.is_ascii_whitespace() {
            return Ok(Some(first));
        }
        reader.consume(1);
    }
}

/// The document's array: each item a row.
struct Document<'a> {
    rows: &'a mut Rows,
    failure: &'a mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of numbers, or an array of arrays of numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let mut line = 0;
        while let Some(row) = seq.next_element::<Value>()? {
            line += 1;
            if let Err(e) = self.rows.push(line, &row) {
                let message = e.to_string();
                *self.failure = Some(e);
                return Err(de::Error::custom(message));
            }
        }
        Ok(())
    }
}

/// Numbers from JSON Lines: each non-blank line a number, or an array of numbers (all lines the
/// same length). Errors name the line.
pub fn read_jsonl_numbers(reader: impl BufRead) -> Result<PlainArray> {
    let mut lines = JsonLines::new(reader, MAX_LINE, "numbers");
    let mut rows = Rows::default();
    while let Some((line, value)) = lines.next_value()? {
        rows.push(line, &value)?;
    }
    rows.finish()
}

/// One number as read: an integer when JSON wrote one that fits an `i64`, else a float.
#[derive(Clone, Copy)]
enum Number {
    Integer(i64),
    Float(f64),
}

/// Rows of numbers collected one at a time: each a number, or an array of numbers, all alike.
#[derive(Default)]
struct Rows {
    values: Vec<Number>,
    columns: Option<Option<usize>>,
    rows: usize,
}

impl Rows {
    fn push(&mut self, line: usize, value: &Value) -> Result<()> {
        let row: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            number @ Value::Number(_) => vec![number],
            _ => {
                return Err(malformed(format!(
                    "line {line}: not a number or an array of numbers"
                )))
            }
        };
        let width = matches!(value, Value::Array(_)).then_some(row.len());
        match self.columns {
            None => self.columns = Some(width),
            Some(expected) if expected != width => {
                return Err(Error::ShapeMismatch(format!(
                    "line {line}: {} where line 1 has {}",
                    describe_row(width),
                    describe_row(expected)
                )))
            }
            Some(_) => {}
        }
        for (column, item) in row.into_iter().enumerate() {
            let place = || format!("line {line}, value {}", column + 1);
            let Value::Number(number) = item else {
                return Err(malformed(format!("{}: not a number", place())));
            };
            let number = match (number.as_i64(), number.as_f64()) {
                (Some(integer), _) if number.is_i64() => Number::Integer(integer),
                (_, Some(float)) if number.is_f64() => Number::Float(float),
                _ => {
                    return Err(malformed(format!(
                        "{}: {number} does not fit in a signed 64-bit integer",
                        place()
                    )))
                }
            };
            self.values.push(number);
        }
        self.rows += 1;
        Ok(())
    }

    /// Integers when every number is one, else floats (an integer among floats must be exact
    /// as an `f64`).
    fn finish(self) -> Result<PlainArray> {
        let shape = match self.columns.flatten() {
            Some(columns) => vec![self.rows, columns],
            None => vec![self.rows],
        };
        let columns = shape.iter().skip(1).product::<usize>().max(1);
        let place = |i: usize| format!("line {}, value {}", i / columns + 1, i % columns + 1);
        let all_integers = self.values.iter().all(|n| matches!(n, Number::Integer(_)));
        let values = if all_integers {
            PlainValues::Integers(
                self.values
                    .iter()
                    .filter_map(|n| match n {
                        Number::Integer(v) => Some(*v),
                        Number::Float(_) => None,
                    })
                    .collect(),
            )
        } else {
            let floats = self.values.iter().enumerate().map(|(i, n)| match *n {
                Number::Float(v) => Ok(v),
                // An integer among floats: kept only when the float is the same number.
                Number::Integer(v) if v as f64 as i64 == v && v != i64::MAX => Ok(v as f64),
                Number::Integer(v) => Err(malformed(format!(
                    "{}: the integer {v} among floats is not exact as a float; write the file \
                     as integers only, or as floats",
                    place(i)
                ))),
            });
            PlainValues::Floats(floats.collect::<Result<_>>()?)
        };
        Ok(PlainArray { values, shape })
    }
}

fn describe_row(width: Option<usize>) -> String {
    match width {
        Some(n) => format!("an array of {n}"),
        None => "a single number".into(),
    }
}
