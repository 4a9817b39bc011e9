//! A fixed multiplicand converted once for many products (the aggregation's query).

use zeroize::ZeroizeOnDrop;

use super::montgomery::MontgomeryModulus;

/// A fixed multiplicand prepared for [`MontgomeryModulus::mul_prepared`]. Wiped on drop.
#[derive(Clone, ZeroizeOnDrop)]
pub struct PreparedMultiplier {
    /// `b·R64 mod m`.
    montgomery: Vec<u64>,
    /// `b·R52 mod m` in radix 2^52, for the IFMA engine.
    ifma: Option<Vec<u64>>,
}

impl std::fmt::Debug for PreparedMultiplier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedMultiplier(..)")
    }
}

impl MontgomeryModulus {
    /// Prepares `b < m` (plain form) as the fixed operand of many [`mul_prepared`](Self::mul_prepared)
    /// calls: the aggregation's query, converted once.
    pub fn prepare_multiplier(&self, b: &[u64]) -> PreparedMultiplier {
        let montgomery = self.to_montgomery(b).as_limbs().to_vec();
        let ifma = self.ifma().map(|engine| engine.enter(&montgomery));
        PreparedMultiplier { montgomery, ifma }
    }

    /// `out = x·b mod m` (plain form in and out, fully reduced) for `x < m` and a prepared `b`:
    /// one multiplication on the fastest engine.
    pub fn mul_prepared(&self, x: &[u64], b: &PreparedMultiplier, out: &mut [u64]) {
        match (self.ifma(), &b.ifma) {
            (Some(engine), Some(b52)) => engine.mul_plain(x, b52, out),
            // x·(b·R)·R⁻¹ = x·b.
            _ => self.mul_into(x, &b.montgomery, out),
        }
    }
}
