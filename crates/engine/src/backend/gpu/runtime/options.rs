//! The GPU backend's settings: limb path, exchange variant, lanes per number, routing and checks.

pub use crate::backend::gpu::codegen::variants::{Exchange, LimbPath};
use crate::error::{Error, Result};

/// Settings of a [`GpuBackend`](crate::backend::gpu::GpuBackend).
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Force a limb path; `None` picks per adapter (`PAILLIER_GPU_LIMBS=16|32` when unset here).
    pub limb_path: Option<LimbPath>,
    /// Force an exchange variant; `None` takes subgroups where the adapter has them
    /// (`PAILLIER_GPU_EXCHANGE=subgroup|workgroup` when unset here).
    pub exchange: Option<Exchange>,
    /// Invocations per number at most (a power of two; `PAILLIER_GPU_LANES` when unset here).
    /// `None` aims at 8 limbs per invocation. Always capped by the width, the workgroup size and,
    /// with subgroups, the adapter's smallest subgroup.
    pub lanes: Option<usize>,
    /// Keep only adapters whose name contains this text (`PAILLIER_GPU_ADAPTER` when unset).
    pub adapter_name: Option<String>,
    /// Take the adapter at this position among the matching ones, best kind first, in the
    /// driver's order within a kind (`PAILLIER_GPU_ADAPTER_INDEX` when unset). Identical GPUs
    /// share a name: this tells them apart (a Ray worker takes the GPU it was given).
    pub adapter_index: Option<usize>,
    /// Split batches into dispatches of at most this many items (besides the adapter's limits).
    /// Tests set it low to exercise splitting.
    pub max_items_per_dispatch: Option<usize>,
    /// Records per resident buffer at most, besides the adapter's binding limit (a search database
    /// is sharded over buffers). Tests set it low to exercise sharding.
    pub resident_shard_items: Option<usize>,
    /// Batches smaller than this run on the CPU backend instead (`PAILLIER_GPU_MIN_BATCH` when
    /// unset). The default is 0, every batch on the GPU: the crossover has not been measured on
    /// real hardware yet.
    pub min_batch: Option<usize>,
    /// Random items of every call's result recomputed on the CPU before it is returned
    /// (`PAILLIER_GPU_SPOT_CHECK` when unset, else 1; 0 turns the check off). See
    /// [`VerifyingBackend`](crate::backend::VerifyingBackend).
    pub spot_check_samples: Option<usize>,
    /// Arithmetic modulo a square N² on two digits modulo N where N is known: decoding's
    /// exponentiations modulo p² and q² (about half the multiply-adds of the products modulo
    /// p²), and encryption's fixed-base passes modulo p², q² (the owner) and n² (public key),
    /// about 0.6× (`PAILLIER_GPU_TWO_DIGIT=0|1` when unset here; default on). Off, they run on
    /// the wide numbers modulo N²: for comparing the two.
    pub two_digit: Option<bool>,
    /// Lanes per number of the two-digit kernels, at most (`PAILLIER_GPU_TWO_DIGIT_LANES` when
    /// unset here). `None` follows every kernel's rule (about 8 limbs per lane): half the lanes
    /// of the wide numbers modulo p², each with about a wide lane's work per product, so about
    /// half the work per item. Twice that many keep the wide kernels' invocations per item, each
    /// with about half the work (for small batches, where a GPU is not full).
    pub two_digit_lanes: Option<usize>,
    /// Invocations below which a call's digit kernels take twice their usual lanes (at least 4
    /// limbs a lane; `PAILLIER_GPU_TWO_DIGIT_FILL` when unset here; default 0, never). A batch
    /// too small to fill the device then runs each item on more lanes, about half a lane's work
    /// each, so it finishes sooner; a large batch keeps the usual lanes, fewer exchanges per
    /// item. Ignored where [`two_digit_lanes`](Self::two_digit_lanes) is set. Off by default
    /// until a GPU's measurement says where the crossover lies (an experimental setting:
    /// docs/devices.md).
    pub two_digit_fill: Option<usize>,
    /// Time every kernel on the device with timestamp queries, where the adapter has them
    /// (`PAILLIER_GPU_DEVICE_TIMING=0|1` when unset here; default off, and on in
    /// `paillier-gpu bench`). The times reach [`GpuTotals`](crate::backend::gpu::GpuTotals) and `bench
    /// --json`'s breakdown; they cost a few timestamps and one small copy per chunk, and a
    /// driver may wait for the work before a timestamp, so a diagnostic, not a default. Off,
    /// only host-side times are kept.
    pub device_timing: Option<bool>,
    /// Size chunks from the warm-up's probes as the device timed them, not as the host's clock
    /// saw them (`PAILLIER_GPU_DEVICE_TIME_CHUNKS=0|1` when unset here; default off). The
    /// host's clock counts each probe's submission and readback, so small batches look slow and
    /// its chunks come out as large as the probe goes; the device's own time says where the
    /// device itself is full. A chunk is then whole waves of that size, but long enough on the
    /// device to hide a call's fixed host cost behind the other chunks in flight, and never
    /// larger than the host's sizing. Needs timestamp queries (it turns
    /// [`device_timing`](Self::device_timing) on); where the adapter has none, the host's sizing
    /// stays. Off until a GPU's measurement says it pays (an experimental setting:
    /// docs/devices.md).
    pub device_time_chunks: Option<bool>,
}

