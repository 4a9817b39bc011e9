//! Encrypted numbers against exact arithmetic: every operation's decrypted result equals the
//! exact rational result of the encoded operands (floats are dyadic, so `BigInt · 2^e` holds
//! them exactly), with negative values, mixed exponents and both encryption paths.

use crate::common;

use std::sync::Arc;

use num_bigint::BigInt;
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::hazmat::backend::Backend;
use paillier_gpu::numbers::{
    Decrypted, ElementExponents, EncryptedArray, LinearModel, NumberKind, Numbers, PlainMatrix,
    WeightRows,
};
use paillier_gpu::paillier::{generate_keypair, Encryptor, KeyGenOptions, Scheme};
use paillier_gpu::Error;
use proptest::prelude::*;

fn cpu() -> Arc<dyn Backend> {
    CpuBackend::shared()
}

/// An exact dyadic rational `num · 2^exp`, normalised so equal values compare equal.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Dyadic {
    num: BigInt,
    exp: i64,
}

impl Dyadic {
    fn new(num: BigInt, exp: i64) -> Self {
        let mut d = Dyadic { num, exp };
        if d.num == BigInt::from(0) {
            d.exp = 0;
            return d;
        }
        while (&d.num % 2) == BigInt::from(0) {
            d.num /= 2;
            d.exp += 1;
        }
        d
    }
    fn of_f64(x: f64) -> Self {
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let fraction = (bits & ((1u64 << 52) - 1)) as i64;
        let (m, e) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1 << 52), biased - 1075)
        };
        Dyadic::new(BigInt::from(if x < 0.0 { -m } else { m }), e)
    }
    fn of_i64(x: i64) -> Self {
        Dyadic::new(BigInt::from(x), 0)
    }
    fn add(&self, o: &Dyadic) -> Dyadic {
        let e = self.exp.min(o.exp);
        Dyadic::new(
            (&self.num << (self.exp - e) as u64) + (&o.num << (o.exp - e) as u64),
            e,
        )
    }
    fn mul(&self, o: &Dyadic) -> Dyadic {
        Dyadic::new(&self.num * &o.num, self.exp + o.exp)
    }
}

/// The decrypted exact values: mantissa · 16^exponent.
fn exact(array: &EncryptedArray) -> Vec<Dyadic> {
    let (_, sk) = common::classic_keys();
    let mantissas = array.decrypt_mantissas(sk, cpu().as_ref()).unwrap();
    mantissas
        .into_iter()
        .enumerate()
        .map(|(i, m)| Dyadic::new(m, 4 * i64::from(array.exponents().get(i))))
        .collect()
}

/// Floats of moderate range (so sums of aligned mantissas fit a 512-bit n): m·2^e exactly.
fn float() -> impl Strategy<Value = f64> {
    (-(1i64 << 40)..(1i64 << 40), -50i32..10).prop_map(|(m, e)| m as f64 * 2f64.powi(e))
}

