//! The subcommands, one file each; what they share (passphrases, progress bars, the line each
//! writing command ends with) is here.

mod admin;
mod aggregate;
mod context;
mod decode;
mod documents;
mod encrypt;
mod interrupt;
mod numbers;
mod remote;
mod remote_args;
mod remote_context;
mod remote_digest;
mod remote_meta;
mod remote_partitions;
mod server;

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use paillier_gpu::paillier::KeyFingerprint;
use paillier_gpu::{Error, PublicContext, Result, Scheme};
use zeroize::Zeroizing;

pub use admin::AdminCommand;
pub use aggregate::AggregateArgs;
pub use context::ContextCommand;
pub use decode::DecodeArgs;
pub use encrypt::EncryptArgs;
pub use numbers::{LinearArgs, NumbersCommand};
pub use remote::RemoteCommand;
pub use server::{ServeArgs, ServerCommand};

use super::bench::BenchPlan;
use super::{BenchArgs, BenchDevice, Cli, Command, SchemeArg};
use crate::say::{counted, wrote};

pub fn run(cli: Cli) -> crate::error::Result<()> {
    let passphrase_file = cli.passphrase_file.as_deref();
    match cli.command {
        Command::Remote(command) => remote::run(command, passphrase_file),
        Command::Admin(command) => admin::run(command),
        Command::Server(command) => server::run(command),
        Command::Serve(args) => server::serve(args),
        Command::Bench(args) => Ok(super::bench::run(&bench_plan(args))?),
        Command::Context(command) => context::run(command, passphrase_file),
        // A file made under another key is reported against the context file by name.
        Command::Encrypt(args) => {
            let holder = holds(&args.context);
            Ok(encrypt::run(args, passphrase_file).map_err(|e| e.key_held_by(holder))?)
        }
        Command::Aggregate(args) => {
            let holder = holds(&args.context);
            Ok(aggregate::run(args).map_err(|e| e.key_held_by(holder))?)
        }
        Command::Decode(args) => {
            let holder = holds(&args.context);
            Ok(decode::run(args, passphrase_file).map_err(|e| e.key_held_by(holder))?)
        }
        Command::Numbers(command) => {
            let holder = holds(match &command {
                NumbersCommand::Encrypt(args) => &args.context,
                NumbersCommand::Decrypt(args) => &args.context,
            });
            Ok(numbers::run(command, passphrase_file).map_err(|e| e.key_held_by(holder))?)
        }
        Command::Linear(args) => {
            let holder = holds(&args.context);
            Ok(numbers::linear(args).map_err(|e| e.key_held_by(holder))?)
        }
    }
}

/// `ctx.json holds`: the side of a key mismatch that the context file stands for.
fn holds(context: &Path) -> String {
    format!("{} holds", context.display())
}

pub(super) fn file_form(path: &Path) -> &'static str {
    if paillier_gpu::formats::ciphertexts::is_jsonl(path) {
        "JSON Lines"
    } else {
        "binary"
    }
}

/// The public context in `context` on `device`, its key checked against `--expect-key`.
pub(super) fn load_pinned_public(
    context: &Path,
    device: crate::DeviceArg,
    pinned: Option<KeyFingerprint>,
) -> Result<PublicContext> {
    let public = PublicContext::load(context)?.with_device(device.device());
    check_pinned_key(&public, context, pinned)?;
    Ok(public)
}

/// `--expect-key`: the context's public key must have the pinned fingerprint.
pub(super) fn check_pinned_key(
    public: &PublicContext,
    context: &Path,
    pinned: Option<KeyFingerprint>,
) -> Result<()> {
    match pinned {
        Some(pinned) => KeyFingerprint::check_pin(
            public.public_key(),
            &pinned,
            &format!("the context {}", context.display()),
        ),
        None => Ok(()),
    }
}

/// The passphrase if one is given (file or environment), None if neither is set.
pub(super) fn optional_passphrase(file: Option<&Path>) -> Result<Option<Zeroizing<String>>> {
    if file.is_none() && std::env::var_os("PAILLIER_GPU_PASSPHRASE").is_none() {
        return Ok(None);
    }
    passphrase(file).map(Some)
}

