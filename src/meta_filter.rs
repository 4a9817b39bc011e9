//! Metadata filters, as the XTrace SDK's manual defines them: five string tags `tag1`–`tag5`,
//! compared as strings, and the multi-valued `facets`; and ours, [`PARTITION_FIELD`], a string
//! field with the tags' operators (a record's partition, as its owner's keyed token), so that a
//! query can name the partitions it searches. Several keys in one filter must all hold;
//! `$and` and `$or` combine filters. An unknown field or operator is an error naming it. A
//! service selects chunks with them; an owner checks that what a service returned passes
//! ([`verifiable::check_filter`](crate::verifiable::check_filter)).
//!
//! ```
//! use paillier_gpu::meta_filter::Filter;
//! let filter = Filter::parse(&serde_json::json!({"tag1": {"$gte": "2024"}, "facets": "a"})).unwrap();
//! let meta = serde_json::json!({"tag1": "2025-01-01", "facets": ["a", "b"]});
//! assert!(filter.matches(meta.as_object().unwrap()));
//! ```

use std::borrow::Cow;

use serde_json::{Map, Value};

/// The metadata field holding a record's partition (ours, not the SDK's): filtered as a tag is,
/// `Filter::Tag(PARTITION_FIELD, …)`. Not one of the fields the SDK's routes sort or patch by.
pub const PARTITION_FIELD: &str = "partition";

/// The string fields a filter tests with [`TagTest`]: the five tags and [`PARTITION_FIELD`].
pub const STRING_FIELDS: [&str; 6] = ["tag1", "tag2", "tag3", "tag4", "tag5", PARTITION_FIELD];

/// A parsed filter, checked once and applied to many chunks.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Every filter passes (`$and`, or several keys in one object).
    All(Vec<Filter>),
    /// At least one passes (`$or`).
    Any(Vec<Filter>),
    /// A test on the string field named (`tag1` to `tag5`, or [`PARTITION_FIELD`]).
    Tag(String, TagTest),
    /// A test on `facets`.
    Facets(FacetTest),
}

/// A test on one tag's string.
#[derive(Clone, Debug, PartialEq)]
pub enum TagTest {
    /// Equal to (`$eq`, or a bare value).
    Eq(String),
    /// Not equal to (`$ne`; an absent tag passes).
    Ne(String),
    /// After, in byte order (`$gt`).
    Gt(String),
    /// After or equal (`$gte`).
    Gte(String),
    /// Before (`$lt`).
    Lt(String),
    /// Before or equal (`$lte`).
    Lte(String),
    /// Starts with (`$begins_with`).
    BeginsWith(String),
    /// One of (`$in`).
    In(Vec<String>),
    /// None of (`$nin`; an absent tag passes).
    Nin(Vec<String>),
    /// Holds the substring (`$contains`).
    Contains(String),
    /// Present and non-empty (true), or not (false) (`$exists`).
    Exists(bool),
}

/// A test on the facets list.
#[derive(Clone, Debug, PartialEq)]
pub enum FacetTest {
    /// Each of these is a facet (`$subset`, `$all`).
    Subset(Vec<String>),
    /// At least one facet is one of these (`$any`).
    Any(Vec<String>),
    /// No facet is one of these (`$none`).
    None(Vec<String>),
    /// One facet is this (`$contains`, or a bare value).
    Contains(String),
    /// The list has this many facets (`$size`).
    Size(usize),
    /// Present and non-empty (true), or not (false).
    Exists(bool),
}

