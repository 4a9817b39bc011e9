//! `numbers encrypt|decrypt` and `linear`: arrays of integers and floats, python-paillier's
//! encoding, and a linear model over encrypted features.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use paillier_gpu::formats::model::read_model;
use paillier_gpu::formats::numbers::{
    read_any_encrypted_numbers, read_numbers, write_encrypted_numbers, write_numbers,
    write_packed_numbers, EncryptedNumbersFile, PlainArray,
};
use paillier_gpu::io::{Output, OutputKind};
use paillier_gpu::numbers::{Decrypted, PackOptions, WeightRows, DEFAULT_HEADROOM_BITS};
use paillier_gpu::paillier::KeyFingerprint;
use paillier_gpu::{Error, ExecutionContext, Result};

use super::{
    check_pinned_key, counted, load_pinned_public, optional_passphrase, passphrase, wrote,
};
use crate::DeviceArg;

/// `numbers encrypt` and `numbers decrypt`.
#[derive(Subcommand, Debug)]
pub enum NumbersCommand {
    /// Encrypt integers or floats (.npy; a .json document: a number, a list, or a list of lists
    /// such as the inference service's input_data; or JSON Lines of numbers or arrays) with
    /// python-paillier's encoding (needs only the public key of a `paillier` context; with the
    /// passphrase set, the owner's faster path).
    Encrypt(NumbersEncryptArgs),
    /// Decrypt an encrypted-numbers or packed-numbers file into .npy (int64 or float64) or JSON
    /// Lines (needs the passphrase).
    Decrypt(NumbersDecryptArgs),
}

/// The arguments of `numbers encrypt`.
#[derive(Args, Debug)]
pub struct NumbersEncryptArgs {
    /// The context file: a `paillier` context (numbers need g = n + 1, python-paillier's keys).
    #[arg(long, value_name = "CTX")]
    pub context: PathBuf,
    /// Numbers: a .npy of integers, booleans, float32 or float64 (any shape), or JSON Lines
    /// (a number per line, or one array of numbers per line, all of one length).
    #[arg(long, value_name = "NUMBERS")]
    pub input: PathBuf,
    /// The encrypted-numbers file to write (a packed-numbers file with --packed).
    #[arg(long, value_name = "ENCRYPTED")]
    pub output: PathBuf,
    /// Encode every number at the exponent of this precision (as python-paillier's
    /// `precision`: e.g. 1e-6); without it each number keeps the exponent that holds it exactly
    /// (with --packed, one exponent for all: the lowest at which every value is exact).
    #[arg(long, value_name = "P")]
    pub precision: Option<f64>,
    /// Pack many samples into each ciphertext (rows of a 2-D input are samples; a 1-D input is
    /// samples of one number): every value's magnitude must be at most MAX_ABS, which is
    /// public in the file, so take it from the data's domain. `linear` then costs about 1/30 as
    /// much per sample; the ciphertexts are not python-paillier's.
    #[arg(long, value_name = "MAX_ABS", allow_negative_numbers = true)]
    pub packed: Option<f64>,
    /// With --packed: bits each slot keeps above MAX_ABS for the layers to come (a layer that
    /// could overflow is refused before it runs).
    #[arg(long, value_name = "BITS", requires = "packed", default_value_t = DEFAULT_HEADROOM_BITS)]
    pub headroom_bits: u32,
    /// Refuse to encrypt unless the context's public key has this fingerprint.
    #[arg(long, value_name = "FINGERPRINT")]
    pub expect_key: Option<KeyFingerprint>,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Replace ENCRYPTED even when it is not an encrypted-numbers file.
    #[arg(long)]
    pub force: bool,
}

/// The arguments of `numbers decrypt`.
#[derive(Args, Debug)]
pub struct NumbersDecryptArgs {
    /// The context file (needs the passphrase).
    #[arg(long, value_name = "CTX")]
    pub context: PathBuf,
    /// An encrypted-numbers or packed-numbers file (`numbers encrypt` or `linear` wrote it).
    #[arg(long, value_name = "ENCRYPTED")]
    pub input: PathBuf,
    /// The numbers: .npy (int64 for arrays encrypted from integers, float64 otherwise; the
    /// array's shape, [samples, columns] for packed files), or JSON Lines (a line per row;
    /// owner-only, as every decrypted file).
    #[arg(long, value_name = "NUMBERS")]
    pub output: PathBuf,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Replace NUMBERS even when it is not a file of numbers.
    #[arg(long)]
    pub force: bool,
}

