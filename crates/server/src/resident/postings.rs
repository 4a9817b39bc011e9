//! Posting lists of a resident index: for each value of each string field (`tag1` … `tag5`,
//! `partition`) and each facet, the positions of the records holding it, ascending. They let
//! an equality or `$in` filter select its records by lookup instead of testing every record's
//! metadata. They follow appends, removals (later positions move down) and a record's metadata
//! replaced in place.

use std::collections::HashMap;

use serde_json::{Map, Value};

use paillier_gpu::meta_filter::{facet_strings, field_string, STRING_FIELDS};

/// The slot of the facets' lists, after those of [`STRING_FIELDS`].
const FACETS: usize = STRING_FIELDS.len();

/// Positions of one value: most values of a field unique to a record (a date, a name) hold
/// one, kept without a heap allocation.
#[derive(Debug)]
enum Positions {
    One(u32),
    Many(Vec<u32>),
}

impl Positions {
    fn as_slice(&self) -> &[u32] {
        match self {
            Positions::One(position) => std::slice::from_ref(position),
            Positions::Many(positions) => positions,
        }
    }

    /// Adds `position` in order, at the end when it is above every one held (an append, the
    /// common case); nothing when it is held already (a record listing a facet twice). The
    /// heap bytes it newly holds.
    fn push(&mut self, position: u32) -> usize {
        let before = self.heap_bytes();
        match self {
            Positions::One(held) if *held == position => return 0,
            Positions::One(held) => {
                let (low, high) = ((*held).min(position), (*held).max(position));
                *self = Positions::Many(vec![low, high]);
            }
            Positions::Many(positions) => match positions.last() {
                Some(&last) if last < position => positions.push(position),
                _ => {
                    if let Err(at) = positions.binary_search(&position) {
                        positions.insert(at, position);
                    }
                }
            },
        }
        self.heap_bytes().saturating_sub(before)
    }

    /// Removes `position` when held; false when none is left.
    fn remove(&mut self, position: u32) -> bool {
        match self {
            Positions::One(held) => *held != position,
            Positions::Many(positions) => {
                if let Ok(at) = positions.binary_search(&position) {
                    positions.remove(at);
                }
                !positions.is_empty()
            }
        }
    }

    /// Drops the `removed` positions (ascending) and moves the others down by the number
    /// removed below them; false when none is left.
    fn remove_and_shift(&mut self, removed: &[u32]) -> bool {
        let moved = |position: u32| {
            let below = removed.partition_point(|&r| r < position);
            (removed.get(below) != Some(&position)).then(|| position - below as u32)
        };
        match self {
            Positions::One(held) => match moved(*held) {
                Some(position) => {
                    *held = position;
                    true
                }
                None => false,
            },
            Positions::Many(positions) => {
                let mut kept = 0;
                for i in 0..positions.len() {
                    if let Some(position) = moved(positions[i]) {
                        positions[kept] = position;
                        kept += 1;
                    }
                }
                positions.truncate(kept);
                kept > 0
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Positions::One(_) => 0,
            Positions::Many(positions) => positions.capacity() * std::mem::size_of::<u32>(),
        }
    }
}

/// The posting lists of one resident index.
#[derive(Debug)]
pub struct Postings {
    /// Per field slot ([`STRING_FIELDS`], then [`FACETS`]), each value's positions.
    fields: Vec<HashMap<Box<str>, Positions>>,
    /// The heap bytes of the values' text and of the positions.
    heap_bytes: usize,
    /// False once a position did not fit 32 bits: the lists are gone, and every filter scans.
    usable: bool,
}

impl Default for Postings {
    fn default() -> Self {
        Self {
            fields: (0..=FACETS).map(|_| HashMap::new()).collect(),
            heap_bytes: 0,
            usable: true,
        }
    }
}

impl Postings {
    /// Lists the values of `meta`, the metadata of the record at `position` (above every
    /// position appended so far).
    pub fn append(&mut self, position: usize, meta: &Map<String, Value>) {
        if !self.usable || meta.is_empty() {
            return;
        }
        // Four billion records in one index would be some terabytes of ciphertexts; should it
        // happen, filters scan rather than the lists holding wrong positions.
        let Ok(position) = u32::try_from(position) else {
            *self = Self {
                usable: false,
                ..Self::default()
            };
            return;
        };
        for (slot, field) in STRING_FIELDS.iter().enumerate() {
            if let Some(value) = field_string(meta, field) {
                self.add(slot, &value, position);
            }
        }
        for facet in facet_strings(meta) {
            self.add(FACETS, &facet, position);
        }
    }

    /// Replaces `before` by `after` as the metadata of the record at `position`.
    pub fn replace(
        &mut self,
        position: usize,
        before: &Map<String, Value>,
        after: &Map<String, Value>,
    ) {
        let Ok(position) = u32::try_from(position) else {
            return;
        };
        if !self.usable {
            return;
        }
        for (slot, value) in Self::values_of(before) {
            let values = &mut self.fields[slot];
            if let Some(positions) = values.get_mut(value.as_str()) {
                if !positions.remove(position) {
                    values.remove(value.as_str());
                }
            }
        }
        for (slot, value) in Self::values_of(after) {
            self.add(slot, &value, position);
        }
    }