fn encrypt(values: &[f64], owner: bool) -> EncryptedArray {
    let (pk, sk) = common::classic_keys();
    let numbers = Numbers::Floats(values);
    let shape = vec![values.len()];
    if owner {
        EncryptedArray::encrypt_with(
            Encryptor::Owner(sk),
            pk,
            cpu().as_ref(),
            numbers,
            shape,
            None,
        )
        .unwrap()
    } else {
        EncryptedArray::encrypt(pk, cpu().as_ref(), numbers, shape, None).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn encryption_round_trips(values in prop::collection::vec(float(), 1..8), owner in any::<bool>()) {
        let (_, sk) = common::classic_keys();
        let x = encrypt(&values, owner);
        prop_assert_eq!(x.decrypt(sk, cpu().as_ref()).unwrap(), Decrypted::Floats(values));
    }

    #[test]
    fn addition_is_exact(a in prop::collection::vec(float(), 1..6), seed in any::<u64>()) {
        let b: Vec<f64> = a.iter().enumerate().map(|(i, v)| v * 0.37 - (seed % 97) as f64 * (i as f64 + 0.5)).collect();
        let (x, y) = (encrypt(&a, true), encrypt(&b, false));
        let sum = x.add(cpu().as_ref(), &y).unwrap();
        let expected: Vec<Dyadic> = a.iter().zip(&b).map(|(p, q)| Dyadic::of_f64(*p).add(&Dyadic::of_f64(*q))).collect();
        prop_assert_eq!(exact(&sum), expected);
        let plain = x.add_plain(cpu().as_ref(), Numbers::Floats(&b)).unwrap();
        let expected: Vec<Dyadic> = a.iter().zip(&b).map(|(p, q)| Dyadic::of_f64(*p).add(&Dyadic::of_f64(*q))).collect();
        prop_assert_eq!(exact(&plain), expected);
        let difference = x.sub(cpu().as_ref(), &y).unwrap();
        let expected: Vec<Dyadic> = a.iter().zip(&b).map(|(p, q)| Dyadic::of_f64(*p).add(&Dyadic::of_f64(-*q))).collect();
        prop_assert_eq!(exact(&difference), expected);
    }

    #[test]
    fn multiplication_is_exact(a in prop::collection::vec(float(), 1..6), k in prop::collection::vec(float(), 1..6)) {
        let k: Vec<f64> = (0..a.len()).map(|i| k[i % k.len()]).collect();
        let x = encrypt(&a, true);
        let product = x.mul_plain(cpu().as_ref(), Numbers::Floats(&k)).unwrap();
        let expected: Vec<Dyadic> = a.iter().zip(&k).map(|(p, q)| Dyadic::of_f64(*p).mul(&Dyadic::of_f64(*q))).collect();
        prop_assert_eq!(exact(&product), expected);
        // One scalar for every element.
        let scaled = x.mul_plain(cpu().as_ref(), Numbers::Floats(&k[..1])).unwrap();
        let expected: Vec<Dyadic> = a.iter().map(|p| Dyadic::of_f64(*p).mul(&Dyadic::of_f64(k[0]))).collect();
        prop_assert_eq!(exact(&scaled), expected);
    }

    #[test]
    fn sum_dot_and_linear_are_exact(
        samples in 1usize..4,
        inputs in 1usize..5,
        outputs in 1usize..4,
        values in prop::collection::vec(float(), 60),
        weights in prop::collection::vec(float(), 20),
        biases in prop::collection::vec(float(), 4),
    ) {
        let x_values = &values[..samples * inputs];
        let x = encrypt(x_values, false).reshape(vec![samples, inputs]).unwrap();
        let total = x.sum(cpu().as_ref()).unwrap();
        let expected = x_values.iter().fold(Dyadic::of_i64(0), |acc, v| acc.add(&Dyadic::of_f64(*v)));
        prop_assert_eq!(exact(&total), vec![expected]);

        let w = &weights[..inputs * outputs];
        let b = &biases[..outputs];
        let y = x.linear(cpu().as_ref(), PlainMatrix { values: w, rows: inputs, cols: outputs }, Some(b), None).unwrap();
        prop_assert_eq!(y.shape(), &[samples, outputs][..]);
        let mut expected = Vec::new();
        for s in 0..samples {
            for j in 0..outputs {
                let mut acc = Dyadic::of_f64(b[j]);
                for i in 0..inputs {
                    acc = acc.add(&Dyadic::of_f64(x_values[s * inputs + i]).mul(&Dyadic::of_f64(w[i * outputs + j])));
                }
                expected.push(acc);
            }
        }
        prop_assert_eq!(exact(&y), expected);

        let d = x.dot(cpu().as_ref(), &w[..inputs]).unwrap();
        prop_assert_eq!(d.shape(), &[samples][..]);
        let expected: Vec<Dyadic> = (0..samples).map(|s| (0..inputs).fold(Dyadic::of_i64(0), |acc, i| {
            acc.add(&Dyadic::of_f64(x_values[s * inputs + i]).mul(&Dyadic::of_f64(w[i])))
        })).collect();
        prop_assert_eq!(exact(&d), expected);
    }
}

/// Alignment raises every element in one batch when most must move, and gathers the few
/// when few must: both give the exact sum. (0.5, 0.25 and 0.75 have exponent -14; 1e-6,
/// 3e-6 and 5e-6 have -18.)
#[test]
fn aligning_few_or_most_elements_is_exact() {
    for values in [vec![0.5, 0.25, 0.75, 1e-6], vec![1e-6, 3e-6, 5e-6, 0.5]] {
        let x = encrypt(&values, false);
        let total = x.sum(cpu().as_ref()).unwrap();
        let expected = values
            .iter()
            .fold(Dyadic::of_i64(0), |acc, v| acc.add(&Dyadic::of_f64(*v)));
        assert_eq!(exact(&total), vec![expected], "{values:?}");
    }
}

#[test]
fn integers_stay_integers() {
    let (pk, sk) = common::classic_keys();
    let backend = cpu();
    let values = [-5i64, 0, 7, i64::MAX / 4, -(1 << 40)];
    let x = EncryptedArray::encrypt(
        pk,
        backend.as_ref(),
        Numbers::Integers(&values),
        vec![5],
        None,
    )
    .unwrap();
    assert_eq!(x.kind(), NumberKind::Integer);
    assert_eq!(x.exponents(), &ElementExponents::Shared(0));
    let y = x
        .mul_plain(backend.as_ref(), Numbers::Integers(&[-3]))
        .unwrap();
    let y = y
        .add_plain(backend.as_ref(), Numbers::Integers(&[1]))
        .unwrap();
    let expected: Vec<i64> = values.iter().map(|v| v * -3 + 1).collect();
    assert_eq!(
        y.decrypt(sk, backend.as_ref()).unwrap(),
        Decrypted::Integers(expected)
    );
    // A float anywhere makes floats.
    let z = x
        .add_plain(backend.as_ref(), Numbers::Floats(&[0.5]))
        .unwrap();
    assert_eq!(z.kind(), NumberKind::Float);
    assert_eq!(
        z.decrypt(sk, backend.as_ref()).unwrap(),
        Decrypted::Floats(values.iter().map(|v| *v as f64 + 0.5).collect())
    );
}

#[test]
fn precision_shares_one_exponent_and_rounds() {
    let (pk, sk) = common::classic_keys();
    let backend = cpu();
    let x = EncryptedArray::encrypt(
        pk,
        backend.as_ref(),
        Numbers::Floats(&[0.123456789, -2.5, 1e-9]),
        vec![3],
        Some(1e-6),
    )
    .unwrap();
    assert_eq!(x.exponents(), &ElementExponents::Shared(-5));
    let back = match x.decrypt(sk, backend.as_ref()).unwrap() {
        Decrypted::Floats(v) => v,
        other => panic!("{other:?}"),
    };
    // round(v · 16^5) / 16^5.
    let expected: Vec<f64> = [0.123456789f64, -2.5, 1e-9]
        .iter()
        .map(|v| (v * 1048576.0).round_ties_even() / 1048576.0)
        .collect();
    assert_eq!(back, expected);
}

#[test]
fn classifier_predicts_the_plaintext_class() {
    let (pk, sk) = common::classic_keys();
    let backend = cpu();
    let json = r#"{"weights": [[0.5, -1.25, 2.0], [-0.75, 0.125, 1.5], [1.0, 1.0, -3.0], [0.0, -2.0, 0.25]],
                   "biases": [0.1, -0.2, 0.3]}"#;
    let model = LinearModel::from_json_with(json, WeightRows::PerInput).unwrap();
    let samples: Vec<f64> = (0..40)
        .map(|i| ((i * 37 % 23) as f64 - 11.0) / 7.0)
        .collect();
    let x = EncryptedArray::encrypt(
        pk,
        backend.as_ref(),
        Numbers::Floats(&samples),
        vec![10, 4],
        None,
    )
    .unwrap();
    let y = model.infer(backend.as_ref(), &x).unwrap();
    let Decrypted::Floats(scores) = y.decrypt(sk, backend.as_ref()).unwrap() else {
        panic!("floats expected")
    };
    let argmax = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    for s in 0..10 {
        let plain = model.predict_plain(&samples[s * 4..(s + 1) * 4]).unwrap();
        let encrypted = &scores[s * 3..(s + 1) * 3];
        assert_eq!(argmax(&plain), argmax(encrypted), "sample {s}");
        for (p, e) in plain.iter().zip(encrypted) {
            assert!((p - e).abs() <= 1e-12 * p.abs().max(1.0), "{p} vs {e}");
        }
    }
}

