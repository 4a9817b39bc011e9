//! Files of numbers: encrypted arrays and packed arrays written and read back unchanged (shared
//! and per-element exponents, both kinds, any shape), plain numbers from `.npy` and JSON Lines,
//! and every bad header, length, key, layout or exponent refused with what is wrong.

use crate::common;

use std::sync::Arc;

use common::{small_context, SCHEMES};
use paillier_gpu::formats::numbers::{
    decode_encrypted_numbers, decode_packed_numbers, encode_encrypted_numbers,
    encode_packed_numbers, read_any_encrypted_numbers, read_jsonl_numbers, read_npy_numbers,
    EncryptedNumbersFile, PlainValues,
};
use paillier_gpu::hazmat::backend::cpu::CpuBackend;
use paillier_gpu::numbers::{
    Decrypted, ElementExponents, EncryptedArray, LinearModel, Numbers, PackOptions, WeightRows,
};
use paillier_gpu::Error;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn an_encrypted_array_reads_back_as_it_was_written(
        values in proptest::collection::vec(-1e6f64..1e6, 0..7),
        integers in any::<bool>(),
        two_d in any::<bool>(),
        precision in prop_oneof![Just(None), Just(Some(1e-3))],
    ) {
        let ctx = small_context(SCHEMES[0]);
        let shape = if two_d && values.len() % 2 == 0 && !values.is_empty() {
            vec![2, values.len() / 2]
        } else {
            vec![values.len()]
        };
        let ints: Vec<i64> = values.iter().map(|v| *v as i64).collect();
        let numbers = if integers { Numbers::Integers(&ints) } else { Numbers::Floats(&values) };
        let array = ctx.encrypt_numbers(numbers, shape.clone(), precision).unwrap();
        let bytes = encode_encrypted_numbers(&array).unwrap();
        let read = decode_encrypted_numbers(&bytes[..], Some(bytes.len() as u64), ctx.public().public_key())
            .unwrap();
        prop_assert_eq!(read.shape(), &shape[..]);
        prop_assert_eq!(read.exponents(), array.exponents());
        prop_assert_eq!(read.kind(), array.kind());
        prop_assert_eq!(read.ciphertexts(), array.ciphertexts());
        prop_assert_eq!(ctx.decrypt_numbers(&read).unwrap(), ctx.decrypt_numbers(&array).unwrap());
    }
}

/// A 2-element array with exponents `a` and `b`, written to bytes.
fn per_element_file(a: i32, b: i32) -> (Vec<u8>, EncryptedArray) {
    let ctx = small_context(SCHEMES[0]);
    let x = ctx
        .encrypt_numbers(Numbers::Integers(&[3, -4]), vec![2], None)
        .unwrap();
    let cts: Vec<_> = (0..2).map(|i| x.ciphertext(i)).collect();
    let array = EncryptedArray::from_ciphertexts(
        ctx.public().public_key(),
        &cts,
        ElementExponents::PerElement(vec![a, b]),
        x.kind(),
        vec![2],
    )
    .unwrap();
    (encode_encrypted_numbers(&array).unwrap(), array)
}

#[test]
fn per_element_exponents_survive_and_a_far_alignment_is_refused_not_computed() {
    let ctx = small_context(SCHEMES[0]);
    let (bytes, array) = per_element_file(0, 2);
    let read = decode_encrypted_numbers(&bytes[..], None, ctx.public().public_key()).unwrap();
    assert_eq!(read.exponents(), &ElementExponents::PerElement(vec![0, 2]));
    assert_eq!(
        ctx.decrypt_numbers(&read).unwrap(),
        Decrypted::Integers(vec![3, -4 * 256])
    );
    // Exponents a file can carry but no honest value needs: adding would raise a ciphertext to
    // 16^1000000 (a 4-million-bit exponent). Refused at once.
    let (bytes, _) = per_element_file(0, 1_000_000);
    let far = decode_encrypted_numbers(&bytes[..], None, ctx.public().public_key()).unwrap();
    let backend = CpuBackend::shared();
    let e = far.sum(backend.as_ref()).unwrap_err();
    assert!(matches!(e, Error::NumberOverflow(_)), "{e}");
    drop(array);
}