    /// Drops the records at `removed` (ascending positions): the later ones move down, as
    /// their records do in the index.
    pub fn remove(&mut self, removed: &[usize]) {
        let Ok(removed) = removed
            .iter()
            .map(|&p| u32::try_from(p))
            .collect::<std::result::Result<Vec<u32>, _>>()
        else {
            return;
        };
        if !self.usable || removed.is_empty() {
            return;
        }
        for values in &mut self.fields {
            values.retain(|_, positions| positions.remove_and_shift(&removed));
        }
        self.heap_bytes = self.counted_heap_bytes();
    }

    /// Each listed `(slot, value)` of `meta`, as [`append`](Self::append) lists them.
    fn values_of(meta: &Map<String, Value>) -> Vec<(usize, String)> {
        let mut values: Vec<(usize, String)> = STRING_FIELDS
            .iter()
            .enumerate()
            .filter_map(|(slot, field)| field_string(meta, field).map(|v| (slot, v.into_owned())))
            .collect();
        values.extend(facet_strings(meta).map(|f| (FACETS, f.into_owned())));
        values
    }

    /// Every list, by field slot and value, for tests to compare.
    #[cfg(test)]
    pub(super) fn snapshot(&self) -> std::collections::BTreeMap<(usize, String), Vec<u32>> {
        let mut all = std::collections::BTreeMap::new();
        for (slot, values) in self.fields.iter().enumerate() {
            for (value, positions) in values {
                all.insert((slot, value.to_string()), positions.as_slice().to_vec());
            }
        }
        all
    }

    fn counted_heap_bytes(&self) -> usize {
        self.fields
            .iter()
            .flat_map(|values| values.iter())
            .map(|(value, positions)| value.len() + positions.heap_bytes())
            .sum()
    }

    fn add(&mut self, slot: usize, value: &str, position: u32) {
        let values = &mut self.fields[slot];
        match values.get_mut(value) {
            Some(positions) => self.heap_bytes += positions.push(position),
            None => {
                values.insert(value.into(), Positions::One(position));
                self.heap_bytes += value.len();
            }
        }
    }

    /// The positions holding `value` in the string field `field` (or, for `facets`, among
    /// the facets), ascending; `None` when the field is not listed (or the lists are gone).
    pub fn lookup(&self, field: &str, value: &str) -> Option<&[u32]> {
        let slot = if field == "facets" {
            FACETS
        } else {
            STRING_FIELDS.iter().position(|f| *f == field)?
        };
        if !self.usable {
            return None;
        }
        Some(
            self.fields[slot]
                .get(value)
                .map_or(&[], Positions::as_slice),
        )
    }

    /// Bytes of host memory the lists hold: the tables' slots, the values' text and the
    /// positions.
    pub fn host_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Box<str>, Positions)>() + 1;
        self.fields
            .iter()
            .map(|f| f.capacity() * slot)
            .sum::<usize>()
            + self.heap_bytes
    }

    /// Gives back what appending reserved beyond the positions.
    pub fn shrink_to_fit(&mut self) {
        let mut heap_bytes = 0;
        for values in &mut self.fields {
            values.shrink_to_fit();
            for (value, positions) in values.iter_mut() {
                if let Positions::Many(list) = positions {
                    list.shrink_to_fit();
                }
                heap_bytes += value.len() + positions.heap_bytes();
            }
        }
        self.heap_bytes = heap_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn values_are_listed_as_the_filter_reads_them() {
        let mut postings = Postings::default();
        let records = [
            json!({"tag1": "a", "partition": "p1", "facets": ["x", "y", "x"]}),
            json!({"tag1": 7, "tag2": true, "partition": "p2", "colour": "red"}),
            json!({}),
            json!({"tag1": "a", "tag3": null, "tag4": ["a"], "facets": ["y"]}),
        ];
        for (position, meta) in records.into_iter().enumerate() {
            postings.append(position, &map(meta));
        }
        let at = |field: &str, value: &str| postings.lookup(field, value).map(<[u32]>::to_vec);
        assert_eq!(at("tag1", "a"), Some(vec![0, 3]));
        assert_eq!(at("tag1", "7"), Some(vec![1]));
        assert_eq!(at("tag2", "true"), Some(vec![1]));
        assert_eq!(at("partition", "p2"), Some(vec![1]));
        assert_eq!(at("facets", "x"), Some(vec![0]));
        assert_eq!(at("facets", "y"), Some(vec![0, 3]));
        assert_eq!(at("tag4", "a"), Some(vec![]));
        assert_eq!(at("tag5", "a"), Some(vec![]));
        assert_eq!(at("colour", "red"), None);
        assert!(postings.host_bytes() > 0);
    }

    #[test]
    fn memory_is_counted_and_shrinks() {
        let mut postings = Postings::default();
        let empty = postings.host_bytes();
        for position in 0..1000 {
            let meta = map(json!({"tag1": format!("v{}", position % 10), "partition": "p"}));
            postings.append(position, &meta);
        }
        let grown = postings.host_bytes();
        // 2,000 positions of 4 bytes, at least.
        assert!(grown >= empty + 8000, "{empty} → {grown}");
        postings.shrink_to_fit();
        let shrunk = postings.host_bytes();
        assert!(shrunk <= grown && shrunk >= 8000, "{grown} → {shrunk}");
        assert_eq!(
            postings.lookup("partition", "p").map(<[u32]>::len),
            Some(1000)
        );
    }
}