#[test]
fn bad_input_is_refused_with_clear_errors() {
    let (pk, sk) = common::classic_keys();
    let backend = cpu();
    let encrypt = |values: &[f64], shape: Vec<usize>| {
        EncryptedArray::encrypt(pk, backend.as_ref(), Numbers::Floats(values), shape, None)
    };
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = encrypt(&[1.0, bad], vec![2]).unwrap_err();
        assert!(
            matches!(err, Error::InvalidNumber { index: 1, .. }),
            "{err}"
        );
    }
    // Beyond max_int (n/3 of a 512-bit n): 1e100 at exponent -50 needs about 532 bits. (A
    // large float alone never is: its exponent grows instead.)
    let err = EncryptedArray::encrypt(
        pk,
        backend.as_ref(),
        Numbers::Floats(&[1e100]),
        vec![1],
        Some(1e-60),
    )
    .unwrap_err();
    assert!(err.to_string().contains("max_int"), "{err}");
    assert!(matches!(
        encrypt(&[1.0, 2.0], vec![3]),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        EncryptedArray::encrypt(
            pk,
            backend.as_ref(),
            Numbers::Floats(&[1.0]),
            vec![1],
            Some(0.0)
        ),
        Err(Error::InvalidParameter(_))
    ));
    // A product past max_int decrypts to an overflow error, not a number.
    let x = EncryptedArray::encrypt(
        pk,
        backend.as_ref(),
        Numbers::Integers(&[1 << 62]),
        vec![1],
        None,
    )
    .unwrap();
    let mut y = x.clone();
    for _ in 0..8 {
        y = y
            .mul_plain(backend.as_ref(), Numbers::Integers(&[1 << 62]))
            .unwrap();
    }
    let err = y.decrypt(sk, backend.as_ref()).unwrap_err();
    assert!(err.to_string().contains("overflow"), "{err}");
    // Shapes that do not fit.
    let x = encrypt(&[1.0, 2.0, 3.0], vec![3]).unwrap();
    let z = encrypt(&[1.0, 2.0], vec![2]).unwrap();
    assert!(matches!(
        x.add(backend.as_ref(), &z),
        Err(Error::ShapeMismatch(_))
    ));
    let w = [1.0, 2.0];
    let matrix = PlainMatrix {
        values: &w,
        rows: 2,
        cols: 1,
    };
    assert!(matches!(
        x.linear(backend.as_ref(), matrix, None, None),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        x.mul_plain(backend.as_ref(), Numbers::Floats(&[f64::NAN])),
        Err(Error::InvalidNumber { .. })
    ));
    // Another key.
    let (other_pk, other_sk) =
        generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
    let other = EncryptedArray::encrypt(
        &Arc::new(other_pk),
        backend.as_ref(),
        Numbers::Floats(&[1.0, 2.0, 3.0]),
        vec![3],
        None,
    )
    .unwrap();
    assert!(matches!(
        x.add(backend.as_ref(), &other),
        Err(Error::KeyMismatch { .. })
    ));
    assert!(matches!(
        x.decrypt(&other_sk, backend.as_ref()),
        Err(Error::KeyMismatch { .. })
    ));
    // A lookup key is refused for numbers.
    let (lookup, _) = generate_keypair(
        Scheme::PaillierLookup,
        256,
        &KeyGenOptions::insecure_for_tests(),
    )
    .unwrap();
    let err = EncryptedArray::encrypt(
        &Arc::new(lookup),
        backend.as_ref(),
        Numbers::Floats(&[1.0]),
        vec![1],
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("classic"), "{err}");
    // Models.
    assert!(LinearModel::from_json(r#"{"weights": [[1.0], [2.0, 3.0]]}"#).is_err());
    assert!(LinearModel::from_json(r#"{"weights": [[1.0, 2.0]], "biases": [1.0, 2.0]}"#).is_err());
    assert!(LinearModel::from_json(r#"{"weights": []}"#).is_err());
    assert!(LinearModel::from_json(r#"{"weights": [[1.0]], "bias": [1.0]}"#).is_err());
    assert!(LinearModel::from_json("not json").is_err());
}
