//! Chunks' metadata as the API knows it: the fields a client may set, filter, patch, project and
//! sort by, and a stored metadata text read as an object.

use serde_json::{Map, Value};

/// The metadata fields of the API (XTrace's): five tags and the facets.
pub const FIELDS: [&str; 6] = ["tag1", "tag2", "tag3", "tag4", "tag5", "facets"];

/// The fields a page of results may be sorted by, besides `chunk_id` and `name`: the tags.
pub const SORTABLE: [&str; 5] = ["tag1", "tag2", "tag3", "tag4", "tag5"];

/// A chunk's stored metadata as an object (anything else counts as none).
pub fn meta_of(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}
