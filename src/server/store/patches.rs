//! What both stores do alike when patching chunks: metadata merged key by key, and the outcome.

/// What a patch did: the ids patched, or the chunk whose metadata would grow past
/// [`MAX_META_BYTES`](super::MAX_META_BYTES) (and its size then), with nothing written.
pub(super) enum Patched {
    Ids(Vec<i64>),
    MetaTooLarge(i64, usize),
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
