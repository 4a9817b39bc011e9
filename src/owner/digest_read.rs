//! The owner's digest read from the service and checked against what this owner has seen: the
//! raw read ([`DigestFetch`], the service's version, sealed bytes and the links after the
//! version seen, page by page) and the checked one ([`DigestRead`]: not older than seen,
//! extending it through the links, opening under the owner's key), which keeps the version it
//! accepts and notes a rollback it finds.

use std::sync::Arc;

use paillier_gpu_api as api;

use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use super::state::OwnerState;
use super::state_dir::SeenDigest;
use crate::error::{Error, Result};
use crate::verifiable::{DigestLink, OwnerDigest, RecordCodec};

/// The digest of a knowledge base as the service holds it, opened and checked.
#[derive(Clone, Debug)]
pub struct Current {
    /// The digest (version 0 and empty: none stored).
    pub digest: OwnerDigest,
    /// The id the knowledge base's next inserted chunk gets.
    pub next_chunk_id: i64,
    /// How many chunks the service says it holds.
    pub chunks: u64,
}

/// What [`DigestFetch`] read: the service's digest (with every link after `seen`'s version)
/// and the highest one this owner had seen.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The service's answer, its links those of every page.
    pub stored: api::OwnerDigest,
    /// The highest digest this owner has seen, when it read.
    pub seen: Option<SeenDigest>,
}

impl Fetched {
    /// The service's links (one that does not read as 32 bytes of standard base64 is missing
    /// to the fork check).
    pub fn links(&self) -> &[DigestLink] {
        &self.stored.links
    }

    /// The version and sealed bytes seen, as the library's checks take them.
    pub fn seen_pair(&self) -> Option<(i64, &str)> {
        self.seen.as_ref().map(|s| (s.version, s.sealed.as_str()))
    }
}

/// The raw read of the owner's digest of the codec's knowledge base: `GET owner_digest`, with
/// `since` the version this owner saw, page after page of links
/// ([`api::MAX_LINKS_READ`] at most). Nothing is checked: [`DigestRead`] checks.
#[derive(Debug)]
pub struct DigestFetch {
    kb: String,
    context_id: String,
    state: Arc<OwnerState>,
    seen: Option<Option<SeenDigest>>,
    /// The version links are asked after, when the caller chose it rather than the state.
    since: Option<i64>,
    stored: Option<api::OwnerDigest>,
    /// The version the last page asked links after.
    after: i64,
}

impl DigestFetch {
    /// A read of `kb`'s digest under `context_id`, against what `state` has seen.
    pub fn new(kb: &str, context_id: &str, state: Arc<OwnerState>) -> Self {
        Self {
            kb: kb.to_owned(),
            context_id: context_id.to_owned(),
            state,
            seen: None,
            since: None,
            stored: None,
            after: 0,
        }
    }

    /// A read of `kb`'s digest with the links of every version after `since`, whatever this
    /// owner has seen (a raw read: [`Fetched::seen`] is then none).
    pub fn since(kb: &str, context_id: &str, since: i64) -> Self {
        Self {
            since: Some(since),
            ..Self::new(kb, context_id, Arc::new(OwnerState::in_memory()))
        }
    }

    fn request(&self, since: Option<i64>) -> Request {
        let mut request = Request::new(
            Method::Get,
            "owner_digest",
            format!("/{}/{}", self.kb, self.context_id),
        );
        if let Some(since) = since {
            request.query.push(("since", since.to_string()));
        }
        request
    }

    /// The digest as read, the service's answer refused where it is not one.
    fn read(&self, answered: Option<Answered>) -> Result<api::OwnerDigest> {
        let answer = expect_answer(answered, "owner_digest", "")?;
        match answer.json::<api::OwnerDigest>("owner_digest") {
            Err(Error::Remote {
                status: 404,
                message,
            }) => Err(Error::Remote {
                status: 404,
                message: format!(
                    "{message} (the owner's digest of knowledge base {}: a service without the \
                     digest routes, such as XTrace's hosted one, cannot keep verifiable \
                     records, whose searches, finds and writes all read it)",
                    self.kb
                ),
            }),
            other => other,
        }
    }
}

