//! A JSON answer serialised where it is made: on the blocking pool, inside the handler's
//! work, so that formatting a large answer never holds one of the async workers that every
//! other request (and `/healthz`) needs.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A JSON body, already serialised.
pub struct Answer(Vec<u8>);

impl Answer {
    /// Serialises `value` now.
    pub fn json(value: Value) -> Self {
        Self(value.to_string().into_bytes())
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        ([(CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}
