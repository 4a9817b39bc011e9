//! A logger for unit tests that keeps every record's text, so that a test can count how often a
//! message was logged (tests run on many threads: each looks for a text of its own).

use std::sync::{Mutex, OnceLock};

static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Keeper;

static KEEPER: Keeper = Keeper;

impl log::Log for Keeper {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let text = format!("{} {}", record.level(), record.args());
        RECORDS.lock().unwrap_or_else(|e| e.into_inner()).push(text);
    }

    fn flush(&self) {}
}

/// Installs the keeper as the process's logger (once; later calls do nothing).
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = log::set_logger(&KEEPER);
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// How many records logged so far hold `text`.
pub fn count(text: &str) -> usize {
    RECORDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|record| record.contains(text))
        .count()
}
