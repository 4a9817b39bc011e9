//! The subcommands.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use paillier_gpu::context::{FileFormat, PassphraseKeyProvider, ScryptCost};
use paillier_gpu::formats::ciphertexts::{read_ciphertext_batch, write_ciphertext_batch};
use paillier_gpu::formats::encrypt_job::EncryptJob;
use paillier_gpu::formats::{write_atomic, Visibility};
use paillier_gpu::hamming::{top_k, Selection};
use paillier_gpu::hazmat::backend::backend_for;
use paillier_gpu::paillier::KeyFingerprint;
use paillier_gpu::{ContextOptions, Error, ExecutionContext, PublicContext, Result, Scheme};
use serde_json::json;
use zeroize::Zeroizing;

use super::bench::BenchPlan;
use super::{BenchArgs, BenchDevice, Cli, Command, ContextCommand, SchemeArg, ScryptCostArg};

/// Vectors per progress step (and per backend batch).
const BATCH: usize = 1024;

pub fn run(cli: Cli) -> Result<()> {
    let passphrase_file = cli.passphrase_file.as_deref();
    match cli.command {
        Command::Bench(args) => super::bench::run(&bench_plan(args)),
        Command::Context(ContextCommand::Create {
            scheme,
            key_len,
            embed_len,
            alpha_len,
            out,
            insecure,
            force,
            sdk_compatible,
            scrypt_cost,
        }) => {
            // Checked before the keys are generated, and again before writing.
            let refuse_existing = || match out.try_exists() {
                Ok(true) if !force => Err(Error::WouldOverwrite(out.clone())),
                _ => Ok(()),
            };
            refuse_existing()?;
            let scheme = scheme_of(scheme);
            if scheme == Scheme::Paillier && alpha_len.is_some() {
                return Err(Error::InvalidParameter(
                    "--alpha-len applies only to --type paillier-lookup".into(),
                ));
            }
            let options = ContextOptions {
                scheme,
                key_len,
                embed_len,
                alpha_len: alpha_len.unwrap_or(ContextOptions::default().alpha_len),
                allow_insecure: insecure,
                ..ContextOptions::default()
            };
            let cost = match scrypt_cost {
                ScryptCostArg::Sdk => ScryptCost::SDK,
                ScryptCostArg::Strong if sdk_compatible => {
                    return Err(Error::InvalidParameter(
                        "--scrypt-cost strong makes a file the SDK cannot open; it cannot be combined with --sdk-compatible".into(),
                    ))
                }
                ScryptCostArg::Strong => ScryptCost::STRONG,
            };
            let passphrase = passphrase(passphrase_file)?;
            let ctx = ExecutionContext::create(
                &options,
                Arc::new(PassphraseKeyProvider::with_cost(&passphrase, cost)?),
            )?
            .with_file_format(if sdk_compatible {
                FileFormat::Sdk
            } else {
                FileFormat::Authenticated
            });
            refuse_existing()?;
            ctx.save_to_disk(&out)?;
            print_summary(&ctx)?;
            wrote(&format!(
                "a {} context ({} bits per prime) to {}",
                ctx.scheme().name(),
                ctx.key_len(),
                out.display()
            ));
            Ok(())
        }
        Command::Context(ContextCommand::Show { context }) => {
            let passphrase = passphrase(passphrase_file)?;
            print_summary(&ExecutionContext::load_with_passphrase(
                &context,
                &passphrase,
            )?)
        }
        Command::Encrypt {
            context,
            input,
            output,
            device,
            resume,
            expect_key,
            batch,
        } => {
            let public = PublicContext::load(&context)?;
            check_pinned_key(&public, expect_key)?;
            // With the passphrase at hand, the public key must match the secret key (loading
            // checks it) before anything is encrypted under it.
            let owner = match optional_passphrase(passphrase_file)? {
                Some(passphrase) => Some(ExecutionContext::load_with_passphrase(
                    &context,
                    &passphrase,
                )?),
                None => None,
            };
            let layout = public.layout()?;
            let backend = backend_for(device.device())?;
            let shape = public.ciphertext_shape()?;
            let batch = match batch {
                Some(batch) => batch,
                None => default_encrypt_batch(backend.as_ref(), &public, shape.chunks)?,
            };
            // The owner's faster path sends secrets to the backend: only to the CPU, or to a GPU
            // asked for by name.
            let secrets_allowed = device.device() == paillier_gpu::Device::Gpu
                || backend.device() == paillier_gpu::Device::Cpu;
            // Encrypt under the public key checked against the secret key, when there is one.
            let public_key: &paillier_gpu::paillier::PublicKey = match &owner {
                Some(ctx) => ctx.public_key(),
                None => public.public_key(),
            };
            let job = EncryptJob {
                public_key,
                secret_key: owner
                    .as_ref()
                    .filter(|_| secrets_allowed)
                    .map(|ctx| &**ctx.secret_key()),
                layout: &layout,
                shape,
                backend: backend.as_ref(),
                batch,
            };
            // A bar with a total and an ETA when the input's header gives the count (.npy).
            let total =
                paillier_gpu::formats::vectors::VectorReader::open(&input, layout.embed_len())
                    .ok()
                    .and_then(|reader| reader.len_hint());
            let bar = match total {
                Some(total) => progress(total, "encrypting"),
                None => spinner("encrypting"),
            };
            let report = job.run(&input, &output, resume, |done| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            wrote(&format!(
                "{} encrypted vectors to {} ({}, key {})",
                report.records,
                output.display(),
                file_form(&output),
                public.public_key().fingerprint()
            ));
            if report.resumed_from > 0 {
                log::info!(
                    "resumed after {} records; {} in all",
                    report.resumed_from,
                    report.records
                );
            }
            Ok(())
        }
        Command::Aggregate {
            context,
            database,
            query,
            output,
            expect_key,
            device,
        } => {
            let public = PublicContext::load(&context)?;
            check_pinned_key(&public, expect_key)?;
            let shape = public.ciphertext_shape()?;
            // One batch type from the reader to the writer: each ciphertext is checked once,
            // when it is read, and never becomes a big integer.
            let key = public.public_key();
            let records = read_ciphertext_batch(&database, shape, key)?;
            let query = read_ciphertext_batch(&query, shape, key)?;
            if query.records() != 1 {
                return Err(Error::MalformedFile {
                    kind: "ciphertexts",
                    detail: format!("the query file holds {} vectors, not 1", query.records()),
                });
            }
            let mut index = public.new_index(device.device())?;
            index.insert_batch(&records)?;
            let responses = index.aggregate_batch(&query, &Selection::All)?;
            write_ciphertext_batch(&output, &responses, shape)?;
            wrote(&format!(
                "{} responses to {} ({})",
                responses.records(),
                output.display(),
                file_form(&output)
            ));
            Ok(())
        }
        Command::Decode {
            context,
            input,
            top_k: k,
            output,
            device,
        } => {
            let passphrase = passphrase(passphrase_file)?;
            let ctx = ExecutionContext::load_with_passphrase(&context, &passphrase)?
                .with_device(device.device());
            let responses =
                read_ciphertext_batch(&input, ctx.ciphertext_shape(), ctx.public_key())?;
            let count = responses.records();
            let bar = progress(count, "decoding");
            let mut distances = Vec::with_capacity(count);
            for start in (0..count).step_by(BATCH) {
                let part = responses.records_in(start..(start + BATCH).min(count))?;
                let decoded = ctx
                    .decode_batch(&part)
                    .map_err(|e| e.with_index_offset(start))?;
                distances.extend(decoded);
                bar.inc(part.records() as u64);
            }
            bar.finish_and_clear();
            let text = match k {
                Some(k) => {
                    let top = top_k(&distances, k);
                    format!("{}\n", json!({"ids": top.ids, "distances": top.distances}))
                }
                None => distances.iter().map(|d| format!("{d}\n")).collect(),
            };
            write_atomic(&output, text.as_bytes(), Visibility::Shared)?;
            wrote(&match k {
                Some(k) => format!(
                    "the {} nearest of {} records to {}",
                    k.min(distances.len()),
                    distances.len(),
                    output.display()
                ),
                None => format!("{} distances to {}", distances.len(), output.display()),
            });
            Ok(())
        }
    }
}

fn print_summary(ctx: &ExecutionContext) -> Result<()> {
    let mut summary = json!({
        "id": ctx.id(),
        "fingerprint": ctx.public_key().fingerprint().to_string(),
        "type": ctx.scheme().context_type(),
        "scheme": ctx.scheme().name(),
        "key_len": ctx.key_len(),
        "embed_len": ctx.embed_len(),
        "chunks_per_vector": ctx.layout().chunks(),
        "key_provider": ctx.key_provider().provider_id(),
        "file_format": match ctx.file_format() {
            FileFormat::Sdk => "sdk",
            FileFormat::Authenticated => paillier_gpu::context::AUTHENTICATED_FORMAT,
        },
    });
    if let Some(alpha) = ctx.alpha_len() {
        summary["alpha_len"] = json!(alpha);
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{summary}").map_err(|e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    })
}

/// The one line every writing command ends with, on stderr (stdout stays for data).
fn wrote(what: &str) {
    eprintln!("paillier-gpu: wrote {what}");
}

fn file_form(path: &Path) -> &'static str {
    if paillier_gpu::formats::ciphertexts::is_jsonl(path) {
        "JSON Lines"
    } else {
        "binary"
    }
}

/// `--expect-key`: the context's public key must have the pinned fingerprint.
fn check_pinned_key(public: &PublicContext, pinned: Option<KeyFingerprint>) -> Result<()> {
    match pinned {
        Some(pinned) => public
            .public_key()
            .fingerprint()
            .expect(&pinned, "the context (pinned with --expect-key)"),
        None => Ok(()),
    }
}

/// The passphrase if one is given (file or environment), None if neither is set.
fn optional_passphrase(file: Option<&Path>) -> Result<Option<Zeroizing<String>>> {
    if file.is_none() && std::env::var_os("PAILLIER_GPU_PASSPHRASE").is_none() {
        return Ok(None);
    }
    passphrase(file).map(Some)
}

fn passphrase(file: Option<&Path>) -> Result<Zeroizing<String>> {
    let passphrase = match file {
        Some(path) => {
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::Io {
                path: path.to_path_buf(),
                source: e,
            })?);
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
fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{msg} {pos} vectors ({per_sec})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}

fn progress(total: usize, what: &str) -> ProgressBar {
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}

fn scheme_of(arg: SchemeArg) -> Scheme {
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
        embed_len: args.embed_len,
        alpha_len: args.alpha_len,
        repeat: args.repeat,
        json: args.json,
        plot: args.plot,
    }
}

