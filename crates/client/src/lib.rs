//! A client of an XTrace service: `paillier-gpu serve`, or XTrace's hosted one. It speaks the
//! data plane as the SDK's `XTraceIntegration` does (header `x-api-key`, paths ending in the
//! organisation's id): execution contexts, chunk upload from a [`CiphertextBatch`],
//! `compute_hamming` into a batch, and metadata search; and, for an owner who trusts the
//! service with nothing, verifiable records and private metadata
//! ([`Client::upload_records`], [`Client::search_records`], [`Client::find_records`]).
//!
//! The client is blocking (reqwest's blocking client, TLS by rustls with the webpki roots); from
//! async code, call it inside `spawn_blocking`. Nothing secret leaves the machine: contexts go
//! with their secret key sealed, chunk contents AES-GCM-encrypted under the context's data key.
//!
//! ```no_run
//! use paillier_gpu_client::Client;
//! let client = Client::new("http://127.0.0.1:8742", "org-id", "3f9c...")?;
//! println!("{:?}", client.contexts()?);
//! # Ok::<(), paillier_gpu_client::Error>(())
//! ```
//!
//! [`CiphertextBatch`]: paillier_gpu::paillier::CiphertextBatch

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub use paillier_gpu_api as api;
mod by_id;
mod carrier;
mod chunks;
mod contexts;
mod digest;
pub mod error;
mod find;
mod meta_edits;
mod owner_digest;
mod partitions;
mod record_search;
mod records;
mod search;
mod sniff;

pub use admin::AdminClient;
pub use chunks::{Document, UPLOAD_BATCH};
pub use digest::{DigestSummary, SealReport, SeenDigest, StateDir};
pub use error::{Error, Result};
pub use find::Found;
pub use partitions::{PartitionSummary, Placement, Probe, RebuildReport};
pub use record_search::{Hit, SearchCost, SearchOptions, SearchTimes};
pub use records::{RecordOptions, Uploaded};
pub use search::HammingAnswer;

use std::fmt;
use std::time::Duration;

use reqwest::blocking::{RequestBuilder, Response};
use serde_json::Value;
use zeroize::Zeroizing;

