//! Which records of a resident index a filter and a chunk-id range select. When the filter, or
//! one conjunct of it, is an equality or `$in` on a listed field (a facet `$contains`, `$any`
//! or `$all` too), its posting lists give the candidates, and the rest of the filter is tested
//! on those alone: a search over a few partitions costs the records it selects, not a scan of
//! every record's metadata. Otherwise every record in the range is tested, as before.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::postings::Postings;
use crate::filter::Filter;
use paillier_gpu::meta_filter::{FacetTest, TagTest};

/// How a filter is applied to one resident index: planned before any record is tested, so that
/// the work it will do is known (and bounded) first.
#[derive(Debug)]
pub struct Plan {
    /// The positions that may pass, ascending, from the posting lists; `None`: every record.
    candidates: Option<Vec<u32>>,
    /// What is still to be tested on each candidate (or record); `None`: nothing.
    remaining: Option<Filter>,
    /// The values looked up and the positions merged to make the candidates.
    lookups: usize,
}

/// The posting lists one filter names, before they are merged.
struct Lists<'a> {
    lists: Vec<&'a [u32]>,
    /// Values looked up.
    looked_up: usize,
    /// Whether exactly the records passing the filter are in the lists (otherwise a superset).
    exact: bool,
}

impl Lists<'_> {
    fn positions(&self) -> usize {
        self.lists.iter().map(|l| l.len()).sum()
    }
}

impl Plan {
    /// The plan of `filter` (`None`: every record) over the records listed in `postings`.
    pub fn new(postings: &Postings, filter: Option<&Filter>) -> Self {
        let Some(filter) = filter.filter(|f| !f.is_empty()) else {
            return Self::everything(None);
        };
        let mut conjuncts = Vec::new();
        conjuncts_of(filter, &mut conjuncts);
        let chosen = conjuncts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| lists(postings, c).map(|l| (i, l)))
            .min_by_key(|(_, l)| l.positions());
        let Some((chosen, lists)) = chosen else {
            return Self::everything(Some(filter.clone()));
        };
        let remaining = if lists.exact {
            let rest: Vec<Filter> = (conjuncts.iter().enumerate())
                .filter(|(i, _)| *i != chosen)
                .map(|(_, c)| (*c).clone())
                .collect();
            Some(Filter::All(rest)).filter(|f| !f.is_empty())
        } else {
            Some(filter.clone())
        };
        Self {
            lookups: lists.looked_up + lists.positions(),
            candidates: Some(union(&lists.lists)),
            remaining,
        }
    }

    fn everything(remaining: Option<Filter>) -> Self {
        Self {
            candidates: None,
            remaining,
            lookups: 0,
        }
    }

    /// The filter tested on each candidate (or, without candidates, on each record).
    pub fn remaining(&self) -> Option<&Filter> {
        self.remaining.as_ref()
    }

    /// How many candidates the posting lists gave; `None` when every record is tested.
    pub fn candidates(&self) -> Option<usize> {
        self.candidates.as_ref().map(Vec::len)
    }

    /// The values looked up and positions merged to find the candidates.
    pub fn lookups(&self) -> usize {
        self.lookups
    }

    /// The positions, ascending, of the records (`meta`, their metadata; `chunk_ids`, their
    /// ids, ascending) that pass the plan's filter and whose id is in `range` (both ends
    /// included).
    pub fn select(
        &self,
        meta: &[Arc<Map<String, Value>>],
        chunk_ids: &[i64],
        range: Option<(i64, i64)>,
    ) -> Vec<usize> {
        let (low, high) = match range {
            None => (0, chunk_ids.len()),
            Some((low, high)) => {
                let first = chunk_ids.partition_point(|&id| id < low);
                (
                    first,
                    chunk_ids.partition_point(|&id| id <= high).max(first),
                )
            }
        };
        let passes = |i: &usize| self.remaining.as_ref().is_none_or(|f| f.matches(&meta[*i]));
        match &self.candidates {
            None => (low..high).filter(passes).collect(),
            Some(candidates) => {
                // Positions and ids ascend together: the range is a slice of the candidates.
                let from = candidates.partition_point(|&p| (p as usize) < low);
                let to = candidates.partition_point(|&p| (p as usize) < high);
                candidates[from..to.max(from)]
                    .iter()
                    .map(|&p| p as usize)
                    .filter(passes)
                    .collect()
            }
        }
    }
}

/// The conjuncts of `filter`: the parts of its `All`s, nested ones opened too.
fn conjuncts_of<'a>(filter: &'a Filter, out: &mut Vec<&'a Filter>) {
    match filter {
        Filter::All(parts) => parts.iter().for_each(|p| conjuncts_of(p, out)),
        other => out.push(other),
    }
}

/// The posting lists holding every record that passes `filter`, when it names some: an
/// equality or `$in` on a listed field, a facet's `$contains`, `$any` or `$all` (the shortest
/// of its lists), an `$or` of such, an `$and` with such a part (its shortest).
fn lists<'a>(postings: &'a Postings, filter: &Filter) -> Option<Lists<'a>> {
    let union_of = |field: &str, values: &[String]| {
        let mut values: Vec<&String> = values.iter().collect();
        values.sort_unstable();
        values.dedup();
        let lists = (values.iter())
            .map(|v| postings.lookup(field, v))
            .collect::<Option<Vec<_>>>()?;
        Some(Lists {
            lists,
            looked_up: values.len(),
            exact: true,
        })
    };
    match filter {
        Filter::Tag(field, TagTest::Eq(value)) => union_of(field, std::slice::from_ref(value)),
        Filter::Tag(field, TagTest::In(values)) => union_of(field, values),
        Filter::Facets(FacetTest::Contains(value)) => {
            union_of("facets", std::slice::from_ref(value))
        }
        Filter::Facets(FacetTest::Any(values)) => union_of("facets", values),
        Filter::Facets(FacetTest::Subset(values)) if !values.is_empty() => {
            // Every facet listed must be held: the shortest list holds every record passing.
            let each = union_of("facets", values)?;
            let shortest = each.lists.iter().copied().min_by_key(|l| l.len())?;
            Some(Lists {
                exact: each.lists.len() == 1,
                lists: vec![shortest],
                looked_up: each.looked_up,
            })
        }
        Filter::Any(parts) => {
            let mut all = Lists {
                lists: Vec::new(),
                looked_up: 0,
                exact: true,
            };
            for part in parts {
                let part = lists(postings, part)?;
                all.lists.extend(part.lists);
                all.looked_up += part.looked_up;
                all.exact &= part.exact;
            }
            Some(all)
        }
        Filter::All(_) => {
            let mut conjuncts = Vec::new();
            conjuncts_of(filter, &mut conjuncts);
            let single = conjuncts.len() == 1;
            let mut shortest = (conjuncts.iter())
                .filter_map(|c| lists(postings, c))
                .min_by_key(Lists::positions)?;
            shortest.exact &= single;
            Some(shortest)
        }
        Filter::Tag(..) | Filter::Facets(_) => None,
    }
}

/// The positions of `lists`, ascending, each once.
fn union(lists: &[&[u32]]) -> Vec<u32> {
    match lists {
        [] => Vec::new(),
        [one] => one.to_vec(),
        many => {
            let mut all: Vec<u32> = many.concat();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

#[cfg(test)]
#[path = "selection_tests.rs"]
mod tests;
