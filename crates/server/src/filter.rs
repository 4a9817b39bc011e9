//! Metadata filters (the library's [`Filter`]: the manual's fields and operators, and our
//! `partition`) and the bound on what one request's filter may cost.

pub use paillier_gpu::meta_filter::Filter;

/// The most comparisons one request's filter may make (records × [`Filter::cost`] for a scan;
/// for a selection by posting lists, the values looked up, the positions merged and the
/// candidates × the cost of the rest of the filter): about a second of one core. Past it the
/// request is refused rather than left to hold a worker.
pub const MAX_FILTER_WORK: usize = 1 << 26;

/// An error unless testing `filter` on each of `records` records fits [`MAX_FILTER_WORK`].
pub fn check_work(filter: &Filter, records: usize) -> Result<(), String> {
    let work = records.saturating_mul(filter.cost());
    if work > MAX_FILTER_WORK {
        return Err(format!(
            "the filter makes {} comparisons a record over {records} records, more than \
             {MAX_FILTER_WORK} in one request; list fewer values, or narrow the search with range",
            filter.cost()
        ));
    }
    Ok(())
}

/// An error unless a selection by posting lists fits [`MAX_FILTER_WORK`]: `lookups` values
/// looked up and positions merged, then `remaining` (`None`: nothing) tested on each of
/// `candidates` records.
pub fn check_indexed_work(
    lookups: usize,
    candidates: usize,
    remaining: Option<&Filter>,
) -> Result<(), String> {
    let cost = remaining.map_or(1, Filter::cost);
    let work = candidates.saturating_mul(cost).saturating_add(lookups);
    if work > MAX_FILTER_WORK {
        return Err(format!(
            "the filter's listed values select {candidates} records ({lookups} lookups and \
             positions), then make {cost} comparisons a record, more than {MAX_FILTER_WORK} in \
             one request; list fewer values, or narrow the search with range"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn work_past_the_bound_is_refused() {
        let filter = Filter::parse(&json!({"tag1": {"$in": ["a", "b"]}})).unwrap();
        assert!(check_work(&filter, MAX_FILTER_WORK / 2).is_ok());
        let refused = check_work(&filter, MAX_FILTER_WORK / 2 + 1).unwrap_err();
        assert!(refused.contains("2 comparisons a record"), "{refused}");
    }

    #[test]
    fn indexed_work_counts_candidates_and_lookups() {
        let rest = Filter::parse(&json!({"tag2": {"$nin": ["a", "b", "c", "d"]}})).unwrap();
        assert!(check_indexed_work(10, MAX_FILTER_WORK / 4 - 10, Some(&rest)).is_ok());
        let refused = check_indexed_work(10, MAX_FILTER_WORK / 4, Some(&rest)).unwrap_err();
        assert!(refused.contains("4 comparisons a record"), "{refused}");
        assert!(check_indexed_work(MAX_FILTER_WORK, 0, None).is_ok());
        assert!(check_indexed_work(MAX_FILTER_WORK, 1, None).is_err());
    }
}
