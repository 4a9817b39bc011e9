//! The router as hyper's service on one connection, counting each request in flight until its
//! answer's body is dropped (a streamed answer is in flight while it streams); and the short
//! answer given to a connection turned away at the cap.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, Request, Response};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::service::TowerToHyperService;

use super::registry::{Connection, InFlight};
use crate::api_error::ApiError;
use crate::service::ServiceError;

/// The router, serving one connection.
#[derive(Clone)]
pub struct Tracked {
    router: TowerToHyperService<Router>,
    connection: Arc<Connection>,
}

impl Tracked {
    pub fn new(router: TowerToHyperService<Router>, connection: Arc<Connection>) -> Self {
        Self { router, connection }
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<TrackedBody>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        // Counted from the moment the head is read: a connection sending its body is busy.
        let in_flight = self.connection.request_started();
        let connection = self.connection.clone();
        let answer = hyper::service::Service::call(&self.router, request);
        Box::pin(async move {
            let response = answer.await?;
            connection.body_progressed(true);
            Ok(response.map(|inner| TrackedBody {
                inner,
                connection,
                _in_flight: in_flight,
            }))
        })
    }
}

/// An answer's body that keeps its request counted in flight until hyper drops it, and notes
/// each frame it hands on (the connection's task closes a connection whose answer stalls).
pub struct TrackedBody {
    inner: Body,
    connection: Arc<Connection>,
    _in_flight: InFlight,
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.connection.body_progressed(false);
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if polled.is_ready() {
            self.connection.body_progressed(true);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The answer to every request on a connection turned away because every slot is busy.
pub async fn refusal(_: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let mut response = ApiError::from(ServiceError::unavailable(
        "the server is at its limit of open connections, each with a request in flight; try \
         again shortly",
    ))
    .into_response();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    Ok(response)
}