#[test]
fn every_bad_header_field_is_named() {
    let ctx = small_context(SCHEMES[0]);
    let (good, _) = per_element_file(0, 1);
    let read = |bytes: &[u8]| {
        decode_encrypted_numbers(bytes, Some(bytes.len() as u64), ctx.public().public_key())
            .map(drop)
            .unwrap_err()
            .to_string()
    };
    let patched = |offset: usize, value: &[u8]| patch(&good, offset, value);
    for (bytes, says) in [
        (good[..10].to_vec(), "shorter than its 64-byte header"),
        (patched(0, b"PGPUCTXT"), "bad magic"),
        (patched(8, &2u16.to_le_bytes()), "version 2"),
        (patched(10, &[7]), "number kind 7"),
        (patched(11, &[9]), "exponent layout 9"),
        (patched(12, &7u32.to_le_bytes()), "ciphertexts of 7 bytes"),
        (patched(16, &33u32.to_le_bytes()), "33 dimensions"),
        (patched(24, &3u64.to_le_bytes()), "promises 3 elements"),
        (patched(24, &u64::MAX.to_le_bytes()), "overflow"),
        (patched(64, &5u64.to_le_bytes()), "shape [5] has 5 elements"),
        (patched(32, &[0u8; 32]), "was made under the key"),
        (good[..good.len() - 1].to_vec(), "promises 2 elements"),
    ] {
        let message = read(&bytes);
        assert!(message.contains(says), "{says}: {message}");
    }
    // Without a known length, a short body is found when it ends.
    let short = &good[..good.len() - 1];
    let e = decode_encrypted_numbers(short, None, ctx.public().public_key())
        .map(drop)
        .unwrap_err();
    assert!(e.to_string().contains("bytes follow the header"), "{e}");
    // A ciphertext that is not below n².
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last - 10..].fill(0xff);
    let e = read(&bad);
    assert!(e.contains("not below n^2"), "{e}");
    // A lookup key cannot hold numbers.
    let lookup = small_context(SCHEMES[1]);
    let e = decode_encrypted_numbers(&good[..], None, lookup.public().public_key()).map(drop);
    assert!(e.is_err());
    let _: &Arc<_> = ctx.public().public_key();
}