/// The arguments of `linear`.
#[derive(Args, Debug)]
pub struct LinearArgs {
    /// The context file (only its public key is read).
    #[arg(long, value_name = "CTX")]
    pub context: PathBuf,
    /// The model, the inference service's JSON: {"weights": [[...] one row per output, one
    /// weight per input feature], "biases": [... one per output]} (scikit-learn's coef_ and
    /// intercept_, PyTorch's weight and bias). --weight-rows per-input reads numpy's x @ W.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Encrypted features: an encrypted-numbers file of shape [features] or [samples,
    /// features], or a packed-numbers file (then OUTPUT is packed too).
    #[arg(long, value_name = "ENCRYPTED")]
    pub input: PathBuf,
    /// The encrypted outputs, [outputs] or [samples, outputs].
    #[arg(long, value_name = "ENCRYPTED")]
    pub output: PathBuf,
    /// Encode the weights at the exponent of this precision (fewer products, rounded weights);
    /// without it they are encoded exactly.
    #[arg(long, value_name = "P")]
    pub precision: Option<f64>,
    /// How MODEL's weights are laid out.
    #[arg(long, value_enum, default_value = "per-output")]
    pub weight_rows: WeightRowsArg,
    /// Refuse to work unless the context's public key has this fingerprint.
    #[arg(long, value_name = "FINGERPRINT")]
    pub expect_key: Option<KeyFingerprint>,
    #[command(flatten)]
    pub device: DeviceArg,
    /// Replace OUTPUT even when it is not an encrypted-numbers file.
    #[arg(long)]
    pub force: bool,
}

/// How a model file's weights are laid out.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum WeightRowsArg {
    /// One row per output, one weight per input feature (the inference service, scikit-learn,
    /// PyTorch).
    PerOutput,
    /// One row per input feature, one weight per output (numpy's x @ W).
    PerInput,
}

impl From<WeightRowsArg> for WeightRows {
    fn from(rows: WeightRowsArg) -> Self {
        match rows {
            WeightRowsArg::PerOutput => WeightRows::PerOutput,
            WeightRowsArg::PerInput => WeightRows::PerInput,
        }
    }
}

pub(super) fn run(command: NumbersCommand, passphrase_file: Option<&Path>) -> Result<()> {
    match command {
        NumbersCommand::Encrypt(args) => encrypt(args, passphrase_file),
        NumbersCommand::Decrypt(args) => decrypt(args, passphrase_file),
    }
}

fn inputs<'a>(paths: &[&'a Path], passphrase_file: Option<&'a Path>) -> Vec<&'a Path> {
    paths.iter().copied().chain(passphrase_file).collect()
}

fn encrypt(args: NumbersEncryptArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let NumbersEncryptArgs {
        context,
        input,
        output,
        precision,
        packed,
        headroom_bits,
        expect_key,
        device,
        force,
    } = args;
    let target = Output::prepare(
        &output,
        &inputs(&[&context, &input], passphrase_file),
        OutputKind::EncryptedNumbers,
        force,
    )?;
    let plain = read_numbers(&input)?;
    if let Some(max_abs) = packed {
        let mut options = PackOptions::new(max_abs).with_headroom_bits(headroom_bits);
        options.precision = precision;
        return encrypt_packed(
            &context,
            &input,
            target,
            &output,
            &plain,
            &options,
            expect_key,
            device,
            passphrase_file,
        );
    }
    let shape = plain.shape.clone();
    let encrypted = match optional_passphrase(passphrase_file)? {
        Some(passphrase) => {
            let owner = ExecutionContext::load_with_passphrase(&context, &passphrase)?
                .with_device(device.device());
            check_pinned_key(&owner.public_context(), &context, expect_key)?;
            owner.encrypt_numbers(plain.numbers(), shape, precision)?
        }
        None => {
            let public = load_pinned_public(&context, device, expect_key)?;
            public.encrypt_numbers(plain.numbers(), shape, precision)?
        }
    };
    write_encrypted_numbers(target, &encrypted)?;
    wrote(&format!(
        "{} of shape {:?} to {} (key {})",
        counted(encrypted.len(), "encrypted number", "encrypted numbers"),
        encrypted.shape(),
        output.display(),
        encrypted.fingerprint()
    ));
    Ok(())
}

