//! What both stores do alike when patching chunks: metadata merged key by key, and the outcome.

/// What a patch did: the ids patched, or the chunk whose metadata would grow past
/// [`MAX_META_BYTES`](super::MAX_META_BYTES) (and its size then), with nothing written.
pub(super) enum Patched {
    Ids(Vec<i64>),
    MetaTooLarge(i64, usize),
}

impl Patched {
    /// The ids patched, or the error a caller sees for metadata that would grow too large.
    pub(super) fn into_ids(self) -> crate::error::Result<Vec<i64>> {
        match self {
            Self::Ids(ids) => Ok(ids),
            Self::MetaTooLarge(id, bytes) => Err(crate::error::Error::RefusedValue(format!(
                "chunk {id}: its metadata would grow to {bytes} bytes; at most {}; nothing was \
                 changed",
                super::MAX_META_BYTES
            ))),
        }
    }
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
