//! The selection by posting lists against the scan it replaces (`Filter::matches` on every
//! record in the range), on random metadata, filters and ranges; and which plans it makes.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{Plan, Postings};
use crate::filter::Filter;
use paillier_gpu::meta_filter::{FacetTest, TagTest, STRING_FIELDS};

/// The records' metadata, their ascending ids and their posting lists.
struct Records {
    meta: Vec<Arc<Map<String, Value>>>,
    chunk_ids: Vec<i64>,
    postings: Postings,
}

impl Records {
    fn new(metas: Vec<Value>, gaps: &[i64]) -> Self {
        let mut records = Records {
            meta: Vec::new(),
            chunk_ids: Vec::new(),
            postings: Postings::default(),
        };
        let mut id = 0;
        for (i, meta) in metas.into_iter().enumerate() {
            let Value::Object(meta) = meta else {
                unreachable!("the strategies make objects")
            };
            id += 1 + gaps.get(i).copied().unwrap_or(0);
            records.postings.append(i, &meta);
            records.meta.push(Arc::new(meta));
            records.chunk_ids.push(id);
        }
        records.postings.shrink_to_fit();
        records
    }

    /// What the scan selects: every record in the range that passes.
    fn scanned(&self, filter: Option<&Filter>, range: Option<(i64, i64)>) -> Vec<usize> {
        (0..self.meta.len())
            .filter(|&i| range.is_none_or(|(l, h)| (l..=h).contains(&self.chunk_ids[i])))
            .filter(|&i| filter.is_none_or(|f| f.matches(&self.meta[i])))
            .collect()
    }

    fn planned(&self, filter: Option<&Filter>, range: Option<(i64, i64)>) -> Vec<usize> {
        Plan::new(&self.postings, filter).select(&self.meta, &self.chunk_ids, range)
    }
}

/// A value many records share: strings of a small alphabet (so that filters often pass), and
/// now and then a number, a boolean, a null or a list (which filters read as no value).
fn stored_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        5 => "[ab]?".prop_map(Value::from),
        1 => "[abc]{0,2}".prop_map(Value::from),
        1 => (0..3i64).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!(["a"])),
    ]
}

fn metadata() -> impl Strategy<Value = Value> {
    let fields = proptest::collection::vec(proptest::option::of(stored_value()), 6);
    let facets = proptest::option::of(proptest::collection::vec(stored_value(), 0..4));
    (fields, facets).prop_map(|(fields, facets)| {
        let mut map = Map::new();
        for (field, value) in STRING_FIELDS.iter().zip(fields) {
            if let Some(value) = value {
                map.insert((*field).into(), value);
            }
        }
        if let Some(facets) = facets {
            map.insert("facets".into(), Value::Array(facets));
        }
        Value::Object(map)
    })
}

fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ab]?",
        1 => "[abc]{0,2}",
        1 => "[0-2]",
        1 => Just("true".to_owned()),
    ]
}

fn operands() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(operand(), 0..4)
}

fn tag_test() -> impl Strategy<Value = TagTest> {
    prop_oneof![
        4 => operand().prop_map(TagTest::Eq),
        4 => operands().prop_map(TagTest::In),
        1 => operand().prop_map(TagTest::Ne),
        1 => operand().prop_map(TagTest::Gt),
        1 => operand().prop_map(TagTest::Lte),
        1 => operand().prop_map(TagTest::BeginsWith),
        1 => operands().prop_map(TagTest::Nin),
        1 => operand().prop_map(TagTest::Contains),
        1 => any::<bool>().prop_map(TagTest::Exists),
    ]
}

fn facet_test() -> impl Strategy<Value = FacetTest> {
    prop_oneof![
        2 => operand().prop_map(FacetTest::Contains),
        2 => operands().prop_map(FacetTest::Any),
        2 => operands().prop_map(FacetTest::Subset),
        1 => operands().prop_map(FacetTest::None),
        1 => (0..3usize).prop_map(FacetTest::Size),
        1 => any::<bool>().prop_map(FacetTest::Exists),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        3 => (0..STRING_FIELDS.len(), tag_test())
            .prop_map(|(f, test)| Filter::Tag(STRING_FIELDS[f].into(), test)),
        1 => facet_test().prop_map(Filter::Facets),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            2 => proptest::collection::vec(inner.clone(), 0..4).prop_map(Filter::All),
            1 => proptest::collection::vec(inner, 0..3).prop_map(Filter::Any),
        ]
    })
}

fn range() -> impl Strategy<Value = Option<(i64, i64)>> {
    proptest::option::of((0..80i64, 0..80i64))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn posting_lists_select_what_the_scan_selects(
        metas in proptest::collection::vec(metadata(), 0..40),
        gaps in proptest::collection::vec(0..3i64, 40),
        filter in proptest::option::of(filter()),
        range in range(),
    ) {
        let records = Records::new(metas, &gaps);
        prop_assert_eq!(
            records.planned(filter.as_ref(), range),
            records.scanned(filter.as_ref(), range),
            "{:?} over {:?}", filter, range
        );
    }
}

