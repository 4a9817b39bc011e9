//! Records written with the owner's digest: the library's [`RecordsWrite`] driver (the digest
//! read and checked, the write planned against it, both sent in one transaction, planned again
//! after another writer), carried by this client.

use std::sync::Arc;

use paillier_gpu::owner::{Current, PlanWith, Planned, RecordsWrite, Written};
use paillier_gpu::verifiable::RecordCodec;

use crate::error::{Error, Result};
use crate::Client;

impl Client {
    /// Writes what `plan` makes of the digest as stored, with the digest advanced, in one
    /// transaction (planned again after another writer moved it on), into a knowledge base
    /// whose records the digest may not count yet: for the write that counts them (re-sealing).
    pub(crate) fn write_with_digest_allowing_uncounted(
        &self,
        codec: &Arc<RecordCodec>,
        plan: impl FnMut(&Current) -> Result<Planned>,
    ) -> Result<Written> {
        self.write_planned(codec, true, plan)
    }

    fn write_planned(
        &self,
        codec: &Arc<RecordCodec>,
        uncounted_ok: bool,
        mut plan: impl FnMut(&Current) -> Result<Planned>,
    ) -> Result<Written> {
        // A plan reads records through this client: its own error is kept here whole, and the
        // driver stops on a stand-in.
        let mut failed: Option<Error> = None;
        let planner = PlanWith::new(|current: &Current| {
            plan(current).map_err(|error| {
                let stand_in = paillier_gpu::Error::InvalidParameter(error.to_string());
                failed = Some(error);
                stand_in
            })
        });
        let mut write = RecordsWrite::new(Arc::clone(codec), self.owner_state()?, planner);
        if uncounted_ok {
            write = write.allowing_uncounted();
        }
        let written = self.drive(write);
        match failed {
            Some(error) => Err(error),
            None => written,
        }
    }
}
