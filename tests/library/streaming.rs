//! Ciphertext files read and written a block at a time, and the aggregation that streams a
//! database past a query: the same records, bytes and products as the whole-batch path, whatever
//! the block size, and every bad file refused with the record it stopped at.

use crate::common;

use common::{small_context, SCHEMES};
use paillier_gpu::formats::ciphertexts::{
    encode_binary_batch, encode_jsonl_batch, CiphertextForm, CiphertextReader, CiphertextWriter,
    COUNT_OFFSET,
};
use paillier_gpu::hamming::{aggregate_blocks, Selection};
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::Error;
use proptest::prelude::*;

fn bits(len: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..=1, len)
}

/// Every record of `reader`, read `block` at a time into one reused batch.
fn read_in_blocks<R: std::io::BufRead>(
    mut reader: CiphertextReader<'_, R>,
    template: &CiphertextBatch,
    block: usize,
) -> CiphertextBatch {
    let mut all = template.records_in(0..0).unwrap();
    let mut piece = template.records_in(0..0).unwrap();
    loop {
        piece.clear();
        let read = reader.read_block(block, &mut piece).unwrap();
        assert_eq!(read, piece.records());
        if read == 0 {
            return all;
        }
        assert!(read <= block);
        all.extend(&piece).unwrap();
    }
}

