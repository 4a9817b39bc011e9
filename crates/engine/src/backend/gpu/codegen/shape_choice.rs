//! Which kernel shapes an opened adapter runs: its limb path and exchange, the lanes per number,
//! how long one dispatch may loop, and where the two-digit kernels apply. Chosen once when the
//! device opens (`runtime/adapter.rs`); every operation asks it for its shapes.

use super::shader::Shape;
use super::variants::{Exchange, LimbPath};
use super::words::{gpu_words, ReadWords, Words};
use crate::backend::LimbBatch;
use crate::bigint::MontgomeryModulus;
use crate::error::Result;

/// Limbs per invocation the default lane count aims at: 8 limbs of each of four numbers keep a
/// product's working set in registers with room to spare.
const TARGET_LIMBS_PER_LANE: usize = 8;

/// The kernel shapes of one device.
#[derive(Debug)]
pub(in crate::backend::gpu) struct ShapeChoice {
    pub(in crate::backend::gpu) limb_path: LimbPath,
    pub(in crate::backend::gpu) exchange: Exchange,
    /// Most lanes per number (at least 1).
    lane_cap: usize,
    /// Whether the lane count was set by an option (then it is used as is, within the limits).
    lanes_forced: bool,
    /// Loop back-edges one invocation may run per dispatch.
    pub(in crate::backend::gpu) loop_budget: usize,
    /// Arithmetic modulo squares on two digits modulo their roots (decoding, encryption) where
    /// the shape allows.
    pub(in crate::backend::gpu) two_digit: bool,
    /// Lanes per number of the digit kernels (None: the usual shape of the prime's width).
    pub(in crate::backend::gpu) two_digit_lanes: Option<usize>,
    /// Invocations below which a call's digit kernels double their lanes (0: never).
    pub(in crate::backend::gpu) two_digit_fill: usize,
}

impl ShapeChoice {
    /// The shapes of a device on `limb_path` and `exchange` whose groups may hold `lane_cap`
    /// lanes, with `forced_lanes` where an option sets them (capped, at least 1), and the
    /// two-digit kernels on at their usual shape.
    pub(in crate::backend::gpu) fn new(
        limb_path: LimbPath,
        exchange: Exchange,
        lane_cap: usize,
        forced_lanes: Option<usize>,
        loop_budget: usize,
    ) -> Self {
        ShapeChoice {
            limb_path,
            exchange,
            lane_cap: lane_cap.min(forced_lanes.unwrap_or(usize::MAX)).max(1),
            lanes_forced: forced_lanes.is_some(),
            loop_budget,
            two_digit: true,
            two_digit_lanes: None,
            two_digit_fill: 0,
        }
    }

    /// The kernel shape for numbers of `limbs` GPU limbs: T lanes, a power of two dividing the
    /// width, at least 2 limbs per lane, at most the cap (subgroup size, workgroup size, option),
    /// aiming at [`TARGET_LIMBS_PER_LANE`] unless lanes were forced.
    pub(in crate::backend::gpu) fn shape(&self, limbs: usize) -> Shape {
        let wanted = if self.lanes_forced {
            self.lane_cap
        } else {
            limbs / TARGET_LIMBS_PER_LANE
        };
        self.shape_with_lanes(limbs, wanted)
    }

    /// The kernel shape for numbers of `limbs` GPU limbs with `wanted` lanes or the most below
    /// it that the width and the cap allow.
    pub(in crate::backend::gpu) fn shape_with_lanes(&self, limbs: usize, wanted: usize) -> Shape {
        let wanted = wanted.clamp(1, self.lane_cap);
        let mut lanes = 1;
        while lanes * 2 <= wanted && limbs.is_multiple_of(lanes * 2) && limbs / (lanes * 2) >= 2 {
            lanes *= 2;
        }
        Shape {
            limbs,
            lanes,
            exchange: self.exchange,
            path: self.limb_path,
        }
    }

    /// GPU limbs of numbers below `modulus`.
    pub(in crate::backend::gpu) fn gpu_limbs(&self, modulus: &MontgomeryModulus) -> usize {
        modulus.len() * self.limb_path.per_u64()
    }

    /// A batch's words for an upload: the limbs themselves on the 32-bit path (no copy).
    pub(in crate::backend::gpu) fn words_of<'a>(&self, batch: &'a LimbBatch) -> Words<'a> {
        gpu_words(batch.as_flat(), self.limb_path)
    }

    /// Read-back words as a batch of `limbs_per_item` limbs per item.
    pub(in crate::backend::gpu) fn batch_of(
        &self,
        words: ReadWords,
        limbs_per_item: usize,
    ) -> Result<LimbBatch> {
        LimbBatch::from_flat(limbs_per_item, words.into_limbs(self.limb_path))
    }

    /// -m⁻¹ mod 2^(limb bits).
    pub(in crate::backend::gpu) fn m0_inv(&self, modulus: &MontgomeryModulus) -> u32 {
        match self.limb_path {
            LimbPath::Bits32 => modulus.m0_inv() as u32,
            LimbPath::Bits16 => (modulus.m0_inv() & 0xffff) as u32,
        }
    }
}
