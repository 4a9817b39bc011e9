//! Metadata filters (the library's [`Filter`]: the manual's fields and operators) and the bound
//! on what one request's filter may cost.

pub use paillier_gpu::meta_filter::Filter;

/// The most comparisons one request's filter may make (records × [`Filter::cost`]): about a
/// second of one core. Past it the request is refused rather than left to hold a worker.
pub const MAX_FILTER_WORK: usize = 1 << 26;

/// An error unless applying `filter` to `records` records fits [`MAX_FILTER_WORK`].
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
}