/// How long one request may take (an aggregation over millions of records takes seconds).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// A data-plane client of one organisation on one service. Verifiable records also need the
/// owner's state chosen: [`Client::with_state_dir`] or [`Client::with_state_in_memory`].
pub struct Client {
    http: reqwest::blocking::Client,
    url: String,
    org_id: String,
    api_key: Zeroizing<String>,
    /// Where the owner keeps the digest versions it has seen, as the caller chose.
    state: Option<std::sync::Arc<paillier_gpu::owner::OwnerState>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("org_id", &self.org_id)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl Client {
    /// A client of the service at `url` (its `api_url`, such as `http://127.0.0.1:8742`) for
    /// organisation `org_id`, with an API key.
    pub fn new(url: &str, org_id: &str, api_key: &str) -> Result<Self> {
        Self::build(url, org_id, api_key, None)
    }

    /// The same, trusting also the CA certificate (PEM) `ca_pem`: for a server whose certificate
    /// is not signed by a public authority, such as `serve --tls-cert` with a self-made one.
    pub fn with_ca_certificate(
        url: &str,
        org_id: &str,
        api_key: &str,
        ca_pem: &[u8],
    ) -> Result<Self> {
        Self::build(url, org_id, api_key, Some(ca_certificate(ca_pem)?))
    }

    fn build(
        url: &str,
        org_id: &str,
        api_key: &str,
        ca: Option<reqwest::Certificate>,
    ) -> Result<Self> {
        let url = service_url(url)?;
        if org_id.is_empty() || org_id.contains('/') {
            return Err(Error::InvalidSetting(format!(
                "the organisation id {org_id:?} is empty or holds a '/'"
            )));
        }
        let http = http_client(url, ca)?;
        Ok(Self {
            http,
            url: url.to_owned(),
            org_id: org_id.to_owned(),
            api_key: Zeroizing::new(api_key.to_owned()),
            state: None,
        })
    }

    /// The organisation this client acts for.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// The address of a data-plane route: `{url}/v1/{route}/{org_id}{tail}`.
    fn address(&self, route: &str, tail: &str) -> String {
        format!("{}/v1/{route}/{}{tail}", self.url, self.org_id)
    }

    fn request(&self, method: reqwest::Method, address: &str) -> RequestBuilder {
        self.http
            .request(method, address)
            .header("x-api-key", self.api_key.as_str())
    }

    /// Sends a request; a non-success answer is [`Error::Remote`] with the service's message.
    fn send(&self, request: RequestBuilder, address: &str) -> Result<Response> {
        send(request, address)
    }

    /// Sends a request and reads its JSON answer.
    fn json(&self, request: RequestBuilder, address: &str) -> Result<Value> {
        json_answer(request, address)
    }
}

/// Sends a request; a non-success answer is [`Error::Remote`] with the service's message.
fn send(request: RequestBuilder, address: &str) -> Result<Response> {
    let unreachable = |e: reqwest::Error| Error::RemoteUnreachable {
        url: address.to_owned(),
        detail: e.to_string(),
    };
    let response = request.send().map_err(unreachable)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().unwrap_or_default();
    Err(Error::Remote {
        status: status.as_u16(),
        message: message_of(&text, status.canonical_reason().unwrap_or("error")),
    })
}

/// Sends a request and reads its JSON answer.
fn json_answer(request: RequestBuilder, address: &str) -> Result<Value> {
    send(request, address)?
        .json()
        .map_err(|e| Error::RemoteUnreachable {
            url: address.to_owned(),
            detail: format!("the answer is not JSON: {e}"),
        })
}

/// The HTTP client both planes' clients use: rustls, the request timeout, and `ca` trusted
/// besides the webpki roots.
fn http_client(url: &str, ca: Option<reqwest::Certificate>) -> Result<reqwest::blocking::Client> {
    let mut builder = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(REQUEST_TIMEOUT);
    if let Some(ca) = ca {
        builder = builder.add_root_certificate(ca);
    }
    builder.build().map_err(|e| Error::RemoteUnreachable {
        url: url.to_owned(),
        detail: format!("cannot set up the HTTP client: {e}"),
    })
}

/// A service's address without its trailing slashes, refused unless it is http or https.
fn service_url(url: &str) -> Result<&str> {
    let url = url.trim_end_matches('/');
    match url.starts_with("http://") || url.starts_with("https://") {
        true => Ok(url),
        false => Err(Error::InvalidSetting(format!(
            "the service address {url:?} must start with http:// or https://"
        ))),
    }
}

/// A CA certificate (PEM) to trust besides the public authorities.
fn ca_certificate(pem: &[u8]) -> Result<reqwest::Certificate> {
    reqwest::Certificate::from_pem(pem)
        .map_err(|e| Error::InvalidSetting(format!("the CA certificate: {e}")))
}

/// The message of an error answer: its JSON `message` or `error`, or the text itself.
fn message_of(text: &str, fallback: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let field = parsed.as_ref().and_then(|v| {
        ["message", "error", "detail"]
            .iter()
            .find_map(|k| v.get(k))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
    });
    match field {
        Some(message) => message,
        None if text.trim().is_empty() => fallback.to_owned(),
        None => text.trim().chars().take(2000).collect(),
    }
}

/// A JSON answer read as one of the API's answer types ([`api`]).
fn answer_of<T: serde::de::DeserializeOwned>(answer: Value, address: &str) -> Result<T> {
    let shown = answer.to_string();
    serde_json::from_value(answer).map_err(|e| Error::RemoteUnreachable {
        url: address.to_owned(),
        detail: format!("the answer is not the API's ({e}): {shown}"),
    })
}
