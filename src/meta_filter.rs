//! Metadata filters, as the XTrace SDK's manual defines them: five string tags `tag1`–`tag5`,
//! compared as strings, and the multi-valued `facets`. Several keys in one filter must all hold;
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

use serde_json::{Map, Value};

/// The tag fields.
const TAGS: [&str; 5] = ["tag1", "tag2", "tag3", "tag4", "tag5"];

/// A parsed filter, checked once and applied to many chunks.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Every filter passes (`$and`, or several keys in one object).
    All(Vec<Filter>),
    /// At least one passes (`$or`).
    Any(Vec<Filter>),
    /// A test on the tag field named (`tag1` to `tag5`).
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
                tag if TAGS.contains(&tag) => tag_tests(tag, condition)?,
                other => {
                    return Err(format!(
                        "unknown metadata field {other:?}: filters take tag1 … tag5 and facets"
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
    match meta.get(tag)? {
        Value::Null => None,
        value => string_of(value, tag).ok(),
    }
}

fn facets(meta: &Map<String, Value>) -> Vec<String> {
    match meta.get("facets") {
        Some(Value::Array(items)) => items.iter().filter_map(|v| string_of(v, "").ok()).collect(),
        _ => Vec::new(),
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
mod tests {
    use super::*;
    use serde_json::json;

    fn passes(filter: Value, meta: Value) -> bool {
        let Value::Object(meta) = meta else {
            unreachable!()
        };
        Filter::parse(&filter).unwrap().matches(&meta)
    }

    #[test]
    fn every_operator_of_the_manual() {
        let meta =
            json!({"tag1": "2024-03-01", "tag2": "report", "tag3": "", "facets": ["a", "b"]});
        let yes = |f: Value| passes(f, meta.clone());
        assert!(yes(json!({"tag2": "report"})));
        assert!(yes(
            json!({"tag2": {"$eq": "report"}, "tag1": {"$gte": "2024-01-01", "$lt": "2025"}})
        ));
        assert!(!yes(json!({"tag1": {"$gt": "2024-03-01"}})));
        assert!(yes(json!({"tag1": {"$lte": "2024-03-01"}})));
        assert!(yes(json!({"tag2": {"$ne": "memo"}, "tag4": {"$ne": "x"}})));
        assert!(yes(json!({"tag2": {"$begins_with": "rep"}})));
        assert!(yes(json!({"tag2": {"$in": ["memo", "report"]}})));
        assert!(!yes(json!({"tag2": {"$nin": ["memo", "report"]}})));
        assert!(yes(json!({"tag5": {"$nin": ["x"]}})));
        assert!(yes(json!({"tag2": {"$contains": "epo"}})));
        assert!(yes(
            json!({"tag1": {"$exists": true}, "tag3": {"$exists": false}, "tag4": {"$exists": false}})
        ));
        assert!(yes(json!({"facets": {"$subset": ["a", "b"]}})));
        assert!(yes(json!({"facets": {"$all": ["a"]}})));
        assert!(!yes(json!({"facets": {"$subset": ["a", "c"]}})));
        assert!(yes(
            json!({"facets": {"$any": ["c", "b"]}, "tag2": "report"})
        ));
        assert!(yes(json!({"facets": {"$none": ["c"]}})));
        assert!(yes(json!({"facets": {"$contains": "a", "$size": 2}})));
        // The SDK's suites' forms: a scalar is $contains; $exists is present and non-empty.
        assert!(yes(json!({"facets": "a"})));
        assert!(!yes(json!({"facets": "c"})));
        assert!(yes(json!({"facets": {"$exists": true}})));
        assert!(!yes(json!({"facets": {"$exists": false}})));
        assert!(passes(
            json!({"facets": {"$exists": false}}),
            json!({"facets": []})
        ));
        assert!(passes(
            json!({"facets": {"$exists": false}}),
            json!({"tag1": "x"})
        ));
        assert!(yes(
            json!({"$or": [{"tag2": "memo"}, {"facets": {"$contains": "b"}}]})
        ));
        assert!(!yes(
            json!({"$and": [{"tag2": "report"}, {"facets": {"$size": 3}}]})
        ));
    }

    #[test]
    fn unknown_fields_and_operators_are_named() {
        let error = Filter::parse(&json!({"colour": "red"})).unwrap_err();
        assert!(error.contains("\"colour\""), "{error}");
        let error = Filter::parse(&json!({"tag1": {"$regex": "x"}})).unwrap_err();
        assert!(error.contains("\"$regex\""), "{error}");
        assert!(Filter::parse(&json!({"facets": ["a"]})).is_err());
        let error = Filter::parse(&json!({"facets": {"$gt": 1}})).unwrap_err();
        assert!(error.contains("\"$gt\""), "{error}");
        assert!(Filter::parse_sent(&json!("{not json")).is_err());
        assert!(Filter::parse_sent(&json!("{\"tag1\": \"a\"}")).is_ok());
    }

    #[test]
    fn empty_filters_and_costs() {
        assert!(Filter::parse(&json!({})).unwrap().is_empty());
        assert!(Filter::parse(&json!({"$and": [{}, {"$and": []}]}))
            .unwrap()
            .is_empty());
        assert!(!Filter::parse(&json!({"$or": []})).unwrap().is_empty());
        assert!(!Filter::parse(&json!({"tag1": "a"})).unwrap().is_empty());
        assert_eq!(Filter::parse(&json!({"tag1": "a"})).unwrap().cost(), 1);
        let many = json!({"tag1": {"$in": ["a", "b", "c"]}, "facets": {"$any": ["x", "y"]}});
        assert_eq!(Filter::parse(&many).unwrap().cost(), 5);
    }
}