/// An edit of a list of records: one removed, or one's metadata replaced.
#[derive(Clone, Debug)]
enum Edit {
    Remove(Vec<usize>),
    Replace(usize, Value),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        proptest::collection::vec(0..40usize, 0..5).prop_map(Edit::Remove),
        (0..40usize, metadata()).prop_map(|(i, meta)| Edit::Replace(i, meta)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Lists that followed removals and replacements in place equal lists built anew from the
    /// records left, and select what the scan selects.
    #[test]
    fn posting_lists_followed_through_edits_equal_lists_built_anew(
        metas in proptest::collection::vec(metadata(), 0..40),
        edits in proptest::collection::vec(edit(), 0..6),
        filter in proptest::option::of(filter()),
    ) {
        let mut records = Records::new(metas, &[]);
        for edit in edits {
            let len = records.meta.len();
            match edit {
                Edit::Remove(picks) => {
                    let mut removed: Vec<usize> = picks.into_iter().filter(|&p| p < len).collect();
                    removed.sort_unstable();
                    removed.dedup();
                    records.postings.remove(&removed);
                    for &p in removed.iter().rev() {
                        records.meta.remove(p);
                        records.chunk_ids.remove(p);
                    }
                }
                Edit::Replace(i, Value::Object(after)) if i < len => {
                    records.postings.replace(i, &records.meta[i], &after);
                    records.meta[i] = Arc::new(after);
                }
                Edit::Replace(..) => {}
            }
        }
        let metas: Vec<Value> = records.meta.iter().map(|m| Value::Object((**m).clone())).collect();
        let anew = Records::new(metas, &[]);
        prop_assert_eq!(records.postings.snapshot(), anew.postings.snapshot());
        prop_assert_eq!(
            records.planned(filter.as_ref(), None),
            records.scanned(filter.as_ref(), None),
            "{:?}", filter
        );
    }
}

fn parsed(filter: Value) -> Filter {
    Filter::parse(&filter).expect("a valid filter")
}

/// 1,000 records: `tag1` one of 10 values, `partition` one of 100, facets `f<i % 7>`.
fn thousand() -> Records {
    let metas = (0..1000)
        .map(|i| {
            json!({"tag1": format!("t{}", i % 10), "partition": format!("p{}", i % 100),
                        "facets": [format!("f{}", i % 7)]})
        })
        .collect();
    Records::new(metas, &[])
}

#[test]
fn an_in_on_partitions_selects_by_lookup_alone() {
    let records = thousand();
    let filter = parsed(json!({"partition": {"$in": ["p3", "p5", "p3", "nowhere"]}}));
    let plan = Plan::new(&records.postings, Some(&filter));
    assert_eq!(plan.candidates(), Some(20));
    assert!(plan.remaining().is_none());
    // Three distinct values looked up, twenty positions merged.
    assert_eq!(plan.lookups(), 23);
    let selected = plan.select(&records.meta, &records.chunk_ids, Some((10, 600)));
    assert_eq!(selected, records.scanned(Some(&filter), Some((10, 600))));
    assert_eq!(selected.first(), Some(&103));
}

#[test]
fn the_shortest_conjunct_gives_the_candidates_and_the_rest_is_tested() {
    let records = thousand();
    let filter = parsed(json!({"tag1": "t3", "partition": {"$in": ["p3", "p13"]},
                               "facets": {"$none": ["f0"]}}));
    let plan = Plan::new(&records.postings, Some(&filter));
    assert_eq!(plan.candidates(), Some(20));
    let rest = parsed(json!({"tag1": "t3", "facets": {"$none": ["f0"]}}));
    assert_eq!(plan.remaining().map(Filter::cost), Some(rest.cost()));
    assert_eq!(
        plan.select(&records.meta, &records.chunk_ids, None),
        records.scanned(Some(&filter), None)
    );
    // An `$or` of listed fields is their union; `$all` on facets its shortest list.
    let any = parsed(json!({"$or": [{"tag1": "t1"}, {"partition": "p2"}]}));
    assert_eq!(
        Plan::new(&records.postings, Some(&any)).candidates(),
        Some(110)
    );
    // An `$and` inside an `$or` gives its shortest list, a superset: the filter stays whole.
    let nested = parsed(json!({"$or": [{"tag1": "t1", "facets": "f0"}, {"partition": "p2"}]}));
    let plan = Plan::new(&records.postings, Some(&nested));
    assert_eq!(plan.candidates(), Some(110));
    assert_eq!(plan.remaining(), Some(&nested));
    let selected = plan.select(&records.meta, &records.chunk_ids, None);
    assert_eq!(selected, records.scanned(Some(&nested), None));
    assert_eq!(selected.len(), 24, "t1 with f0: 14 records; p2: 10");
    let all = parsed(json!({"facets": {"$all": ["f1", "f2"]}}));
    let plan = Plan::new(&records.postings, Some(&all));
    assert_eq!(plan.candidates(), Some(143));
    assert!(plan.remaining().is_some());
    assert!(plan
        .select(&records.meta, &records.chunk_ids, None)
        .is_empty());
}

#[test]
fn filters_without_an_equality_scan() {
    let records = thousand();
    for filter in [
        json!({"tag1": {"$gte": "t5"}}),
        json!({"partition": {"$ne": "p1"}}),
        json!({"$or": [{"tag1": "t1"}, {"tag2": {"$exists": false}}]}),
        json!({"tag5": {"$nin": ["x"]}}),
    ] {
        let filter = parsed(filter);
        let plan = Plan::new(&records.postings, Some(&filter));
        assert_eq!(plan.candidates(), None, "{filter:?}");
        assert_eq!(plan.remaining(), Some(&filter));
    }
    let everything = Plan::new(&records.postings, Some(&parsed(json!({}))));
    assert_eq!(
        (everything.candidates(), everything.remaining()),
        (None, None)
    );
    assert_eq!(
        everything
            .select(&records.meta, &records.chunk_ids, None)
            .len(),
        1000
    );
}
