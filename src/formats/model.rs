//! Model files: the inference service's JSON, `{"weights": [[...], ...], "biases": [...]}`,
//! read as a stream into a [`LinearModel`] without a tree of values in between, so that reading
//! takes a few times the file's size at most; a row longer than the model can have is refused as
//! soon as it is met.

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};
use crate::numbers::{LinearModel, WeightRows};

/// The largest model file read: 256 MiB of JSON is tens of millions of weights.
pub const MAX_MODEL_BYTES: u64 = 256 << 20;

/// Reads a model file laid out as `rows` says. `inputs`, when known (the features of the
/// samples it will run on), bounds the model's shape while it is read.
pub fn read_model(path: &Path, rows: WeightRows, inputs: Option<usize>) -> Result<LinearModel> {
    let (file, length) = super::open_input(path)?;
    if length.is_some_and(|length| length > MAX_MODEL_BYTES) {
        return Err(Error::MalformedFile {
            kind: "model",
            detail: format!("{} is larger than {MAX_MODEL_BYTES} bytes", path.display()),
        });
    }
    let reader = std::io::BufReader::new(file.take(MAX_MODEL_BYTES));
    parse_model(reader, rows, inputs).map_err(|e| e.in_file(path))
}

// The model's JSON constructors live with its codec, so that `numbers` (the arithmetic)
// never reads a file format.
impl LinearModel {
    /// Reads the inference service's model JSON, `{"weights": [[...], ...], "biases": [...]}`
    /// (biases optional), one row of weights per output.
    pub fn from_json(json: &str) -> Result<Self> {
        Self::from_json_with(json, WeightRows::PerOutput)
    }

    /// [`from_json`](Self::from_json) with the weights laid out as `rows` says.
    pub fn from_json_with(json: &str, rows: WeightRows) -> Result<Self> {
        parse_model(json.as_bytes(), rows, None)
    }
}

/// [`read_model`] from any reader.
pub fn parse_model(
    reader: impl Read,
    rows: WeightRows,
    inputs: Option<usize>,
) -> Result<LinearModel> {
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let parts = ModelSeed { rows, inputs }
        .deserialize(&mut deserializer)
        .and_then(|parts| deserializer.end().map(|()| parts))
        .map_err(|e| Error::InvalidParameter(format!("model JSON: {e}")))?;
    LinearModel::from_flat(parts.weights, parts.row_width, parts.biases, rows)
}

/// What a model file holds: its weights row after row, flat, and each row's width.
struct ModelParts {
    weights: Vec<f64>,
    row_width: usize,
    biases: Vec<f64>,
}

/// The bounds a model file is read within.
#[derive(Clone, Copy)]
struct ModelSeed {
    rows: WeightRows,
    inputs: Option<usize>,
}

impl ModelSeed {
    /// The widest row and the most rows the model may have.
    fn limits(self) -> (Option<usize>, Option<usize>) {
        match self.rows {
            WeightRows::PerOutput => (self.inputs, None),
            WeightRows::PerInput => (None, self.inputs),
        }
    }
}

impl<'de> DeserializeSeed<'de> for ModelSeed {
    type Value = ModelParts;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<ModelParts, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ModelSeed {
    type Value = ModelParts;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"an object {"weights": [[...], ...], "biases": [...]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<ModelParts, A::Error> {
        let mut weights = None;
        let mut biases = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "weights" if weights.is_some() => {
                    return Err(de::Error::duplicate_field("weights"))
                }
                "biases" if biases.is_some() => return Err(de::Error::duplicate_field("biases")),
                "weights" => {
                    let (max_width, max_rows) = self.limits();
                    weights = Some(map.next_value_seed(Matrix {
                        max_width,
                        max_rows,
                    })?);
                }
                "biases" => {
                    biases = Some(map.next_value::<Option<Vec<f64>>>()?.unwrap_or_default())
                }
                other => return Err(de::Error::unknown_field(other, &["weights", "biases"])),
            }
        }
        let (weights, row_width) = weights.ok_or_else(|| de::Error::missing_field("weights"))?;
        Ok(ModelParts {
            weights,
            row_width,
            biases: biases.unwrap_or_default(),
        })
    }
}

/// Rows of numbers, all as wide as the first, read into one flat vector.
struct Matrix {
    max_width: Option<usize>,
    max_rows: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for Matrix {
    type Value = (Vec<f64>, usize);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Matrix {
    type Value = (Vec<f64>, usize);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of arrays of numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut flat = Vec::new();
        let mut width = None;
        let mut rows = 0usize;
        loop {
            let row = Row {
                flat: &mut flat,
                width: width.or(self.max_width),
                exact: width.is_some(),
                row: rows,
            };
            if seq.next_element_seed(row)?.is_none() {
                break;
            }
            if rows == 0 {
                width = Some(flat.len());
            }
            rows += 1;
            if self.max_rows.is_some_and(|max| rows > max) {
                return Err(de::Error::custom(format!(
                    "more weight rows than the {} input features of the samples",
                    self.max_rows.unwrap_or_default()
                )));
            }
        }
        flat.shrink_to_fit();
        Ok((flat, width.unwrap_or(0)))
    }
}

/// One row: at most `width` numbers, exactly that many when `exact`.
struct Row<'a> {
    flat: &'a mut Vec<f64>,
    width: Option<usize>,
    exact: bool,
    row: usize,
}

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let mut count = 0usize;
        while let Some(value) = seq.next_element::<f64>()? {
            count += 1;
            if let Some(width) = self.width.filter(|&width| count > width) {
                let what = if self.exact {
                    "row 0 has"
                } else {
                    "the samples have"
                };
                return Err(de::Error::custom(format!(
                    "weights row {} has more than {width} values, and {what} {width}",
                    self.row
                )));
            }
            self.flat.push(value);
        }
        match self.width {
            Some(width) if self.exact && count != width => Err(de::Error::custom(format!(
                "weights row {} has {count} values, row 0 has {width}",
                self.row
            ))),
            _ => Ok(()),
        }
    }
}
