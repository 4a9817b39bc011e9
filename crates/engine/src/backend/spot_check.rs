//! Spot checks: a few random items of an accelerator's result recomputed on the CPU backend.
//!
//! A GPU that computes wrongly (a driver or compiler bug, a kernel bug on an untested adapter,
//! corrupted memory) must not return a wrong distance. Re-running `samples` random items per call
//! on the CPU catches a systematic fault at once and a sporadic one with probability
//! `samples / batch` per call; a mismatch is an [`Error::GpuFailure`], so `Device::Auto` retries
//! the whole call on the CPU.
//!
//! The check is off the critical path: [`run_checked`] picks the items before the call and the
//! CPU recomputes them on rayon's pool while the device works, so a call takes
//! `max(device, samples CPU items)` rather than their sum.

mod reference;

use rand::Rng;

use super::{LimbBatch, Output};
use crate::backend::ChunkCount;
use crate::error::{Error, Result};

/// The items to check: all of them when `samples >= len`, else `samples` random ones.
fn sample(len: usize, samples: usize) -> Vec<usize> {
    if samples >= len {
        return (0..len).collect();
    }
    let mut rng = rand::thread_rng();
    (0..samples).map(|_| rng.gen_range(0..len)).collect()
}

fn mismatch(what: &str, item: usize) -> Error {
    Error::GpuFailure(format!(
        "spot check: item {item} of a {what} call differs from the CPU's result"
    ))
}

fn check_len(what: &str, got: usize, expected: usize) -> Result<()> {
    if got != expected {
        return Err(Error::GpuFailure(format!(
            "spot check: a {what} call returned {got} items for {expected}"
        )));
    }
    Ok(())
}

/// A batched result whose items a spot check compares with one-item CPU results.
pub(crate) trait Checked: Send {
    /// How many items the result holds.
    fn items(&self) -> usize;
    /// Whether item `i` equals the one item of `expected`.
    fn item_is(&self, i: usize, expected: &Self) -> bool;
}

impl Checked for LimbBatch {
    fn items(&self) -> usize {
        self.len()
    }
    fn item_is(&self, i: usize, expected: &Self) -> bool {
        expected.len() == 1 && self.item(i) == expected.item(0)
    }
}

impl Checked for Output {
    fn items(&self) -> usize {
        match self {
            Output::Limbs(batch) => batch.items(),
            Output::Counts(counts) => counts.items(),
        }
    }

    fn item_is(&self, i: usize, expected: &Self) -> bool {
        match (self, expected) {
            (Output::Limbs(got), Output::Limbs(e)) => got.item_is(i, e),
            (Output::Counts(got), Output::Counts(e)) => got.item_is(i, e),
            _ => false,
        }
    }
}

impl Checked for Vec<ChunkCount> {
    fn items(&self) -> usize {
        self.len()
    }
    fn item_is(&self, i: usize, expected: &Self) -> bool {
        expected.len() == 1 && self.get(i) == expected.first()
    }
}

/// Runs `device` over a batch of `items` while the CPU computes `reference(i)` (item `i` alone)
/// for `samples` random items in parallel, then compares.
pub(crate) fn run_checked<T: Checked>(
    what: &str,
    samples: usize,
    items: usize,
    device: impl FnOnce() -> Result<T> + Send,
    reference: impl Fn(usize) -> Result<T> + Sync,
) -> Result<T> {
    if samples == 0 || items == 0 {
        return device();
    }
    let picks = sample(items, samples);
    let (out, expected) = rayon::join(device, || {
        picks
            .iter()
            .map(|&i| reference(i).map(|e| (i, e)))
            .collect::<Result<Vec<_>>>()
    });
    // The device's own error first: bad input fails there before any result exists.
    let out = out?;
    check_len(what, out.items(), items)?;
    for (i, e) in expected? {
        if !out.item_is(i, &e) {
            return Err(mismatch(what, i));
        }
    }
    Ok(out)
}

/// [`run_checked`] for a call that writes its result into `out`, `width` limbs per item.
pub(crate) fn run_checked_into(
    what: &str,
    samples: usize,
    width: usize,
    out: &mut [u64],
    device: impl FnOnce(&mut [u64]) -> Result<()> + Send,
    reference: impl Fn(usize) -> Result<LimbBatch> + Sync,
) -> Result<()> {
    let items = out.len() / width.max(1);
    if samples == 0 || items == 0 {
        return device(out);
    }
    let picks = sample(items, samples);
    let (done, expected) = rayon::join(
        || device(&mut *out),
        || {
            picks
                .iter()
                .map(|&i| reference(i).map(|e| (i, e)))
                .collect::<Result<Vec<_>>>()
        },
    );
    done?;
    for (i, e) in expected? {
        if e.len() != 1 || out[i * width..(i + 1) * width] != *e.item(0) {
            return Err(mismatch(what, i));
        }
    }
    Ok(())
}
