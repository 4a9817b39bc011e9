//! The GPU runtime: the adapter and its options, buffers, pipelines, the dispatch of a batch in
//! chunks, submission, readback, calibration and time. Every operation in `ops/` describes its
//! passes and hands them to [`dispatch`]; only calibration runs one (products, to time the
//! adapter).

pub(super) mod adapter;
pub(super) mod adapter_description;
pub(super) mod buffers;
pub(super) mod calibrate;
pub(super) mod device_times;
pub(super) mod dispatch;
pub(super) mod options;
pub(super) mod pipelines;
pub(super) mod readback;
pub(super) mod report;
pub(super) mod submit;
pub(super) mod totals;
