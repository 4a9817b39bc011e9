//! The one loop that carries the library's owner drivers ([`paillier_gpu::owner`]) over HTTP:
//! each request a driver asks for is sent as it says, and its answer (or why none came) handed
//! back, until the driver ends. No rule or step order of the protocol lives here.

use paillier_gpu::owner::{
    server_timing_us, Answer, Answered, Driver, Method, Planner, RecordsWrite, Request, Step,
    Unanswered,
};
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::Client;
use crate::error::{Error, Result};

impl Client {
    /// Runs `driver` to its end, sending each request it asks for.
    pub(crate) fn drive<D: Driver>(&self, mut driver: D) -> Result<D::Output> {
        let mut answered = None;
        loop {
            match driver.step(answered.take()) {
                Ok(Step::Send(request)) => answered = Some(self.carry(request)),
                Ok(Step::Done(output)) => return Ok(output),
                Err(error) => return Err(self.located(error)),
            }
        }
    }

    /// Runs the write `write` to its end and gives it back, for what its planner gathered.
    pub(crate) fn drive_write<P: Planner>(
        &self,
        mut write: RecordsWrite<P>,
    ) -> Result<RecordsWrite<P>> {
        self.drive(&mut write)?;
        Ok(write)
    }

    /// Sends `request` once and reads its whole answer.
    fn carry(&self, request: Request) -> Answered {
        let address = self.address(request.route, &request.tail);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.request(method, &address).query(&request.query);
        if request.msgpack {
            builder = builder.header(ACCEPT, "application/x-msgpack, application/json");
        }
        if let Some(body) = request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body);
        }
        let unanswered = |e: reqwest::Error| Unanswered(format!("{address}: {e}"));
        let response = builder.send().map_err(unanswered)?;
        let status = response.status().as_u16();
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        let server_us = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(server_timing_us);
        let body = response.bytes().map_err(unanswered)?.to_vec();
        Ok(Answer {
            status,
            body,
            msgpack: request.msgpack && !json,
            server_us,
        })
    }

    /// A driver's error as this client's: the service's answers keep their kinds, with the
    /// address asked.
    fn located(&self, error: paillier_gpu::Error) -> Error {
        match error {
            paillier_gpu::Error::Remote { status, message } => Error::Remote { status, message },
            paillier_gpu::Error::Unreachable { route, detail } => Error::RemoteUnreachable {
                url: self.address(&route, ""),
                detail,
            },
            other => Error::Library(other),
        }
    }
}
