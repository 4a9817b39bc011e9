//! Values crossing the boundary: binary vectors from numpy arrays or lists, devices from
//! strings, JSON into Python objects, big integers both ways, and plain or decrypted numbers
//! from and into numpy arrays.

use num_bigint::BigUint;
use paillier_gpu::numbers::{Decrypted, Numbers};
use paillier_gpu::Device;
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyBytes, PyTuple};

use crate::errors::{invalid_input, non_binary, to_py_err, vector_length};

/// Binary vectors as one flat row-major buffer of 0/1 bytes.
pub struct BitRows {
    pub flat: Vec<u8>,
    pub dims: usize,
}

impl BitRows {
    /// One slice per vector.
    pub fn rows(&self) -> Vec<&[u8]> {
        if self.dims == 0 {
            return Vec::new();
        }
        self.flat.chunks_exact(self.dims).collect()
    }
}

/// Reads `vectors` (a numpy array of uint8, int8, bool or any integer type, or nested lists)
/// of `embed_len` dimensions: 2-D for a batch (`batch`), 1-D for one vector.
///
/// Every value must be 0 or 1: a wider integer type is checked here, before narrowing, so that
/// 257 is never read as 1; uint8 and bool are checked by the library.
pub fn bit_rows(vectors: &Bound<'_, PyAny>, embed_len: usize, batch: bool) -> PyResult<BitRows> {
    let py = vectors.py();
    let numpy = py.import("numpy")?;
    let array = numpy
        .call_method1("asarray", (vectors,))
        .map_err(|e| invalid_input(format!("vectors: {e}")))?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    let size: usize = array.getattr("size")?.extract()?;
    let wanted = if batch { 2 } else { 1 };
    if batch && size == 0 {
        return Ok(BitRows {
            flat: Vec::new(),
            dims: embed_len,
        });
    }
    if ndim != wanted {
        return Err(invalid_input(format!(
            "expected a {wanted}-D array ({}), got {ndim}-D",
            if batch {
                "vectors × dimensions"
            } else {
                "one vector"
            }
        )));
    }
    let shape: Vec<usize> = array.getattr("shape")?.extract()?;
    let dims = shape[ndim - 1];
    if dims != embed_len {
        return Err(vector_length(embed_len, dims));
    }
    let dtype = array.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    match kind.as_str() {
        // bool and uint8: narrowing loses nothing; the library checks for 0 and 1.
        "b" => {}
        "u" if itemsize == 1 => {}
        "u" | "i" => {
            // Any value but 0 and 1 is refused with its position, before narrowing.
            let bad = array
                .call_method1("__ne__", (0,))?
                .call_method1("__and__", (array.call_method1("__ne__", (1,))?,))?;
            if bad.call_method0("any")?.extract::<bool>()? {
                let first: Vec<usize> = numpy
                    .call_method1("argwhere", (&bad,))?
                    .get_item(0)?
                    .call_method0("tolist")?
                    .extract()?;
                let value = array.get_item(PyTuple::new(py, &first)?)?;
                let at = first;
                let (index, position) = if batch { (at[0], at[1]) } else { (0, at[0]) };
                return Err(non_binary(index, position, value.str()?.to_string()));
            }
        }
        other => {
            return Err(invalid_input(format!(
                "vectors must hold integers or booleans (0 or 1), not {} (dtype kind {other:?})",
                dtype.str()?
            )))
        }
    }
    // `astype` copies only when the type changes; `tobytes` gives row-major bytes in one copy.
    let narrow = array.call_method(
        "astype",
        ("uint8",),
        Some(&[("copy", false)].into_py_dict(py)?),
    )?;
    let flat: Vec<u8> = narrow
        .call_method0("tobytes")?
        .cast_into::<PyBytes>()?
        .as_bytes()
        .to_vec();
    Ok(BitRows { flat, dims })
}

/// "cpu", "gpu" or "auto".
pub fn device_of(name: &str) -> PyResult<Device> {
    name.parse::<Device>().map_err(|e| to_py_err(e.into()))
}

/// A JSON text as a Python object (`json.loads`).
pub fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

