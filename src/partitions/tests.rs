//! The partitions against brute-force oracles, planted clusters, bad input and damaged models.

use super::bits;
use super::sample::{Rng, QUERIES};
use super::*;
use crate::error::Error;

/// `n` random vectors of `dim` dimensions.
pub(super) fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed, QUERIES);
    (0..n)
        .map(|_| (0..dim).map(|_| (rng.next_u64() & 1) as u8).collect())
        .collect()
}

/// `clusters` random centres, `per_cluster` members each flipping every bit with probability
/// `noise_percent`/100, in cluster-after-cluster order.
fn planted(
    clusters: usize,
    per_cluster: usize,
    dim: usize,
    noise_percent: u64,
    seed: u64,
) -> Vec<Vec<u8>> {
    let centres = random_vectors(clusters, dim, seed);
    let mut rng = Rng::new(seed, 99);
    centres
        .iter()
        .flat_map(|centre| {
            (0..per_cluster)
                .map(|_| {
                    centre
                        .iter()
                        .map(|&b| b ^ u8::from(rng.below(100) < noise_percent))
                        .collect::<Vec<u8>>()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn hamming(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// Every centroid's distance to `query`, sorted by (distance, index): the oracle's ranking.
pub(super) fn brute_ranking(model: &PartitionModel, query: &[u8]) -> Vec<u32> {
    let mut all: Vec<(usize, u32)> = (0..model.partitions())
        .map(|c| (hamming(&model.centroid(c).unwrap(), query), c as u32))
        .collect();
    all.sort();
    all.into_iter().map(|(_, c)| c).collect()
}

fn options(k: usize) -> TrainOptions {
    TrainOptions {
        held_out: 50,
        ..TrainOptions::new(k)
    }
}

pub(super) fn sizes(assignment: &[u32], k: usize) -> Vec<usize> {
    let mut sizes = vec![0; k];
    for &p in assignment {
        sizes[p as usize] += 1;
    }
    sizes
}

fn invalid(result: crate::Result<impl std::fmt::Debug>, words: &str) {
    match result {
        Err(Error::InvalidParameter(message)) => assert!(message.contains(words), "{message}"),
        other => panic!("expected an invalid parameter naming {words:?}, got {other:?}"),
    }
}

#[test]
fn auto_partitions_is_the_rounded_square_root() {
    assert_eq!(auto_partitions(0), 1);
    assert_eq!(auto_partitions(1), 1);
    assert_eq!(auto_partitions(2), 1);
    assert_eq!(auto_partitions(3), 2);
    assert_eq!(auto_partitions(100_000), 316);
    assert_eq!(auto_partitions(1_000_000), 1000);
}

#[test]
fn planted_clusters_are_recovered() {
    let vectors = planted(8, 60, 256, 5, 1);
    let (model, assignment) = PartitionModel::train(&vectors, &options(8)).unwrap();
    model.check().unwrap();
    // Each planted cluster lands whole in one partition, a different one for each.
    let mut seen = Vec::new();
    for members in assignment.chunks(60) {
        assert!(members.iter().all(|&p| p == members[0]), "{members:?}");
        seen.push(members[0]);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 8);
    assert_eq!(model.recall()[0].probe, 1);
    assert!(model.recall()[0].recall >= 0.99, "{:?}", model.recall());
    assert_eq!(model.default_probe(), 1);
    assert!((model.recall()[0].share - 0.125).abs() < 1e-9);
}

#[test]
fn the_recall_table_rises_to_one_at_k() {
    let vectors = random_vectors(400, 64, 2);
    let (model, _) = PartitionModel::train(&vectors, &options(20)).unwrap();
    let table = model.recall();
    let probes: Vec<usize> = table.iter().map(|p| p.probe).collect();
    assert!(probes.windows(2).all(|w| w[0] < w[1]), "{probes:?}");
    for p in [1, 2, 4, 8, 16, 20, model.default_probe()] {
        assert!(probes.contains(&p), "{probes:?}");
    }
    assert!(table
        .windows(2)
        .all(|w| w[0].recall <= w[1].recall && w[0].share <= w[1].share));
    let last = table.last().unwrap();
    assert_eq!((last.probe, last.recall, last.share), (20, 1.0, 1.0));
    assert_eq!(
        model.probe_for(model.recall_target()),
        model.default_probe()
    );
    assert_eq!(model.probe_for(0.0), 1);
    assert_eq!(model.probe_for(1.1), 20);
    // The default probe is the smallest reaching the target: the probe before it misses.
    let at = probes
        .iter()
        .position(|&p| p == model.default_probe())
        .unwrap();
    assert!(table[at].recall >= 0.9);
    assert!(at == 0 || table[at - 1].recall < 0.9);
}

#[test]
fn training_is_deterministic_given_the_seed() {
    let vectors = random_vectors(300, 100, 3);
    let first = PartitionModel::train(&vectors, &options(12)).unwrap();
    let again = PartitionModel::train(&vectors, &options(12)).unwrap();
    assert_eq!(first, again);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let single = pool.install(|| PartitionModel::train(&vectors, &options(12)).unwrap());
    assert_eq!(first, single);
}

#[test]
fn bad_options_are_refused() {
    let vectors = random_vectors(10, 16, 4);
    invalid(
        PartitionModel::train(&vectors, &options(0)),
        "0 partitions for 10 records",
    );
    invalid(
        PartitionModel::train(&vectors, &options(11)),
        "11 partitions for 10 records",
    );
    let empty: Vec<Vec<u8>> = Vec::new();
    invalid(
        PartitionModel::train(&empty, &options(1)),
        "1 partitions for 0 records",
    );
    for balance in [0.5, f64::NAN, f64::INFINITY] {
        invalid(
            PartitionModel::train(
                &vectors,
                &TrainOptions {
                    balance,
                    ..options(2)
                },
            ),
            "balance",
        );
    }
    invalid(
        PartitionModel::train(
            &vectors,
            &TrainOptions {
                recall_target: 1.5,
                ..options(2)
            },
        ),
        "recall target",
    );
    invalid(
        PartitionModel::train(
            &vectors,
            &TrainOptions {
                top_k: 0,
                ..options(2)
            },
        ),
        "top_k",
    );
    invalid(
        PartitionModel::train(
            &vectors,
            &TrainOptions {
                held_out: 0,
                ..options(2)
            },
        ),
        "held_out",
    );
    invalid(
        PartitionModel::train(
            &vectors,
            &TrainOptions {
                max_train_sample: 1,
                ..options(2)
            },
        ),
        "max_train_sample",
    );
    let zero_dim = vec![Vec::<u8>::new(); 3];
    invalid(PartitionModel::train(&zero_dim, &options(1)), "dimension");
}

#[test]
fn bad_vectors_are_refused() {
    let mut vectors = random_vectors(20, 16, 5);
    vectors[13].push(0);
    vectors[17].pop();
    assert!(matches!(
        PartitionModel::train(&vectors, &options(2)),
        Err(Error::VectorLength {
            index: 13,
            expected: 16,
            found: 17
        })
    ));
    let mut vectors = random_vectors(20, 16, 5);
    vectors[4][9] = 2;
    assert!(matches!(
        PartitionModel::train(&vectors, &options(2)),
        Err(Error::NonBinaryValue {
            index: 4,
            position: 9,
            ..
        })
    ));
    let (model, _) = PartitionModel::train(&random_vectors(20, 16, 5), &options(2)).unwrap();
    assert!(matches!(
        model.assign(&[0; 15]),
        Err(Error::VectorLength { .. })
    ));
    let non_binary = model.nearest(&[7; 16], 1);
    assert!(matches!(non_binary, Err(Error::NonBinaryValue { value, .. }) if value == "7"));
    assert!(matches!(
        model.assign_balanced(&[vec![0u8; 16], vec![1; 16], vec![0; 17]]),
        Err(Error::VectorLength { index: 2, .. })
    ));
    invalid(model.nearest(&[0; 16], 0), "probe 0");
    assert_eq!(model.nearest(&[0; 16], 99).unwrap().len(), 2);
}

#[test]
fn balance_holds_when_every_vector_is_the_same() {
    let vectors = vec![vec![1u8, 0, 1]; 100];
    for (k, balance, cap) in [(7, 1.0, 15), (4, 1.0, 25), (3, 2.0, 67)] {
        let (model, assignment) = PartitionModel::train(
            &vectors,
            &TrainOptions {
                balance,
                ..options(k)
            },
        )
        .unwrap();
        assert_eq!(model.capacity(100), cap);
        assert!(sizes(&assignment, k).iter().all(|&s| s <= cap));
        assert_eq!(model.recall().last().unwrap().recall, 1.0);
    }
}

#[test]
fn one_partition_per_record() {
    let vectors = random_vectors(9, 32, 6);
    let (model, assignment) = PartitionModel::train(
        &vectors,
        &TrainOptions {
            balance: 1.0,
            ..options(9)
        },
    )
    .unwrap();
    assert_eq!(sizes(&assignment, 9), vec![1; 9]);
    model.check().unwrap();
    let (single, assignment) = PartitionModel::train(&vectors[..1], &options(1)).unwrap();
    assert_eq!(assignment, vec![0]);
    assert_eq!(
        single.recall(),
        &[RecallPoint {
            probe: 1,
            recall: 1.0,
            share: 1.0,
            error: 0.0,
        }]
    );
}

#[test]
fn serde_round_trips_and_damage_is_refused() {
    let (model, _) = PartitionModel::train(&random_vectors(60, 70, 7), &options(5)).unwrap();
    let json = serde_json::to_string(&model).unwrap();
    assert_eq!(
        serde_json::from_str::<PartitionModel>(&json).unwrap(),
        model
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["centroids"][2].as_str().unwrap(),
        model.centroid_hex(2).unwrap()
    );
    assert_eq!(value["centroids"][2].as_str().unwrap().len(), 18);

    let damage = |path: &str, replacement: serde_json::Value| {
        let mut value = value.clone();
        *value.pointer_mut(path).unwrap() = replacement;
        let error = serde_json::from_value::<PartitionModel>(value).unwrap_err();
        assert!(
            error.to_string().contains("partition model"),
            "{path}: {error}"
        );
    };
    let centroid = model.centroid_hex(0).unwrap();
    damage("/centroids/0", format!("{}z", &centroid[1..]).into());
    damage("/centroids/0", centroid[1..].into());
    damage("/centroids/0", format!("{}f", &centroid[..17]).into()); // 72 bits for 70 dimensions
    damage("/dim", 80.into());
    damage("/dim", 0.into());
    damage("/dim", u64::MAX.into()); // refused before anything of that size is allocated
    damage("/partitions", 4.into());
    damage("/default_probe", 0.into());
    damage("/default_probe", 6.into());
    damage("/balance", 0.9.into());
    damage("/recall_target", 2.into());
    damage("/top_k", 0.into());
    damage("/recall/0/probe", 0.into());
    damage("/recall/0/recall", 1.5.into());
    damage("/recall", serde_json::json!([]));
    damage(
        "/recall",
        serde_json::json!([
            {"probe": 5, "recall": 1.0, "share": 1.0},
            {"probe": 5, "recall": 1.0, "share": 1.0}
        ]),
    );
    damage(
        "/recall",
        serde_json::json!([
            {"probe": 1, "recall": 0.9, "share": 0.5},
            {"probe": 5, "recall": 0.8, "share": 1.0}
        ]),
    );
    assert!(serde_json::from_str::<PartitionModel>(
        &json.replace("\"top_k\"", "\"extra\":1,\"top_k\"")
    )
    .is_err());
}

#[test]
fn check_refuses_a_damaged_model_in_memory() {
    let (model, _) = PartitionModel::train(&random_vectors(60, 70, 8), &options(5)).unwrap();
    model.check().unwrap();
    let mut wide = model.clone();
    wide.centroids.row_mut(3)[1] |= 1 << 63;
    assert!(wide.check().is_err());
    let mut probe = model.clone();
    probe.default_probe = 0;
    assert!(probe.check().is_err());
    let mut dim = model.clone();
    dim.dim = 200;
    assert!(dim.check().is_err());
    let mut table = model;
    table.recall.pop();
    assert!(table.check().is_err());
}

#[test]
fn hex_reads_as_the_vector() {
    let vector = [1u8, 0, 0, 0, 1, 1, 0, 0, 1];
    let mut row = [0u64; 1];
    bits::pack_into(&vector, &mut row);
    assert_eq!(bits::to_hex(&row, 9), "8c8");
}

#[test]
fn the_partition_count_is_capped_where_the_digest_would_not_hold_it() {
    assert_eq!(super::auto_partitions(1_000_000), 1000);
    assert_eq!(
        super::auto_partitions(usize::MAX / 2),
        super::MAX_PARTITIONS
    );
    let error = TrainOptions::new(super::MAX_PARTITIONS + 1)
        .validate(1 << 20)
        .unwrap_err()
        .to_string();
    assert!(error.contains("at most 4096"), "{error}");
    assert!(TrainOptions::new(super::MAX_PARTITIONS)
        .validate(1 << 20)
        .is_ok());
}

#[test]
fn the_recall_and_its_error_are_the_held_out_queries_mean_and_standard_error() {
    let (n, dim, k, top_k) = (300, 48, 12, 5);
    let vectors = random_vectors(n, dim, 11);
    let options = TrainOptions {
        held_out: 25,
        top_k,
        seed: 3,
        ..TrainOptions::new(k)
    };
    let (model, assignment) = PartitionModel::train(&vectors, &options).unwrap();
    let queries = super::sample::sample_indices(n, 25, &mut Rng::new(3, QUERIES));
    for point in model.recall() {
        // Each query's hits at this probe, by brute force: the top `top_k` of the probed
        // records (not the query's own), scored against the exhaustive `top_k`-th distance.
        let hits: Vec<f64> = queries
            .iter()
            .map(|&q| {
                let others = |r: &usize| *r != q;
                let mut all: Vec<usize> = (0..n)
                    .filter(others)
                    .map(|r| hamming(&vectors[q], &vectors[r]))
                    .collect();
                all.sort_unstable();
                let threshold = all[top_k - 1];
                let probed = model.nearest(&vectors[q], point.probe).unwrap();
                let mut found: Vec<usize> = (0..n)
                    .filter(others)
                    .filter(|&r| probed.contains(&assignment[r]))
                    .map(|r| hamming(&vectors[q], &vectors[r]))
                    .collect();
                found.sort_unstable();
                found
                    .iter()
                    .take(top_k)
                    .filter(|&&d| d <= threshold)
                    .count() as f64
            })
            .collect();
        let count = hits.len() as f64;
        let mean = hits.iter().sum::<f64>() / count;
        let variance = hits.iter().map(|h| (h - mean).powi(2)).sum::<f64>() / (count - 1.0);
        let error = (variance / count).sqrt() / top_k as f64;
        assert!(
            (point.recall - mean / top_k as f64).abs() < 1e-8,
            "{point:?}"
        );
        assert!((point.error - error).abs() < 1e-8, "{point:?}: {error}");
    }
    let last = model.recall().last().unwrap();
    assert_eq!((last.recall, last.error), (1.0, 0.0));
    assert!(model.recall().iter().any(|p| p.error > 0.0));
}
