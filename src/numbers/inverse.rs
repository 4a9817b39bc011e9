//! Inverses of many ciphertexts modulo n² for the price of one: Montgomery's trick (prefix
//! products, one inversion, and back), a chunk per core. Ciphertexts are public: variable time.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::hazmat::backend::LimbBatch;
use crate::hazmat::bigint::{MontgomeryModulus, PublicProducts};

/// The fewest items a core inverts with one big-integer inversion (about the cost of a
/// thousand products at 4096 bits), beside three products per item.
const MIN_ITEMS_PER_INVERSION: usize = 256;
/// The most: past this a chunk saves little and balances the cores worse.
const MAX_ITEMS_PER_INVERSION: usize = 4096;

/// `out[i] = items[i]⁻¹ mod m`; an item that is not a unit is an error naming it.
pub(crate) fn invert_all(modulus: &MontgomeryModulus, items: &LimbBatch) -> Result<LimbBatch> {
    let mut out = vec![0u64; items.as_flat().len()];
    let products = PublicProducts::new(modulus)?;
    invert_each(
        &products,
        |i| items.item(i),
        &mut out,
        |_, inverse, out| out.copy_from_slice(&products.value(inverse)),
    )?;
    Ok(LimbBatch::from_flat(modulus.len(), out)?)
}

/// Montgomery's trick over the items `item(0..count)`, `count` being what `out` holds, a chunk
/// per core, on `products`' engine: `finish(i, inverse, out_i)` receives the form of item
/// `i`'s inverse and writes item `i`'s limbs of `out`, so a caller can fold its next product
/// into the way out ([`PublicProducts::times`]). An item that is not a unit is an error
/// naming it.
pub(crate) fn invert_each<'a>(
    products: &PublicProducts<'_>,
    item: impl Fn(usize) -> &'a [u64] + Sync,
    out: &mut [u64],
    finish: impl Fn(usize, &[u64], &mut [u64]) + Sync,
) -> Result<()> {
    let modulus = products.modulus();
    let s = modulus.len();
    let count = out.len() / s.max(1);
    // Four chunks per core, so that one inversion serves as many items as that allows.
    let per_chunk = (count / (4 * rayon::current_num_threads()))
        .clamp(MIN_ITEMS_PER_INVERSION, MAX_ITEMS_PER_INVERSION);
    out.par_chunks_mut(per_chunk * s)
        .enumerate()
        .try_for_each(|(chunk, out)| {
            let chunk = Chunk {
                products,
                modulus,
                first: chunk * per_chunk,
            };
            chunk.invert(out, &item, &finish)
        })
}

/// One core's share of [`invert_each`]: the items from `first` on.
struct Chunk<'c, 'm> {
    products: &'c PublicProducts<'m>,
    modulus: &'c MontgomeryModulus,
    first: usize,
}

impl Chunk<'_, '_> {
    fn invert<'a>(
        &self,
        out: &mut [u64],
        item: &impl Fn(usize) -> &'a [u64],
        finish: &impl Fn(usize, &[u64], &mut [u64]),
    ) -> Result<()> {
        let (products, s, first) = (self.products, self.modulus.len(), self.first);
        let values: Vec<Vec<u64>> = (first..first + out.len() / s)
            .map(|i| products.enter(item(i)))
            .collect();
        // prefix[i] = values[0] · … · values[i].
        let mut prefix: Vec<Vec<u64>> = Vec::with_capacity(values.len());
        for (i, value) in values.iter().enumerate() {
            prefix.push(match i {
                0 => value.clone(),
                _ => products.mul(&prefix[i - 1], value),
            });
        }
        let Some(total) = prefix.last() else {
            return Ok(());
        };
        let modulus = self.modulus.modulus();
        let total = self.modulus.biguint_of(&products.value(total));
        let Some(inverse) = total.modinv(&modulus) else {
            return Err(self.not_a_unit(values.len(), item));
        };
        let mut running = products.enter(&self.modulus.limbs_of(&inverse)?);
        for i in (0..values.len()).rev() {
            let inverse_i = match i {
                0 => running.clone(),
                _ => products.mul(&running, &prefix[i - 1]),
            };
            finish(first + i, &inverse_i, &mut out[i * s..(i + 1) * s]);
            if i > 0 {
                running = products.mul(&running, &values[i]);
            }
        }
        Ok(())
    }

    /// The error naming the first of the chunk's `count` items that is not a unit.
    fn not_a_unit<'a>(&self, count: usize, item: &impl Fn(usize) -> &'a [u64]) -> Error {
        let modulus = self.modulus.modulus();
        let index = (self.first..self.first + count)
            .find(|&i| {
                let x = self.modulus.biguint_of(item(i));
                x.modinv(&modulus).is_none()
            })
            .unwrap_or(self.first);
        Error::InvalidCiphertext {
            index,
            reason: "not invertible modulo n^2 (it shares a factor with n)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::{BigUint, RandBigInt};
    use rand::SeedableRng;

    #[test]
    fn inverts_every_item() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let m = BigUint::from(1_000_003u64) * BigUint::from(998_244_353u64);
        let modulus = MontgomeryModulus::new(&m).unwrap();
        for count in [1usize, 2, 300, 513] {
            let values: Vec<BigUint> = (0..count)
                .map(|_| rng.gen_biguint_below(&m) | BigUint::from(1u32))
                .collect();
            let mut batch = LimbBatch::new(modulus.len());
            for v in &values {
                batch.push(&modulus.limbs_of(v).unwrap()).unwrap();
            }
            match invert_all(&modulus, &batch) {
                Ok(inverses) => {
                    for (v, inv) in values.iter().zip(inverses.iter()) {
                        assert_eq!(v * modulus.biguint_of(inv) % &m, BigUint::from(1u32));
                    }
                }
                Err(_) => assert!(values.iter().any(|v| v.modinv(&m).is_none())),
            }
        }
        let mut bad = LimbBatch::new(modulus.len());
        bad.push(&modulus.limbs_of(&BigUint::from(5u32)).unwrap())
            .unwrap();
        bad.push(&modulus.limbs_of(&BigUint::from(1_000_003u64 * 2)).unwrap())
            .unwrap();
        let err = invert_all(&modulus, &bad).unwrap_err();
        assert!(
            matches!(err, Error::InvalidCiphertext { index: 1, .. }),
            "{err}"
        );
    }
}
/// A timing probe, run by hand: `cargo test --release --lib inversion_timing -- --ignored
/// --nocapture` (inverses of 1,280 and 20,480 ciphertexts modulo a 4096-bit n², as the
/// linear layer's negative rows need for 128 and 2,048 samples of 10 outputs).
#[cfg(test)]
mod probe {
    use super::*;
    use num_bigint::RandBigInt;
    use rand::SeedableRng;

    #[test]
    #[ignore]
    fn inversion_timing() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (pk, _) = crate::paillier::generate_keypair(
            crate::paillier::Scheme::Paillier,
            1024,
            &crate::paillier::KeyGenOptions::insecure_for_tests(),
        )
        .unwrap();
        let modulus = pk.n_squared_modulus();
        let m = modulus.modulus();
        for count in [1280usize, 20480] {
            let mut batch = LimbBatch::new(modulus.len());
            for _ in 0..count {
                batch
                    .push(&modulus.limbs_of(&rng.gen_biguint_below(&m)).unwrap())
                    .unwrap();
            }
            for _ in 0..3 {
                let start = std::time::Instant::now();
                invert_all(modulus, &batch).unwrap();
                eprintln!(
                    "{count} inverses: {:.1} ms",
                    start.elapsed().as_secs_f64() * 1e3
                );
            }
        }
    }
}
