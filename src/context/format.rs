//! The JSON of execution contexts, written exactly as the Python SDK writes it.
//!
//! The SDK serialises with `json.dumps` defaults: separators `", "` and `": "`, ASCII escaping,
//! insertion order. The context id hashes such a serialisation, so these strings are produced
//! byte for byte here rather than through a general JSON writer.

use num_bigint::BigUint;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::paillier::Scheme;

/// A JSON string literal as Python's `json.dumps` writes it (ensure_ascii).
pub(crate) fn py_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// `{"k1": v1, "k2": v2}` with already-serialised values, in the given order.
pub(crate) fn py_json_object(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {}", py_json_string(k), v))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// Decimal digits of the largest integer a context may hold (n² of 16384 bits has 4933).
const MAX_DECIMAL_DIGITS: usize = 5000;

/// Reads a non-negative integer written as a JSON number or a decimal string.
pub(crate) fn parse_integer(value: &Value, what: &str) -> Result<BigUint> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return Err(Error::MalformedContext(format!(
                "{what} must be an integer"
            )))
        }
    };
    if text.is_empty()
        || text.len() > MAX_DECIMAL_DIGITS
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Error::MalformedContext(format!(
            "{what} is not a non-negative decimal integer of at most {MAX_DECIMAL_DIGITS} digits"
        )));
    }
    BigUint::parse_bytes(text.as_bytes(), 10)
        .ok_or_else(|| Error::MalformedContext(format!("{what} is not a decimal integer")))
}

/// Reads a small non-negative integer (a configuration value).
pub(crate) fn parse_usize(value: &Value, what: &str) -> Result<usize> {
    value
        .as_u64()
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| Error::MalformedContext(format!("{what} must be a non-negative integer")))
}

/// Parses a JSON object (serde_json's recursion limit turns deep nesting into an error).
pub(crate) fn parse_object(json: &str, what: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::MalformedContext(format!(
            "{what} is not a JSON object"
        ))),
        Err(e) => Err(Error::MalformedContext(format!(
            "{what} is not valid JSON: {e}"
        ))),
    }
}

/// The fields of a context file that are read; any other is skipped without being parsed, so a
/// huge unknown field costs one scan of its bytes, not a tree of values.
const CONTEXT_FIELDS: [&str; 9] = [
    "sk",
    "pk",
    "type",
    "config",
    "key_provider",
    "wrapped_key",
    "key_check",
    "format",
    "tables",
];

/// Parses a context file's top-level object: the known fields only, and `tables` (the SDK's
/// optional lookup tables, which can be large) only when it is no larger than real tables for
/// the file's scheme and `key_len` could be.
pub(crate) fn parse_context_object(json: &str) -> Result<Map<String, Value>> {
    use serde_json::value::RawValue;
    let raw: std::collections::BTreeMap<String, &RawValue> =
        serde_json::from_str(json).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                Error::MalformedContext("context is not a JSON object".into())
            }
            _ => Error::MalformedContext(format!("context is not valid JSON: {e}")),
        })?;
    let mut map = Map::new();
    for (key, value) in &raw {
        if key == "tables" || !CONTEXT_FIELDS.contains(&key.as_str()) {
            continue;
        }
        let value = serde_json::from_str::<Value>(value.get())
            .map_err(|e| Error::MalformedContext(format!("context field {key:?}: {e}")))?;
        map.insert(key.clone(), value);
    }
    // Without a valid type and config there is nothing to check tables against: the caller
    // reports what is wrong with those.
    if let (Some(tables), Some(limit)) = (raw.get("tables"), max_tables_bytes(&map)) {
        if tables.get().len() > limit {
            return Err(Error::MalformedContext(format!(
                "tables: {} bytes, more than lookup tables for this context's key_len can take \
                 ({limit})",
                tables.get().len()
            )));
        }
        let value = serde_json::from_str::<Value>(tables.get())
            .map_err(|e| Error::MalformedContext(format!("tables: {e}")))?;
        map.insert("tables".into(), value);
    }
    Ok(map)
}

/// The most bytes real lookup tables take for the context's `config` (`None` when it names no
/// valid scheme and config): 256 entries per row and 256 noise entries, each below n²
/// (`4·key_len` bits) in decimal with room for quotes and separators.
fn max_tables_bytes(map: &Map<String, Value>) -> Option<usize> {
    let config = match (map.get("type"), map.get("config")) {
        (Some(Value::String(kind)), Some(Value::String(config))) => scheme_of_type(kind)
            .and_then(|scheme| super::ContextConfig::parse(scheme, config))
            .ok(),
        _ => None,
    };
    // Saturating: a config claiming an absurd key_len (refused later, with its reason) must
    // not overflow here, and a bound past any file's size bounds nothing it could hold.
    config.map(|config| {
        let rows = config.message_chunks();
        let digits = config
            .key_len
            .saturating_mul(4 * 30103)
            .div_ceil(100_000)
            .saturating_add(1);
        rows.saturating_mul(256)
            .saturating_add(256)
            .saturating_mul(digits.saturating_add(8))
            .saturating_add(rows.saturating_mul(32))
            .saturating_add(4096)
    })
}

/// The string field `key` of `map`.
pub(crate) fn string_field<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<&'a str> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Error::MalformedContext(format!(
            "{what}: \"{key}\" must be a string"
        ))),
        None => Err(Error::MalformedContext(format!(
            "{what}: \"{key}\" is missing"
        ))),
    }
}

/// A present field of `map`.
pub(crate) fn field<'a>(map: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a Value> {
    map.get(key)
        .ok_or_else(|| Error::MalformedContext(format!("{what}: \"{key}\" is missing")))
}

/// The scheme for a context `type` string.
pub(crate) fn scheme_of_type(type_name: &str) -> Result<Scheme> {
    match type_name {
        "PaillierClient" => Ok(Scheme::Paillier),
        "PaillierLookupClient" => Ok(Scheme::PaillierLookup),
        other => Err(Error::UnknownContextType(other.chars().take(64).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_like_python() {
        assert_eq!(py_json_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            py_json_string("é\u{1F600}\u{7f}"),
            r#""\u00e9\ud83d\ude00\u007f""#
        );
        assert_eq!(py_json_string("\n\t\u{1}"), r#""\n\t\u0001""#);
    }

    #[test]
    fn objects_use_python_separators() {
        let s = py_json_object(&[("a", "1".into()), ("b", py_json_string("x"))]);
        assert_eq!(s, r#"{"a": 1, "b": "x"}"#);
    }

    #[test]
    fn integers_reject_signs_fractions_and_exponents() {
        for bad in [r#""-1""#, "1.5", "1e9", r#""""#, "true", r#""12a""#] {
            let v: Value = serde_json::from_str(bad).unwrap();
            assert!(parse_integer(&v, "x").is_err(), "{bad}");
        }
        let v: Value = serde_json::from_str("123456789012345678901234567890").unwrap();
        assert_eq!(
            parse_integer(&v, "x").unwrap().to_string(),
            "123456789012345678901234567890"
        );
    }
}
