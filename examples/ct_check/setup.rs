//! The inputs `ct_check`'s operations draw on: the moduli, bases and exponents, and the
//! fixed-base tables each operation asks for.

use std::cell::OnceCell;

use num_bigint::BigUint;
use paillier_gpu::hazmat::bigint::{
    Engine, FixedBaseTable, Montgomery, MontgomeryModulus, MultiBuffer, NarrowIsa, NarrowLanes,
    NarrowTwoDigitLanes, TwoDigit, TwoDigitLanes,
};
use rand::{rngs::StdRng, Rng, RngCore, SeedableRng};

/// A 2048-bit odd modulus (the size of p² at key_len 1024) and 1024-bit exponents (p − 1).
pub const MODULUS_BITS: u64 = 2048;
pub const EXPONENT_BITS: usize = 1024;

pub fn modulus(engine: Engine) -> MontgomeryModulus {
    let mut rng = StdRng::seed_from_u64(1);
    let mut bytes = vec![0u8; (MODULUS_BITS / 8) as usize];
    rng.fill_bytes(&mut bytes);
    let mut m = BigUint::from_bytes_le(&bytes);
    m.set_bit(MODULUS_BITS - 1, true);
    m.set_bit(0, true);
    MontgomeryModulus::with_engine(&m, engine).expect("this CPU cannot run the engine")
}

pub fn exponent(class: &str, rng: &mut StdRng) -> Vec<u64> {
    let limbs = EXPONENT_BITS / 64;
    match class {
        "zero" => vec![0; limbs],
        "ones" => vec![u64::MAX; limbs],
        "one-bit" => {
            let mut e = vec![0; limbs];
            e[limbs - 1] = 1 << 63;
            e
        }
        "random" => (0..limbs).map(|_| rng.gen()).collect(),
        other => panic!("unknown exponent class {other:?} (zero, ones, one-bit, random)"),
    }
}

/// The inputs every operation draws on, built once; the fixed-base tables (nearly all of the
/// setup's work, which memcheck runs some fifty times slower) when an operation first asks.
pub struct Setup {
    /// A 2048-bit modulus, with a base and its fixed-base table.
    pub m: MontgomeryModulus,
    table: OnceCell<FixedBaseTable>,
    pub base: Montgomery,
    /// A 1024-bit N standing for a secret prime, N² (as p² at key_len 1024), and a table modulo
    /// N² run on two digits modulo N (the owner's encryption).
    pub root: MontgomeryModulus,
    pub square: MontgomeryModulus,
    root_table: OnceCell<FixedBaseTable>,
    /// A table modulo N² with N public (n² for public-key encryption): on two digits modulo N
    /// on the IFMA engine where the CPU has it, else as `root_table`.
    public_root_table: OnceCell<FixedBaseTable>,
    /// Arithmetic modulo N² on two digits (the owner's decryption), and a base modulo N².
    pub digits: TwoDigit,
    pub square_base: Montgomery,
    /// The multi-buffer engine modulo `m`, where the CPU has AVX-512 IFMA.
    pub lanes: Option<MultiBuffer>,
    /// The lanes modulo N² on two digits modulo N (batched decryption and decoding), and
    /// `root_table` running its blocks there (the owner's batched encryption).
    pub root_lanes: Option<TwoDigitLanes>,
    /// The narrow lanes modulo `m` (batched decryption and decoding without IFMA), on AVX-512F
    /// and on AVX2, where the CPU has them.
    pub narrow_avx512f: Option<NarrowLanes>,
    pub narrow_avx2: Option<NarrowLanes>,
    /// The narrow lanes modulo N² on two digits modulo N (batched decryption and decoding
    /// without IFMA), on AVX-512F and on AVX2, where the CPU has them.
    pub root_narrow_avx512f: Option<NarrowTwoDigitLanes>,
    pub root_narrow_avx2: Option<NarrowTwoDigitLanes>,
    root_lanes_table: OnceCell<FixedBaseTable>,
    narrow_table: OnceCell<Option<FixedBaseTable>>,
}

