//! Packed numbers (many samples per ciphertext) against exact arithmetic: encryption round
//! trips, and the linear layer's decrypted outputs equal the exact fixed-point results, for
//! integers and dyadic floats, negative weights and biases, partial last groups and both
//! encryption paths; results that could leave a slot, and bad inputs, are refused.

use crate::common;

use std::sync::Arc;

use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::Backend;
use paillier_gpu::numbers::{
    Decrypted, LinearModel, NumberKind, Numbers, PackOptions, PackedArray, PlainMatrix, WeightRows,
};
use paillier_gpu::paillier::{generate_keypair, Encryptor, KeyGenOptions, Scheme};
use paillier_gpu::Error;
use proptest::prelude::*;

fn cpu() -> Arc<dyn Backend> {
    CpuBackend::shared()
}

/// `x · W + b` for row-major samples, in exact integers.
fn exact_layer(x: &[i64], w: &[i64], b: &[i64], inputs: usize, outputs: usize) -> Vec<i64> {
    x.chunks(inputs)
        .flat_map(|sample| {
            (0..outputs)
                .map(move |j| (0..inputs).fold(b[j], |acc, i| acc + sample[i] * w[i * outputs + j]))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn the_packed_layer_is_exact_on_integers(
        samples in 1usize..30,
        (inputs, outputs) in (1usize..6, 1usize..4),
        seed in any::<u64>(),
        as_owner in any::<bool>(),
    ) {
        let (pk, sk) = common::classic_keys();
        let backend = cpu();
        let mut state = seed | 1;
        let mut next = |range: i64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % (2 * range as u64 + 1)) as i64 - range
        };
        let x: Vec<i64> = (0..samples * inputs).map(|_| next(1000)).collect();
        let w: Vec<i64> = (0..inputs * outputs).map(|_| next(50)).collect();
        let b: Vec<i64> = (0..outputs).map(|_| next(500)).collect();
        let options = PackOptions::new(1000.0).with_headroom_bits(24);
        let packed = if as_owner {
            PackedArray::encrypt_with(Encryptor::Owner(sk), pk, backend.as_ref(), Numbers::Integers(&x), inputs, &options)
        } else {
            PackedArray::encrypt(pk, backend.as_ref(), Numbers::Integers(&x), inputs, &options)
        }
        .unwrap();
        let slots = packed.layout().slots();
        prop_assert!(slots >= 2);
        prop_assert_eq!(packed.ciphertexts().len(), samples.div_ceil(slots) * inputs);
        prop_assert_eq!(packed.kind(), NumberKind::Integer);
        prop_assert_eq!(packed.decrypt(sk, backend.as_ref()).unwrap(), Decrypted::Integers(x.clone()));

        let weights: Vec<f64> = w.iter().map(|&v| v as f64).collect();
        let biases: Vec<f64> = b.iter().map(|&v| v as f64).collect();
        let matrix = PlainMatrix { values: &weights, rows: inputs, cols: outputs };
        let y = packed.linear(backend.as_ref(), matrix, Some(&biases), None).unwrap();
        prop_assert_eq!(y.shape(), [samples, outputs]);
        let expected: Vec<f64> = exact_layer(&x, &w, &b, inputs, outputs)
            .into_iter()
            .map(|v| v as f64)
            .collect();
        prop_assert_eq!(y.decrypt(sk, backend.as_ref()).unwrap(), Decrypted::Floats(expected));
    }
}

#[test]
fn a_packed_classifier_predicts_the_plaintext_classes_exactly() {
    let (pk, sk) = common::classic_keys();
    let backend = cpu();
    let (samples, inputs, outputs) = (23usize, 8usize, 3usize);
    // Features and weights are dyadic (k/256 and k/16): the fixed-point result is exact in f64.
    let x: Vec<f64> = (0..samples * inputs)
        .map(|i| ((i * 7919 % 2001) as f64 - 1000.0) / 256.0)
        .collect();
    let weights: Vec<Vec<f64>> = (0..inputs)
        .map(|i| {
            (0..outputs)
                .map(|j| ((i * 5 + j * 11) % 33) as f64 / 16.0 - 1.0)
                .collect()
        })
        .collect();
    let model = LinearModel::with_weight_rows(weights, vec![0.5, -0.25, 0.0], WeightRows::PerInput)
        .unwrap();
    let options = PackOptions::new(4.0)
        .with_precision(1.0 / 256.0)
        .with_headroom_bits(20);
    let packed =
        PackedArray::encrypt(pk, backend.as_ref(), Numbers::Floats(&x), inputs, &options).unwrap();
    let y = match model
        .infer_packed(backend.as_ref(), &packed)
        .unwrap()
        .decrypt(sk, backend.as_ref())
        .unwrap()
    {
        Decrypted::Floats(v) => v,
        other => panic!("floats expected, got {other:?}"),
    };
    let argmax = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    for (s, sample) in x.chunks(inputs).enumerate() {
        let plain = model.predict_plain(sample).unwrap();
        assert_eq!(&y[s * outputs..(s + 1) * outputs], &plain[..], "sample {s}");
        assert_eq!(argmax(&y[s * outputs..(s + 1) * outputs]), argmax(&plain));
    }
}