#[test]
fn plain_numbers_from_json_lines_and_npy() {
    let read = |text: &str| read_jsonl_numbers(text.as_bytes());
    let two_d = read("[1, -2]\n\n[3, 4]\n").unwrap();
    assert_eq!(
        (two_d.values, two_d.shape),
        (PlainValues::Integers(vec![1, -2, 3, 4]), vec![2, 2])
    );
    let floats = read("1.5\n-2\n").unwrap();
    assert_eq!(
        (floats.values, floats.shape),
        (PlainValues::Floats(vec![1.5, -2.0]), vec![2])
    );
    for (text, says) in [
        (
            "[1, 2]\n[3]\n",
            "line 2: an array of 1 where line 1 has an array of 2",
        ),
        (
            "[1, 2]\n3\n",
            "line 2: a single number where line 1 has an array of 2",
        ),
        ("[1, \"a\"]\n", "line 1, value 2: not a number"),
        (
            "{\"a\": 1}\n",
            "line 1: not a number or an array of numbers",
        ),
        (
            "[1.5, 9007199254740993]\n",
            "line 1, value 2: the integer 9007199254740993",
        ),
        (
            "18446744073709551615\n",
            "does not fit in a signed 64-bit integer",
        ),
        ("NaN\n", "line 1"),
    ] {
        let message = read(text).unwrap_err().to_string();
        assert!(message.contains(says), "{text:?}: {message}");
    }

    let npy = |descr: &str, fortran: bool, shape: &str, data: &[u8]| {
        let header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let padded = (10 + header.len() + 1).div_ceil(64) * 64 - 10;
        bytes.extend_from_slice(&(padded as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.resize(10 + padded - 1, b' ');
        bytes.push(b'\n');
        bytes.extend_from_slice(data);
        bytes
    };
    let f8: Vec<u8> = [0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    // Column-major on disk: rows come back in row-major order.
    let fortran = npy("<f8", true, "(2, 3)", &f8);
    let read = read_npy_numbers(&fortran[..], Some(fortran.len() as u64)).unwrap();
    assert_eq!(
        read.values,
        PlainValues::Floats(vec![0.0, 2.0, 4.0, 1.0, 3.0, 5.0])
    );
    let i2: Vec<u8> = [-3i16, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
    let ints = npy("<i2", false, "(2,)", &i2);
    assert_eq!(
        read_npy_numbers(&ints[..], None).unwrap().values,
        PlainValues::Integers(vec![-3, 7])
    );
    let nan: Vec<u8> = [1.0f64, f64::NAN]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    for (bytes, says) in [
        (npy("<f8", false, "(2,)", &nan), "npy element 2"),
        (npy(">f8", false, "(2,)", &f8[..16]), "npy dtype >f8"),
        (npy("<f8", false, "(3,)", &f8[..16]), "needs 24 data bytes"),
        (npy("<f8", true, "(1, 1, 2)", &f8[..16]), "Fortran order"),
    ] {
        let message = read_npy_numbers(&bytes[..], Some(bytes.len() as u64))
            .unwrap_err()
            .to_string();
        assert!(message.contains(says), "{says}: {message}");
    }
}

/// Five samples of two integers, packed with little headroom (so that the layout is small),
/// written to bytes; and the context that made them.
fn packed_file() -> (Vec<u8>, &'static paillier_gpu::ExecutionContext) {
    let ctx = small_context(SCHEMES[0]);
    let options = PackOptions::new(100.0).with_headroom_bits(8);
    let x = ctx
        .encrypt_packed(
            Numbers::Integers(&[1, -2, 3, 4, -100, 100, 0, 7, 99, -99]),
            2,
            &options,
        )
        .unwrap();
    (encode_packed_numbers(&x).unwrap(), ctx)
}

#[test]
fn a_packed_array_reads_back_as_it_was_written_and_its_layer_too() {
    let (bytes, ctx) = packed_file();
    let read = decode_packed_numbers(
        &bytes[..],
        Some(bytes.len() as u64),
        ctx.public().public_key(),
    )
    .unwrap();
    assert_eq!(read.shape(), [5, 2]);
    assert_eq!(
        ctx.decrypt_packed(&read).unwrap(),
        Decrypted::Integers(vec![1, -2, 3, 4, -100, 100, 0, 7, 99, -99])
    );
    // A layer's output (a float layout with a grown bound) survives the file too.
    let model = LinearModel::with_weight_rows(
        vec![vec![1.0], vec![-0.5]],
        vec![0.25],
        WeightRows::PerInput,
    )
    .unwrap();
    let y = ctx.public_context().infer_packed(&model, &read).unwrap();
    let bytes = encode_packed_numbers(&y).unwrap();
    let y_read = decode_packed_numbers(&bytes[..], None, ctx.public().public_key()).unwrap();
    assert_eq!(y_read.layout(), y.layout());
    assert_eq!(y_read.ciphertexts(), y.ciphertexts());
    assert_eq!(
        ctx.decrypt_packed(&y_read).unwrap(),
        Decrypted::Floats(vec![2.25, 1.25, -149.75, -3.25, 148.75])
    );
    // Either kind of file is told apart by its magic.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("packed");
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        read_any_encrypted_numbers(&path, ctx.public().public_key()).unwrap(),
        EncryptedNumbersFile::Packed(_)
    ));
    let (exact, _) = per_element_file(0, 1);
    std::fs::write(&path, &exact).unwrap();
    assert!(matches!(
        read_any_encrypted_numbers(&path, ctx.public().public_key()).unwrap(),
        EncryptedNumbersFile::Array(_)
    ));
    std::fs::write(&path, b"PGPU").unwrap();
    let e = read_any_encrypted_numbers(&path, ctx.public().public_key()).unwrap_err();
    assert!(
        e.to_string().contains("shorter than its 64-byte header"),
        "{e}"
    );
}

#[test]
fn every_bad_packed_header_field_is_named() {
    let (good, ctx) = packed_file();
    let read = |bytes: &[u8]| {
        decode_packed_numbers(bytes, Some(bytes.len() as u64), ctx.public().public_key())
            .map(drop)
            .unwrap_err()
            .to_string()
    };
    let patched = |offset: usize, value: &[u8]| patch(&good, offset, value);
    let slot_bits = u32::from_le_bytes(good[16..20].try_into().unwrap());
    let slots = u32::from_le_bytes(good[24..28].try_into().unwrap());
    for (bytes, says) in [
        (good[..10].to_vec(), "shorter than its 80-byte header"),
        (patched(0, b"PGPUNUMS"), "bad magic"),
        (patched(8, &2u16.to_le_bytes()), "version 2"),
        (patched(10, &[7]), "number kind 7"),
        (patched(11, &[1]), "reserved byte 1"),
        (patched(12, &7u32.to_le_bytes()), "ciphertexts of 7 bytes"),
        (patched(28, &0u32.to_le_bytes()), "slot bound of 0 bytes"),
        (patched(28, &u32::MAX.to_le_bytes()), "slot bound of"),
        (patched(24, &0u32.to_le_bytes()), "in 0 slots"),
        (patched(32, &0u64.to_le_bytes()), "0 samples"),
        (patched(40, &0u64.to_le_bytes()), "of 0 columns"),
        (patched(40, &u64::MAX.to_le_bytes()), "overflow"),
        (patched(32, &100u64.to_le_bytes()), "the header promises"),
        (patched(48, &[0u8; 32]), "was made under the key"),
        (good[..good.len() - 1].to_vec(), "the header promises"),
        // A layout this key's plaintexts do not hold: more slots, or slots wider than n.
        (
            patched(24, &(slots + 1).to_le_bytes()),
            "this key's plaintexts hold",
        ),
        (
            patched(16, &100_000u32.to_le_bytes()),
            "does not fit this key",
        ),
        // A bound that leaves no room for the sign.
        (patched(16, &2u32.to_le_bytes()), "does not fit this key"),
    ] {
        let message = read(&bytes);
        assert!(message.contains(says), "{says}: {message}");
    }
    assert!(slot_bits > 8);
    // Without a known length, a short body is found when it ends.
    let short = &good[..good.len() - 1];
    let e = decode_packed_numbers(short, None, ctx.public().public_key())
        .map(drop)
        .unwrap_err();
    assert!(e.to_string().contains("bytes follow the header"), "{e}");
    // A ciphertext that is not below n².
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last - 10..].fill(0xff);
    assert!(read(&bad).contains("not below n^2"));
    // A lookup key cannot hold numbers.
    let lookup = small_context(SCHEMES[1]);
    assert!(decode_packed_numbers(&good[..], None, lookup.public().public_key()).is_err());
}

/// `bytes` with `value` written at `offset`.
fn patch(bytes: &[u8], offset: usize, value: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[offset..offset + value.len()].copy_from_slice(value);
    bytes
}
