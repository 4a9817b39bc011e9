//! The one status match: docs/server-api.md's table is the match's, and each 5xx is logged once.

use super::*;
use crate::test_log;

/// One error of each kind the match tells apart, by the name docs/server-api.md gives it.
fn one_of_each() -> Vec<(&'static str, ApiError)> {
    let service = |e: ServiceError| ApiError::Service(e);
    let server = |e: Error| ApiError::Service(ServiceError::Server(e));
    let library = |e: LibraryError| ApiError::Service(ServiceError::Library(e));
    vec![
        ("BadInput", service(ServiceError::bad_input("x"))),
        (
            "Unauthenticated",
            service(ServiceError::unauthenticated("x")),
        ),
        ("Forbidden", service(ServiceError::forbidden("x"))),
        ("NotFound", service(ServiceError::not_found("x"))),
        ("BodyTimeout", ApiError::BodyTimeout(Duration::from_secs(1))),
        ("Conflict", service(ServiceError::conflict("x"))),
        (
            "DigestConflict",
            service(ServiceError::DigestConflict {
                current_version: 1,
                next_chunk_id: 2,
            }),
        ),
        ("TooLarge", service(ServiceError::too_large("x"))),
        ("ClientGone", service(ServiceError::ClientGone)),
        ("Unavailable", service(ServiceError::unavailable("x"))),
        ("Answer", ApiError::Answer("x".into())),
        ("Panicked", ApiError::Panicked("x".into())),
        ("Store", server(Error::Store("x".into()))),
        (
            "StoreUnavailable",
            server(Error::StoreUnavailable("x".into())),
        ),
        ("RefusedValue", server(Error::RefusedValue("x".into()))),
        ("SharedPage", server(Error::SharedPage("x".into()))),
        ("InvalidSetting", server(Error::InvalidSetting("x".into()))),
        (
            "InvalidCiphertext",
            library(LibraryError::InvalidCiphertext {
                index: 0,
                reason: "x".into(),
            }),
        ),
        (
            "MalformedContext",
            library(LibraryError::MalformedContext("x".into())),
        ),
        (
            "GpuUnavailable",
            library(LibraryError::GpuUnavailable("x".into())),
        ),
        ("GpuFailure", library(LibraryError::GpuFailure("x".into()))),
        (
            "SealedVectors",
            library(LibraryError::SealedVectors("x".into())),
        ),
        ("WrongKey", library(LibraryError::WrongKey)),
    ]
}

/// The `| kind | status |` rows between docs/server-api.md's status-table markers.
fn documented() -> Vec<(String, u16)> {
    let doc = include_str!("../../../docs/server-api.md");
    let start = doc
        .find("<!-- status table: begin -->")
        .expect("docs/server-api.md has the status table's begin marker");
    let end = doc
        .find("<!-- status table: end -->")
        .expect("docs/server-api.md has the status table's end marker");
    doc[start..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let kind = cells[1].trim_matches('`').to_owned();
            let status = cells[2].parse().expect("a status number");
            (kind, status)
        })
        .collect()
}

#[test]
fn the_documented_status_table_is_the_match() {
    let from_code: Vec<(String, u16)> = one_of_each()
        .into_iter()
        .map(|(kind, error)| (kind.to_owned(), error.status().as_u16()))
        .collect();
    assert_eq!(documented(), from_code);
}

#[test]
fn a_wrapped_error_keeps_its_kinds_status() {
    let gpu = ServiceError::Library(LibraryError::GpuFailure("lost".into())).during("inference");
    assert_eq!(
        ApiError::Service(gpu).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let sent = ServiceError::Library(LibraryError::MalformedContext("x".into())).during("step");
    let error = ApiError::Service(sent);
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error.to_string(), "step: malformed execution context: x");
}

#[test]
fn every_5xx_is_logged_once_with_its_cause_and_no_4xx_is() {
    test_log::install();
    let cause = "the disk said no (api_error test)";
    let _ = ApiError::from(Error::Store(cause.into())).into_response();
    assert_eq!(test_log::count(cause), 1);

    let refused = "a refused value (api_error test)";
    let response = ApiError::from(Error::RefusedValue(refused.into())).into_response();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(test_log::count(refused), 0);
}

#[test]
fn a_digest_conflict_carries_where_to_read_again_from() {
    let error = ApiError::Service(ServiceError::DigestConflict {
        current_version: 3,
        next_chunk_id: 17,
    });
    let response = error.into_response();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = futures_body(response);
    assert_eq!(body["current_version"], 3);
    assert_eq!(body["next_chunk_id"], 17);
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("version 3")));
}

/// An answer's JSON body, read on a runtime of its own.
fn futures_body(response: axum::response::Response) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let bytes = runtime
        .block_on(axum::body::to_bytes(response.into_body(), 1 << 16))
        .expect("the body");
    serde_json::from_slice(&bytes).expect("JSON")
}
