//! Host work beside device work: a large encryption is cut into pieces, and while the device
//! encrypts one piece the host prepares the next (checking and packing its messages), so that the
//! host's share of a batch hides behind the device's instead of adding to it.
//!
//! Only a backend that does not run the batch on the CPU is given pieces: on the CPU the host
//! work and the encryption share the same cores, and one piece is as fast.

use std::ops::Range;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Backend;
use crate::error::{Error, Result};

/// What pipelined batches have cost the host beyond the device, over the whole process (as the
/// GPU backend's totals are): the first piece's preparation, which nothing hides, and the time a
/// finished piece waited for the next one's preparation. Take one before and one after a piece
/// of work; [`since`](PipelineTotals::since) gives what that work cost (`bench --json` reports
/// it per operation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PipelineTotals {
    /// Pipelined batches (more than one piece each).
    pub batches: u64,
    /// Pieces run.
    pub pieces: u64,
    /// Seconds preparing first pieces (exposed: the device has nothing to do meanwhile).
    pub first_prepare_s: f64,
    /// Seconds the host waited for a later piece's preparation after the piece before it had
    /// run (preparation the device's time did not hide).
    pub stall_s: f64,
}

impl PipelineTotals {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &PipelineTotals) -> PipelineTotals {
        PipelineTotals {
            batches: self.batches - earlier.batches,
            pieces: self.pieces - earlier.pieces,
            first_prepare_s: self.first_prepare_s - earlier.first_prepare_s,
            stall_s: self.stall_s - earlier.stall_s,
        }
    }
}

static TOTALS: Mutex<PipelineTotals> = Mutex::new(PipelineTotals {
    batches: 0,
    pieces: 0,
    first_prepare_s: 0.0,
    stall_s: 0.0,
});

/// The process's [`PipelineTotals`] so far.
pub fn pipeline_totals() -> PipelineTotals {
    TOTALS.lock().map(|t| *t).unwrap_or_default()
}

fn record(pieces: usize, first_prepare: Duration, stall: Duration) {
    if let Ok(mut totals) = TOTALS.lock() {
        totals.batches += 1;
        totals.pieces += pieces as u64;
        totals.first_prepare_s += first_prepare.as_secs_f64();
        totals.stall_s += stall.as_secs_f64();
    }
}

/// Fewest items in a piece: below this a GPU call is dominated by its fixed costs.
const MIN_PIECE_ITEMS: usize = 8_192;

/// The first piece's share of a batch (at least [`MIN_PIECE_ITEMS`]). Its preparation is the
/// one the device does not hide, so it is small.
const FIRST_PIECE_SHARE: usize = 16;

/// Each later piece is this much larger than the one before (3/2). A piece is prepared while
/// the one before it runs, and the host's preparation takes about half the device's time per
/// item on an H100 (decoding's residues, encryption's packing and noise): growing by 3/2 keeps
/// it hidden, and a batch takes about six calls.
const GROWTH: (usize, usize) = (3, 2);

/// The pieces `count` items are run in on `backend`: one (the whole batch) where the backend
/// runs it on the CPU or the batch is under four of the smallest piece; else a small first
/// piece and then pieces growing by half each time, cut at multiples of `granule` items (the
/// ciphertexts of one record stay in one piece). A remainder smaller than the first piece joins
/// the last.
pub fn pieces(backend: &dyn Backend, count: usize, granule: usize) -> Vec<Range<usize>> {
    let cut = cut(count, granule);
    if backend.runs_on_cpu(cut[0].len()) {
        return std::iter::once(0..count).collect();
    }
    cut
}

/// The pieces of [`pieces`] for a backend that runs them on a device.
fn cut(count: usize, granule: usize) -> Vec<Range<usize>> {
    let granule = granule.max(1);
    let round = |items: usize| items.div_ceil(granule) * granule;
    let first = round((count / FIRST_PIECE_SHARE).max(MIN_PIECE_ITEMS));
    if count < 4 * MIN_PIECE_ITEMS {
        return std::iter::once(0..count).collect();
    }
    let mut pieces = Vec::new();
    let (mut start, mut size) = (0, first);
    while start < count {
        let mut end = (start + size).min(count);
        if count - end < first {
            end = count;
        }
        pieces.push(start..end);
        start = end;
        size = round(size * GROWTH.0 / GROWTH.1);
    }
    pieces
}

