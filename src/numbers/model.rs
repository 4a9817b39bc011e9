//! [`LinearModel`]: a linear model over encrypted features, read from the inference service's
//! model JSON (`{"weights": [[...]], "biases": [...]}`).

use serde::Deserialize;

use super::array::EncryptedArray;
use super::linear::PlainMatrix;
use super::packed::PackedArray;
use crate::backend::Backend;
use crate::error::{Error, Result};

/// `y = x·W + b`: `weights` has one row per input feature and one column per output (numpy's
/// `x @ W`), `biases` one value per output.
///
/// ```
/// use paillier_gpu::numbers::LinearModel;
/// let model = LinearModel::from_json(r#"{"weights": [[1.0, -2.0], [0.5, 0.25]], "biases": [0.0, 1.0]}"#).unwrap();
/// assert_eq!((model.inputs(), model.outputs()), (2, 2));
/// assert_eq!(model.predict_plain(&[2.0, 4.0]).unwrap(), vec![4.0, -2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    weights: Vec<f64>,
    inputs: usize,
    outputs: usize,
    biases: Vec<f64>,
    precision: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    weights: Vec<Vec<f64>>,
    #[serde(default)]
    biases: Option<Vec<f64>>,
}

impl LinearModel {
    /// A model from `weights` (`inputs` rows of `outputs` values) and `biases` (`outputs`
    /// values; empty for none), every value finite.
    pub fn new(weights: Vec<Vec<f64>>, biases: Vec<f64>) -> Result<Self> {
        let inputs = weights.len();
        let outputs = weights.first().map_or(0, Vec::len);
        if inputs == 0 || outputs == 0 {
            return Err(Error::ShapeMismatch(
                "a model needs at least one weight".into(),
            ));
        }
        if let Some(row) = weights.iter().position(|r| r.len() != outputs) {
            return Err(Error::ShapeMismatch(format!(
                "weights row {row} has {} values, row 0 has {outputs}",
                weights[row].len()
            )));
        }
        let biases = if biases.is_empty() {
            vec![0.0; outputs]
        } else {
            biases
        };
        if biases.len() != outputs {
            let hint = if biases.len() == inputs {
                " (weights are inputs × outputs, as in x @ W: transpose them?)"
            } else {
                ""
            };
            return Err(Error::ShapeMismatch(format!(
                "{} biases for {outputs} outputs{hint}",
                biases.len()
            )));
        }
        let weights: Vec<f64> = weights.into_iter().flatten().collect();
        if let Some(i) = weights.iter().chain(&biases).position(|v| !v.is_finite()) {
            return Err(Error::InvalidNumber {
                index: i,
                reason: "the model holds NaN or an infinity".into(),
            });
        }
        Ok(Self {
            weights,
            inputs,
            outputs,
            biases,
            precision: None,
        })
    }

    /// Reads `{"weights": [[...], ...], "biases": [...]}` (biases optional).
    pub fn from_json(json: &str) -> Result<Self> {
        let file: ModelFile = serde_json::from_str(json)
            .map_err(|e| Error::InvalidParameter(format!("model JSON: {e}")))?;
        Self::new(file.weights, file.biases.unwrap_or_default())
    }

    /// The same model with weights and biases encoded at `floor(log16(precision))`: shorter
    /// exponents (faster), rounded to that precision.
    pub fn with_precision(mut self, precision: Option<f64>) -> Self {
        self.precision = precision;
        self
    }

    /// Input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Outputs.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Weights, row-major (`inputs × outputs`).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Biases.
    pub fn biases(&self) -> &[f64] {
        &self.biases
    }

    /// Runs the model on encrypted samples (shape `[..., inputs]`): encrypted outputs of shape
    /// `[..., outputs]`.
    pub fn infer(&self, backend: &dyn Backend, x: &EncryptedArray) -> Result<EncryptedArray> {
        let weights = PlainMatrix {
            values: &self.weights,
            rows: self.inputs,
            cols: self.outputs,
        };
        x.linear(backend, weights, Some(&self.biases), self.precision)
    }

    /// Runs the model on packed samples (many per ciphertext, see [`PackedArray`]): packed
    /// outputs in the same slots. Without a [precision](Self::with_precision), each weight is
    /// at its shortest exact exponent; an output that could leave its slot is an error.
    pub fn infer_packed(&self, backend: &dyn Backend, x: &PackedArray) -> Result<PackedArray> {
        let weights = PlainMatrix {
            values: &self.weights,
            rows: self.inputs,
            cols: self.outputs,
        };
        x.linear(backend, weights, Some(&self.biases), self.precision)
    }

    /// The model on one plain sample, in floating point (for comparison).
    pub fn predict_plain(&self, x: &[f64]) -> Result<Vec<f64>> {
        if x.len() != self.inputs {
            return Err(Error::ShapeMismatch(format!(
                "{} features for a model of {} inputs",
                x.len(),
                self.inputs
            )));
        }
        Ok((0..self.outputs)
            .map(|j| {
                (0..self.inputs).fold(self.biases[j], |acc, i| {
                    acc + x[i] * self.weights[i * self.outputs + j]
                })
            })
            .collect())
    }
}
