//! `RecordCodec` through the public API: records written in each mode, an honest answer ranked
//! and opened, and a lying service's answers and documents each refused as one.

use std::sync::OnceLock;

use paillier_gpu::hamming::Selection;
use paillier_gpu::verifiable::{
    AnswerRejection, Document, Expectation, FailureKind, FetchedRecord, LayoutKind, Ranked,
    RecordCodec, RecordOptions, SentRecord,
};
use paillier_gpu::{Error, ExecutionContext, Scheme};
use serde_json::json;

use crate::common::small_options;

const EMBED: usize = 16;
const KB: &str = "kb-codec";
const BOTH: RecordOptions = RecordOptions {
    verifiable: true,
    private_meta: true,
};

fn context() -> &'static ExecutionContext {
    static CTX: OnceLock<ExecutionContext> = OnceLock::new();
    CTX.get_or_init(|| {
        ExecutionContext::create_with_passphrase(&small_options(Scheme::Paillier, EMBED), "pw")
            .unwrap()
    })
}

fn vectors() -> Vec<Vec<u8>> {
    (0..4u8)
        .map(|i| (0..EMBED as u8).map(|d| u8::from(d < 2 * i)).collect())
        .collect()
}

fn documents() -> Vec<Document> {
    (0..4)
        .map(|i| Document {
            content: format!("text {i}"),
            meta_data: json!({"tag1": format!("t{}", i % 2)})
                .as_object()
                .cloned()
                .unwrap(),
            name: None,
        })
        .collect()
}

/// The records written by `codec`, in a fresh index, answered to a query of zeros; what each
/// record sent, and the ids 10, 11, …
fn search(codec: &RecordCodec) -> (Vec<SentRecord>, Vec<Ranked>) {
    let ctx = context();
    if codec.options().verifiable {
        // A knowledge base's first digest fixes the layout (and, at version 1, says there is
        // one: verified records under "no digest" are refused).
        let fresh = RecordCodec::new(ctx, KB, codec.options());
        let none = fresh.open_digest(0, None, None).unwrap();
        let (_, sealed) = fresh.next_digest(&none, &Default::default()).unwrap();
        codec.open_digest(1, Some(&sealed), None).unwrap();
    }
    let records = codec.encrypt(&vectors()).unwrap();
    let docs = documents();
    let sent: Vec<SentRecord> = (0..4)
        .map(|i| codec.record(&records, i, Some(&docs[i])).unwrap())
        .collect();
    let mut index = ctx.new_index().unwrap();
    index.insert_batch(&records.batch).unwrap();
    let query = codec.encrypt_query(&[0u8; EMBED]).unwrap();
    let answer = index
        .aggregate_batch(query.encrypted(), &Selection::All)
        .unwrap();
    let expectation = Expectation {
        count: Some(4),
        ..Expectation::default()
    };
    let top = codec
        .rank(&query, &answer, &[10, 11, 12, 13], &expectation, 3)
        .unwrap();
    (sent, top)
}

fn fetched<'a>(top: &[Ranked], sent: &'a [SentRecord]) -> Vec<FetchedRecord<'a>> {
    top.iter()
        .map(|hit| FetchedRecord {
            chunk_id: hit.chunk_id,
            nonce: hit.nonce,
            content: Some(&sent[(hit.chunk_id - 10) as usize].content),
            meta_data: Some(&sent[(hit.chunk_id - 10) as usize].meta_data),
            name: sent[(hit.chunk_id - 10) as usize].name.as_deref(),
        })
        .collect()
}

