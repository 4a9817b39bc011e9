//! Fixed-base exponentiation from a table of precomputed powers.

use zeroize::Zeroize;

use super::ct;
use super::exponent::bits_at;
use super::form::Montgomery;
use super::montgomery::MontgomeryModulus;
use super::pow::{Arithmetic, Portable};
use super::two_digit::ifma::PublicTwoDigitIfma;
use super::two_digit::TwoDigit;

mod lanes;

/// Powers of one base `g`: row `i` holds `g^(k · 2^(w·i))` for `k` in `0..2^w`, in Montgomery
/// form, so `g^e` for an exponent of up to `rows · w` bits is one multiplication per row.
///
/// Entries are selected with a constant-time scan of the row, so the memory access pattern does
/// not reveal the exponent (it may be a plaintext or secret noise).
///
/// ```
/// use num_bigint::BigUint;
/// use paillier_gpu_engine::bigint::{FixedBaseTable, MontgomeryModulus};
///
/// let m = MontgomeryModulus::new(&BigUint::from(1_000_003u32)).unwrap();
/// let g = m.to_montgomery(&m.limbs_of(&BigUint::from(7u32)).unwrap());
/// let table = FixedBaseTable::new(&m, &g, 20, 4);
/// let r = m.from_montgomery(&table.pow(&m, &[1000], 20));
/// assert_eq!(m.biguint_of(&r), BigUint::from(7u32).modpow(&BigUint::from(1000u32), &m.modulus()));
/// ```
#[derive(Clone)]
pub struct FixedBaseTable {
    /// Unique per constructed table, so a backend can keep it resident and recognise it.
    id: u64,
    window_bits: usize,
    rows: usize,
    limbs: usize,
    /// rows × 2^window_bits entries of `limbs` limbs, flat.
    entries: Vec<u64>,
    /// The same entries in the IFMA engine's form, where the modulus runs on it.
    entries52: Option<(usize, Vec<u64>)>,
    /// The same entries in digits, for an owner who knows the square root of the modulus
    /// ([`run_on_root`](Self::run_on_root)).
    two_digit: Option<(TwoDigit, Vec<u64>)>,
    /// The same entries in digits on the IFMA engine, for a public square modulus
    /// ([`run_on_public_root`](Self::run_on_public_root)).
    public_two_digit: Option<(PublicTwoDigitIfma, Vec<u64>)>,
    /// The same entries in the digits of the multi-buffer engine, for blocks of exponents
    /// ([`run_in_lanes`](Self::run_in_lanes)).
    lanes: Option<lanes::TableLanes>,
}

impl std::fmt::Debug for FixedBaseTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBaseTable")
            .field("window_bits", &self.window_bits)
            .field("rows", &self.rows)
            .field("limbs", &self.limbs)
            .finish_non_exhaustive()
    }
}

impl Drop for FixedBaseTable {
    fn drop(&mut self) {
        self.entries.zeroize();
        if let Some((_, entries)) = &mut self.entries52 {
            entries.zeroize();
        }
        if let Some((_, entries)) = &mut self.two_digit {
            entries.zeroize();
        }
        if let Some((_, entries)) = &mut self.public_two_digit {
            entries.zeroize();
        }
        if let Some(lanes) = &mut self.lanes {
            lanes.entries_mut().zeroize();
        }
    }
}

impl FixedBaseTable {
    /// Builds the table for `base` (Montgomery form) covering exponents of `exponent_bits` bits,
    /// with windows of `window_bits` bits (1 to 8).
    pub fn new(
        modulus: &MontgomeryModulus,
        base: &Montgomery,
        exponent_bits: usize,
        window_bits: usize,
    ) -> Self {
        let window_bits = window_bits.clamp(1, 8);
        let rows = exponent_bits.div_ceil(window_bits).max(1);
        let s = modulus.len();
        let per_row = 1usize << window_bits;
        let mut entries = vec![0u64; rows * per_row * s];
        let mut row_base = base.as_limbs().to_vec();
        for row in 0..rows {
            let start = row * per_row * s;
            let row_entries = &mut entries[start..start + per_row * s];
            row_entries[..s].copy_from_slice(modulus.one());
            for k in 1..per_row {
                let (done, rest) = row_entries.split_at_mut(k * s);
                modulus.mul_into(&done[(k - 1) * s..k * s], &row_base, &mut rest[..s]);
            }
            // Next row's base: g^(2^(w·(row+1))) = (last entry) · (row base).
            let last = &row_entries[(per_row - 1) * s..per_row * s];
            row_base = modulus.mul_raw(last, &row_base);
        }
        row_base.zeroize();
        let entries52 = modulus.ifma().map(|engine| {
            let converted: Vec<u64> = entries
                .chunks_exact(s)
                .flat_map(|e| engine.enter(e))
                .collect();
            (engine.limbs(), converted)
        });
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Self {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            window_bits,
            rows,
            limbs: s,
            entries,
            entries52,
            two_digit: None,
            public_two_digit: None,
            lanes: None,
        }
    }

