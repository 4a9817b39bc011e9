//! The SDK's optional precomputed lookup tables (`tables` in a context file), read and checked.
//!
//! We never encrypt with tables taken from a file (ours are rebuilt from the public key), but a
//! file that carries them must carry correct ones: a modified `g_table` would make the SDK
//! produce wrong ciphertexts, so a context whose tables do not match its key is refused.

use num_bigint::BigUint;
use serde_json::Value;

use super::format::parse_integer;
use crate::error::{Error, Result};
use crate::hazmat::bigint::{FixedBaseTable, Montgomery};
use crate::paillier::{PublicKey, Scheme};
use serde_json::Map;

/// Entries per `g_table` row and in `noise_table` (8-bit windows).
const ENTRIES: usize = 256;

fn malformed(detail: String) -> Error {
    Error::MalformedContext(format!("tables: {detail}"))
}

/// Checked lookup tables: row `i` of `g_table` holds `g^(j·2^(8i)) mod n²` for `j` in 0..256,
/// and `noise_table` 256 units below n².
#[derive(Debug)]
pub struct LookupTables {
    /// `message_chunks` rows of 256 entries.
    pub g_table: Vec<Vec<BigUint>>,
    /// 256 noise entries.
    pub noise_table: Vec<BigUint>,
}

impl LookupTables {
    /// Reads `{"g_table": {"0": [...], ...}, "noise_table": [...]}` and checks every `g_table`
    /// entry against `public_key` (one multiplication each) and every noise entry's range.
    pub fn parse(value: &Value, public_key: &PublicKey, message_chunks: usize) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(malformed("not a JSON object".into()));
        };
        let Some(Value::Object(rows)) = map.get("g_table") else {
            return Err(malformed("\"g_table\" is missing or not an object".into()));
        };
        if rows.len() != message_chunks {
            return Err(malformed(format!(
                "g_table has {} rows where the config needs {message_chunks}",
                rows.len()
            )));
        }
        let n_squared = public_key.n_squared();
        let entries = |value: Option<&Value>, what: &str| -> Result<Vec<BigUint>> {
            let Some(Value::Array(items)) = value else {
                return Err(malformed(format!("{what} is missing or not an array")));
            };
            if items.len() != ENTRIES {
                return Err(malformed(format!(
                    "{what} has {} entries, not {ENTRIES}",
                    items.len()
                )));
            }
            items
                .iter()
                .map(|item| {
                    let x = parse_integer(item, what)?;
                    if &x >= n_squared {
                        return Err(malformed(format!("an entry of {what} is not below n²")));
                    }
                    Ok(x)
                })
                .collect()
        };
        let mut g_table = Vec::with_capacity(message_chunks);
        // g^(2^(8i)): the generator of row i.
        let mut row_base = public_key.g() % n_squared;
        for i in 0..message_chunks {
            let row = entries(rows.get(&i.to_string()), &format!("g_table row {i}"))?;
            let mut expected = BigUint::from(1u32);
            for (j, entry) in row.iter().enumerate() {
                if entry != &expected {
                    return Err(malformed(format!(
                        "g_table[{i}][{j}] is not g^({j}·2^{}) mod n²",
                        8 * i
                    )));
                }
                expected = expected * &row_base % n_squared;
            }
            // After the loop `expected` is row_base^256 = the next row's generator.
            row_base = expected;
            g_table.push(row);
        }
        let noise_table = entries(map.get("noise_table"), "noise_table")?;
        for (k, entry) in noise_table.iter().enumerate() {
            public_key
                .check_ciphertext(entry, k)
                .map_err(|e| malformed(format!("noise_table: {e}")))?;
        }
        Ok(Self {
            g_table,
            noise_table,
        })
    }
}

impl super::ExecutionContext {
    /// Lookup scheme: the SDK's precomputed tables, `{"g_table": {"0": [...], ...},
    /// "noise_table": [...]}` with `g_table[i][j] = g^(j·2^(8i)) mod n²` and 256 noise entries
    /// `g_n^r`. Large (about 80 MB of JSON at key_len 1024). Classic scheme: an empty object,
    /// as the SDK returns.
    pub fn dump_tables(&self) -> Result<Value> {
        if self.public.config.scheme != Scheme::PaillierLookup {
            return Ok(Value::Object(Map::new()));
        }
        let pk = &self.public.public_key;
        let modulus = pk.n_squared_modulus();
        let number = |value: &Montgomery| -> Result<Value> {
            let decimal = modulus
                .biguint_of(&modulus.from_montgomery(value))
                .to_string();
            decimal
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(|e| Error::InvalidParameter(format!("table entry: {e}")))
        };
        let rows = self.public.config.message_chunks();
        let table = FixedBaseTable::new(
            modulus,
            &modulus.montgomery_of_vartime(pk.g())?,
            rows * 8,
            8,
        );
        let mut g_table = Map::new();
        for row in 0..rows {
            let entries = (0..256)
                .map(|k| number(&table.power(row, k)))
                .collect::<Result<Vec<_>>>()?;
            g_table.insert(row.to_string(), Value::Array(entries));
        }
        let g_n = pk
            .g_n()
            .ok_or_else(|| Error::MalformedContext("lookup public key without g_n".into()))?;
        let noise_bits = self.public.config.alpha_len.unwrap_or(0) + 128;
        let noise_table =
            FixedBaseTable::new(modulus, &modulus.montgomery_of_vartime(g_n)?, noise_bits, 4);
        let mut rng = rand::thread_rng();
        let mut noise = Vec::with_capacity(256);
        for _ in 0..256 {
            let r = num_bigint::RandBigInt::gen_biguint(&mut rng, noise_bits as u64);
            let mut e = r.to_u64_digits();
            e.resize(noise_bits.div_ceil(64), 0);
            noise.push(number(&noise_table.pow(modulus, &e, noise_bits))?);
        }
        let mut out = Map::new();
        out.insert("g_table".into(), Value::Object(g_table));
        out.insert("noise_table".into(), Value::Array(noise));
        Ok(Value::Object(out))
    }
}
