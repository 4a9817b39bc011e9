//! The variants of the generated code an adapter runs: how a number is split into GPU limbs
//! ([`LimbPath`]) and how the invocations sharing it exchange values ([`Exchange`]).

use crate::error::{Error, Result};

/// How a big integer is split into GPU limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimbPath {
    /// 32-bit limbs, 64-bit products (`SHADER_INT64`).
    Bits32,
    /// 16-bit limbs in u32 words: works on every adapter.
    Bits16,
}

impl LimbPath {
    /// GPU limbs per 64-bit CPU limb.
    pub(in crate::backend::gpu) fn per_u64(self) -> usize {
        match self {
            LimbPath::Bits32 => 2,
            LimbPath::Bits16 => 4,
        }
    }

    /// Bits per limb.
    pub fn bits(self) -> usize {
        64 / self.per_u64()
    }
}

/// How the invocations that share a number exchange values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exchange {
    /// Subgroup shuffles (`wgpu::Features::SUBGROUP`); lanes per number at most the adapter's
    /// smallest subgroup size.
    Subgroup,
    /// Workgroup memory and a barrier per exchange: every adapter has it.
    Workgroup,
}

impl Exchange {
    /// The lower-case name (`subgroup`, `workgroup`).
    pub fn as_str(self) -> &'static str {
        match self {
            Exchange::Subgroup => "subgroup",
            Exchange::Workgroup => "workgroup",
        }
    }
}

impl std::str::FromStr for Exchange {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "subgroup" => Ok(Exchange::Subgroup),
            "workgroup" => Ok(Exchange::Workgroup),
            other => Err(Error::InvalidParameter(format!(
                "exchange variant {other:?} (expected subgroup or workgroup)"
            ))),
        }
    }
}
