//! Host work beside device work: a large encryption is cut into pieces, and while the device
//! encrypts one piece the host prepares the next (checking and packing its messages), so that the
//! host's share of a batch hides behind the device's instead of adding to it.
//!
//! Only a backend that does not run the batch on the CPU is given pieces: on the CPU the host
//! work and the encryption share the same cores, and one piece is as fast.

use std::ops::Range;

use super::Backend;
use crate::error::{Error, Result};

/// Pieces per pipelined batch: the first piece's preparation is not hidden, so more pieces hide
/// more of it; each must still fill the device (see [`pieces`]).
const PIECES: usize = 4;

/// Fewest items in a piece: below this a GPU call is dominated by its fixed costs.
const MIN_PIECE_ITEMS: usize = 8_192;

/// The pieces `count` items are encrypted in on `backend`: one (the whole batch) where the
/// backend runs it on the CPU or the batch is small; else [`PIECES`] of about equal size, cut
/// at multiples of `granule` items (the ciphertexts of one record stay in one piece).
pub(crate) fn pieces(backend: &dyn Backend, count: usize, granule: usize) -> Vec<Range<usize>> {
    let granule = granule.max(1);
    let piece = count.div_ceil(PIECES).div_ceil(granule) * granule;
    if piece < MIN_PIECE_ITEMS || backend.runs_on_cpu(piece) {
        return std::iter::once(0..count).collect();
    }
    (0..count)
        .step_by(piece)
        .map(|start| start..(start + piece).min(count))
        .collect()
}

/// Runs `run(prepare(piece), out_piece)` for every piece in order, preparing piece k + 1 on the
/// host while piece k runs. `out` holds `width` values per item of every piece. The first error
/// in piece order is returned (a piece's run before the next piece's preparation).
pub(crate) fn pipelined<P: Send, T: Send>(
    pieces: &[Range<usize>],
    out: &mut [T],
    width: usize,
    prepare: impl Fn(Range<usize>) -> Result<P> + Sync,
    run: impl Fn(P, &mut [T]) -> Result<()> + Sync,
) -> Result<()> {
    let total = pieces.last().map_or(0, |piece| piece.end);
    if out.len() != total * width {
        return Err(Error::InvalidParameter(format!(
            "an output of {} values for {total} items of {width}",
            out.len()
        )));
    }
    let mut next = match pieces.first() {
        Some(first) => Some(prepare(first.clone())?),
        None => return Ok(()),
    };
    let mut rest = out;
    for (k, piece) in pieces.iter().enumerate() {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(piece.len() * width);
        rest = tail;
        let current = next
            .take()
            .ok_or_else(|| Error::InvalidParameter("a piece was not prepared".into()))?;
        let (done, prepared) = rayon::join(
            || run(current, head),
            || pieces.get(k + 1).map(|p| prepare(p.clone())).transpose(),
        );
        done?;
        next = prepared?;
    }
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
        pipelined(&pieces, &mut out, 2, Ok, |range, out| {
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
        assert!(pipelined(&pieces, &mut [0u64; 5], 1, Ok, |_, _| Ok(())).is_err());
    }

    #[test]
    fn the_cpu_gets_one_piece() {
        let whole = pieces(&CpuBackend, 1 << 20, 1);
        assert_eq!((whole.len(), whole[0].clone()), (1, 0..1 << 20));
    }
}