impl Driver for DigestFetch {
    type Output = Fetched;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Fetched>> {
        let Some(seen) = &self.seen else {
            for (what, id) in [("knowledge base", &self.kb), ("context", &self.context_id)] {
                if id.is_empty() || id.contains(['/', '?', '#', '%']) {
                    return Err(Error::InvalidParameter(format!(
                        "the {what} id {id:?} is empty or holds a character a path cannot carry"
                    )));
                }
            }
            let seen = match self.since {
                Some(_) => None,
                None => self.state.seen(&self.context_id, &self.kb)?,
            };
            let since = self.since.or(seen.as_ref().map(|s| s.version));
            self.since = since;
            self.after = since.unwrap_or(0);
            self.seen = Some(seen);
            return Ok(Step::Send(self.request(since)));
        };
        let page = self.read(answered)?;
        let stored = match self.stored.take() {
            None => page,
            Some(mut first) => {
                first.more_links = page.more_links;
                first.links.extend(page.links);
                first
            }
        };
        // Each page starts past the last; a service that does not move on ends the reading.
        let last = stored.links.last().map_or(i64::MAX, |l| l.version);
        let more = self.since.is_some()
            && stored.more_links
            && stored.links.len() < api::MAX_LINKS_READ
            && last > self.after
            && last < stored.version;
        if more {
            self.after = last;
            self.stored = Some(stored);
            return Ok(Step::Send(self.request(Some(last))));
        }
        let mut stored = stored;
        stored.more_links = false;
        Ok(Step::Done(Fetched {
            stored,
            seen: seen.clone(),
        }))
    }
}

/// The owner's digest as the service holds it, accepted only when it is no older than one this
/// owner has seen, extends it through the service's links, is the one seen at its version and
/// opens under the owner's key ([`RecordCodec::open_digest_holding`]); the version accepted is
/// kept, and a rollback or fork found is noted in the owner's state.
#[derive(Debug)]
pub struct DigestRead {
    codec: Arc<RecordCodec>,
    state: Arc<OwnerState>,
    fetch: DigestFetch,
}

impl DigestRead {
    /// A checked read of the digest of `codec`'s knowledge base.
    pub fn new(codec: Arc<RecordCodec>, state: Arc<OwnerState>) -> Self {
        let fetch = DigestFetch::new(codec.kb(), codec.context().id(), Arc::clone(&state));
        Self {
            codec,
            state,
            fetch,
        }
    }
}

impl Driver for DigestRead {
    type Output = Current;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Current>> {
        let fetched = match self.fetch.step(answered)? {
            Step::Send(request) => return Ok(Step::Send(request)),
            Step::Done(fetched) => fetched,
        };
        let (kb, context_id) = (self.codec.kb(), self.codec.context().id());
        let stored = &fetched.stored;
        let digest = self
            .codec
            .open_digest_holding(
                stored.version,
                stored.sealed.as_deref(),
                fetched.seen_pair(),
                stored.chunks,
                fetched.links(),
            )
            .map_err(|e| self.state.noting_rollback(context_id, kb, e))?;
        if let (Some(sealed), true) = (&stored.sealed, stored.version > 0) {
            let seen = SeenDigest {
                version: stored.version,
                sealed: sealed.clone(),
            };
            self.state.keep(context_id, kb, &seen)?;
        }
        Ok(Step::Done(Current {
            digest,
            next_chunk_id: stored.next_chunk_id,
            chunks: stored.chunks,
        }))
    }
}

/// The write that stores `digest`, sealed as `sealed`, over `expected_version`.
pub fn digest_write(digest: &OwnerDigest, sealed: &str, expected_version: i64) -> api::DigestWrite {
    api::DigestWrite {
        expected_version,
        version: digest.version(),
        sealed: sealed.to_owned(),
        link: digest.link(),
    }
}
