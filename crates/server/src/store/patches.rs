//! The rules of a metadata patch: merged key by key, and refused past its size.

/// The error a caller sees when a patch would grow chunk `id`'s metadata to `bytes`, past
/// [`MAX_META_BYTES`](super::MAX_META_BYTES) (nothing is written then).
pub(super) fn too_large(id: i64, bytes: usize) -> crate::error::Error {
    crate::error::Error::RefusedValue(format!(
        "chunk {id}: its metadata would grow to {bytes} bytes; at most {}; nothing was changed",
        super::MAX_META_BYTES
    ))
}

/// `meta` (a JSON object's text) with `changes` merged in key by key; `null` removes a key.
pub(super) fn merged(meta: &str, changes: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut object = match serde_json::from_str(meta) {
        Ok(serde_json::Value::Object(object)) => object,
        _ => serde_json::Map::new(),
    };
    for (key, value) in changes {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    serde_json::Value::Object(object).to_string()
}
