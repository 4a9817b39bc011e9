//! The owner's digest of a knowledge base: the keyed set hash of its records (per value of one
//! field too), its history as a hash chain, the rules a client reads and advances it by, a
//! write planned against it, its rebuild, the partitions it keeps, and which searches it covers
//! whole.

pub(in crate::verifiable) mod chain;
pub(in crate::verifiable) mod coverage;
pub(in crate::verifiable) mod owner;
pub(in crate::verifiable) mod partitioning;
pub(in crate::verifiable) mod rebuild;
pub(in crate::verifiable) mod rules;
pub(in crate::verifiable) mod write;
