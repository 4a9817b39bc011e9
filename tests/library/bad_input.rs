//! Bad input never panics: every parser of ciphertext and vector files returns a typed error.
//! Bad context files are in `bad_context_files.rs`.

use crate::common;

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{npy_bytes, small_context};
use paillier_gpu::formats::ciphertexts::{self, CiphertextShape};
use paillier_gpu::formats::vectors;
use paillier_gpu::{Error, Scheme};

fn shape() -> CiphertextShape {
    CiphertextShape {
        piece_bytes: 64,
        pieces: 1,
        key: None,
    }
}

#[test]
fn malformed_binary_ciphertext_files_are_rejected() {
    let ctx = small_context(Scheme::Paillier);
    let shape = CiphertextShape {
        piece_bytes: ctx.public().public_key().ciphertext_bytes(),
        pieces: 1,
        key: Some(ctx.public().public_key().fingerprint()),
    };
    let good = ciphertexts::encode_binary_batch(
        &ctx.encrypt_batch(&[vec![1u8; 64], vec![0u8; 64]]).unwrap(),
        shape,
    )
    .unwrap();
    assert_eq!(
        ciphertexts::read_binary(Cursor::new(&good), shape)
            .unwrap()
            .len(),
        2
    );
    let mut huge_count = good.clone();
    huge_count[24..32].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let mut overflow = good.clone();
    overflow[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    let mut bad_version = good.clone();
    bad_version[8] = 9;
    let mut extra = good.clone();
    extra.push(0);
    for (bytes, what) in [
        (good[..good.len() - 1].to_vec(), "truncated record"),
        (good[..10].to_vec(), "truncated header"),
        (good[..40].to_vec(), "truncated key fingerprint"),
        (huge_count, "huge record count"),
        (overflow, "overflowing record count"),
        (bad_magic, "bad magic"),
        (bad_version, "bad version"),
        (extra, "trailing bytes"),
    ] {
        let err = ciphertexts::read_binary(Cursor::new(bytes), shape).unwrap_err();
        assert!(
            matches!(
                err,
                Error::MalformedFile {
                    kind: "ciphertexts",
                    ..
                }
            ),
            "{what}: {err}"
        );
    }
    let other_width = CiphertextShape {
        piece_bytes: 32,
        pieces: 1,
        ..shape
    };
    assert!(ciphertexts::read_binary(Cursor::new(&good), other_width).is_err());
    // A file made under another key is refused by its fingerprint, whatever its records hold.
    let other_key = CiphertextShape {
        key: Some(paillier_gpu::paillier::KeyFingerprint::from_bytes([1; 32])),
        ..shape
    };
    assert!(matches!(
        ciphertexts::read_binary(Cursor::new(&good), other_key),
        Err(Error::KeyMismatch { .. })
    ));
    // Version 1 files (no fingerprint) still read under any key.
    let v1 = ciphertexts::encode_binary(
        &ciphertexts::read_binary(Cursor::new(&good), shape).unwrap(),
        CiphertextShape { key: None, ..shape },
    )
    .unwrap();
    assert_eq!(&v1[8..10], &1u16.to_le_bytes());
    assert_eq!(
        ciphertexts::read_binary(Cursor::new(&v1), other_key)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn malformed_jsonl_ciphertext_files_are_rejected() {
    let s = shape();
    let wide = BASE64.encode([1u8; 65]);
    let cases = [
        ("{\"a\": 1}\n", "not an array"),
        ("[1]\n", "chunk not a string"),
        ("[\"@@@\"]\n", "not base64"),
        ("[\"AA\n", "broken JSON"),
    ];
    for (text, what) in cases {
        let err = ciphertexts::read_jsonl(Cursor::new(text), s).unwrap_err();
        assert!(matches!(err, Error::MalformedFile { .. }), "{what}: {err}");
    }
    let err = ciphertexts::read_jsonl(Cursor::new(format!("[\"{wide}\"]\n")), s).unwrap_err();
    assert!(
        matches!(err, Error::InvalidCiphertext { index: 0, .. }),
        "{err}"
    );
    let err =
        ciphertexts::read_jsonl(Cursor::new("[\"AAAA\"]\n[\"AAAA\", \"AAAA\"]\n"), s).unwrap_err();
    assert!(
        matches!(err, Error::InvalidCiphertext { index: 1, .. }),
        "{err}"
    );
    let long_line = format!("[\"{}\"]\n", "A".repeat(10 << 20));
    assert!(matches!(
        ciphertexts::read_jsonl(Cursor::new(long_line), s),
        Err(Error::MalformedFile { .. })
    ));
    // Shorter chunks are zero-padded, as the SDK accepts them.
    let short = ciphertexts::read_jsonl(Cursor::new("[\"AQ==\"]\n\n"), s).unwrap();
    assert_eq!(short[0].chunks[0].as_biguint(), &1u32.into());
}

#[test]
fn malformed_vector_files_are_rejected() {
    let read = |text: &str| vectors::read_jsonl(Cursor::new(text.to_owned()), 3);
    assert_eq!(
        read("[0, 1, 1]\n\n[1,0,0]").unwrap(),
        vec![vec![0, 1, 1], vec![1, 0, 0]]
    );
    assert!(matches!(
        read("[0, 1]\n"),
        Err(Error::VectorLength {
            index: 0,
            expected: 3,
            found: 2
        })
    ));
    for (bad, value) in [
        ("[0, 2, 1]", "2"),
        ("[0, -1, 1]", "-1"),
        ("[0, 0.5, 1]", "0.5"),
        ("[0, \"1\", 1]", "\"1\""),
        ("[0, true, 1]", "true"),
    ] {
        let err = read(&format!("[1, 1, 1]\n{bad}\n")).unwrap_err();
        assert!(
            matches!(&err, Error::NonBinaryValue { index: 1, position: 1, value: v } if v == value),
            "{bad}: {err}"
        );
    }
    assert!(matches!(
        read("[0, 1, 1\n"),
        Err(Error::MalformedFile {
            kind: "vectors",
            ..
        })
    ));
    assert!(matches!(
        read("{\"v\": [0, 1, 1]}\n"),
        Err(Error::MalformedFile { .. })
    ));
}

#[test]
fn npy_vectors_are_read_and_checked() {
    let data = [0u8, 1, 1, 1, 0, 0];
    for descr in ["|u1", "|i1", "|b1"] {
        let v = vectors::read_npy(&npy_bytes(descr, 2, 3, &data, false), 3).unwrap();
        assert_eq!(v, vec![vec![0, 1, 1], vec![1, 0, 0]], "{descr}");
    }
    // Fortran order: column-major data.
    let fortran = vectors::read_npy(&npy_bytes("|u1", 2, 3, &[0, 1, 1, 0, 1, 0], true), 3).unwrap();
    assert_eq!(fortran, vec![vec![0, 1, 1], vec![1, 0, 0]]);
    let err =
        vectors::read_npy(&npy_bytes("|i1", 2, 3, &[0, 1, 0xff, 1, 0, 0], false), 3).unwrap_err();
    assert!(
        matches!(&err, Error::NonBinaryValue { index: 0, position: 2, value } if value == "-1"),
        "{err}"
    );
    assert!(matches!(
        vectors::read_npy(&npy_bytes("|u1", 2, 3, &data, false), 4),
        Err(Error::VectorLength { .. })
    ));
    for (bytes, what) in [
        (npy_bytes("<f8", 1, 1, &[0; 8], false), "float dtype"),
        (
            npy_bytes("|u1", 1000, 3, &data, false),
            "shape larger than the data",
        ),
        (b"\x93NUMPY garbage".to_vec(), "bad header"),
        (Vec::new(), "empty"),
    ] {
        let err = vectors::read_npy(&bytes, 3).unwrap_err();
        assert!(
            matches!(
                err,
                Error::MalformedFile {
                    kind: "vectors",
                    ..
                }
            ),
            "{what}: {err}"
        );
    }
}
