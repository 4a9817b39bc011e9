//! What every command says to its user beside its data (stdout stays for data).

/// The one line every writing command ends with, on stderr.
pub fn wrote(what: &str) {
    eprintln!("paillier-gpu: wrote {what}");
}

/// A note beside the data, on stderr: something the user may have meant.
pub fn note(what: &str) {
    eprintln!("paillier-gpu: note: {what}");
}

/// `1 encrypted vector`, `2 encrypted vectors`: the count with its noun, plural past one.
pub fn counted(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}