/// `batch` written `block` records at a time.
fn write_in_blocks(
    batch: &CiphertextBatch,
    form: CiphertextForm,
    shape: paillier_gpu::formats::ciphertexts::CiphertextShape,
    promised: Option<u64>,
    block: usize,
) -> Vec<u8> {
    let mut writer =
        CiphertextWriter::new(Vec::new(), "out".as_ref(), form, shape, promised).unwrap();
    for start in (0..batch.records()).step_by(block) {
        let end = (start + block).min(batch.records());
        writer
            .write_batch(&batch.records_in(start..end).unwrap())
            .unwrap();
    }
    assert_eq!(writer.records_written(), batch.records() as u64);
    writer.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn blocks_read_and_write_the_whole_batch_bytes(
        vectors in proptest::collection::vec(bits(64), 0..9),
        block in 1usize..4,
        s in 0usize..2,
    ) {
        let ctx = small_context(SCHEMES[s]);
        let shape = ctx.ciphertext_shape();
        let batch = ctx.encrypt_batch(&vectors).unwrap();
        let binary = encode_binary_batch(&batch, shape).unwrap();
        let jsonl = encode_jsonl_batch(&batch, shape).unwrap();

        let reader = CiphertextReader::binary(&binary[..], shape, ctx.public().public_key()).unwrap();
        prop_assert_eq!(reader.records_promised(), Some(vectors.len() as u64));
        prop_assert_eq!(&read_in_blocks(reader, &batch, block), &batch);
        let reader = CiphertextReader::json_lines(&jsonl[..], shape, ctx.public().public_key()).unwrap();
        prop_assert_eq!(reader.records_promised(), None);
        prop_assert_eq!(&read_in_blocks(reader, &batch, block), &batch);

        let count = Some(batch.records() as u64);
        for promised in [count, None] {
            prop_assert_eq!(
                &write_in_blocks(&batch, CiphertextForm::Binary, shape, promised, block),
                &binary
            );
            prop_assert_eq!(
                &write_in_blocks(&batch, CiphertextForm::JsonLines, shape, promised, block),
                &jsonl
            );
        }
    }

    #[test]
    fn streamed_aggregation_equals_the_index(
        database in proptest::collection::vec(bits(64), 0..9),
        query in bits(64),
        block in 1usize..4,
        s in 0usize..2,
    ) {
        let ctx = small_context(SCHEMES[s]);
        let records = ctx.encrypt_batch(&database).unwrap();
        let query = ctx.encrypt_batch(&[query]).unwrap();
        let mut index = ctx.new_index().unwrap();
        index.insert_batch(&records).unwrap();
        let expected = index.aggregate_batch(&query, &Selection::All).unwrap();

        let mut next = 0;
        let mut got = records.records_in(0..0).unwrap();
        let answered = aggregate_blocks(
            ctx.public().backend().unwrap().as_ref(),
            ctx.public().public_key(),
            &query,
            block,
            |max, piece| {
                assert!(piece.is_empty());
                let end = (next + max).min(records.records());
                piece.extend(&records.records_in(next..end).unwrap()).unwrap();
                let read = end - next;
                next = end;
                Ok(read)
            },
            |responses| {
                assert!(responses.records() <= block);
                got.extend(responses)
            },
        ).unwrap();
        prop_assert_eq!(answered, records.records());
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn a_bad_record_is_named_by_its_place_in_the_file_and_the_block_is_left_as_it_was() {
    let ctx = small_context(SCHEMES[0]);
    let shape = ctx.ciphertext_shape();
    let batch = ctx
        .encrypt_batch(&[[0u8; 64], [1; 64], [0; 64], [1; 64]])
        .unwrap();

    // JSON Lines: record 2 (the third line) is not base64.
    let jsonl = String::from_utf8(encode_jsonl_batch(&batch, shape).unwrap()).unwrap();
    let mut lines: Vec<String> = jsonl.lines().map(str::to_owned).collect();
    lines[2] = r#"["not base64!"]"#.into();
    let bad = lines.join("\n");
    let mut reader =
        CiphertextReader::json_lines(bad.as_bytes(), shape, ctx.public().public_key()).unwrap();
    let mut block = batch.records_in(0..0).unwrap();
    assert_eq!(reader.read_block(2, &mut block).unwrap(), 2);
    let message = reader.read_block(2, &mut block).unwrap_err().to_string();
    assert!(message.contains("vector 2"), "{message}");
    assert_eq!(block.records(), 2, "the failed block added nothing");

    // Binary: record 3 is n² itself, not below it.
    let mut binary = encode_binary_batch(&batch, shape).unwrap();
    let last = binary.len() - shape.piece_bytes;
    binary[last..].fill(0xff);
    let mut reader =
        CiphertextReader::binary(&binary[..], shape, ctx.public().public_key()).unwrap();
    let mut block = batch.records_in(0..0).unwrap();
    assert_eq!(reader.read_block(3, &mut block).unwrap(), 3);
    let e = reader.read_block(3, &mut block).unwrap_err();
    assert!(
        matches!(e, Error::InvalidCiphertext { index: 3, .. }),
        "{e}"
    );
    assert_eq!(block.records(), 3);
}

#[test]
fn a_binary_body_that_breaks_its_headers_promise_is_refused() {
    let ctx = small_context(SCHEMES[0]);
    let shape = ctx.ciphertext_shape();
    let batch = ctx.encrypt_batch(&[[0u8; 64], [1; 64]]).unwrap();
    let binary = encode_binary_batch(&batch, shape).unwrap();
    let read_all = |bytes: &[u8]| {
        CiphertextReader::binary(bytes, shape, ctx.public().public_key())
            .and_then(|r| r.read_all())
            .map(|b| b.records())
    };
    assert_eq!(read_all(&binary).unwrap(), 2);

    let short = &binary[..binary.len() - 1];
    let message = read_all(short).unwrap_err().to_string();
    assert!(message.contains("promises 2 records"), "{message}");

    let mut long = binary.clone();
    long.push(0);
    let message = read_all(&long).unwrap_err().to_string();
    assert!(message.contains("but more bytes follow"), "{message}");

    // A header that lies about a huge count: refused at the body's end, nothing huge allocated.
    let mut lying = binary.clone();
    lying[COUNT_OFFSET..COUNT_OFFSET + 8].copy_from_slice(&(u64::MAX / 1024).to_le_bytes());
    let message = read_all(&lying).unwrap_err().to_string();
    assert!(message.contains("promises"), "{message}");
}

#[test]
fn lines_the_fast_scan_leaves_to_the_json_parser_read_the_same() {
    let ctx = small_context(SCHEMES[0]);
    let shape = ctx.ciphertext_shape();
    let batch = ctx.encrypt_batch(&[[0u8; 64], [1; 64]]).unwrap();
    let jsonl = String::from_utf8(encode_jsonl_batch(&batch, shape).unwrap()).unwrap();
    // JSON may escape '/' (and spell the array across spaces): the same strings.
    let escaped = jsonl.replace('/', "\\/").replace(',', " , ");
    let read = CiphertextReader::json_lines(escaped.as_bytes(), shape, ctx.public().public_key())
        .unwrap()
        .read_all()
        .unwrap();
    assert_eq!(read, batch);
    for (bad, says) in [
        ("[\"QUJD\"", "line 1"),
        ("{\"a\": 1}", "not a JSON array"),
        ("[1]", "not a string"),
        // A raw tab inside a string is not JSON (the fast scan must not trim it away).
        ("[\"\tQUJD\"]", "control character"),
        ("[\"QU\tJD\"]", "base64"),
    ] {
        let e = CiphertextReader::json_lines(bad.as_bytes(), shape, ctx.public().public_key())
            .unwrap()
            .read_all()
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn a_writer_keeps_its_headers_promise_and_the_stream_checks_its_query() {
    let ctx = small_context(SCHEMES[0]);
    let shape = ctx.ciphertext_shape();
    let batch = ctx.encrypt_batch(&[[0u8; 64], [1; 64]]).unwrap();
    let mut writer = CiphertextWriter::new(
        Vec::new(),
        "out.ct".as_ref(),
        CiphertextForm::Binary,
        shape,
        Some(3),
    )
    .unwrap();
    writer.write_batch(&batch).unwrap();
    assert!(writer.finish().is_err(), "2 records where 3 were promised");
    let mut writer = CiphertextWriter::new(
        Vec::new(),
        "out.ct".as_ref(),
        CiphertextForm::Binary,
        shape,
        Some(1),
    )
    .unwrap();
    assert!(
        writer.write_batch(&batch).is_err(),
        "2 records where 1 was promised"
    );

    let backend = ctx.public().backend().unwrap();
    let never = |_: usize, _: &mut CiphertextBatch| -> paillier_gpu::Result<usize> {
        panic!("no block is read when the query is refused")
    };
    let e = aggregate_blocks(
        backend.as_ref(),
        ctx.public().public_key(),
        &batch,
        4,
        never,
        |_| Ok(()),
    )
    .unwrap_err();
    assert!(e.to_string().contains("2 records, not 1"), "{e}");
    let query = batch.records_in(0..1).unwrap();
    let e = aggregate_blocks(
        backend.as_ref(),
        ctx.public().public_key(),
        &query,
        0,
        never,
        |_| Ok(()),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)), "{e}");
    let other = small_context(SCHEMES[1]);
    let e = aggregate_blocks(
        backend.as_ref(),
        other.public().public_key(),
        &query,
        4,
        never,
        |_| Ok(()),
    )
    .unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e}");
}