    /// For a table modulo N² whose owner knows N (the key's owner, modulo p² and q²): runs its
    /// exponentiations on two digits modulo N (`two_digit.rs`: 5·len² limb products per step
    /// instead of 8·len², where len is N's limbs), unless the IFMA engine runs `modulus` (it is
    /// faster than two digits on the portable engine, and the table goes to it first). Returns
    /// whether it will. The results are the same; so are [`entries`](Self::entries),
    /// which the GPU reads. The table holds a second copy of its entries for this, as large as
    /// the first.
    pub fn run_on_root(&mut self, modulus: &MontgomeryModulus, root: &MontgomeryModulus) -> bool {
        if modulus.ifma().is_some() || modulus.len() != self.limbs {
            return false;
        }
        let Some(engine) = TwoDigit::new(modulus, root) else {
            return false;
        };
        // The digits are secret where N is a prime: every temporary copy is wiped, and the
        // table is allocated once, so no reallocation leaves a copy behind.
        let mut entries = Vec::with_capacity(self.entries.len());
        for entry in self.entries.chunks_exact(self.limbs) {
            entries.extend_from_slice(&zeroize::Zeroizing::new(engine.enter(modulus, entry)));
        }
        self.two_digit = Some((engine, entries));
        true
    }

    /// For a table modulo a PUBLIC square N² (n² of a public key) on a CPU with AVX-512 IFMA:
    /// runs its exponentiations on two digits modulo N on that engine (`two_digit/ifma.rs`:
    /// 1.6× fewer multiply-adds a product than the IFMA engine modulo N²). Returns whether it
    /// will. The exponents may stay secret (the products and the way out are constant-time);
    /// the modulus may not (its square root is found in variable time). The results and
    /// [`entries`](Self::entries) are unchanged; the IFMA-form copy of the entries is replaced.
    pub fn run_on_public_root(&mut self, modulus: &MontgomeryModulus) -> bool {
        if modulus.len() != self.limbs {
            return false;
        }
        let Some(engine) = PublicTwoDigitIfma::for_public_square_vartime(modulus) else {
            return false;
        };
        // Each row's base enters the digits (num-bigint, slow but public), and the row's other
        // entries are made from it in digits: one product each, as the row was made.
        let width = engine.width();
        let per_row = 1usize << self.window_bits;
        let mut entries = vec![0u64; self.rows * per_row * width];
        for (row, row_entries) in entries.chunks_exact_mut(per_row * width).enumerate() {
            row_entries[..width].copy_from_slice(engine.one());
            let base = engine.enter_montgomery_vartime(modulus, self.entry(row, 1));
            row_entries[width..2 * width].copy_from_slice(&base);
            for k in 2..per_row {
                let (done, rest) = row_entries.split_at_mut(k * width);
                engine.mul(&done[(k - 1) * width..k * width], &base, &mut rest[..width]);
            }
        }
        self.public_two_digit = Some((engine, entries));
        self.entries52 = None;
        true
    }