/// Vectors per encryption step when `--batch` is not given: `DEFAULT_BATCH` on the CPU; on a
/// GPU, after its warm-up, enough vectors of `chunks` ciphertexts to fill two calibrated chunks
/// (one computing while the other moves), and at least `DEFAULT_BATCH`.
fn default_encrypt_batch(
    backend: &dyn paillier_gpu::hazmat::backend::Backend,
    public: &PublicContext,
    chunks: usize,
) -> Result<usize> {
    use paillier_gpu::formats::encrypt_job::DEFAULT_BATCH;
    if backend.runs_on_cpu(usize::MAX) {
        return Ok(DEFAULT_BATCH);
    }
    gpu_chunk_items(public).map(|items| (2 * items).div_ceil(chunks.max(1)).max(DEFAULT_BATCH))
}

/// The chunk a warmed-up GPU runs at n²'s width.
#[cfg(feature = "gpu")]
fn gpu_chunk_items(public: &PublicContext) -> Result<usize> {
    let gpu = paillier_gpu::hazmat::backend::gpu::GpuBackend::shared()?;
    let calibration = gpu.warm_up(public.public_key().n_squared_modulus())?;
    log::info!(
        "GPU warm-up: {} numbers fill {}; chunks of {}",
        calibration.saturating_items,
        gpu.adapter_info().name,
        calibration.chunk_items
    );
    Ok(calibration.chunk_items)
}

#[cfg(not(feature = "gpu"))]
fn gpu_chunk_items(_: &PublicContext) -> Result<usize> {
    Ok(paillier_gpu::formats::encrypt_job::DEFAULT_BATCH)
}
