//! Execution contexts: keys, configuration, the data key that protects them, and the file format
//! shared with the Python SDK.
//!
//! ```no_run
//! use paillier_gpu::{ContextOptions, ExecutionContext};
//!
//! # fn main() -> paillier_gpu::Result<()> {
//! let ctx = ExecutionContext::create_with_passphrase(&ContextOptions::default(), "passphrase")?;
//! ctx.save_to_disk("ctx.json")?;
//! let loaded = ExecutionContext::load_with_passphrase("ctx.json", "passphrase")?;
//! assert_eq!(ctx, loaded); // equal ids
//! # Ok(()) }
//! ```

pub mod aes;
mod encrypt_file;
mod execution;
mod file_io;
mod format;
mod key_provider;
mod numbers;
mod options;
mod public;
mod sdk_json;
mod sealing;
mod stored;
mod tables;

pub use encrypt_file::EncryptFile;
pub use execution::ExecutionContext;
pub use key_provider::{
    DataKey, KeyProvider, PassphraseKeyProvider, RawKeyProvider, ScryptCost, SDK_DEFAULT_SALT,
};
pub use options::{ContextConfig, ContextOptions};
pub use public::{read_context_file, PublicContext};
pub use sealing::{FileFormat, AUTHENTICATED_FORMAT};
pub use tables::LookupTables;
