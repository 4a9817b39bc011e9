//! The owner's recall estimate: how much of an exhaustive search's top k a search of the `P`
//! nearest partitions finds, for every `P`.
//!
//! The queries are held-out records of the corpus itself. Each query's ground truth is the
//! exhaustive top k over the whole corpus except the query's own record (a search for a record
//! that is not itself stored, as near-duplicate-free data would be); `d_k`, the k-th smallest
//! distance, is its threshold. A `P`-probe search returns the top k of the records in the
//! query's `P` nearest partitions (again without the query's own record), and a returned record
//! is a hit when its distance is at most `d_k`, so ties at `d_k` never count against it.
//! Recall@k at `P` is the hits over k, averaged over the queries.
//!
//! Since the probed records are sorted by distance, the hits at `P` are
//! `min(k, |{r probed at P : d(q, r) <= d_k}|)`: each query contributes the k smallest "first
//! probe" values of its records within `d_k`, and the curve for every `P` follows from their
//! histogram. All sums are integers, so the estimate does not depend on the thread count.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bits::{distance, Packed};

/// One row of the recall table: a search of the `probe` nearest partitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecallPoint {
    /// Partitions searched.
    pub probe: usize,
    /// Estimated recall@top_k (0 to 1; see the [module's notes](super)).
    pub recall: f64,
    /// Fraction of the records in the probed partitions, averaged over the held-out queries:
    /// the share of the corpus such a search reads.
    pub share: f64,
    /// How sure the recall is: its standard error, the spread of the queries' own recalls over
    /// the square root of their number (0 for a model trained before it was kept, or with a
    /// single query). A new query's search lands within about twice it of `recall` 19 times in
    /// 20, when the held-out records are like the queries the owner searches with.
    #[serde(default)]
    pub error: f64,
}

/// `x` as the model stores it: rounded to 9 decimals below 10⁶, to a whole number above, so
/// that JSON brings back the same `f64`. The workspace's serde_json reads a number of 17
/// significant digits up to an ulp off (it is built without `float_roundtrip`), but one of at
/// most 15 digits exactly: the digits over a power of ten, one correctly rounded division.
pub(crate) fn decimal(x: f64) -> f64 {
    if x.abs() < 1e6 {
        (x * 1e9).round() / 1e9
    } else {
        x.round()
    }
}

/// Recall and probed share for every probe `1..=k`.
#[derive(Debug)]
pub(crate) struct RecallCurve {
    /// `hits[P - 1]`: hits at probe `P`, summed over the queries.
    hits: Vec<u64>,
    /// `squares[P - 1]`: the squares of the queries' hits at probe `P`, summed.
    squares: Vec<u64>,
    /// `probed[P - 1]`: records in the `P` nearest partitions, summed over the queries.
    probed: Vec<u64>,
    queries: usize,
    top_k: usize,
    records: usize,
}

impl RecallCurve {
    /// Estimates the curve for `data` split by `assignment` (each `< centroids.len()`), with the
    /// records at `queries` as queries and recall@`top_k` (`top_k >= 1`; fewer when the corpus
    /// holds fewer other records).
    pub(crate) fn estimate(
        data: &Packed,
        dim: usize,
        assignment: &[u32],
        centroids: &Packed,
        queries: &[usize],
        top_k: usize,
    ) -> Self {
        let n = data.len();
        let k = centroids.len();
        let top_k = top_k.min(n.saturating_sub(1)).max(1);
        let queries: &[usize] = if n < 2 { &[] } else { queries };
        let mut sizes = vec![0u64; k];
        for &p in assignment {
            sizes[p as usize] += 1;
        }

        let per_query: Vec<(Vec<u32>, Vec<u32>)> = queries
            .par_iter()
            .map(|&q| one_query(data, dim, assignment, centroids, q, top_k))
            .collect();

        let mut first_probe_counts = vec![0u64; k + 1];
        let mut squares = vec![0u64; k];
        let mut probed = vec![0u64; k];
        for (first_probes, order) in &per_query {
            for &p in first_probes {
                first_probe_counts[p as usize] += 1;
            }
            // This query's hits at each probe: a step up at each of its first probes.
            let mut steps = first_probes.clone();
            steps.sort_unstable();
            let mut hits_here = 0u64;
            let mut next = steps.iter().peekable();
            for (probe, square) in (1..=k as u32).zip(squares.iter_mut()) {
                while next.next_if(|&&p| p <= probe).is_some() {
                    hits_here += 1;
                }
                *square += hits_here * hits_here;
            }
            let mut covered = 0;
            for (slot, &partition) in probed.iter_mut().zip(order) {
                covered += sizes[partition as usize];
                *slot += covered;
            }
        }
        let mut hits = Vec::with_capacity(k);
        let mut total = 0;
        for count in &first_probe_counts[1..] {
            total += count;
            hits.push(total);
        }
        RecallCurve {
            hits,
            squares,
            probed,
            queries: queries.len(),
            top_k,
            records: n,
        }
    }