    /// The entries as two digits modulo `root`, for a table modulo `modulus` = root²: per entry
    /// `[x0 | x1]` (`root.len()` limbs each) with `X·R ≡ x0 + root·x1`, the layout of
    /// [`TwoDigit`]. `None` where that arithmetic does not apply ([`TwoDigit::new`]). What a GPU
    /// uploads to run the table's exponentiations on two digits. Secret where the root is a
    /// prime factor of the key: the copy is wiped when dropped.
    pub fn digit_entries(
        &self,
        modulus: &MontgomeryModulus,
        root: &MontgomeryModulus,
    ) -> Option<zeroize::Zeroizing<Vec<u64>>> {
        if modulus.len() != self.limbs {
            return None;
        }
        if let Some((engine, entries)) = &self.two_digit {
            if engine.has_root(root) {
                return Some(zeroize::Zeroizing::new(entries.clone()));
            }
        }
        let engine = TwoDigit::new(modulus, root)?;
        let mut digits = zeroize::Zeroizing::new(vec![0u64; self.entries.len()]);
        use rayon::prelude::*;
        digits
            .par_chunks_mut(self.limbs)
            .zip(self.entries.par_chunks(self.limbs))
            .for_each(|(out, entry)| {
                out.copy_from_slice(&zeroize::Zeroizing::new(engine.enter(modulus, entry)))
            });
        Some(digits)
    }

    /// An id unique to this table (clones share it: same contents).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Window width in bits.
    pub fn window_bits(&self) -> usize {
        self.window_bits
    }

    /// Number of rows (windows).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Largest exponent bit length the table covers.
    pub fn exponent_bits(&self) -> usize {
        self.rows * self.window_bits
    }

    /// Limbs per entry.
    pub fn limbs(&self) -> usize {
        self.limbs
    }

    /// Entry `k` of row `row`, in Montgomery form.
    pub fn entry(&self, row: usize, k: usize) -> &[u64] {
        let start = (row * (1 << self.window_bits) + k) * self.limbs;
        &self.entries[start..start + self.limbs]
    }

    /// Entry `k` of row `row` as a value: `g^(k · 2^(w·row))`.
    pub fn power(&self, row: usize, k: usize) -> Montgomery {
        Montgomery::from_raw(self.entry(row, k).to_vec())
    }

    /// All entries, flat: row-major, `2^window_bits` entries per row.
    pub fn entries(&self) -> &[u64] {
        &self.entries
    }

    /// `g^exponent` in Montgomery form, reading the exponent's low `exponent_bits` bits (a public
    /// bound; clamped to what the table covers). Higher bits are ignored: callers check the range.
    pub fn pow(
        &self,
        modulus: &MontgomeryModulus,
        exponent: &[u64],
        exponent_bits: usize,
    ) -> Montgomery {
        // No limbs is the exponent 0 (as `BigUint::to_u64_digits` gives it).
        let exponent = if exponent.is_empty() {
            &[0][..]
        } else {
            exponent
        };
        Montgomery::from_raw(self.powers_in_montgomery_form(modulus, &[exponent], exponent_bits))
    }

    /// `g^e mod m` in normal form for each exponent of a flat block (`exponent_limbs` limbs each,
    /// read as [`pow`](Self::pow) reads them), written to `out` (`modulus.len()` limbs each, one
    /// value per exponent; values of `out` past the last exponent are left alone).
    ///
    /// The block is worked through row by row: every exponent takes its entry from a row while
    /// that row is in the L1 cache, so the table (megabytes for a 2048-bit modulus, more than a
    /// core's L2) streams from memory once per block rather than once per exponent. The CPU
    /// backend passes blocks of 8.
    pub fn pow_block_into(
        &self,
        modulus: &MontgomeryModulus,
        exponents: &[u64],
        exponent_limbs: usize,
        exponent_bits: usize,
        out: &mut [u64],
    ) {
        let s = modulus.len();
        let exponents: Vec<&[u64]> = exponents.chunks(exponent_limbs.max(1)).collect();
        if self.pow_block_in_lanes(&exponents, exponent_bits, out) {
            return;
        }
        let mut powers = self.powers_in_montgomery_form(modulus, &exponents, exponent_bits);
        for (power, o) in powers.chunks_exact(s).zip(out.chunks_exact_mut(s)) {
            // The powers may be secret noise: every copy is wiped.
            let normal = zeroize::Zeroizing::new(
                modulus.from_montgomery(&Montgomery::from_raw(power.to_vec())),
            );
            o.copy_from_slice(&normal);
        }
        powers.zeroize();
    }

