//! Inverses of many ciphertexts modulo n² for the price of one: Montgomery's trick (prefix
//! products, one inversion, and back), a chunk per core. Ciphertexts are public: variable time.

use rayon::prelude::*;

use crate::backend::LimbBatch;
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

/// Items a core inverts with one big-integer inversion: three products each beside it.
const ITEMS_PER_INVERSION: usize = 256;

/// `out[i] = items[i]⁻¹ mod m`; an item that is not a unit is an error naming it.
pub(crate) fn invert_all(modulus: &MontgomeryModulus, items: &LimbBatch) -> Result<LimbBatch> {
    let s = modulus.len();
    let mut out = vec![0u64; items.as_flat().len()];
    out.par_chunks_mut(ITEMS_PER_INVERSION * s)
        .zip(items.as_flat().par_chunks(ITEMS_PER_INVERSION * s))
        .enumerate()
        .try_for_each(|(chunk, (out, items))| {
            invert_chunk(modulus, items, out, chunk * ITEMS_PER_INVERSION)
        })?;
    LimbBatch::from_flat(s, out)
}

fn invert_chunk(
    modulus: &MontgomeryModulus,
    items: &[u64],
    out: &mut [u64],
    first_index: usize,
) -> Result<()> {
    let s = modulus.len();
    let values: Vec<_> = items
        .chunks_exact(s)
        .map(|x| modulus.to_montgomery(x))
        .collect();
    // prefix[i] = values[0] · … · values[i].
    let mut prefix = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        prefix.push(match i {
            0 => value.clone(),
            _ => modulus.mul(&prefix[i - 1], value),
        });
    }
    let Some(total) = prefix.last() else {
        return Ok(());
    };
    let total = modulus.biguint_of(&modulus.from_montgomery(total));
    let Some(inverse) = total.modinv(&modulus.modulus()) else {
        // Find the culprit, to name it.
        let index = items
            .chunks_exact(s)
            .position(|x| {
                let x = modulus.biguint_of(x);
                x.modinv(&modulus.modulus()).is_none()
            })
            .unwrap_or(0);
        return Err(Error::InvalidCiphertext {
            index: first_index + index,
            reason: "not invertible modulo n^2 (it shares a factor with n)".into(),
        });
    };
    let mut running = modulus.montgomery_of_vartime(&inverse)?;
    for i in (0..values.len()).rev() {
        let inverse_i = match i {
            0 => running.clone(),
            _ => modulus.mul(&running, &prefix[i - 1]),
        };
        out[i * s..(i + 1) * s].copy_from_slice(&modulus.from_montgomery(&inverse_i));
        if i > 0 {
            running = modulus.mul(&running, &values[i]);
        }
    }
    Ok(())
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
