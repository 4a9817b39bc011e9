//! `ExecutionContext.project`: float embeddings onto the context's bits by the owner's keyed
//! hyperplanes (`paillier_gpu::projection`), for the vector stores of `paillier_gpu.langchain`
//! and `paillier_gpu.llama_index`, which get floats from an embedding model.

use numpy::{PyArray2, PyArrayMethods};
use paillier_gpu::projection::Projection;
use pyo3::prelude::*;

use crate::context_state::PyExecutionContext;
use crate::errors::{invalid_input, IntoPy};

#[pymethods]
impl PyExecutionContext {
    /// `embeddings` (rows of floats: a 2-D numpy array or nested lists) as the context's bit
    /// vectors: one row of `embedding_length` 0/1 values (uint8) each.
    fn project<'py>(
        &self,
        py: Python<'py>,
        embeddings: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let numpy = py.import("numpy")?;
        let array = numpy
            .call_method1("asarray", (embeddings, "float64"))
            .map_err(|e| invalid_input(format!("embeddings: {e}")))?;
        let ndim: usize = array.getattr("ndim")?.extract()?;
        if ndim != 2 {
            return Err(invalid_input(format!(
                "expected a 2-D array of embeddings (rows × dimensions), got {ndim}-D"
            )));
        }
        let array = array
            .cast_into::<PyArray2<f64>>()
            .map_err(|e| invalid_input(format!("embeddings: {e}")))?;
        let rows = array.readonly();
        let view = rows.as_array();
        let (count, dims) = view.dim();
        let flat: Vec<f64> = view.iter().copied().collect();
        let context = &self.inner;
        let bits = py
            .detach(|| -> paillier_gpu::Result<Vec<u8>> {
                let projection = Projection::for_context(context, dims)?;
                let mut bits = Vec::with_capacity(count * context.embed_len());
                for row in flat.chunks_exact(dims.max(1)).take(count) {
                    bits.extend(projection.project(row)?);
                }
                Ok(bits)
            })
            .py_err()?;
        let shaped = numpy::ndarray::Array2::from_shape_vec((count, self.inner.embed_len()), bits)
            .map_err(|e| invalid_input(format!("embeddings: {e}")))?;
        Ok(PyArray2::from_owned_array(py, shaped))
    }
}
