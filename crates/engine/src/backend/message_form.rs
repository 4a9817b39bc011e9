//! How an encryption job's messages are given: as their values, or, for plaintexts made of 2-bit
//! slots that each hold 0 or 1 (the Hamming layout), as the slots' low bits only.
//!
//! The slot-bits form is 8 times smaller than a value of n²'s width at the SDK's layout (512
//! dimensions: 64 bytes instead of 512 at key_len 1024), so a GPU uploads 8 times fewer message
//! bytes and the host writes 8 times fewer while packing; the device spreads the bits into their
//! slots where it reads them. A backend that wants values spreads them once per job
//! (`spread_messages`).

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::LimbBatch;
use crate::error::{Error, Result};

/// The form of an encryption job's messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageForm {
    /// Each item is the message's value, in n²'s width.
    #[default]
    Value,
    /// Each item holds slot bits: bit `j` of the item is bit `2j` of the message, whose odd
    /// bits are all zero. The items may be narrower than n² (at most half its limbs).
    SlotBits,
}

/// An encryption's messages as the scheme layers hand them to a job: limbs in a form, and a
/// public bound on the messages' bit length (the work of the lookup scheme's `g^m`).
#[derive(Clone, Copy, Debug)]
pub struct Messages<'a> {
    /// One item per message.
    pub limbs: &'a LimbBatch,
    /// How `limbs` hold the messages.
    pub form: MessageForm,
    /// The bound on every message's bit length.
    pub bits: usize,
}

impl<'a> Messages<'a> {
    /// Messages given as their values in n²'s width.
    pub fn values(limbs: &'a LimbBatch, bits: usize) -> Self {
        Self {
            limbs,
            form: MessageForm::Value,
            bits,
        }
    }
}

/// `x`'s 32 bits moved to the even bit positions of the result (bit `j` to bit `2j`).
pub fn spread_bits(x: u32) -> u64 {
    let mut v = u64::from(x);
    v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
    v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    v = (v | (v << 2)) & 0x3333_3333_3333_3333;
    (v | (v << 1)) & 0x5555_5555_5555_5555
}

/// One item's slot bits spread into `out` (the message's value, zero above the bits).
pub fn spread_item(bits: &[u64], out: &mut [u64]) {
    out.fill(0);
    for (limb, pair) in bits.iter().zip(out.chunks_mut(2)) {
        pair[0] = spread_bits(*limb as u32);
        if let Some(high) = pair.get_mut(1) {
            *high = spread_bits((*limb >> 32) as u32);
        }
    }
}

/// The values of a batch of slot-bits messages, `width` limbs each (n²'s), on every core; wiped
/// on drop, since messages are secret.
pub(crate) fn spread_messages(bits: &LimbBatch, width: usize) -> Result<Zeroizing<LimbBatch>> {
    if bits.limbs_per_item() * 2 > width {
        return Err(Error::InvalidParameter(format!(
            "slot bits of {} limbs do not fit messages of {width}",
            bits.limbs_per_item()
        )));
    }
    let mut flat = Zeroizing::new(vec![0u64; bits.len() * width]);
    flat.par_chunks_mut(width.max(1))
        .zip(bits.as_flat().par_chunks(bits.limbs_per_item().max(1)))
        .for_each(|(out, item)| spread_item(item, out));
    Ok(Zeroizing::new(LimbBatch::from_flat(
        width,
        std::mem::take(&mut *flat),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Spreading puts bit j at bit 2j and nothing at odd bits: the naive definition.
        #[test]
        fn spreading_moves_bit_j_to_bit_2j(bits in proptest::collection::vec(any::<u64>(), 1..5)) {
            let mut out = vec![u64::MAX; 2 * bits.len() + 1];
            spread_item(&bits, &mut out);
            for position in 0..64 * out.len() {
                let expected = position % 2 == 0
                    && position / 2 < 64 * bits.len()
                    && (bits[position / 128] >> ((position / 2) % 64)) & 1 == 1;
                prop_assert_eq!((out[position / 64] >> (position % 64)) & 1 == 1, expected);
            }
        }
    }

    #[test]
    fn a_batch_spreads_item_by_item_and_refuses_too_wide_bits() {
        let bits = LimbBatch::from_flat(1, vec![0b101, u64::MAX]).unwrap();
        let values = spread_messages(&bits, 4).unwrap();
        assert_eq!(values.item(0), [0b10001, 0, 0, 0]);
        assert_eq!(
            values.item(1),
            [0x5555_5555_5555_5555; 2]
                .iter()
                .chain(&[0, 0])
                .copied()
                .collect::<Vec<_>>()
        );
        assert!(spread_messages(&LimbBatch::from_flat(3, vec![0; 3]).unwrap(), 4).is_err());
    }
}
