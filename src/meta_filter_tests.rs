//! The metadata filters' unit tests: every operator, the errors, the values as compared.

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
    let meta = json!({"tag1": "2024-03-01", "tag2": "report", "tag3": "", "facets": ["a", "b"]});
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
fn partition_is_a_string_field_with_the_tags_operators() {
    let filter = Filter::parse(&json!({"partition": {"$in": ["p1", "p2"]}})).unwrap();
    let in_list = TagTest::In(vec!["p1".into(), "p2".into()]);
    let expected = Filter::Tag(PARTITION_FIELD.into(), in_list);
    assert_eq!(filter, Filter::All(vec![Filter::All(vec![expected])]));
    assert_eq!(
        Filter::parse(&json!({"partition": "p1"})).unwrap(),
        Filter::All(vec![Filter::Tag(
            "partition".into(),
            TagTest::Eq("p1".into())
        )])
    );
    let meta = json!({"tag1": "x", "partition": "p2"});
    assert!(passes(
        json!({"partition": {"$in": ["p1", "p2"]}}),
        meta.clone()
    ));
    assert!(!passes(json!({"partition": {"$eq": "p1"}}), meta.clone()));
    assert!(passes(
        json!({"partition": {"$ne": "p1"}, "tag1": "x"}),
        meta.clone()
    ));
    assert!(passes(json!({"partition": {"$exists": true}}), meta));
    assert!(!passes(
        json!({"partition": {"$in": ["p1"]}}),
        json!({"tag1": "p1"})
    ));
    let error = Filter::parse(&json!({"partition": {"$size": 1}})).unwrap_err();
    assert!(error.contains("\"$size\" on partition"), "{error}");
    let error = Filter::parse(&json!({"partitions": "p1"})).unwrap_err();
    assert!(
        error.ends_with("filters take tag1 … tag5, facets and partition"),
        "{error}"
    );
}

#[test]
fn values_read_as_the_filter_compares_them() {
    let meta = json!({"tag1": 7, "tag2": true, "tag3": null, "tag4": ["a"], "partition": "p",
                      "facets": ["a", 2, null, ["b"], "a", false]});
    let meta = meta.as_object().unwrap();
    let read = |field: &str| field_string(meta, field).map(Cow::into_owned);
    assert_eq!(read("tag1").as_deref(), Some("7"));
    assert_eq!(read("tag2").as_deref(), Some("true"));
    assert_eq!(
        (read("tag3"), read("tag4"), read("tag5")),
        (None, None, None)
    );
    assert_eq!(read("partition").as_deref(), Some("p"));
    let facets: Vec<_> = facet_strings(meta).collect();
    assert_eq!(facets, ["a", "2", "a", "false"]);
    assert_eq!(facet_strings(&Map::new()).count(), 0);
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
