//! The schema version both stores keep: a store is brought up to this program's, and one that a
//! newer program wrote is refused.

use crate::error::{Error, Result};

/// The migrations a store at `version` lacks, or the error for a store newer than this program.
pub(super) fn pending<'m>(version: usize, migrations: &'m [&'m str]) -> Result<&'m [&'m str]> {
    migrations.get(version..).ok_or_else(|| {
        Error::Store(format!(
            "the store is at schema version {version}, newer than this program's {}; use a \
             newer paillier-gpu",
            migrations.len()
        ))
    })
}