impl Filter {
    /// Parses a filter object; an error message names what is wrong.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("a metadata filter is a JSON object".into());
        };
        let mut parts = Vec::new();
        for (key, condition) in map {
            parts.push(match key.as_str() {
                "$and" | "$or" => {
                    let Value::Array(items) = condition else {
                        return Err(format!("{key} takes an array of filters"));
                    };
                    let inner = items
                        .iter()
                        .map(Filter::parse)
                        .collect::<Result<Vec<_>, _>>()?;
                    if key == "$and" {
                        Filter::All(inner)
                    } else {
                        Filter::Any(inner)
                    }
                }
                "facets" => facet_tests(condition)?,
                tag if STRING_FIELDS.contains(&tag) => tag_tests(tag, condition)?,
                other => {
                    return Err(format!(
                        "unknown metadata field {other:?}: filters take tag1 … tag5, facets and \
                         {PARTITION_FIELD}"
                    ))
                }
            });
        }
        Ok(Filter::All(parts))
    }

    /// Whether the filter holds no condition at all, and so selects everything.
    pub fn is_empty(&self) -> bool {
        match self {
            Filter::All(parts) => parts.iter().all(Filter::is_empty),
            _ => false,
        }
    }

    /// The comparisons one record costs: a value compared per listed operand.
    pub fn cost(&self) -> usize {
        match self {
            Filter::All(parts) | Filter::Any(parts) => {
                parts.iter().map(Filter::cost).sum::<usize>().max(1)
            }
            Filter::Tag(_, TagTest::In(values) | TagTest::Nin(values)) => values.len().max(1),
            Filter::Facets(
                FacetTest::Subset(values) | FacetTest::Any(values) | FacetTest::None(values),
            ) => values.len().max(1),
            Filter::Tag(..) | Filter::Facets(_) => 1,
        }
    }

    /// Parses the filter as the SDK sends it: a JSON object, or a string holding one.
    pub fn parse_sent(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => {
                let parsed: Value = serde_json::from_str(text)
                    .map_err(|e| format!("meta_filter is not JSON: {e}"))?;
                Self::parse(&parsed)
            }
            other => Self::parse(other),
        }
    }

    /// Whether a chunk's metadata (a JSON object) passes.
    pub fn matches(&self, meta: &Map<String, Value>) -> bool {
        match self {
            Filter::All(parts) => parts.iter().all(|f| f.matches(meta)),
            Filter::Any(parts) => parts.iter().any(|f| f.matches(meta)),
            Filter::Tag(tag, test) => test.matches(tag_value(meta, tag).as_deref()),
            Filter::Facets(test) => test.matches(&facets(meta)),
        }
    }
}

fn string_of(value: &Value, what: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("{what} takes a string")),
    }
}

fn strings_of(value: &Value, what: &str) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) => items.iter().map(|v| string_of(v, what)).collect(),
        _ => Err(format!("{what} takes an array of strings")),
    }
}

fn tag_tests(tag: &str, condition: &Value) -> Result<Filter, String> {
    let Value::Object(operators) = condition else {
        return Ok(Filter::Tag(
            tag.into(),
            TagTest::Eq(string_of(condition, tag)?),
        ));
    };
    let mut tests = Vec::new();
    for (operator, operand) in operators {
        let what = format!("{tag}.{operator}");
        let test = match operator.as_str() {
            "$eq" => TagTest::Eq(string_of(operand, &what)?),
            "$ne" => TagTest::Ne(string_of(operand, &what)?),
            "$gt" => TagTest::Gt(string_of(operand, &what)?),
            "$gte" => TagTest::Gte(string_of(operand, &what)?),
            "$lt" => TagTest::Lt(string_of(operand, &what)?),
            "$lte" => TagTest::Lte(string_of(operand, &what)?),
            "$begins_with" => TagTest::BeginsWith(string_of(operand, &what)?),
            "$in" => TagTest::In(strings_of(operand, &what)?),
            "$nin" => TagTest::Nin(strings_of(operand, &what)?),
            "$contains" => TagTest::Contains(string_of(operand, &what)?),
            "$exists" => TagTest::Exists(
                operand
                    .as_bool()
                    .ok_or(format!("{what} takes true or false"))?,
            ),
            other => {
                return Err(format!(
                    "unknown operator {other:?} on {tag}: tags take $eq, $ne, $gt, $gte, $lt, \
                     $lte, $begins_with, $in, $nin, $contains and $exists"
                ))
            }
        };
        tests.push(Filter::Tag(tag.into(), test));
    }
    Ok(Filter::All(tests))
}

