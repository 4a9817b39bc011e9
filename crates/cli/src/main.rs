//! `paillier-gpu`: the command-line shell over the library.
//!
//! A failure of a command prints one line on stderr and exits 1; an argument error prints clap's
//! whole message (what is missing, allowed values, "did you mean", usage) and exits 2. The
//! passphrase comes from the environment (`PAILLIER_GPU_PASSPHRASE`) or a file
//! (`--passphrase-file`), never from a command-line value.

// The emulated IFMA intrinsics check the engines' results in unit tests; they are neither fast
// nor checked for constant time, so no program a user runs carries them.
const _: () = assert!(
    !paillier_gpu::hazmat::bigint::EMULATED_IFMA,
    "the engine's `emulated-ifma` feature is for its unit tests only"
);

mod bench;
mod commands;
mod error;
mod runtime_dir;
mod say;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Paillier-encrypted Hamming search over binary vectors, and arrays of numbers with a linear
/// model over them, on the CPU or a GPU.
#[derive(Parser, Debug)]
#[command(name = "paillier-gpu", version, about, long_about = None, arg_required_else_help = true)]
struct Cli {
    /// Read the passphrase from this file (its first line) instead of PAILLIER_GPU_PASSPHRASE.
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create or inspect an execution context, or store, fetch and list contexts on an XTrace
    /// service.
    #[command(subcommand)]
    Context(commands::ContextCommand),
    /// Encrypt binary vectors (JSON Lines or .npy) into ciphertexts (needs only the public key;
    /// with the passphrase set, the public key is first checked against the secret key).
    Encrypt(commands::EncryptArgs),
    /// Multiply an encrypted query into every stored ciphertext (needs only the public key).
    Aggregate(commands::AggregateArgs),
    /// Decrypt aggregated ciphertexts into Hamming distances (needs the passphrase).
    Decode(commands::DecodeArgs),
    /// Encrypt or decrypt arrays of integers and floats (python-paillier's encoding).
    #[command(subcommand)]
    Numbers(commands::NumbersCommand),
    /// Run a linear model (y = W·x + b, one row of weights per output as the inference
    /// service) over encrypted features (needs only the public key).
    Linear(commands::LinearArgs),
    /// Time encryption, aggregation, decoding and whole searches on the CPU and the GPU with the
    /// same inputs.
    Bench(BenchArgs),
    /// Upload to and search an XTrace service (`serve`, or the hosted one); the API key is
    /// read from PAILLIER_GPU_API_KEY.
    #[command(subcommand)]
    Remote(commands::RemoteCommand),
    /// Make knowledge bases and API keys and grant permissions on an XTrace service's admin
    /// plane; the admin key is read from PAILLIER_GPU_ADMIN_KEY.
    #[command(subcommand)]
    Admin(commands::AdminCommand),
    /// Set up a self-hosted XTrace service's store: `server init --org NAME`.
    #[command(subcommand)]
    Server(commands::ServerCommand),
    /// Serve the XTrace service API (the SDK's XTraceIntegration, pointed here, works
    /// unchanged) on this machine's CPU or GPU.
    Serve(commands::ServeArgs),
}

