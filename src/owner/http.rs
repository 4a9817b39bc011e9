//! The requests the owner's drivers ask a client to send, and the answers they take back: HTTP
//! as plain data, so that the drivers do no I/O and every client (the Rust one, Python) is one
//! loop that carries them.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// A request's HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One request of the data plane: sent to `{url}/v1/{route}/{org_id}{tail}?{query}` with the
/// organisation's API key, its body JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The route (`owner_digest`, `records`, `compute_hamming`, `chunk/meta`, `chunk`).
    pub route: &'static str,
    /// What follows the organisation's id in the path (empty, or `/{kb}/{context}`).
    pub tail: String,
    /// The query's pairs, in order (a name may come more than once).
    pub query: Vec<(&'static str, String)>,
    /// The JSON body, if any.
    pub body: Option<Vec<u8>>,
    /// Whether the answer may come as msgpack (`compute_hamming`'s records).
    pub msgpack: bool,
}

impl Request {
    /// A request without query or body.
    pub fn new(method: Method, route: &'static str, tail: String) -> Self {
        Self {
            method,
            route,
            tail,
            query: Vec::new(),
            body: None,
            msgpack: false,
        }
    }

    /// The same request with `body` as its JSON.
    pub fn with_json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::InvalidParameter(format!(
                "a request to {} does not serialise: {e}",
                self.route
            ))
        })?;
        self.body = Some(bytes);
        Ok(self)
    }
}

/// The service's answer to a [`Request`]: its status and body as they came.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// Whether the body is msgpack (its content type says so); JSON otherwise.
    pub msgpack: bool,
    /// The service's own time on it, in microseconds, where its `Server-Timing` header gives
    /// one ([`server_timing_us`]); for a search's figures only, never trusted for anything.
    pub server_us: Option<u64>,
}

/// The duration a `Server-Timing` header value gives (`app;dur=12.5`, milliseconds: its first
/// metric with a `dur`), in microseconds; none where it gives none that reads.
///
/// ```
/// use paillier_gpu::owner::server_timing_us;
/// assert_eq!(server_timing_us("app;dur=12.5"), Some(12_500));
/// assert_eq!(server_timing_us("app"), None);
/// assert_eq!(server_timing_us("app;dur=-1"), None);
/// ```
pub fn server_timing_us(header: &str) -> Option<u64> {
    let dur = header
        .split([',', ';'])
        .map(str::trim)
        .find_map(|part| part.strip_prefix("dur="))?;
    let ms: f64 = dur.trim_matches('"').parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then(|| (ms * 1000.0).round() as u64)
}

/// What a client hands back for a request: its answer, or why none came (no connection, a
/// timeout, a body cut short). A write without an answer may have been committed; the driver
/// says so, and never asks for it again.
pub type Answered = std::result::Result<Answer, Unanswered>;

/// Why a request got no answer, in the client's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unanswered(pub String);

/// What a driver does next: have a request sent, or end with its outcome.
#[derive(Debug)]
pub enum Step<T> {
    /// Send this request and hand back what it got.
    Send(Request),
    /// The operation is over.
    Done(T),
}

/// An operation of the owner's protocol as a step machine: each call takes the answer to the
/// request the last one asked for (none on the first call) and says what comes next. A
/// client runs one loop over it:
///
/// ```ignore
/// let mut answered = None;
/// let outcome = loop {
///     match driver.step(answered.take())? {
///         Step::Send(request) => answered = Some(carry(&request)),
///         Step::Done(outcome) => break outcome,
///     }
/// };
/// ```
pub trait Driver {
    /// What the operation ends with.
    type Output;

    /// The next step, given the answer to the request asked for last (none on the first call,
    /// and a driver asked again after it ended, or called without the answer it waits for,
    /// refuses).
    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Self::Output>>;
}

/// A driver borrowed: run it, then read what it gathered.
impl<D: Driver + ?Sized> Driver for &mut D {
    type Output = D::Output;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Self::Output>> {
        (**self).step(answered)
    }
}

impl Answer {
    /// The answer read as JSON of type `T`, or the error it stands for: a status other than
    /// 2xx is [`Error::Remote`], a body that is not `T` [`Error::Unreachable`].
    pub fn json<T: DeserializeOwned>(&self, route: &str) -> Result<T> {
        self.check_status()?;
        serde_json::from_slice(&self.body).map_err(|e| Error::Unreachable {
            route: route.to_owned(),
            detail: format!("the answer is not the API's ({e}): {}", shown(&self.body)),
        })
    }

    /// Nothing, or [`Error::Remote`] for a status other than 2xx, with the service's message.
    pub fn check_status(&self) -> Result<()> {
        if (200..300).contains(&self.status) {
            return Ok(());
        }
        Err(Error::Remote {
            status: self.status,
            message: message_of(&self.body, self.status),
        })
    }
}

/// The answer to the request a driver waits for, or the error it stands for: none handed back,
/// or none came ([`Error::Unreachable`], `unanswered` adding what that means for this request).
pub(crate) fn expect_answer(
    answered: Option<Answered>,
    route: &str,
    unanswered: &str,
) -> Result<Answer> {
    match answered {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(Unanswered(detail))) => Err(Error::Unreachable {
            route: route.to_owned(),
            detail: format!("{detail}{unanswered}"),
        }),
        None => Err(Error::InvalidParameter(format!(
            "the request to {route} was not answered: a client hands each answer back"
        ))),
    }
}

/// The message of an error answer: its JSON `message`, `error` or `detail`, or the text itself.
pub fn message_of(body: &[u8], status: u16) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = parsed.as_ref().and_then(|v| {
        ["message", "error", "detail"]
            .iter()
            .find_map(|k| v.get(k))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
    });
    let text = String::from_utf8_lossy(body);
    match field {
        Some(message) => message,
        None if text.trim().is_empty() => format!("status {status}"),
        None => text.trim().chars().take(2000).collect(),
    }
}

/// The start of a body, for an error's message.
fn shown(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}
