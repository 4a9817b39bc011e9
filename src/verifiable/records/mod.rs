//! Verifiable records and their answers: where a record's fields sit in its plaintext (the
//! two-bit and one-bit layouts), its tag, encrypting records and queries, decoding and checking
//! an answer record by record and whole, and what each record sends (its document sealed to it).

pub(in crate::verifiable) mod answer;
pub(in crate::verifiable) mod check;
pub(in crate::verifiable) mod check_one_bit;
pub(in crate::verifiable) mod codec;
pub(in crate::verifiable) mod context;
pub(in crate::verifiable) mod decode;
pub(in crate::verifiable) mod encrypt;
pub(in crate::verifiable) mod layout;
pub(in crate::verifiable) mod one_bit;
pub(in crate::verifiable) mod query;
pub(in crate::verifiable) mod read;
pub(in crate::verifiable) mod record_layout;
pub(in crate::verifiable) mod seal;
pub(in crate::verifiable) mod sealed_page;
pub(in crate::verifiable) mod sealed_read;
pub(in crate::verifiable) mod sealed_stored;
pub(in crate::verifiable) mod sent;
pub(in crate::verifiable) mod tag;
pub(in crate::verifiable) mod tally;
