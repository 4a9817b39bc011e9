//! `LinearModel`: a linear model run on encrypted features, read as the inference service
//! reads it (one row of weights per output) unless asked for numpy's `x @ W`.

use std::path::PathBuf;

use paillier_gpu::formats::model::read_model;
use paillier_gpu::numbers::{LinearModel, WeightRows};
use pyo3::prelude::*;

use crate::encrypted_array::PyEncryptedArray;
use crate::errors::{invalid_input, IntoPy};
use crate::packed_array::PyPackedArray;

/// `y = W·x + b` run on encrypted features. `weights` has one row per output and one weight per
/// input feature (the inference service's model JSON, scikit-learn's `coef_`, PyTorch's
/// `Linear.weight`); `weight_rows="per_input"` reads numpy's `x @ W` (one row per feature).
#[pyclass(module = "paillier_gpu", name = "LinearModel", frozen)]
pub struct PyLinearModel {
    inner: LinearModel,
}

fn weight_rows_of(name: &str) -> PyResult<WeightRows> {
    match name {
        "per_output" => Ok(WeightRows::PerOutput),
        "per_input" => Ok(WeightRows::PerInput),
        other => Err(invalid_input(format!(
            "weight_rows is \"per_output\" (one row per output: the inference service, \
             scikit-learn, PyTorch) or \"per_input\" (numpy's x @ W), not {other:?}"
        ))),
    }
}

/// A numpy array of float64 as nested Python lists.
fn float_list<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let numpy = value.py().import("numpy")?;
    numpy
        .call_method1("asarray", (value, "float64"))?
        .call_method0("tolist")
}

#[pymethods]
impl PyLinearModel {
    /// `weights`: one row per output (`weight_rows="per_output"`, the default) or one row per
    /// input feature (`"per_input"`); `biases`: one per output (None: zeros). `precision`
    /// encodes them at floor(log16(precision)) (faster, rounded); None keeps them exact.
    #[new]
    #[pyo3(signature = (weights, biases=None, precision=None, weight_rows="per_output"))]
    fn new(
        weights: &Bound<'_, PyAny>,
        biases: Option<&Bound<'_, PyAny>>,
        precision: Option<f64>,
        weight_rows: &str,
    ) -> PyResult<Self> {
        let rows = weight_rows_of(weight_rows)?;
        let numpy = weights.py().import("numpy")?;
        let weights = numpy.call_method1("asarray", (weights, "float64"))?;
        let ndim: usize = weights.getattr("ndim")?.extract()?;
        if ndim != 2 {
            return Err(invalid_input(format!(
                "weights must be a 2-D matrix (one row per output, or per input feature with \
                 weight_rows=\"per_input\"), not {ndim}-D"
            )));
        }
        let matrix: Vec<Vec<f64>> = weights.call_method0("tolist")?.extract()?;
        let biases: Vec<f64> = match biases {
            Some(b) => float_list(&numpy.call_method1("ravel", (b,))?)?.extract()?,
            None => Vec::new(),
        };
        let inner = LinearModel::with_weight_rows(matrix, biases, rows)
            .py_err()?
            .with_precision(precision);
        Ok(Self { inner })
    }

    /// A fitted scikit-learn linear model or classifier (`LinearRegression`, `Ridge`,
    /// `LogisticRegression`, `LinearSVC` …): its `coef_` (one row per output; a 1-D `coef_` is
    /// one output) and `intercept_` (a scalar when fitted without one). A binary classifier has
    /// one output, the decision function: positive means the second class.
    #[staticmethod]
    #[pyo3(signature = (estimator, precision=None))]
    fn from_sklearn(estimator: &Bound<'_, PyAny>, precision: Option<f64>) -> PyResult<Self> {
        let py = estimator.py();
        let numpy = py.import("numpy")?;
        let (Ok(coef), Ok(intercept)) =
            (estimator.getattr("coef_"), estimator.getattr("intercept_"))
        else {
            return Err(invalid_input(
                "the estimator has no coef_ and intercept_: fit a linear model first \
                 (LinearRegression, Ridge, LogisticRegression …)",
            ));
        };
        let coef = numpy.call_method1("atleast_2d", (coef,))?;
        let outputs: usize = coef.getattr("shape")?.get_item(0)?.extract()?;
        let intercept = numpy.call_method1("ravel", (intercept,))?;
        let intercept = if intercept.len()? == 1 && outputs > 1 {
            numpy.call_method1("repeat", (intercept, outputs))?
        } else {
            intercept
        };
        Self::new(&coef, Some(&intercept), precision, "per_output")
    }

    /// A model from the inference service's JSON: `{"weights": [[...]], "biases": [...]}`,
    /// one row of weights per output unless `weight_rows="per_input"`.
    #[staticmethod]
    #[pyo3(signature = (json, precision=None, weight_rows="per_output"))]
    fn from_json(json: &str, precision: Option<f64>, weight_rows: &str) -> PyResult<Self> {
        let inner = LinearModel::from_json_with(json, weight_rows_of(weight_rows)?)
            .py_err()?
            .with_precision(precision);
        Ok(Self { inner })
    }

    /// [`from_json`] of a file (read as a stream, at most 256 MiB).
    #[staticmethod]
    #[pyo3(signature = (path, precision=None, weight_rows="per_output"))]
    fn load(path: PathBuf, precision: Option<f64>, weight_rows: &str) -> PyResult<Self> {
        let inner = read_model(&path, weight_rows_of(weight_rows)?, None)
            .py_err()?
            .with_precision(precision);
        Ok(Self { inner })
    }

    /// Features in.
    #[getter]
    fn inputs(&self) -> usize {
        self.inner.inputs()
    }

    /// Outputs.
    #[getter]
    fn outputs(&self) -> usize {
        self.inner.outputs()
    }

    /// Runs the model on encrypted samples (shape `[..., features]`), on their key's device.
    fn infer(&self, py: Python<'_>, encrypted: &PyEncryptedArray) -> PyResult<PyEncryptedArray> {
        encrypted.run(py, |b| self.inner.infer(b, &encrypted.inner))
    }

    /// Runs the model on packed samples (`PackedArray`), on their key's device; raises
    /// `InvalidNumberError` before any work when an output could leave its slot.
    fn infer_packed(&self, py: Python<'_>, packed: &PyPackedArray) -> PyResult<PyPackedArray> {
        let backend = packed.backend.clone();
        let inner = py
            .detach(|| self.inner.infer_packed(backend.as_ref(), &packed.inner))
            .py_err()?;
        Ok(PyPackedArray { inner, backend })
    }

    fn __repr__(&self) -> String {
        format!(
            "LinearModel(inputs={}, outputs={})",
            self.inner.inputs(),
            self.inner.outputs()
        )
    }
}