/// Runs `run(prepare(piece), out_piece)` for every piece in order, preparing piece k + 1 on the
/// host while piece k runs. `out` holds `width` values per item of every piece. The first error
/// in piece order is returned (a piece's run before the next piece's preparation), in the
/// callers' own error type. What the host did not hide is added to [`pipeline_totals`].
pub fn pipelined<P: Send, T: Send, E: From<Error> + Send>(
    pieces: &[Range<usize>],
    out: &mut [T],
    width: usize,
    prepare: impl Fn(Range<usize>) -> Result<P, E> + Sync,
    run: impl Fn(P, &mut [T]) -> Result<(), E> + Sync,
) -> Result<(), E> {
    let total = pieces.last().map_or(0, |piece| piece.end);
    if out.len() != total * width {
        return Err(Error::InvalidParameter(format!(
            "an output of {} values for {total} items of {width}",
            out.len()
        ))
        .into());
    }
    let started = Instant::now();
    let mut next = match pieces.first() {
        Some(first) => Some(prepare(first.clone())?),
        None => return Ok(()),
    };
    let first_prepare = started.elapsed();
    let mut stall = Duration::ZERO;
    let mut rest = out;
    for (k, piece) in pieces.iter().enumerate() {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(piece.len() * width);
        rest = tail;
        let current = next
            .take()
            .ok_or_else(|| Error::InvalidParameter("a piece was not prepared".into()))?;
        let ((done, ran), (ready, preparing)) = rayon::join(
            || {
                let start = Instant::now();
                (run(current, head), start.elapsed())
            },
            || {
                let start = Instant::now();
                let ready = pieces.get(k + 1).map(|p| prepare(p.clone())).transpose();
                (ready, start.elapsed())
            },
        );
        stall += preparing.saturating_sub(ran);
        done?;
        next = ready?;
    }
    record(pieces.len(), first_prepare, stall);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;

    #[test]
    fn every_item_lands_in_its_place_in_piece_order() {
        let pieces = [0..3, 3..7, 7..8];
        let mut out = vec![0u64; 16];
        let order = std::sync::Mutex::new(Vec::new());
        pipelined(&pieces, &mut out, 2, Ok::<_, Error>, |range, out| {
            order.lock().unwrap().push(range.start);
            for (i, item) in range.zip(out.chunks_mut(2)) {
                item.fill(i as u64);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(*order.lock().unwrap(), [0, 3, 7]);
        let expected: Vec<u64> = (0..8u64).flat_map(|i| [i, i]).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn the_first_error_in_piece_order_wins() {
        let pieces = [0..2, 2..4, 4..6];
        let mut out = vec![0u64; 6];
        let result = pipelined(
            &pieces,
            &mut out,
            1,
            |range| match range.start {
                4 => Err(Error::InvalidParameter("prepare 4".into())),
                _ => Ok(range),
            },
            |range, _| match range.start {
                2 => Err(Error::InvalidParameter("run 2".into())),
                _ => Ok(()),
            },
        );
        assert!(matches!(result, Err(Error::InvalidParameter(m)) if m == "run 2"));
        assert!(pipelined(&pieces, &mut [0u64; 5], 1, Ok::<_, Error>, |_, _| Ok(())).is_err());
    }

    #[test]
    fn pieces_start_small_grow_and_cover_the_batch() {
        for (count, granule) in [(32_768, 1), (131_072, 1), (131_075, 5), (1 << 20, 3)] {
            let cut = cut(count, granule);
            assert!(cut.len() > 1, "{count}");
            assert_eq!((cut[0].start, cut.last().unwrap().end), (0, count));
            assert!(cut[0].len() >= MIN_PIECE_ITEMS && cut[0].len() <= count / 4);
            for (a, b) in cut.iter().zip(&cut[1..]) {
                assert_eq!(a.end, b.start);
                assert_eq!(a.start % granule, 0);
                assert!(b.len() >= cut[0].len(), "{count}: {cut:?}");
            }
            // Growing: every piece but the last at least as large as the one before.
            for (a, b) in cut.iter().zip(&cut[1..cut.len() - 1]) {
                assert!(b.len() >= a.len(), "{count}: {cut:?}");
            }
        }
        assert_eq!(cut(32_767, 1).len(), 1);
    }

    #[test]
    fn preparation_the_device_did_not_hide_is_counted() {
        let before = pipeline_totals();
        let pieces = [0..1, 1..2, 2..3];
        let mut out = vec![0u8; 3];
        // Each preparation sleeps and each run returns at once: the first is exposed, and each
        // later one stalls the batch.
        let slow = Duration::from_millis(20);
        pipelined(
            &pieces,
            &mut out,
            1,
            |range| {
                std::thread::sleep(slow);
                Ok::<_, Error>(range)
            },
            |_, _| Ok(()),
        )
        .unwrap();
        // Other tests may run pipelines meanwhile: the totals only grow.
        let spent = pipeline_totals().since(&before);
        assert!(spent.batches >= 1 && spent.pieces >= 3, "{spent:?}");
        assert!(spent.first_prepare_s >= slow.as_secs_f64(), "{spent:?}");
        assert!(spent.stall_s > 0.0, "{spent:?}");
    }

    #[test]
    fn the_cpu_gets_one_piece() {
        let whole = pieces(&CpuBackend, 1 << 20, 1);
        assert_eq!((whole.len(), whole[0].clone()), (1, 0..1 << 20));
    }
}
