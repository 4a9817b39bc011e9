//! Reading a chunk's results back: waiting for the device, then copying out of mapped memory on
//! several threads, with the time each step took.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::buffers::{BufferPool, BufferRole};
use super::device_times::{PassTicks, TimedChunk};
use super::Runtime;
use crate::backend::gpu::failure;
use crate::error::Result;

/// Where one call's host time went, logged at debug level: enough to tell a device-bound call
/// (waiting) from a transfer-bound one (copying out of mapped memory) or a host-bound one.
#[derive(Default)]
pub(in crate::backend::gpu) struct CallTimes {
    pub(in crate::backend::gpu) chunks: usize,
    pub(in crate::backend::gpu) submit: Duration,
    pub(in crate::backend::gpu) wait: Duration,
    pub(in crate::backend::gpu) copy_out: Duration,
    /// Bytes written to the device (per-item inputs, parameters) and read back.
    pub(in crate::backend::gpu) bytes_up: u64,
    pub(in crate::backend::gpu) bytes_down: u64,
    /// Every timed pass's run on the device (empty where the device keeps no time).
    pub(in crate::backend::gpu) passes: Vec<PassTicks>,
    /// Chunks whose passes were timed.
    pub(in crate::backend::gpu) timed_chunks: usize,
}

/// A chunk submitted and not yet read.
pub(in crate::backend::gpu) struct InFlight {
    pub(in crate::backend::gpu) set: usize,
    /// Result bytes, at the start of the staging buffer.
    pub(in crate::backend::gpu) bytes: u64,
    /// Bytes mapped: the results, then the pass ticks where `timed` says so.
    pub(in crate::backend::gpu) mapped_bytes: u64,
    pub(in crate::backend::gpu) timed: Option<TimedChunk>,
    pub(in crate::backend::gpu) submission: wgpu::SubmissionIndex,
    pub(in crate::backend::gpu) receiver:
        std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
}

/// Words per task when results are copied out of mapped memory on several threads.
const COPY_TASK_WORDS: usize = 1 << 18;

impl Runtime {
    /// Waits for a chunk and copies its result words to the start of `results`; returns how
    /// many.
    pub(in crate::backend::gpu) fn collect(
        &self,
        pool: &mut BufferPool,
        done: InFlight,
        results: &mut [u32],
        times: &mut CallTimes,
    ) -> Result<usize> {
        let waiting = Instant::now();
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(done.submission),
                timeout: None,
            })
            .map_err(|e| failure(format!("waiting for the GPU: {e}")))?;
        done.receiver
            .recv()
            .map_err(|_| failure("the GPU never answered the readback"))?
            .map_err(|e| failure(format!("reading results back: {e}")))?;
        self.check_health()?;
        times.wait += waiting.elapsed();
        let copying = Instant::now();
        let staging = pool
            .buffers
            .get(&(done.set, BufferRole::Staging))
            .ok_or_else(|| failure("staging buffer missing"))?;
        let words = (done.bytes / 4) as usize;
        let results = results
            .get_mut(..words)
            .ok_or_else(|| failure("a chunk returned more words than its batch holds"))?;
        {
            let view = staging
                .slice(..done.mapped_bytes)
                .get_mapped_range()
                .map_err(|e| failure(format!("mapping results: {e}")))?;
            if let Some(timed) = &done.timed {
                times.passes.extend(timed.read(&view));
                times.timed_chunks += 1;
            }
            let source = &bytemuck::cast_slice::<u8, u32>(&view)[..words];
            // On several threads: reading mapped memory (and touching the fresh pages of the
            // result) is what bounds the aggregation, not the device.
            results
                .par_chunks_mut(COPY_TASK_WORDS)
                .zip(source.par_chunks(COPY_TASK_WORDS))
                .for_each(|(to, from)| to.copy_from_slice(from));
        }
        staging.unmap();
        times.copy_out += copying.elapsed();
        times.bytes_down += done.bytes;
        if super::countdown_fires(&self.corrupt_result_in) {
            log::warn!("fault injection: corrupting a GPU result");
            if let Some(word) = results.first_mut() {
                *word ^= 1;
            }
        }
        Ok(words)
    }
}