impl Setup {
    pub fn new(engine: Engine) -> Setup {
        let m = modulus(engine);
        let mut rng = StdRng::seed_from_u64(2);
        let base = {
            let mut b: Vec<u64> = (0..m.len()).map(|_| rng.gen()).collect();
            b[m.len() - 1] >>= 1; // below the modulus (its top bit is set)
            m.to_montgomery(&b)
        };
        let mut bytes = vec![0u8; (MODULUS_BITS / 16) as usize];
        rng.fill_bytes(&mut bytes);
        let mut n = BigUint::from_bytes_le(&bytes);
        n.set_bit(MODULUS_BITS / 2 - 1, true);
        n.set_bit(0, true);
        let root =
            MontgomeryModulus::with_engine(&n, engine).expect("this CPU cannot run the engine");
        let square = MontgomeryModulus::with_engine(&(&n * &n), engine)
            .expect("this CPU cannot run the engine");
        let square_base = square.to_montgomery(&base.as_limbs()[..square.len()]);
        let digits = TwoDigit::new(&square, &root).expect("N² is the square of N");
        let lanes = MultiBuffer::new(&m.modulus(), m.len(), m.m0_inv());
        let root_lanes = TwoDigitLanes::new(&n, square.len());
        Setup {
            narrow_avx512f: NarrowLanes::new(&m.modulus(), m.len(), NarrowIsa::Avx512f),
            narrow_avx2: NarrowLanes::new(&m.modulus(), m.len(), NarrowIsa::Avx2),
            root_narrow_avx512f: NarrowTwoDigitLanes::new(&n, square.len(), NarrowIsa::Avx512f),
            root_narrow_avx2: NarrowTwoDigitLanes::new(&n, square.len(), NarrowIsa::Avx2),
            lanes,
            root_lanes,
            root_lanes_table: OnceCell::new(),
            narrow_table: OnceCell::new(),
            public_root_table: OnceCell::new(),
            digits,
            square_base,
            m,
            table: OnceCell::new(),
            base,
            root,
            square,
            root_table: OnceCell::new(),
        }
    }

    pub fn table(&self) -> &FixedBaseTable {
        self.table
            .get_or_init(|| FixedBaseTable::new(&self.m, &self.base, EXPONENT_BITS, 5))
    }

    pub fn root_table(&self) -> &FixedBaseTable {
        self.root_table.get_or_init(|| {
            let mut table = FixedBaseTable::new(&self.square, &self.square_base, EXPONENT_BITS, 5);
            // Two digits where the engine is the portable one (the IFMA engine runs N² itself).
            table.run_on_root(&self.square, &self.root);
            table
        })
    }

    pub fn public_root_table(&self) -> &FixedBaseTable {
        self.public_root_table.get_or_init(|| {
            let mut table = FixedBaseTable::new(&self.square, &self.square_base, EXPONENT_BITS, 5);
            if !table.run_on_public_root(&self.square) {
                table.run_on_root(&self.square, &self.root);
            }
            table
        })
    }

    pub fn root_lanes_table(&self) -> &FixedBaseTable {
        self.root_lanes_table.get_or_init(|| {
            let mut table = self.root_table().clone();
            table.run_in_lanes(&self.square, &self.root.modulus());
            table
        })
    }

    /// `root_table` running its blocks in the narrow lanes modulo N² on AVX-512F (the owner's
    /// batched encryption without IFMA), where the CPU has AVX-512F.
    pub fn narrow_table(&self) -> Option<&FixedBaseTable> {
        self.narrow_table
            .get_or_init(|| {
                let mut table = self.root_table().clone();
                table
                    .run_in_narrow_lanes(&self.square, NarrowIsa::Avx512f)
                    .then_some(table)
            })
            .as_ref()
    }

    /// Builds the tables `operation` uses, before memcheck's secrets are marked: built later,
    /// their public inputs would count as secret. An operation missing here builds its table
    /// under the marks, which can only add reports, never hide one.
    pub fn prepare(&self, operation: &str) {
        match operation {
            "fixed_base" => drop(self.table()),
            "fixed_base_root" => drop(self.root_table()),
            "fixed_base_root_lanes" => drop(self.root_lanes_table()),
            "fixed_base_narrow_avx512f" => drop(self.narrow_table()),
            "fixed_base_public_root" => drop(self.public_root_table()),
            _ => {}
        }
    }

    /// Every table, so that no timed call builds one.
    pub fn prepare_all(&self) {
        for operation in [
            "fixed_base",
            "fixed_base_root",
            "fixed_base_root_lanes",
            "fixed_base_narrow_avx512f",
            "fixed_base_public_root",
        ] {
            self.prepare(operation);
        }
    }
}
