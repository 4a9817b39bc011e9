//! Fixed-base exponentiation from a resident table of powers (the encryption noise, the lookup
//! scheme's g^m): one product per table row.

use std::sync::Arc;

use super::dispatch::{phased_program, Operand, Params, Pass, Source};
use super::kernels::Kernel;
use super::modexp::STATE_SLOT;
use super::words::{exponent_words, to_gpu_words};
use super::{failure, GpuBackend};
use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, Exponents, LimbBatch};
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::Result;

impl GpuBackend {
    /// The device copy of `table`, uploaded on first use and kept (a few tables at most).
    fn table_buffer(&self, table: &FixedBaseTable) -> Result<Arc<wgpu::Buffer>> {
        let mut tables = self
            .tables
            .lock()
            .map_err(|_| failure("table cache poisoned"))?;
        if let Some((_, buffer)) = tables.iter().find(|(id, _)| *id == table.id()) {
            return Ok(buffer.clone());
        }
        let bytes = (table.entries().len() * 4 * self.limb_path.per_u64()) as u64;
        if bytes > self.max_binding_bytes {
            return Err(failure(format!(
                "a {bytes}-byte fixed-base table exceeds the adapter's {}-byte binding limit",
                self.max_binding_bytes
            )));
        }
        let buffer = Arc::new(self.storage_buffer(
            "paillier-gpu fixed-base table",
            &to_gpu_words(table.entries(), self.limb_path),
        ));
        if tables.len() >= 8 {
            tables.remove(0);
        }
        tables.push((table.id(), buffer.clone()));
        Ok(buffer)
    }

    pub(super) fn fixed_base_pow_on_device(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        if exponents.values.len() < self.min_batch {
            return CpuBackend.fixed_base_pow(modulus, table, exponents);
        }
        crate::backend::check_fixed_base_operands(modulus, table, exponents)?;
        let s = self.gpu_limbs(modulus);
        let shape = self.shape(s);
        let exp_words = exponents.values.limbs_per_item() * 2;
        let exp = exponent_words(exponents.values.as_flat());
        let powers = self.table_buffer(table)?;
        let consts = self.consts_buffer(modulus);
        let rows = exponents.bits.div_ceil(table.window_bits());
        let per_row = shape.product_back_edges() + 3;
        let pass = Pass {
            kernel: Kernel::FixedBase,
            shape,
            params: Params {
                exp_words: exp_words as u32,
                exp_bits: exponents.bits as u32,
                window: table.window_bits() as u32,
                m0_inv: self.m0_inv(modulus),
                ..Params::default()
            },
            program: phased_program(rows, per_row, self.loop_budget.saturating_sub(per_row)),
            bindings: vec![
                (0, Source::Whole(&consts)),
                (2, Source::Whole(&powers)),
                (
                    3,
                    Source::PerItem {
                        words: &exp,
                        item_words: exp_words,
                    },
                ),
                (4, Source::Output { item_words: s }),
                (
                    5,
                    Source::Scratch {
                        slot: STATE_SLOT,
                        item_words: s,
                    },
                ),
            ],
            first: None,
            operand: Operand::PerChunk,
        };
        let out = self.run(&[pass], exponents.values.len())?;
        self.batch_of(out, modulus.len())
    }
}
