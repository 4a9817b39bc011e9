//! What an interrupted `encrypt` says: which files it kept and how to go on. Ctrl-C (SIGINT)
//! ends the run at once, as a kill would; the job's files are crash-safe, so what they hold is
//! whole and a run with `--resume` continues from it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Records made durable so far by the running job, for the interruption's message.
#[derive(Clone, Default)]
pub(super) struct Durable(Arc<AtomicUsize>);

impl Durable {
    pub(super) fn set(&self, records: usize) {
        self.0.store(records, Ordering::Relaxed);
    }
}

/// On Ctrl-C, says what the encryption into `output` kept and exits 130 (128 + SIGINT).
pub(super) fn explain_interruption(output: &Path, durable: &Durable) {
    let output = output.to_path_buf();
    let durable = durable.clone();
    // Only one handler per process; a second call (never made by the CLI) is ignored.
    let _ = ctrlc::set_handler(move || {
        eprintln!("{}", message(&output, durable.0.load(Ordering::Relaxed)));
        std::process::exit(130);
    });
}

fn message(output: &Path, records: usize) -> String {
    let side = |suffix: &str| -> PathBuf {
        let mut name = output.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    format!(
        "paillier-gpu: interrupted. {records} encrypted records are kept in {} (with {} and {}); \
         {} was not written. Run the same command with --resume to continue from record {}, or \
         without it to start over",
        side(".partial").display(),
        side(".progress").display(),
        side(".lock").display(),
        output.display(),
        records + 1
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_message_names_the_files_and_the_next_record() {
        let text = super::message(std::path::Path::new("db.bin"), 8192);
        assert!(
            text.contains("8192 encrypted records are kept in db.bin.partial"),
            "{text}"
        );
        assert!(
            text.contains("--resume to continue from record 8193"),
            "{text}"
        );
    }
}
