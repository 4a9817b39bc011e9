//! [`LinearModel`]: a linear model over encrypted features, read from the inference service's
//! model JSON (`{"weights": [[...]], "biases": [...]}`, one row of weights per output).

use super::array::EncryptedArray;
use super::linear::PlainMatrix;
use super::packed::PackedArray;
use crate::error::{Error, Result};
use crate::hazmat::backend::Backend;

/// How a model's weight matrix is laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightRows {
    /// One row per output, one value per input feature: `y_j = Σ_i W[j][i]·x_i + b_j`. The
    /// inference service's model JSON, scikit-learn's `coef_`, PyTorch's `Linear.weight` and
    /// ONNX's Gemm with `transB` all read this way. The default.
    #[default]
    PerOutput,
    /// One row per input feature, one value per output: numpy's `x @ W`.
    PerInput,
}

/// `y = W·x + b` over encrypted features: a matrix of weights (laid out as [`WeightRows`]
/// says; one row per output by default, as the inference service) and one bias per output.
///
/// ```
/// use paillier_gpu::numbers::{LinearModel, WeightRows};
/// // The inference service's example: one output, four features.
/// let model = LinearModel::from_json(r#"{"weights": [[0.1, 0.2, 0.3, 0.4]], "biases": [0.5]}"#).unwrap();
/// assert_eq!((model.inputs(), model.outputs()), (4, 1));
/// assert!((model.predict_plain(&[1.0, 2.0, 3.0, 4.0]).unwrap()[0] - 3.5).abs() < 1e-12);
/// // The same model as numpy's `x @ W`: one row per input.
/// let rows = vec![vec![0.1], vec![0.2], vec![0.3], vec![0.4]];
/// let same = LinearModel::with_weight_rows(rows, vec![0.5], WeightRows::PerInput).unwrap();
/// assert_eq!(same, model);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    /// Row-major `inputs × outputs`, whatever the layout read.
    weights: Vec<f64>,
    inputs: usize,
    outputs: usize,
    biases: Vec<f64>,
    precision: Option<f64>,
}

impl LinearModel {
    /// A model from `weights` with one row per output (each as long as the input features)
    /// and `biases` (one per output; empty for none), every value finite.
    pub fn new(weights: Vec<Vec<f64>>, biases: Vec<f64>) -> Result<Self> {
        Self::with_weight_rows(weights, biases, WeightRows::PerOutput)
    }

    /// A model from `weights` laid out as `rows` says.
    pub fn with_weight_rows(
        weights: Vec<Vec<f64>>,
        biases: Vec<f64>,
        rows: WeightRows,
    ) -> Result<Self> {
        let width = weights.first().map_or(0, Vec::len);
        if let Some(row) = weights.iter().position(|r| r.len() != width) {
            return Err(Error::ShapeMismatch(format!(
                "weights row {row} has {} values, row 0 has {width}",
                weights[row].len()
            )));
        }
        Self::from_flat(weights.into_iter().flatten().collect(), width, biases, rows)
    }

    /// A model from its weights row after row (`row_width` values each) as `rows` says.
    pub(crate) fn from_flat(
        flat: Vec<f64>,
        row_width: usize,
        biases: Vec<f64>,
        rows: WeightRows,
    ) -> Result<Self> {
        let row_count = flat.len().checked_div(row_width).unwrap_or(0);
        if row_count == 0 || row_width == 0 {
            return Err(Error::ShapeMismatch(
                "a model needs at least one weight".into(),
            ));
        }
        let (inputs, outputs) = match rows {
            WeightRows::PerOutput => (row_width, row_count),
            WeightRows::PerInput => (row_count, row_width),
        };
        let biases = if biases.is_empty() {
            vec![0.0; outputs]
        } else {
            biases
        };
        if biases.len() != outputs {
            let hint = match rows {
                WeightRows::PerOutput if biases.len() == inputs => {
                    " (the weights are read with one row per output, as the inference service, \
                     scikit-learn's coef_ and PyTorch's weight; for one row per input feature, \
                     numpy's x @ W, pass --weight-rows per-input, or weight_rows=\"per_input\" \
                     from Python)"
                }
                WeightRows::PerInput if biases.len() == inputs => {
                    " (the weights were asked for with one row per input feature; the \
                     inference service's layout, one row per output, is the default)"
                }
                _ => "",
            };
            return Err(Error::ShapeMismatch(format!(
                "{} biases for {outputs} outputs{hint}",
                biases.len()
            )));
        }
        if let Some(i) = flat.iter().chain(&biases).position(|v| !v.is_finite()) {
            return Err(Error::InvalidNumber {
                index: i,
                reason: "the model holds NaN or an infinity".into(),
            });
        }
        let weights = match rows {
            WeightRows::PerInput => flat,
            WeightRows::PerOutput => (0..inputs)
                .flat_map(|i| (0..outputs).map(move |j| (i, j)))
                .map(|(i, j)| flat[j * inputs + i])
                .collect(),
        };
        Ok(Self {
            weights,
            inputs,
            outputs,
            biases,
            precision: None,
        })
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

    /// Weights, row-major `inputs × outputs` (numpy's `x @ W`), whatever the layout read.
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
        x.linear(backend, self.matrix(), Some(&self.biases), self.precision)
    }

    /// Runs the model on packed samples (many per ciphertext, see [`PackedArray`]): packed
    /// outputs in the same slots. Without a [precision](Self::with_precision), each weight is
    /// at its shortest exact exponent; an output that could leave its slot is an error.
    pub fn infer_packed(&self, backend: &dyn Backend, x: &PackedArray) -> Result<PackedArray> {
        x.linear(backend, self.matrix(), Some(&self.biases), self.precision)
    }

    /// The weights as the linear layer takes them.
    fn matrix(&self) -> PlainMatrix<'_> {
        PlainMatrix {
            values: &self.weights,
            rows: self.inputs,
            cols: self.outputs,
        }
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
