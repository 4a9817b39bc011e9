//! The device's own time, from timestamp queries where the adapter has them
//! (`wgpu::Features::TIMESTAMP_QUERY`; [`GpuOptions::device_timing`](crate::backend::gpu::GpuOptions)).
//!
//! The host sees how long it waited for a chunk, which mixes the kernels with transfers, queue
//! gaps and the other chunks in flight. Timestamps say what the kernels themselves took: each
//! pass of a chunk (every dispatch of one kernel, its steps included) writes a tick before its
//! first dispatch and after its last. The ticks are resolved on the device and copied behind the
//! chunk's results in its staging buffer, so they come back with the readback that happens
//! anyway: no extra mapping, no extra wait.

use super::Runtime;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::GpuBackend;

/// Bytes per resolved timestamp.
const TICK_BYTES: u64 = wgpu::QUERY_SIZE as u64;

/// One in-flight set's query set and the buffer its ticks are resolved into.
pub(in crate::backend::gpu) struct PassTimer {
    query_set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    /// Passes it can time (two queries each).
    passes: usize,
}

/// The passes of a submitted chunk that were timed, in order, and where their ticks (a begin
/// and an end per pass) sit in its staging buffer.
pub(in crate::backend::gpu) struct TimedChunk {
    pub(in crate::backend::gpu) offset: u64,
    pub(in crate::backend::gpu) kernels: Vec<Kernel>,
}

/// One pass's run on the device, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::backend::gpu) struct PassTicks {
    pub(in crate::backend::gpu) kernel: Kernel,
    pub(in crate::backend::gpu) begin: u64,
    pub(in crate::backend::gpu) end: u64,
}

impl TimedChunk {
    /// Bytes its ticks take in the staging buffer.
    pub(in crate::backend::gpu) fn bytes(passes: usize) -> u64 {
        2 * passes as u64 * TICK_BYTES
    }

    /// The ticks of each pass, read from the chunk's mapped staging bytes. A pass whose end
    /// precedes its begin (a driver that reset its counter) is left out rather than counted as
    /// a huge time.
    pub(in crate::backend::gpu) fn read(&self, staging: &[u8]) -> Vec<PassTicks> {
        let tick = |index: usize| {
            let at = self.offset as usize + index * TICK_BYTES as usize;
            staging
                .get(at..at + TICK_BYTES as usize)
                .and_then(|bytes| bytes.try_into().ok())
                .map(u64::from_le_bytes)
        };
        self.kernels
            .iter()
            .enumerate()
            .filter_map(|(p, &kernel)| {
                let (begin, end) = (tick(2 * p)?, tick(2 * p + 1)?);
                (end >= begin).then_some(PassTicks { kernel, begin, end })
            })
            .collect()
    }
}

/// Ticks during which at least one of `passes` ran: the union of their intervals, so chunks that
/// overlap on the device are not counted twice.
pub(in crate::backend::gpu) fn busy_ticks(passes: &[PassTicks]) -> u64 {
    let mut spans: Vec<(u64, u64)> = passes.iter().map(|p| (p.begin, p.end)).collect();
    spans.sort_unstable();
    let mut busy = 0;
    let mut open: Option<(u64, u64)> = None;
    for (begin, end) in spans {
        open = match open {
            Some((from, to)) if begin <= to => Some((from, to.max(end))),
            Some((from, to)) => {
                busy += to - from;
                Some((begin, end))
            }
            None => Some((begin, end)),
        };
    }
    busy + open.map_or(0, |(from, to)| to - from)
}

/// Ticks from the first pass's begin to the last pass's end (0 without passes).
pub(in crate::backend::gpu) fn span_ticks(passes: &[PassTicks]) -> u64 {
    let begin = passes.iter().map(|p| p.begin).min();
    let end = passes.iter().map(|p| p.end).max();
    begin
        .zip(end)
        .map_or(0, |(begin, end)| end.saturating_sub(begin))
}

impl GpuBackend {
    /// Whether this backend times its kernels on the device: the adapter has timestamp queries
    /// and [`GpuOptions::device_timing`](crate::backend::gpu::GpuOptions::device_timing) is not off. The times
    /// go to [`totals`](Self::totals).
    pub fn device_timing(&self) -> bool {
        self.runtime.device_timing()
    }
}

impl Runtime {
    /// Whether every chunk's passes are timed on the device.
    pub(super) fn device_timing(&self) -> bool {
        self.device_timing
    }

    /// Nanoseconds per tick of the device's timestamps.
    pub(in crate::backend::gpu) fn nanoseconds_per_tick(&self) -> f64 {
        f64::from(self.queue.get_timestamp_period())
    }
}

impl PassTimer {
    /// A timer for `passes` passes on `runtime`'s device.
    pub(in crate::backend::gpu) fn new(runtime: &Runtime, passes: usize) -> Self {
        let queries = (2 * passes) as u32;
        PassTimer {
            query_set: runtime.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("paillier-gpu pass times"),
                ty: wgpu::QueryType::Timestamp,
                count: queries,
            }),
            resolve: runtime.raw_buffer(
                "paillier-gpu pass times",
                TimedChunk::bytes(passes),
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            passes,
        }
    }

    /// How many passes it can time.
    pub(in crate::backend::gpu) fn passes(&self) -> usize {
        self.passes
    }

    /// The writes of one dispatch of pass `pass`: a begin tick on its first dispatch, an end
    /// tick on its last, none between.
    pub(in crate::backend::gpu) fn writes(
        &self,
        pass: usize,
        first: bool,
        last: bool,
    ) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let index = 2 * pass as u32;
        (first || last).then_some(wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: first.then_some(index),
            end_of_pass_write_index: last.then_some(index + 1),
        })
    }

    /// Resolves the ticks of `passes` passes and copies them to `offset` of `staging`.
    pub(in crate::backend::gpu) fn copy_out(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        passes: usize,
        staging: &wgpu::Buffer,
        offset: u64,
    ) {
        encoder.resolve_query_set(&self.query_set, 0..(2 * passes) as u32, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, staging, offset, TimedChunk::bytes(passes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(begin: u64, end: u64) -> PassTicks {
        PassTicks {
            kernel: Kernel::ModMul,
            begin,
            end,
        }
    }

    #[test]
    fn busy_time_counts_overlapping_passes_once() {
        assert_eq!(busy_ticks(&[]), 0);
        assert_eq!(busy_ticks(&[pass(10, 20)]), 10);
        // Disjoint, touching, overlapping and nested, given out of order.
        let passes = [
            pass(50, 60),
            pass(10, 20),
            pass(20, 30),
            pass(25, 40),
            pass(52, 55),
        ];
        assert_eq!(busy_ticks(&passes), 30 + 10);
    }

    #[test]
    fn ticks_are_read_behind_the_results_and_backward_ones_dropped() {
        let timed = TimedChunk {
            offset: 8,
            kernels: vec![Kernel::TwoDigitTable, Kernel::TwoDigitExp],
        };
        let mut staging = vec![0xAAu8; 8];
        for tick in [100u64, 250, 900, 400] {
            staging.extend_from_slice(&tick.to_le_bytes());
        }
        assert_eq!(
            timed.read(&staging),
            vec![PassTicks {
                kernel: Kernel::TwoDigitTable,
                begin: 100,
                end: 250
            }]
        );
        // Short staging: nothing read, nothing invented.
        assert!(timed.read(&staging[..20]).is_empty());
    }
}