fn facet_tests(condition: &Value) -> Result<Filter, String> {
    let Value::Object(operators) = condition else {
        // A scalar on the list means "contains", as MongoDB reads it (the SDK's suites use it).
        return Ok(Filter::Facets(FacetTest::Contains(string_of(
            condition,
            "facets (a scalar means $contains; or an object of operators)",
        )?)));
    };
    let mut tests = Vec::new();
    for (operator, operand) in operators {
        let what = format!("facets.{operator}");
        let test = match operator.as_str() {
            "$subset" | "$all" => FacetTest::Subset(strings_of(operand, &what)?),
            "$any" => FacetTest::Any(strings_of(operand, &what)?),
            "$none" => FacetTest::None(strings_of(operand, &what)?),
            "$contains" => FacetTest::Contains(string_of(operand, &what)?),
            "$size" => FacetTest::Size(
                operand
                    .as_u64()
                    .ok_or(format!("{what} takes a whole number"))? as usize,
            ),
            "$exists" => FacetTest::Exists(
                operand
                    .as_bool()
                    .ok_or(format!("{what} takes true or false"))?,
            ),
            other => {
                return Err(format!(
                    "unknown operator {other:?} on facets: facets take $subset (or $all), $any, \
                     $none, $contains, $size and $exists"
                ))
            }
        };
        tests.push(Filter::Facets(test));
    }
    Ok(Filter::All(tests))
}

fn tag_value(meta: &Map<String, Value>, tag: &str) -> Option<String> {
    field_string(meta, tag).map(Cow::into_owned)
}

fn facets(meta: &Map<String, Value>) -> Vec<String> {
    facet_strings(meta).map(Cow::into_owned).collect()
}

/// The string a filter compares for a string field (a tag or [`PARTITION_FIELD`]) of `meta`:
/// a string as it is, a number or a boolean as its JSON text; `None` when the field is absent,
/// `null`, a list or an object. An index of values that must agree with [`Filter::matches`]
/// reads them with this.
pub fn field_string<'a>(meta: &'a Map<String, Value>, field: &str) -> Option<Cow<'a, str>> {
    scalar_string(meta.get(field)?)
}

/// The strings a filter compares for `meta`'s facets, in the list's order (repeats kept): each
/// item of a `facets` list that is a string, a number or a boolean; none when there is no list.
pub fn facet_strings(meta: &Map<String, Value>) -> impl Iterator<Item = Cow<'_, str>> {
    let items = match meta.get("facets") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    items.iter().filter_map(scalar_string)
}

/// [`string_of`] without its error: what a stored value compares as.
fn scalar_string(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

impl TagTest {
    fn matches(&self, value: Option<&str>) -> bool {
        match (self, value) {
            (TagTest::Exists(wanted), value) => value.is_some_and(|v| !v.is_empty()) == *wanted,
            (TagTest::Ne(x), value) => value != Some(x.as_str()),
            (TagTest::Nin(xs), value) => value.is_none_or(|v| !xs.iter().any(|x| x == v)),
            (_, None) => false,
            (TagTest::Eq(x), Some(v)) => v == x,
            (TagTest::Gt(x), Some(v)) => v > x.as_str(),
            (TagTest::Gte(x), Some(v)) => v >= x.as_str(),
            (TagTest::Lt(x), Some(v)) => v < x.as_str(),
            (TagTest::Lte(x), Some(v)) => v <= x.as_str(),
            (TagTest::BeginsWith(x), Some(v)) => v.starts_with(x.as_str()),
            (TagTest::In(xs), Some(v)) => xs.iter().any(|x| x == v),
            (TagTest::Contains(x), Some(v)) => v.contains(x.as_str()),
        }
    }
}

impl FacetTest {
    fn matches(&self, facets: &[String]) -> bool {
        let has = |token: &String| facets.contains(token);
        match self {
            FacetTest::Subset(tokens) => tokens.iter().all(has),
            FacetTest::Any(tokens) => tokens.iter().any(has),
            FacetTest::None(tokens) => !tokens.iter().any(has),
            FacetTest::Contains(token) => has(token),
            FacetTest::Size(size) => facets.len() == *size,
            FacetTest::Exists(wanted) => facets.is_empty() != *wanted,
        }
    }
}

#[cfg(test)]
#[path = "meta_filter_tests.rs"]
mod tests;
