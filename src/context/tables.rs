//! The SDK's optional precomputed lookup tables (`tables` in a context file), read and checked.
//!
//! We never encrypt with tables taken from a file (ours are rebuilt from the public key), but a
//! file that carries them must carry correct ones: a modified `g_table` would make the SDK
//! produce wrong ciphertexts, so a context whose tables do not match its key is refused.

use num_bigint::BigUint;
use serde_json::Value;

use super::format::parse_integer;
use crate::error::{Error, Result};
use crate::paillier::PublicKey;

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