/// Arguments of `bench`.
#[derive(Args, Debug)]
struct BenchArgs {
    /// Devices to measure; `both` skips an absent GPU with a note.
    #[arg(long, value_enum, default_value = "both")]
    device: BenchDevice,
    /// Context types, comma-separated.
    #[arg(
        long = "type",
        value_enum,
        value_delimiter = ',',
        default_value = "paillier"
    )]
    schemes: Vec<SchemeArg>,
    /// Bits of each prime, comma-separated (throwaway keys: sizes below 1024 are allowed).
    #[arg(long, value_delimiter = ',', default_value = "1024")]
    key_len: Vec<usize>,
    /// Vectors per batch, comma-separated [default: 1000, and on a hardware GPU also one
    /// calibrated chunk, the smallest batch that fills the adapter].
    #[arg(long, value_delimiter = ',')]
    batch: Option<Vec<usize>>,
    /// Also time the whole search (encrypt a query, aggregate it over a resident database of N
    /// records, decode every response, keep the 10 nearest) for each N, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "N")]
    database: Vec<usize>,
    /// Dimensions of the random vectors.
    #[arg(long, default_value_t = 512)]
    embed_len: usize,
    /// Lookup contexts only: bits of the noise subgroup order (what it costs: compare 256 with
    /// the default 512).
    #[arg(long, default_value_t = paillier_gpu::paillier::MIN_SECURE_ALPHA_LEN)]
    alpha_len: usize,
    /// Timed runs per measurement (the median is reported), after one untimed warm-up run.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Also write every run as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also draw throughput against batch size as an SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Replace the --json or --plot file even when it is not one that bench wrote.
    #[arg(long)]
    force: bool,

    /// Skip the number operations and the linear layer: time the Hamming search's operations
    /// alone
    #[arg(long)]
    no_numbers: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BenchDevice {
    /// The CPU only.
    Cpu,
    /// The GPU only.
    Gpu,
    /// Both, on the same inputs (the CPU alone, with a note, where no GPU answers).
    Both,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ScryptCostArg {
    /// N = 2^14, r = 8, p = 1: what the SDK uses.
    Sdk,
    /// N = 2^17: eight times the work and memory per guess.
    Strong,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SchemeArg {
    /// Textbook Paillier with g = n + 1 (the SDK's PaillierClient).
    Paillier,
    /// The alpha-subgroup variant (the SDK's PaillierLookupClient).
    #[value(name = "paillier_lookup", alias = "paillier-lookup")]
    PaillierLookup,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeviceChoice {
    /// The CPU backend on every core.
    Cpu,
    /// The best GPU adapter; an error if none answers.
    Gpu,
    /// A hardware GPU when one answers, else the CPU; work with the secret key stays on the CPU.
    Auto,
}

#[derive(Args, Debug)]
struct DeviceArg {
    /// Compute device.
    #[arg(long, value_enum, env = "PAILLIER_GPU_DEVICE", default_value = "auto")]
    device: DeviceChoice,
}

impl DeviceArg {
    fn device(&self) -> paillier_gpu::Device {
        match self.device {
            DeviceChoice::Cpu => paillier_gpu::Device::Cpu,
            DeviceChoice::Gpu => paillier_gpu::Device::Gpu,
            DeviceChoice::Auto => paillier_gpu::Device::Auto,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version on stdout (exit 0); anything else, including a bare
            // `paillier-gpu`, with clap's whole message and usage on stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    runtime_dir::ensure();
    // `bench` times the kernels on the device unless told not to: a breakdown is its point.
    let measuring = matches!(cli.command, Command::Bench(_));
    if let Err(e) = apply_environment(measuring) {
        eprintln!("paillier-gpu: error: {}", one_line(&e.to_string()));
        return ExitCode::FAILURE;
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format(|buf, record| {
            use std::io::Write;
            writeln!(
                buf,
                "paillier-gpu: {}: {}",
                record.level().as_str().to_lowercase(),
                record.args()
            )
        })
        .init();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paillier-gpu: error: {}", one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// The one place the environment configures the library: the CPU engine
/// (`PAILLIER_GPU_CPU_ENGINE=auto|ifma|avx512f|avx2|portable`) and the GPU options
/// (`PAILLIER_GPU_LIMBS`, `_EXCHANGE`, `_LANES`, `_ADAPTER`, `_ADAPTER_INDEX`, `_MIN_BATCH`,
/// `_SPOT_CHECK`, `_TWO_DIGIT`, `_TWO_DIGIT_LANES`, `_TWO_DIGIT_FILL`, `_DEVICE_TIMING`,
/// `_DEVICE_TIME_CHUNKS`: `GpuOptions::from_settings`).
/// `PAILLIER_GPU_DEVICE` and `PAILLIER_GPU_PASSPHRASE` are read with the arguments. With
/// `measuring`, the kernels are timed on the device unless `PAILLIER_GPU_DEVICE_TIMING=0`.
fn apply_environment(measuring: bool) -> paillier_gpu::Result<()> {
    use paillier_gpu::hazmat::bigint::{set_engine_preference, EnginePreference};
    if let Some(name) = std::env::var("PAILLIER_GPU_CPU_ENGINE")
        .ok()
        .filter(|n| !n.is_empty())
    {
        // The engine's own message, under the variable's name.
        let named = |e: paillier_gpu::hazmat::Error| {
            let message = match e {
                paillier_gpu::hazmat::Error::InvalidParameter(m) => m,
                other => other.to_string(),
            };
            paillier_gpu::Error::InvalidParameter(format!("PAILLIER_GPU_CPU_ENGINE: {message}"))
        };
        set_engine_preference(name.parse::<EnginePreference>().map_err(named)?).map_err(named)?;
    }
    #[cfg(feature = "gpu")]
    {
        let mut options = paillier_gpu::hazmat::backend::gpu::GpuOptions::from_settings(|name| {
            std::env::var(name).ok()
        })?;
        if measuring {
            options.device_timing.get_or_insert(true);
        }
        paillier_gpu::hazmat::backend::gpu::GpuOptions::set_process_defaults(options)?;
    }
    #[cfg(not(feature = "gpu"))]
    let _ = measuring;
    Ok(())
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