#[test]
fn outputs_that_could_leave_their_slot_are_refused_before_the_work() {
    let (pk, _) = common::classic_keys();
    let backend = cpu();
    let x = [1i64, -2, 3, 4];
    let options = PackOptions::new(1000.0).with_headroom_bits(8);
    let packed =
        PackedArray::encrypt(pk, backend.as_ref(), Numbers::Integers(&x), 2, &options).unwrap();
    // |x| ≤ 1000 (10 bits) and 8 bits of headroom: weights summing to 300 overflow the slot,
    // whatever the actual data.
    let weights = [100.0, 200.0];
    let matrix = PlainMatrix {
        values: &weights,
        rows: 2,
        cols: 1,
    };
    let err = packed.linear(backend.as_ref(), matrix, None, None);
    assert!(matches!(err, Err(Error::NumberOverflow(_))), "{err:?}");
    // Weights of 0.1 are long when exact; a precision makes them fit.
    let tenth = [0.1, 0.1];
    let matrix = PlainMatrix {
        values: &tenth,
        rows: 2,
        cols: 1,
    };
    assert!(matches!(
        packed.linear(backend.as_ref(), matrix, None, None),
        Err(Error::NumberOverflow(_))
    ));
    assert!(packed
        .linear(backend.as_ref(), matrix, None, Some(0.5))
        .is_ok());
}

#[test]
fn bad_packing_inputs_are_refused_with_clear_errors() {
    let (pk, sk) = common::classic_keys();
    let backend = cpu();
    let backend = backend.as_ref();
    let encrypt = |values: &[f64], columns: usize, options: &PackOptions| {
        PackedArray::encrypt(pk, backend, Numbers::Floats(values), columns, options)
    };
    let options = PackOptions::new(10.0).with_precision(0.01);
    // A value above max_abs, named by its index; NaN and infinities.
    let err = encrypt(&[1.0, 2.0, 3.0, -10.5], 2, &options);
    assert!(
        matches!(err, Err(Error::InvalidNumber { index: 3, .. })),
        "{err:?}"
    );
    let err = encrypt(&[1.0, f64::NAN], 2, &options);
    assert!(
        matches!(err, Err(Error::InvalidNumber { index: 1, .. })),
        "{err:?}"
    );
    let err = encrypt(&[f64::INFINITY, 1.0], 2, &PackOptions::new(10.0));
    assert!(
        matches!(err, Err(Error::InvalidNumber { index: 0, .. })),
        "{err:?}"
    );
    // Shapes.
    for (values, columns) in [
        (&[1.0, 2.0, 3.0][..], 2usize),
        (&[1.0][..], 0),
        (&[][..], 1),
    ] {
        let err = encrypt(values, columns, &options);
        assert!(matches!(err, Err(Error::ShapeMismatch(_))), "{err:?}");
    }
    // max_abs and precision.
    for max_abs in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = encrypt(&[0.0], 1, &PackOptions::new(max_abs));
        assert!(
            matches!(err, Err(Error::InvalidParameter(_))),
            "{max_abs}: {err:?}"
        );
    }
    let err = encrypt(&[0.0], 1, &PackOptions::new(1.0).with_precision(-1.0));
    assert!(matches!(err, Err(Error::InvalidParameter(_))), "{err:?}");
    // A slot wider than the key's plaintext.
    let err = encrypt(&[1.0], 1, &PackOptions::new(1e300));
    assert!(matches!(err, Err(Error::InvalidParameter(_))), "{err:?}");
    // Weights of the wrong shape.
    let packed = encrypt(&[1.0, 2.0], 2, &options).unwrap();
    let weights = [1.0, 2.0, 3.0];
    let matrix = PlainMatrix {
        values: &weights,
        rows: 3,
        cols: 1,
    };
    let err = packed.linear(backend, matrix, None, None);
    assert!(matches!(err, Err(Error::ShapeMismatch(_))), "{err:?}");
    // Another key's secret key.
    let (_, other) =
        generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
    let err = packed.decrypt(&other, backend);
    assert!(matches!(err, Err(Error::KeyMismatch { .. })), "{err:?}");
    assert!(packed.decrypt(sk, backend).is_ok());
    // A key of the lookup scheme.
    let (lookup, _) = generate_keypair(
        Scheme::PaillierLookup,
        256,
        &KeyGenOptions::insecure_for_tests(),
    )
    .unwrap();
    let err = PackedArray::encrypt(
        &Arc::new(lookup),
        backend,
        Numbers::Floats(&[1.0]),
        1,
        &options,
    );
    assert!(matches!(err, Err(Error::InvalidParameter(_))), "{err:?}");
}