/// A count or size given as a Python int: a negative one is a `ValueError` (the library's
/// `InvalidInputError`) naming `what`, not the `OverflowError` a conversion to an unsigned
/// type raises.
pub fn non_negative(what: &str, value: i64) -> PyResult<usize> {
    usize::try_from(value).map_err(|_| invalid_input(format!("{what} must be ≥ 0, not {value}")))
}

/// Raises each weakness of a loaded context through Python's `warnings` (a `UserWarning`), as
/// the CLI prints them.
pub fn warn_weaknesses(
    py: Python<'_>,
    config: &paillier_gpu::context::ContextConfig,
) -> PyResult<()> {
    let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
    for weakness in config.weaknesses() {
        let message = std::ffi::CString::new(weakness)
            .map_err(|_| invalid_input("a warning holds a NUL byte"))?;
        PyErr::warn(py, &category, &message, 2)?;
    }
    Ok(())
}

/// A Python int from a big integer.
pub fn py_int<'py>(py: Python<'py>, value: &BigUint) -> PyResult<Bound<'py, PyAny>> {
    py_int_le(py, &value.to_bytes_le())
}

/// A Python int from little-endian bytes.
pub fn py_int_le<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    py.get_type::<pyo3::types::PyInt>().call_method1(
        "from_bytes",
        (pyo3::types::PyBytes::new(py, bytes), "little"),
    )
}

/// A big integer from a Python int (non-negative).
pub fn big_of(value: &Bound<'_, PyAny>, what: &str) -> PyResult<BigUint> {
    let negative: bool = value.call_method1("__lt__", (0,))?.extract()?;
    if negative {
        return Err(invalid_input(format!("{what} must be ≥ 0")));
    }
    let bits: usize = value.call_method0("bit_length")?.extract()?;
    let bytes = value.call_method1("to_bytes", (bits.div_ceil(8).max(1), "little"))?;
    Ok(BigUint::from_bytes_le(bytes.extract::<&[u8]>()?))
}

/// Plain numbers from a numpy array, list or scalar: integers (any integer or bool dtype) or
/// floats; anything else is refused.
pub enum PlainValues {
    Floats(Vec<f64>),
    Integers(Vec<i64>),
}

impl PlainValues {
    pub fn numbers(&self) -> Numbers<'_> {
        match self {
            PlainValues::Floats(v) => Numbers::Floats(v),
            PlainValues::Integers(v) => Numbers::Integers(v),
        }
    }
}

pub fn plain_values(values: &Bound<'_, PyAny>) -> PyResult<(PlainValues, Vec<usize>)> {
    let numpy = values.py().import("numpy")?;
    let array = numpy
        .call_method1("asarray", (values,))
        .map_err(|e| invalid_input(format!("numbers: {e}")))?;
    let shape: Vec<usize> = array.getattr("shape")?.extract()?;
    let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
    let flat = |dtype: &str| {
        array
            .call_method1("astype", (dtype,))?
            .call_method0("ravel")
    };
    let values = match kind.as_str() {
        "i" | "b" => PlainValues::Integers(flat("int64")?.call_method0("tolist")?.extract()?),
        "u" => {
            let too_big: bool = array
                .call_method1("__gt__", (i64::MAX,))?
                .call_method0("any")?
                .extract()?;
            if too_big {
                return Err(invalid_input("unsigned values above the int64 range"));
            }
            PlainValues::Integers(flat("int64")?.call_method0("tolist")?.extract()?)
        }
        "f" => PlainValues::Floats(flat("float64")?.call_method0("tolist")?.extract()?),
        other => {
            return Err(invalid_input(format!(
                "numbers must be integers or floats, not dtype kind {other:?}"
            )))
        }
    };
    Ok((values, shape))
}

/// A numpy array of `shape` from decrypted numbers.
pub fn to_numpy<'py>(
    py: Python<'py>,
    values: Decrypted,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let numpy = py.import("numpy")?;
    let array = match values {
        Decrypted::Floats(v) => numpy.call_method1("array", (v, "float64"))?,
        Decrypted::Integers(v) => numpy.call_method1("array", (v, "int64"))?,
    };
    array.call_method1("reshape", (PyTuple::new(py, shape)?,))
}
