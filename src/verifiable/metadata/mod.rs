//! Metadata the service cannot read: values as keyed tokens, and filters tokenised the same way.

pub(in crate::verifiable) mod filter;
pub(in crate::verifiable) mod tokens;