/// Longest passphrase file read: a passphrase is one short line.
const MAX_PASSPHRASE_FILE_BYTES: u64 = 64 << 10;

pub(super) fn passphrase(file: Option<&Path>) -> Result<Zeroizing<String>> {
    let passphrase = match file {
        Some(path) => {
            use std::io::Read;
            let mut bytes = Zeroizing::new(Vec::new());
            std::fs::File::open(path)
                .and_then(|f| {
                    f.take(MAX_PASSPHRASE_FILE_BYTES + 1)
                        .read_to_end(&mut bytes)
                })
                .map_err(|e| Error::Io {
                    path: path.to_path_buf(),
                    source: e,
                })?;
            if bytes.len() as u64 > MAX_PASSPHRASE_FILE_BYTES {
                return Err(Error::KeyProvider(format!(
                    "the passphrase file {} is larger than {MAX_PASSPHRASE_FILE_BYTES} bytes; it \
                     holds the passphrase on its first line and nothing else",
                    path.display()
                )));
            }
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                Error::KeyProvider(format!(
                    "the passphrase file {} is not UTF-8 text",
                    path.display()
                ))
            })?;
            Zeroizing::new(text.lines().next().unwrap_or("").to_owned())
        }
        None => match std::env::var("PAILLIER_GPU_PASSPHRASE") {
            Ok(value) => Zeroizing::new(value),
            Err(_) => {
                return Err(Error::KeyProvider(
                    "no passphrase: set PAILLIER_GPU_PASSPHRASE or pass --passphrase-file".into(),
                ))
            }
        },
    };
    if passphrase.is_empty() {
        return Err(Error::KeyProvider("the passphrase is empty".into()));
    }
    Ok(passphrase)
}

/// A counter without a total (a streamed input's length is not known in advance).
pub(super) fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{msg} {pos} vectors ({rate})") {
        bar.set_style(with_rate(style));
    }
    bar.set_message(what.to_owned());
    bar
}

pub(super) fn progress(total: usize, what: &str) -> ProgressBar {
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({rate})") {
        bar.set_style(with_rate(style));
    }
    bar.set_message(what.to_owned());
    bar
}

/// `{rate}`: whole items per second and the time left, or "starting" until the first step
/// has been timed (a rate of 0/s and an ETA of 0s would say nothing true).
fn with_rate(style: ProgressStyle) -> ProgressStyle {
    style.with_key(
        "rate",
        |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let rate = state.per_sec();
            if rate.is_finite() && rate >= 1.0 && state.pos() > 0 {
                let eta = match state.len() {
                    Some(_) => format!(", eta {}", indicatif::HumanDuration(state.eta())),
                    None => String::new(),
                };
                let _ = write!(out, "{rate:.0}/s{eta}");
            } else {
                let _ = write!(out, "starting");
            }
        },
    )
}

/// True when `path` (links followed) is a FIFO or a character device.
pub(super) fn is_stream(path: &Path) -> bool {
    use paillier_gpu::io::{follow_links, output_mode, OutputMode};
    follow_links(path)
        .and_then(|target| output_mode(&target))
        .is_ok_and(|mode| mode == OutputMode::Stream)
}

pub(super) fn scheme_of(arg: SchemeArg) -> Scheme {
    match arg {
        SchemeArg::Paillier => Scheme::Paillier,
        SchemeArg::PaillierLookup => Scheme::PaillierLookup,
    }
}

fn bench_plan(args: BenchArgs) -> BenchPlan {
    BenchPlan {
        devices: match args.device {
            BenchDevice::Cpu => vec![paillier_gpu::Device::Cpu],
            BenchDevice::Gpu => vec![paillier_gpu::Device::Gpu],
            BenchDevice::Both => vec![paillier_gpu::Device::Cpu, paillier_gpu::Device::Gpu],
        },
        schemes: args.schemes.into_iter().map(scheme_of).collect(),
        key_lens: args.key_len,
        batches: args.batch,
        databases: args.database,
        embed_len: args.embed_len,
        alpha_len: args.alpha_len,
        repeat: args.repeat,
        json: args.json,
        plot: args.plot,
        force: args.force,
        numbers: !args.no_numbers,
    }
}