/// A fault to inject into a [`GpuBackend`](crate::backend::gpu::GpuBackend), for testing that no fault yields a
/// wrong result. Only with the `fault-injection` feature.
#[cfg(feature = "fault-injection")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Destroy the device (as a driver reset or a removed GPU would) right after the k-th queue
    /// submission from now (1 = the next one), in the middle of its batch.
    LoseDevice {
        /// Submissions until the loss.
        after_submissions: usize,
    },
    /// Flip one bit of what the k-th readback from now returns (silent data corruption).
    CorruptResult {
        /// Readbacks until the corruption.
        after_readbacks: usize,
    },
}

static PROCESS_DEFAULTS: std::sync::OnceLock<GpuOptions> = std::sync::OnceLock::new();

impl GpuOptions {
    /// Options from named settings, as a program reads them from its environment:
    /// `PAILLIER_GPU_LIMBS`, `PAILLIER_GPU_EXCHANGE`, `PAILLIER_GPU_LANES`,
    /// `PAILLIER_GPU_ADAPTER`, `PAILLIER_GPU_ADAPTER_INDEX`, `PAILLIER_GPU_MIN_BATCH`,
    /// `PAILLIER_GPU_SPOT_CHECK`, `PAILLIER_GPU_TWO_DIGIT`, `PAILLIER_GPU_TWO_DIGIT_LANES`,
    /// `PAILLIER_GPU_TWO_DIGIT_FILL`, `PAILLIER_GPU_DEVICE_TIMING`,
    /// `PAILLIER_GPU_DEVICE_TIME_CHUNKS`.
    /// `lookup` gives
    /// a setting's value or None; the library itself never reads the environment.
    ///
    /// ```
    /// use paillier_gpu_engine::backend::gpu::GpuOptions;
    /// let options = GpuOptions::from_settings(|name| (name == "PAILLIER_GPU_LANES").then(|| "8".to_string())).unwrap();
    /// assert_eq!(options.lanes, Some(8));
    /// ```
    pub fn from_settings(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let limb_path = match lookup("PAILLIER_GPU_LIMBS").as_deref() {
            None | Some("") => None,
            Some("32") => Some(LimbPath::Bits32),
            Some("16") => Some(LimbPath::Bits16),
            Some(other) => {
                return Err(Error::InvalidParameter(format!(
                    "PAILLIER_GPU_LIMBS={other:?} (expected 16 or 32)"
                )))
            }
        };
        let exchange = match lookup("PAILLIER_GPU_EXCHANGE") {
            Some(text) if !text.trim().is_empty() => Some(text.parse()?),
            _ => None,
        };
        let count_from_env =
            |name: &str| match lookup(name).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(text) => text.trim().parse::<usize>().map(Some).map_err(|_| {
                    Error::InvalidParameter(format!("{name}={text:?} is not a count"))
                }),
            };
        let switch_from_env = |name: &str| match lookup(name).as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some("1") => Ok(Some(true)),
            Some("0") => Ok(Some(false)),
            Some(other) => Err(Error::InvalidParameter(format!(
                "{name}={other:?} (expected 0 or 1)"
            ))),
        };
        Ok(Self {
            limb_path,
            exchange,
            lanes: count_from_env("PAILLIER_GPU_LANES")?,
            adapter_name: lookup("PAILLIER_GPU_ADAPTER").filter(|s| !s.is_empty()),
            adapter_index: count_from_env("PAILLIER_GPU_ADAPTER_INDEX")?,
            max_items_per_dispatch: None,
            resident_shard_items: None,
            min_batch: count_from_env("PAILLIER_GPU_MIN_BATCH")?,
            spot_check_samples: count_from_env("PAILLIER_GPU_SPOT_CHECK")?,
            two_digit: switch_from_env("PAILLIER_GPU_TWO_DIGIT")?,
            two_digit_lanes: count_from_env("PAILLIER_GPU_TWO_DIGIT_LANES")?,
            two_digit_fill: count_from_env("PAILLIER_GPU_TWO_DIGIT_FILL")?,
            device_timing: switch_from_env("PAILLIER_GPU_DEVICE_TIMING")?,
            device_time_chunks: switch_from_env("PAILLIER_GPU_DEVICE_TIME_CHUNKS")?,
        })
    }

    /// Sets the options that fill every field a [`GpuBackend`](crate::backend::gpu::GpuBackend) is opened
    /// without (the shared backend's included), process-wide. Once, before the first GPU is
    /// opened: the `paillier-gpu` binary calls it with [`from_settings`](Self::from_settings) of
    /// its environment.
    pub fn set_process_defaults(options: GpuOptions) -> Result<()> {
        PROCESS_DEFAULTS.set(options).map_err(|_| {
            Error::InvalidParameter("the process-wide GPU options are already set".into())
        })
    }

    /// The process-wide defaults (empty unless [`set_process_defaults`](Self::set_process_defaults)
    /// was called).
    pub(in crate::backend::gpu) fn process_defaults() -> GpuOptions {
        PROCESS_DEFAULTS.get().cloned().unwrap_or_default()
    }

    /// These options, with every unset field taken from `other`.
    pub(in crate::backend::gpu) fn or(self, other: GpuOptions) -> GpuOptions {
        GpuOptions {
            limb_path: self.limb_path.or(other.limb_path),
            exchange: self.exchange.or(other.exchange),
            lanes: self.lanes.or(other.lanes),
            adapter_name: self.adapter_name.or(other.adapter_name),
            adapter_index: self.adapter_index.or(other.adapter_index),
            max_items_per_dispatch: self.max_items_per_dispatch.or(other.max_items_per_dispatch),
            resident_shard_items: self.resident_shard_items.or(other.resident_shard_items),
            min_batch: self.min_batch.or(other.min_batch),
            spot_check_samples: self.spot_check_samples.or(other.spot_check_samples),
            two_digit: self.two_digit.or(other.two_digit),
            two_digit_lanes: self.two_digit_lanes.or(other.two_digit_lanes),
            two_digit_fill: self.two_digit_fill.or(other.two_digit_fill),
            device_timing: self.device_timing.or(other.device_timing),
            device_time_chunks: self.device_time_chunks.or(other.device_time_chunks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &'static [(&'static str, &'static str)]) -> Result<GpuOptions> {
        GpuOptions::from_settings(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn two_digit_settings_are_read_and_checked() {
        let unset = settings(&[]).unwrap();
        assert_eq!(unset.two_digit, None);
        assert_eq!(unset.two_digit_lanes, None);
        assert_eq!(unset.two_digit_fill, None);
        let set = settings(&[
            ("PAILLIER_GPU_TWO_DIGIT", "0"),
            ("PAILLIER_GPU_TWO_DIGIT_LANES", "8"),
            ("PAILLIER_GPU_TWO_DIGIT_FILL", "65536"),
        ])
        .unwrap();
        assert_eq!(set.two_digit, Some(false));
        assert_eq!(set.two_digit_lanes, Some(8));
        assert_eq!(set.two_digit_fill, Some(65_536));
        assert_eq!(
            settings(&[("PAILLIER_GPU_TWO_DIGIT", " 1 ")])
                .unwrap()
                .two_digit,
            Some(true)
        );
        for bad in [
            &[("PAILLIER_GPU_TWO_DIGIT", "yes")][..],
            &[("PAILLIER_GPU_TWO_DIGIT_LANES", "four")][..],
            &[("PAILLIER_GPU_TWO_DIGIT_FILL", "-1")][..],
        ] {
            let message = settings(bad).unwrap_err().to_string();
            assert!(message.contains(bad[0].0), "{message}");
        }
        // Unset fields come from the process defaults.
        let merged = GpuOptions::default().or(set);
        assert_eq!(merged.two_digit, Some(false));
    }

    #[test]
    fn device_timing_setting_is_read_and_checked() {
        assert_eq!(settings(&[]).unwrap().device_timing, None);
        let off = settings(&[("PAILLIER_GPU_DEVICE_TIMING", "0")]).unwrap();
        assert_eq!(off.device_timing, Some(false));
        assert_eq!(GpuOptions::default().or(off).device_timing, Some(false));
        let message = settings(&[("PAILLIER_GPU_DEVICE_TIMING", "on")])
            .unwrap_err()
            .to_string();
        assert!(message.contains("PAILLIER_GPU_DEVICE_TIMING"), "{message}");
    }

    #[test]
    fn device_time_chunks_setting_is_read_and_checked() {
        assert_eq!(settings(&[]).unwrap().device_time_chunks, None);
        let on = settings(&[("PAILLIER_GPU_DEVICE_TIME_CHUNKS", "1")]).unwrap();
        assert_eq!(on.device_time_chunks, Some(true));
        assert_eq!(
            on.device_timing, None,
            "the backend turns timing on, not the parser"
        );
        assert_eq!(GpuOptions::default().or(on).device_time_chunks, Some(true));
        let message = settings(&[("PAILLIER_GPU_DEVICE_TIME_CHUNKS", "yes")])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("PAILLIER_GPU_DEVICE_TIME_CHUNKS"),
            "{message}"
        );
    }
}
