//! The CPU engines by instruction set, and the process-wide preference among them: what
//! `engine.rs` consults before it picks an engine for a modulus.

use std::sync::atomic::{AtomicU8, Ordering};

use super::ifma::Ifma52;
use super::multi_buffer::NarrowIsa;
use crate::error::{Error, Result};

/// The CPU engines by the instructions they need, fastest first. Every engine gives the same
/// results; they differ in speed alone (BENCHMARKS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuEngine {
    /// AVX-512 IFMA: 52-bit digits, one number per register (a
    /// [`MontgomeryModulus`](super::MontgomeryModulus) on `Engine::Ifma52`) and eight in lanes
    /// ([`MultiBuffer`](super::MultiBuffer), [`TwoDigitLanes`](super::TwoDigitLanes)).
    Ifma,
    /// AVX-512F: eight items at once in 28-bit digits ([`NarrowLanes`](super::NarrowLanes)) for
    /// batched decryption, decoding and aggregation; the portable engine for everything else.
    Avx512f,
    /// AVX2: the same lanes, four a register.
    Avx2,
    /// Scalar 64-bit limbs (ADX assembly where the CPU has it) everywhere.
    Portable,
}

impl CpuEngine {
    /// Every engine, fastest first.
    pub const ALL: [CpuEngine; 4] = [Self::Ifma, Self::Avx512f, Self::Avx2, Self::Portable];

    /// Its name in `PAILLIER_GPU_CPU_ENGINE` and in Python.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ifma => "ifma",
            Self::Avx512f => "avx512f",
            Self::Avx2 => "avx2",
            Self::Portable => "portable",
        }
    }

    /// Its name and what runs on it, for reports (`bench`'s machine line).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Ifma => "ifma (AVX-512 IFMA, 52-bit digits)",
            Self::Avx512f => "avx512f (narrow lanes on AVX-512F, 28-bit digits)",
            Self::Avx2 => "avx2 (narrow lanes on AVX2, 28-bit digits)",
            Self::Portable => "portable (64-bit limbs)",
        }
    }

    /// Whether this CPU runs it.
    pub fn available(self) -> bool {
        match self {
            Self::Ifma => Ifma52::available(),
            Self::Avx512f => NarrowIsa::Avx512f.available(),
            Self::Avx2 => NarrowIsa::Avx2.available(),
            Self::Portable => true,
        }
    }

    /// The fastest engine this CPU runs.
    pub fn fastest() -> Self {
        Self::ALL
            .into_iter()
            .find(|engine| engine.available())
            .unwrap_or(Self::Portable)
    }

    /// The instruction set of its narrow lanes, for the two engines that have them.
    pub(crate) fn narrow_isa(self) -> Option<NarrowIsa> {
        match self {
            Self::Avx512f => Some(NarrowIsa::Avx512f),
            Self::Avx2 => Some(NarrowIsa::Avx2),
            Self::Ifma | Self::Portable => None,
        }
    }
}

/// Which engines `engine.rs` may pick: the fastest this CPU runs, or one named.
///
/// ```
/// use paillier_gpu_engine::bigint::{CpuEngine, EnginePreference};
///
/// let named: EnginePreference = "avx2".parse().unwrap();
/// assert_eq!(named, EnginePreference::Only(CpuEngine::Avx2));
/// assert!("avx9".parse::<EnginePreference>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnginePreference {
    /// The fastest this CPU runs (IFMA, then AVX-512F, then AVX2, then portable). The default.
    Fastest,
    /// This engine alone (to compare, or to rule the vector engines out with `Portable`, which
    /// SECURITY.md's constant-time checks under valgrind rely on).
    Only(CpuEngine),
}

impl std::str::FromStr for EnginePreference {
    type Err = Error;

    /// `auto`, or an engine's [`name`](CpuEngine::name).
    fn from_str(name: &str) -> Result<Self> {
        if name == "auto" {
            return Ok(Self::Fastest);
        }
        CpuEngine::ALL
            .into_iter()
            .find(|engine| engine.name() == name)
            .map(Self::Only)
            .ok_or_else(|| {
                Error::InvalidParameter(format!(
                    "CPU engine {name:?} (expected auto, ifma, avx512f, avx2 or portable)"
                ))
            })
    }
}

/// The engine picked from now on: `u8::MAX` for the fastest, else an index into
/// [`CpuEngine::ALL`].
static PREFERENCE: AtomicU8 = AtomicU8::new(u8::MAX);

/// Sets the engines picked from now on, process-wide (moduli and keys prepared before keep
/// theirs). The library never reads the environment; the `paillier-gpu` binary calls this for
/// `PAILLIER_GPU_CPU_ENGINE`, Python for `set_cpu_engine`. It governs what `engine.rs` picks;
/// the engines' own constructors build what they are asked for wherever the CPU can run it.
///
/// # Errors
/// [`Error::InvalidParameter`] naming the engine and what it needs, where this CPU cannot run it.
pub fn set_engine_preference(preference: EnginePreference) -> Result<()> {
    let stored = match preference {
        EnginePreference::Fastest => u8::MAX,
        EnginePreference::Only(engine) if !engine.available() => {
            return Err(Error::InvalidParameter(format!(
                "the {} CPU engine needs {}, which this CPU lacks (the fastest it runs: {})",
                engine.name(),
                match engine {
                    CpuEngine::Ifma => "AVX-512F and AVX-512 IFMA",
                    CpuEngine::Avx512f => "AVX-512F",
                    CpuEngine::Avx2 | CpuEngine::Portable => "AVX2",
                },
                CpuEngine::fastest().name()
            )))
        }
        EnginePreference::Only(engine) => CpuEngine::ALL
            .iter()
            .position(|&e| e == engine)
            .unwrap_or(CpuEngine::ALL.len() - 1) as u8,
    };
    PREFERENCE.store(stored, Ordering::Relaxed);
    Ok(())
}

/// The engine `engine.rs` picks now: the preference, or the fastest this CPU runs.
pub fn picked_engine() -> CpuEngine {
    match CpuEngine::ALL.get(PREFERENCE.load(Ordering::Relaxed) as usize) {
        Some(&engine) => engine,
        None => CpuEngine::fastest(),
    }
}

/// Held by every test that sets the preference, so that none sees another's meanwhile (the
/// preference is process-wide, and the test harness runs tests on several threads).
#[cfg(test)]
pub(crate) fn preference_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every engine's name parses back to it, `auto` to the fastest, anything else is refused
    /// naming the choices; an engine this CPU lacks is refused naming what it needs.
    #[test]
    fn names_parse_and_missing_engines_are_refused() {
        let _only_this_test = preference_lock();
        for engine in CpuEngine::ALL {
            let parsed: EnginePreference = engine.name().parse().unwrap();
            assert_eq!(parsed, EnginePreference::Only(engine));
            assert!(engine.describe().starts_with(engine.name()));
        }
        assert_eq!(
            "auto".parse::<EnginePreference>().unwrap(),
            EnginePreference::Fastest
        );
        for bad in ["", "AVX2", "avx512", "sse2"] {
            let message = bad.parse::<EnginePreference>().unwrap_err().to_string();
            assert!(
                message.contains("expected auto, ifma, avx512f, avx2 or portable"),
                "{message}"
            );
        }
        assert!(CpuEngine::Portable.available());
        assert!(CpuEngine::fastest().available());
        for engine in CpuEngine::ALL.into_iter().filter(|e| !e.available()) {
            let message = set_engine_preference(EnginePreference::Only(engine))
                .unwrap_err()
                .to_string();
            assert!(message.contains("which this CPU lacks"), "{message}");
        }
    }
}
