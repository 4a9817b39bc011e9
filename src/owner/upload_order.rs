//! The order an upload of sealed vectors sends its records in: partition by partition, so that
//! each write's records of a partition fill one page (or as few as 1,024 a page allows) rather
//! than one page a write; and the ids given back in the records' own order.

/// The places of records of `partitions`, each partition's together (ascending), the records of
/// one partition in their own order.
pub(super) fn by_partition(partitions: &[u32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..partitions.len()).collect();
    order.sort_by_key(|&record| partitions[record]);
    order
}

/// `items` in `order` (`order[k]` is the item put k-th).
pub(super) fn permuted<T: Clone>(items: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&item| items[item].clone()).collect()
}

/// What was sent k-th (`sent[k]`, the record `order[k]`) given back in the records' own order.
pub(super) fn in_given_order<T: Clone>(sent: &[T], order: &[usize]) -> Vec<T> {
    let mut given: Vec<Option<T>> = vec![None; sent.len()];
    for (k, item) in sent.iter().enumerate() {
        if let Some(&record) = order.get(k) {
            given[record] = Some(item.clone());
        }
    }
    given.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_go_partition_by_partition_and_come_back_in_their_order() {
        let partitions = [3, 1, 3, 0, 1];
        let order = by_partition(&partitions);
        assert_eq!(order, [3, 1, 4, 0, 2]);
        let names = ["a", "b", "c", "d", "e"];
        let sent = permuted(&names, &order);
        assert_eq!(sent, ["d", "b", "e", "a", "c"]);
        assert_eq!(in_given_order(&sent, &order), names);
    }
}