    /// The powers of a block, flat, in the radix-2^64 Montgomery form, on the modulus's engine.
    fn powers_in_montgomery_form(
        &self,
        modulus: &MontgomeryModulus,
        exponents: &[&[u64]],
        exponent_bits: usize,
    ) -> Vec<u64> {
        if let Some((engine, entries)) = &self.public_two_digit {
            return self.powers_on_digits(engine, entries, exponents, exponent_bits, |acc| {
                engine.leave(modulus, acc)
            });
        }
        match (modulus.ifma(), &self.entries52, &self.two_digit) {
            (Some(engine), Some((width, entries)), _) if *width == engine.limbs() => {
                let mut accs = self.pow_block_with(engine, entries, exponents, exponent_bits);
                let mut powers = Vec::with_capacity(exponents.len() * modulus.len());
                for acc in accs.chunks_exact(engine.limbs()) {
                    let power = zeroize::Zeroizing::new(engine.leave(acc));
                    powers.extend_from_slice(&power);
                }
                accs.zeroize();
                powers
            }
            (None, _, Some((engine, entries))) => {
                self.powers_on_digits(engine, entries, exponents, exponent_bits, |acc| {
                    engine.leave(modulus, acc)
                })
            }
            _ => self.pow_block_with(&Portable(modulus), &self.entries, exponents, exponent_bits),
        }
    }

    /// The powers of a block on two digits (either engine), each taken out of digits into N²'s
    /// Montgomery form by `leave`.
    fn powers_on_digits<A: Arithmetic>(
        &self,
        engine: &A,
        entries: &[u64],
        exponents: &[&[u64]],
        exponent_bits: usize,
        leave: impl Fn(&[u64]) -> Montgomery,
    ) -> Vec<u64> {
        let mut accs = self.pow_block_with(engine, entries, exponents, exponent_bits);
        // Allocated whole: no reallocation leaves a copy of the (secret) powers behind.
        let mut powers = Vec::with_capacity(exponents.len() * self.limbs);
        for acc in accs.chunks_exact(engine.width()) {
            powers.extend_from_slice(leave(acc).as_limbs());
        }
        accs.zeroize();
        powers
    }

    /// The accumulators of a block, flat, in the engine's form.
    fn pow_block_with<A: Arithmetic>(
        &self,
        arith: &A,
        entries: &[u64],
        exponents: &[&[u64]],
        exponent_bits: usize,
    ) -> Vec<u64> {
        let s = arith.width();
        let per_row = 1usize << self.window_bits;
        let mut accs: Vec<u64> = exponents
            .iter()
            .flat_map(|_| arith.one().iter().copied())
            .collect();
        let (mut tmp, mut tmp_y) = (vec![0u64; s], vec![0u64; s]);
        let (mut selected, mut selected_y) = (vec![0u64; s], vec![0u64; s]);
        let rows_used = exponent_bits.div_ceil(self.window_bits).min(self.rows);
        let digit = |exponent: &[u64], row: usize| {
            bits_at(
                exponent,
                row * self.window_bits,
                self.window_bits,
                usize::MAX,
            )
        };
        for row in 0..rows_used {
            let row_entries = &entries[row * per_row * s..(row + 1) * per_row * s];
            // Two accumulators at a time: the engine may interleave their products.
            for (accs, exponents) in accs.chunks_mut(2 * s).zip(exponents.chunks(2)) {
                ct::select_entry(row_entries, s, digit(exponents[0], row), &mut selected);
                match (accs.split_at_mut(s), exponents.get(1)) {
                    ((x, y), Some(exponent_y)) => {
                        ct::select_entry(row_entries, s, digit(exponent_y, row), &mut selected_y);
                        arith.mul_pair((x, &selected, &mut tmp), (y, &selected_y, &mut tmp_y));
                        x.copy_from_slice(&tmp);
                        y.copy_from_slice(&tmp_y);
                    }
                    ((x, _), None) => {
                        arith.mul(x, &selected, &mut tmp);
                        x.copy_from_slice(&tmp);
                    }
                }
            }
        }
        for scratch in [&mut selected, &mut selected_y, &mut tmp, &mut tmp_y] {
            scratch.zeroize();
        }
        accs
    }
}

/// Exponents per [`FixedBaseTable::pow_block_into`] call in the CPU backend: enough that a row
/// is read from memory once for many products, few enough to keep a block's accumulators and
/// the row in the L1 cache (8 × 320 bytes and 32 × 320 bytes for a 2048-bit modulus).
pub(crate) const POW_BLOCK: usize = 8;