/// Columns per sample of a plain array that `--packed` encrypts: rows of a 2-D array, or
/// samples of one number.
fn packed_columns(plain: &PlainArray, input: &Path) -> Result<usize> {
    match plain.shape.as_slice() {
        [_] => Ok(1),
        [_, columns] => Ok(*columns),
        shape => Err(Error::ShapeMismatch(format!(
            "--packed takes samples as rows of a 2-D array (or a 1-D array of one number per \
             sample); {} holds shape {shape:?}",
            input.display()
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
fn encrypt_packed(
    context: &Path,
    input: &Path,
    target: Output,
    output: &Path,
    plain: &PlainArray,
    options: &PackOptions,
    expect_key: Option<KeyFingerprint>,
    device: DeviceArg,
    passphrase_file: Option<&Path>,
) -> Result<()> {
    let columns = packed_columns(plain, input)?;
    let encrypted = match optional_passphrase(passphrase_file)? {
        Some(passphrase) => {
            let owner = ExecutionContext::load_with_passphrase(context, &passphrase)?
                .with_device(device.device());
            check_pinned_key(&owner.public_context(), context, expect_key)?;
            owner.encrypt_packed(plain.numbers(), columns, options)
        }
        None => {
            let public = load_pinned_public(context, device, expect_key)?;
            public.encrypt_packed(plain.numbers(), columns, options)
        }
    }
    .map_err(|e| e.in_file(input))?;
    write_packed_numbers(target, &encrypted)?;
    let layout = encrypted.layout();
    wrote(&format!(
        "{} of {columns} numbers, {} per ciphertext (slots of {} bits), in {} to {} (key {})",
        counted(encrypted.samples(), "packed sample", "packed samples"),
        layout.slots(),
        layout.slot_bits(),
        counted(encrypted.ciphertexts().len(), "ciphertext", "ciphertexts"),
        output.display(),
        encrypted.fingerprint()
    ));
    Ok(())
}

fn decrypt(args: NumbersDecryptArgs, passphrase_file: Option<&Path>) -> Result<()> {
    let NumbersDecryptArgs {
        context,
        input,
        output,
        device,
        force,
    } = args;
    let target = Output::prepare(
        &output,
        &inputs(&[&context, &input], passphrase_file),
        OutputKind::Numbers,
        force,
    )?;
    let passphrase = passphrase(passphrase_file)?;
    let ctx =
        ExecutionContext::load_with_passphrase(&context, &passphrase)?.with_device(device.device());
    let (values, shape) = match read_any_encrypted_numbers(&input, ctx.public().public_key())? {
        EncryptedNumbersFile::Array(encrypted) => {
            (ctx.decrypt_numbers(&encrypted), encrypted.shape().to_vec())
        }
        EncryptedNumbersFile::Packed(packed) => {
            (ctx.decrypt_packed(&packed), packed.shape().to_vec())
        }
    };
    let values = values.map_err(|e| e.in_file(&input))?;
    write_numbers(target, &values, &shape)?;
    let (kind, count) = match &values {
        Decrypted::Integers(v) => ("integers", v.len()),
        Decrypted::Floats(v) => ("floats", v.len()),
    };
    wrote(&format!(
        "{count} {kind} of shape {shape:?} to {}",
        output.display()
    ));
    Ok(())
}

pub(super) fn linear(args: LinearArgs) -> Result<()> {
    let LinearArgs {
        context,
        model,
        input,
        output,
        precision,
        weight_rows,
        expect_key,
        device,
        force,
    } = args;
    let target = Output::prepare(
        &output,
        &[&context, &model, &input],
        OutputKind::EncryptedNumbers,
        force,
    )?;
    let public = load_pinned_public(&context, device, expect_key)?;
    // The samples first: their features bound the model while it is read.
    let samples = read_any_encrypted_numbers(&input, public.public_key())?;
    let features = match &samples {
        EncryptedNumbersFile::Array(array) => array.shape().last().copied(),
        EncryptedNumbersFile::Packed(packed) => Some(packed.columns()),
    };
    let model_read = read_model(&model, weight_rows.into(), features)?.with_precision(precision);
    let (count, shape) = match samples {
        EncryptedNumbersFile::Array(features) => {
            let outputs = public
                .infer(&model_read, &features)
                .map_err(|e| e.in_file(&input))?;
            write_encrypted_numbers(target, &outputs)?;
            (outputs.len(), outputs.shape().to_vec())
        }
        EncryptedNumbersFile::Packed(features) => {
            let outputs = public
                .infer_packed(&model_read, &features)
                .map_err(|e| e.in_file(&input))?;
            write_packed_numbers(target, &outputs)?;
            (
                outputs.samples() * outputs.columns(),
                outputs.shape().to_vec(),
            )
        }
    };
    wrote(&format!(
        "{} of shape {shape:?} to {}",
        counted(count, "encrypted output", "encrypted outputs"),
        output.display()
    ));
    Ok(())
}
