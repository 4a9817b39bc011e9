//! The files `bench` writes besides the library's kinds, and how an existing one is recognised:
//! what it may replace without `--force`.

use std::fs::File;
use std::io::{BufReader, Read};

use paillier_gpu::io::{ExistingFile, Recognise, Visibility};
use paillier_gpu::Result;

/// The first line of every plot `bench --plot` writes, by which it is recognised.
pub const PLOT_MARK: &str = "<!-- paillier-gpu bench plot -->";

/// The largest report or plot that is parsed to judge it: ours are far smaller.
const MAX_DOCUMENT: u64 = 64 << 20;

/// A file `bench` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchOutput {
    /// A `bench --json` report: one JSON object whose `tool` is `paillier-gpu bench`.
    Report,
    /// A `bench --plot` SVG, which opens with [`PLOT_MARK`].
    Plot,
}

impl Recognise for BenchOutput {
    fn visibility(&self) -> Visibility {
        Visibility::Shared
    }

    fn is_replaceable(&self, existing: &ExistingFile<'_>) -> Result<bool> {
        if existing.length() > MAX_DOCUMENT {
            return Ok(false);
        }
        let file = existing.open()?;
        Ok(match self {
            BenchOutput::Report => bench_report(file),
            BenchOutput::Plot => plot(file),
        })
    }
}

/// A `bench --json` report: one object whose `tool` says so.
fn bench_report(file: File) -> bool {
    serde_json::from_reader::<_, serde_json::Value>(BufReader::new(file)).is_ok_and(|report| {
        report.get("tool").and_then(|t| t.as_str()) == Some("paillier-gpu bench")
    })
}

/// A `bench --plot` SVG: our mark on the first line, a closed `svg` element at the end.
fn plot(file: File) -> bool {
    let mut text = String::new();
    BufReader::new(file).read_to_string(&mut text).is_ok()
        && text.starts_with(PLOT_MARK)
        && text.trim_end().ends_with("</svg>")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn file(folder: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = folder.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn replaceable(path: &Path, kind: BenchOutput) -> bool {
        kind.is_replaceable(&ExistingFile::read(path).unwrap())
            .unwrap()
    }

    #[test]
    fn bench_reports_and_plots_are_known_by_their_marks() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let report = file(
            d,
            "r.json",
            b"{\"tool\": \"paillier-gpu bench\", \"measurements\": []}",
        );
        let other = file(d, "o.json", b"{\"tool\": \"something else\"}");
        let plot = file(d, "p.svg", format!("{PLOT_MARK}\n<svg></svg>\n").as_bytes());
        let svg = file(d, "s.svg", b"<svg></svg>\n");
        assert!(replaceable(&report, BenchOutput::Report));
        assert!(!replaceable(&other, BenchOutput::Report));
        assert!(replaceable(&plot, BenchOutput::Plot));
        assert!(!replaceable(&svg, BenchOutput::Plot));
        assert!(!replaceable(&plot, BenchOutput::Report));
    }
}