    /// Partitions in the curve.
    fn partitions(&self) -> usize {
        self.hits.len()
    }

    /// The estimate at `probe` (`1..=k`). Without queries (a corpus of one record) both are 1.
    pub(crate) fn point(&self, probe: usize) -> RecallPoint {
        let (recall, share, error) = if self.queries == 0 {
            (1.0, 1.0, 0.0)
        } else {
            let q = self.queries as f64;
            let k = self.top_k as f64;
            let (sum, squares) = (self.hits[probe - 1] as f64, self.squares[probe - 1] as f64);
            // The sample variance of a query's hits, then of their mean, in recall's units.
            let variance = match self.queries {
                1 => 0.0,
                _ => ((squares - sum * sum / q) / (q - 1.0)).max(0.0),
            };
            (
                decimal(sum / (q * k)),
                decimal(self.probed[probe - 1] as f64 / (q * self.records as f64)),
                decimal((variance / q).sqrt() / k),
            )
        };
        RecallPoint {
            probe,
            recall,
            share,
            error,
        }
    }

    /// The smallest probe whose recall reaches `target`; `k` when none does.
    pub(crate) fn smallest_probe(&self, target: f64) -> usize {
        (1..=self.partitions())
            .find(|&p| self.point(p).recall >= target)
            .unwrap_or(self.partitions())
    }

    /// The table: probes 1, 2, 4, 8 … below k, `extra` (when in `1..=k`) and k, ascending.
    pub(crate) fn table(&self, extra: usize) -> Vec<RecallPoint> {
        let k = self.partitions();
        let mut probes: Vec<usize> = std::iter::successors(Some(1usize), |p| p.checked_mul(2))
            .take_while(|&p| p < k)
            .collect();
        probes.push(k);
        if (1..=k).contains(&extra) {
            probes.push(extra);
        }
        probes.sort_unstable();
        probes.dedup();
        probes.into_iter().map(|p| self.point(p)).collect()
    }
}

/// For query record `q`: the `top_k` smallest first probes (1-based rank of their partition in
/// the query's order) of the records within the exhaustive threshold, and the partitions in the
/// query's order.
fn one_query(
    data: &Packed,
    dim: usize,
    assignment: &[u32],
    centroids: &Packed,
    q: usize,
    top_k: usize,
) -> (Vec<u32>, Vec<u32>) {
    let query = data.row(q);
    let order: Vec<u32> = centroids
        .ranked(query)
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let mut rank = vec![0u32; order.len()];
    for (r, &c) in order.iter().enumerate() {
        rank[c as usize] = r as u32 + 1;
    }

    let distances: Vec<u32> = data.par_rows().map(|x| distance(query, x)).collect();
    let mut histogram = vec![0usize; dim + 1];
    for (r, &d) in distances.iter().enumerate() {
        if r != q {
            histogram[d as usize] += 1;
        }
    }
    let mut seen = 0;
    let threshold = histogram
        .iter()
        .position(|&count| {
            seen += count;
            seen >= top_k
        })
        .unwrap_or(dim) as u32;

    let mut first_probes: Vec<u32> = distances
        .iter()
        .enumerate()
        .filter(|&(r, &d)| r != q && d <= threshold)
        .map(|(r, _)| rank[assignment[r] as usize])
        .collect();
    if first_probes.len() > top_k {
        first_probes.select_nth_unstable(top_k - 1);
        first_probes.truncate(top_k);
    }
    (first_probes, order)
}