fn rejected(result: paillier_gpu::Result<Vec<Document>>) -> (FailureKind, Vec<i64>) {
    match result {
        Err(Error::AnswerRejected(AnswerRejection { failures })) => {
            (failures[0].kind, failures[0].chunk_ids.clone())
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_honest_answer_is_ranked_and_opened_in_every_mode() {
    for (verifiable, private_meta) in [(false, false), (false, true), (true, false), (true, true)] {
        let options = RecordOptions {
            verifiable,
            private_meta,
        };
        let codec = RecordCodec::new(context(), KB, options);
        let (sent, top) = search(&codec);
        let ranked: Vec<(i64, u32)> = top.iter().map(|h| (h.chunk_id, h.distance)).collect();
        assert_eq!(ranked, vec![(10, 0), (11, 2), (12, 4)], "{options:?}");
        assert_eq!(top.iter().all(|h| h.nonce.is_some()), verifiable);
        let opened = codec.open(&fetched(&top, &sent), None).unwrap();
        for (hit, document) in top.iter().zip(&opened) {
            let mut written = documents()[(hit.chunk_id - 10) as usize].clone();
            if !private_meta {
                written.name = Some(format!("default_name_chunk_{}", hit.chunk_id - 10));
            }
            assert_eq!(document, &written, "{options:?}");
        }
    }
}

#[test]
fn a_swapped_content_and_a_filter_ignored_are_refused() {
    let codec = RecordCodec::new(context(), KB, BOTH);
    let (sent, top) = search(&codec);
    let mut swapped = fetched(&top, &sent);
    swapped[0].content = Some(&sent[3].content);
    assert_eq!(
        rejected(codec.open(&swapped, None)),
        (FailureKind::ContentMismatch, vec![10])
    );
    let mut missing = fetched(&top, &sent);
    missing[1].content = None;
    assert_eq!(
        rejected(codec.open(&missing, None)),
        (FailureKind::ContentMissing, vec![11])
    );
    // Records 10 and 12 hold t0: a service that ignored the filter answered 11 too.
    let filter = json!({"tag1": "t0"});
    assert_eq!(
        rejected(codec.open(&fetched(&top, &sent), Some(&filter))),
        (FailureKind::OutsideFilter, vec![11])
    );
    let sent_filter = codec.filter(&filter).unwrap();
    assert_eq!(sent_filter["tag1"], sent[0].meta_data["tag1"]);
}

#[test]
fn records_of_another_knowledge_base_are_refused_whole() {
    let ctx = context();
    let layout = LayoutKind::preferred(EMBED, ctx.key_len()).unwrap();
    let other = RecordCodec::new(ctx, "kb-other", BOTH).with_layout(layout);
    let records = RecordCodec::new(ctx, KB, BOTH)
        .with_layout(layout)
        .encrypt(&vectors())
        .unwrap();
    match other.stored(&records.batch, &[1, 2, 3, 4], &Expectation::default()) {
        Err(Error::AnswerRejected(rejection)) => {
            assert_eq!(rejection.failures[0].kind, FailureKind::InvalidRecord)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_codec_never_guesses_the_layout() {
    let codec = RecordCodec::new(context(), KB, BOTH);
    let error = codec.encrypt(&vectors()).unwrap_err().to_string();
    assert!(error.contains("open the digest"), "{error}");
    // The digest's layout, once known, is the only one the codec takes.
    let codec = codec.with_layout(LayoutKind::OneBit);
    assert!(codec.layout().is_err()); // one-bit does not fit key_len 256
    let two_bit = RecordCodec::new(context(), KB, BOTH).with_layout(LayoutKind::TwoBit);
    let records = two_bit.encrypt(&vectors()).unwrap();
    let mut index = context().new_index().unwrap();
    index.insert_batch(&records.batch).unwrap();
    let query = two_bit.encrypt_query(&[0u8; EMBED]).unwrap();
    let answer = index
        .aggregate_batch(query.encrypted(), &Selection::All)
        .unwrap();
    let ids = [1, 2, 3, 4];
    assert!(two_bit
        .rank(&query, &answer, &ids, &Expectation::default(), 4)
        .is_ok());
    // A digest of another layout than the one held is refused: one a codec that took the
    // one-bit layout wrote.
    let one_bit_writer = RecordCodec::new(context(), KB, BOTH).with_layout(LayoutKind::OneBit);
    let one_bit = one_bit_writer.open_digest(0, None, None).unwrap();
    assert_eq!(one_bit.layout(), LayoutKind::OneBit);
    let (_, sealed) = one_bit_writer
        .next_digest(&one_bit, &Default::default())
        .unwrap();
    let error = two_bit.open_digest(1, Some(&sealed), None).unwrap_err();
    assert!(
        error.to_string().contains("its digest says one-bit"),
        "{error}"
    );
}

#[test]
fn verified_records_under_no_digest_are_refused() {
    let codec = RecordCodec::new(context(), KB, BOTH);
    codec.open_digest(0, None, None).unwrap();
    let records = codec.encrypt(&vectors()).unwrap();
    let ids = [1, 2, 3, 4];
    match codec.stored(&records.batch, &ids, &Expectation::default()) {
        Err(Error::AnswerRejected(rejection)) => {
            assert_eq!(rejection.failures[0].kind, FailureKind::NoDigest);
            assert_eq!(rejection.failures[0].chunk_ids, ids);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // No record, no claim to test: an empty knowledge base without a digest is fine.
    let empty = paillier_gpu::paillier::CiphertextBatch::from_ciphertexts(
        context().public().public_key(),
        1,
        &[],
    )
    .unwrap();
    assert!(codec.stored(&empty, &[], &Expectation::default()).is_ok());
}

#[test]
fn no_digest_once_told_is_not_cleared_by_a_later_open_nor_does_a_refused_open_fix_a_layout() {
    let codec = RecordCodec::new(context(), KB, BOTH);
    let none = codec.open_digest(0, None, None).unwrap();
    let (_, sealed) = codec.next_digest(&none, &Default::default()).unwrap();
    codec.open_digest(1, Some(&sealed), None).unwrap();
    let records = codec.encrypt(&vectors()).unwrap();
    match codec.stored(&records.batch, &[1, 2, 3, 4], &Expectation::default()) {
        Err(Error::AnswerRejected(rejection)) => {
            assert_eq!(rejection.failures[0].kind, FailureKind::NoDigest)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // "None with chunks" refused as a rollback leaves the layout unset, not two-bit.
    let fresh = RecordCodec::new(context(), KB, BOTH);
    assert!(fresh
        .open_digest_holding(0, None, Some((1, sealed.as_str())), 5, &[])
        .is_err());
    assert!(fresh.layout().is_err());
}
