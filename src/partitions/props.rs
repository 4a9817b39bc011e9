//! Property tests: searches against a brute-force oracle, the balance bound, the recall table
//! and the serialized form, on random corpora and options.

use proptest::prelude::*;

use super::bits::{self, Packed};
use super::tests::{brute_ranking, random_vectors, sizes};
use super::{PartitionModel, TrainOptions};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn stored_floats_survive_json(x in 0.0f64..2e6, exponent in -12i32..4) {
        for value in [x, x * 10f64.powi(exponent), x.fract()] {
            let stored = super::recall::decimal(value);
            let json = serde_json::to_string(&stored).unwrap();
            let back: f64 = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.to_bits(), stored.to_bits(), "{}", json);
        }
    }

    #[test]
    fn hex_round_trips(dim in 1usize..300, seed: u64) {
        let vector = &random_vectors(1, dim, seed)[0];
        let packed = Packed::from_vectors(&[vector], dim).unwrap();
        let text = bits::to_hex(packed.row(0), dim);
        let mut back = vec![0u64; bits::words_for(dim)];
        bits::from_hex(&text, dim, &mut back).unwrap();
        prop_assert_eq!(back.as_slice(), packed.row(0));
        prop_assert_eq!(&bits::unpack(&back, dim), vector);
    }

    #[test]
    fn searches_match_brute_force(
        n in 1usize..80,
        dim in 1usize..150,
        k_share in 0.0f64..1.0,
        seed: u64,
        probe in 1usize..40,
        iterations in 0usize..4,
    ) {
        let vectors = random_vectors(n, dim, seed);
        let k = 1 + (k_share * n.min(30) as f64) as usize % n;
        let options = TrainOptions { iterations, seed, held_out: 20, ..TrainOptions::new(k) };
        let (model, _) = PartitionModel::train(&vectors, &options).unwrap();
        prop_assert!(model.check().is_ok());
        for query in random_vectors(5, dim, seed ^ 1).iter().chain(&vectors[..1]) {
            let oracle = brute_ranking(&model, query);
            prop_assert_eq!(model.assign(query).unwrap(), oracle[0]);
            let want: Vec<u32> = oracle.iter().copied().take(probe).collect();
            prop_assert_eq!(model.nearest(query, probe).unwrap(), want);
        }
    }

    #[test]
    fn balanced_assignment_keeps_the_bound(
        n in 1usize..300,
        dim in 1usize..40,
        k_share in 0.0f64..1.0,
        balance in 1.0f64..3.0,
        seed: u64,
    ) {
        // Few dimensions: many duplicates and ties, the hard case for the bound.
        let vectors = random_vectors(n, dim, seed);
        let k = 1 + (k_share * n as f64) as usize % n;
        let options = TrainOptions {
            balance,
            seed,
            held_out: 30,
            iterations: 3,
            ..TrainOptions::new(k)
        };
        let (model, assignment) = PartitionModel::train(&vectors, &options).unwrap();
        // The balance as stored: to 9 decimals, never above the options' (nor above k).
        let stored = model.balance();
        prop_assert!(stored <= balance.min(k as f64) && stored > balance.min(k as f64) - 1e-9);
        let cap = (balance * n as f64 / k as f64).ceil() as usize;
        prop_assert!(model.capacity(n) <= cap.max(n.div_ceil(k)));
        prop_assert_eq!(assignment.len(), n);
        prop_assert!(sizes(&assignment, k).iter().all(|&s| s <= model.capacity(n)));
        // A rebuild of a grown corpus keeps the bound too.
        let grown = random_vectors(n + 17, dim, seed ^ 2);
        let again = model.assign_balanced(&grown).unwrap();
        prop_assert!(sizes(&again, k).iter().all(|&s| s <= model.capacity(n + 17)));
        let table = model.recall();
        prop_assert!(table.windows(2).all(|w| w[0].recall <= w[1].recall));
        prop_assert_eq!(table.last().map(|p| (p.probe, p.recall)), Some((k, 1.0)));
        let json = serde_json::to_string(&model).unwrap();
        prop_assert_eq!(serde_json::from_str::<PartitionModel>(&json).unwrap(), model);
    }
}
