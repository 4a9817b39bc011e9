//! Long-running work over files, resumable and safe to interrupt: [`encrypt`], a vector file
//! encrypted into a ciphertext file batch by batch, which a later run resumes where an
//! interrupted one stopped.

pub mod encrypt;
