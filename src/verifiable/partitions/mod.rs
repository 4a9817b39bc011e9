//! Partitions as verifiable records carry them: the partition field of each record's document
//! (a token on the service), where an upload's records go, which partitions a search probes
//! with their decoy groups, and a rebuild's writes.

pub(in crate::verifiable) mod decoys;
pub(in crate::verifiable) mod field;
pub(in crate::verifiable) mod placement;
pub(in crate::verifiable) mod probe;
pub(in crate::verifiable) mod rebuild;
