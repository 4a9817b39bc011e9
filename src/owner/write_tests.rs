//! The write driver stepped by hand, no service: what it sends, how it retries after another
//! writer, and what it refuses to send again.

use std::sync::Arc;

use paillier_gpu_api as api;
use serde_json::value::RawValue;

use super::http::{Answer, Driver, Method, Step, Unanswered};
use super::state::OwnerState;
use super::write::{PlanWith, Planned, RecordsWrite, Written};
use super::DigestRead;
use crate::error::Error;
use crate::verifiable::{test_codec, RecordNonce, WRITE_ATTEMPTS};

fn json<T: serde::Serialize>(status: u16, body: &T) -> Answer {
    Answer {
        status,
        body: serde_json::to_vec(body).unwrap(),
        ..Answer::default()
    }
}

fn no_digest() -> Answer {
    let stored = api::OwnerDigest {
        version: 0,
        sealed: None,
        next_chunk_id: 7,
        chunks: 0,
        links: Vec::new(),
        more_links: false,
    };
    json(200, &stored)
}

fn one_insert() -> RecordsWrite<impl super::Planner> {
    let state = Arc::new(OwnerState::in_memory());
    let plan = PlanWith::new(|_: &super::Current| {
        let chunk = RawValue::from_string("{}".into()).unwrap();
        Ok(Planned {
            insert: vec![(chunk, RecordNonce::random(), None)],
            ..Planned::default()
        })
    });
    RecordsWrite::new(Arc::new(test_codec()), state, plan)
}

/// The write's request after the digest read; panics on anything else.
fn sent_write(write: &mut RecordsWrite<impl super::Planner>) -> api::RecordWrites {
    match write.step(None).unwrap() {
        Step::Send(read) => assert_eq!((read.method, read.route), (Method::Get, "owner_digest")),
        Step::Done(_) => panic!("a write reads the digest first"),
    }
    match write.step(Some(Ok(no_digest()))).unwrap() {
        Step::Send(request) => {
            assert_eq!((request.method, request.route), (Method::Post, "records"));
            serde_json::from_slice(request.body.as_deref().unwrap()).unwrap()
        }
        Step::Done(_) => panic!("a write with an insert is sent"),
    }
}

#[test]
fn a_write_sends_the_digest_one_version_on_and_keeps_it_as_seen() {
    let mut write = one_insert();
    let body = sent_write(&mut write);
    assert_eq!(body.first_chunk_id, Some(7));
    assert_eq!(
        (
            body.owner_digest.expected_version,
            body.owner_digest.version
        ),
        (0, 1)
    );
    let stored = api::RecordsWritten {
        chunk_ids: vec![7],
        version: 1,
        next_chunk_id: 8,
    };
    match write.step(Some(Ok(json(200, &stored)))).unwrap() {
        Step::Done(written) => assert_eq!(written, Written { chunk_ids: vec![7] }),
        Step::Send(_) => panic!("the write is over"),
    }
    assert!(
        write.step(None).is_err(),
        "a driver is not stepped after its end"
    );
}

#[test]
fn another_writer_makes_it_read_and_plan_again_until_the_attempts_are_spent() {
    let mut write = one_insert();
    let conflict = api::DigestConflict {
        current_version: 3,
        next_chunk_id: 9,
    };
    sent_write(&mut write);
    for attempt in 1..WRITE_ATTEMPTS {
        match write.step(Some(Ok(json(409, &conflict)))).unwrap() {
            Step::Send(read) => assert_eq!(read.route, "owner_digest", "attempt {attempt}"),
            Step::Done(_) => panic!("a refused write is planned again"),
        }
        assert!(matches!(
            write.step(Some(Ok(no_digest()))).unwrap(),
            Step::Send(request) if request.route == "records"
        ));
    }
    match write.step(Some(Ok(json(409, &conflict)))) {
        Err(Error::ConcurrentWrite(message)) => assert!(message.contains("nothing was written")),
        other => panic!("expected ConcurrentWrite, got {other:?}"),
    }
}

#[test]
fn a_write_without_an_answer_is_not_sent_again_and_a_409_without_a_conflict_is_an_error() {
    let mut write = one_insert();
    sent_write(&mut write);
    match write.step(Some(Err(Unanswered("connection reset".into())))) {
        Err(Error::Unreachable { route, detail }) => {
            assert_eq!(route, "records");
            assert!(
                detail.contains("may have been committed: it is not sent again"),
                "{detail}"
            );
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let mut write = one_insert();
    sent_write(&mut write);
    let refused = json(409, &serde_json::json!({"message": "busy"}));
    assert!(matches!(
        write.step(Some(Ok(refused))),
        Err(Error::Remote { status: 409, .. })
    ));
}

#[test]
fn ids_other_than_counted_are_an_error_after_the_version_is_kept() {
    let state = Arc::new(OwnerState::in_memory());
    let codec = Arc::new(test_codec());
    let plan = PlanWith::new(|_: &super::Current| {
        let chunk = RawValue::from_string("{}".into()).unwrap();
        Ok(Planned {
            insert: vec![(chunk, RecordNonce::random(), None)],
            ..Planned::default()
        })
    });
    let mut write = RecordsWrite::new(Arc::clone(&codec), Arc::clone(&state), plan);
    sent_write(&mut write);
    let stored = api::RecordsWritten {
        chunk_ids: vec![40],
        version: 1,
        next_chunk_id: 41,
    };
    assert!(matches!(
        write.step(Some(Ok(json(200, &stored)))),
        Err(Error::Unreachable { .. })
    ));
    let seen = state
        .seen(codec.context().id(), codec.kb())
        .unwrap()
        .unwrap();
    assert_eq!(seen.version, 1);
    // A read of an older version after it is a rollback, and noted.
    let mut read = DigestRead::new(Arc::clone(&codec), Arc::clone(&state));
    match read.step(None).unwrap() {
        Step::Send(request) => assert_eq!(request.query, vec![("since", "1".to_owned())]),
        Step::Done(_) => panic!("a read asks the service"),
    }
    let refused = read.step(Some(Ok(no_digest()))).unwrap_err();
    assert!(refused.shows_rollback(), "{refused}");
    assert!(state
        .rollback_noted(codec.context().id(), codec.kb())
        .unwrap());
}

#[test]
fn a_write_over_a_digest_just_read_sends_at_once_and_reads_again_after_a_conflict() {
    let current = super::Current {
        digest: crate::verifiable::OwnerDigest::default(),
        next_chunk_id: 7,
        chunks: 0,
    };
    let mut write = one_insert().over(current);
    match write.step(None).unwrap() {
        Step::Send(request) => {
            assert_eq!((request.method, request.route), (Method::Post, "records"));
            let body: api::RecordWrites =
                serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
            assert_eq!(body.first_chunk_id, Some(7));
        }
        Step::Done(_) => panic!("a write with an insert is sent"),
    }
    let conflict = api::DigestConflict {
        current_version: 0,
        next_chunk_id: 9,
    };
    match write.step(Some(Ok(json(409, &conflict)))).unwrap() {
        Step::Send(read) => assert_eq!((read.method, read.route), (Method::Get, "owner_digest")),
        Step::Done(_) => panic!("a conflict reads the digest again"),
    }
}
