//! The uniformity check on every kernel, and on kernels that break the rule.

use rayon::prelude::*;

use super::super::kernels::{source, Kernel};
use super::super::shader::{library, Shape};
use super::non_uniform_barriers;
use crate::backend::gpu::codegen::variants::{Exchange, LimbPath};

const KERNELS: [Kernel; 10] = [
    Kernel::ModExp,
    Kernel::ModMul,
    Kernel::FixedBase,
    Kernel::Crt,
    Kernel::Recombine,
    Kernel::MultiExpTable,
    Kernel::MultiExp,
    Kernel::TwoDigitTable,
    Kernel::TwoDigitExp,
    Kernel::TwoDigitFixedBase,
];

fn workgroup(limbs: usize, lanes: usize, path: LimbPath) -> Shape {
    Shape {
        limbs,
        lanes,
        exchange: Exchange::Workgroup,
        path,
    }
}

/// Every kernel, on both limb paths, with rows unrolled (up to 16 limbs a lane) and in a
/// loop (more), from one lane to the most the tests' widths take; the 140 kernels on every core.
#[test]
fn every_barrier_of_every_kernel_runs_in_uniform_control_flow() {
    let mut shapes = Vec::new();
    for path in [LimbPath::Bits32, LimbPath::Bits16] {
        for (limbs, lanes) in [
            (16, 1),
            (16, 2),
            (32, 4),
            (64, 8),
            (128, 16),
            (128, 4),
            (256, 64),
        ] {
            shapes.extend(KERNELS.map(|kernel| (kernel, workgroup(limbs, lanes, path))));
        }
    }
    shapes.par_iter().for_each(|(kernel, shape)| {
        let found = non_uniform_barriers(&source(*kernel, shape))
            .unwrap_or_else(|e| panic!("{kernel:?} {shape:?} does not parse: {e}"));
        assert!(found.is_empty(), "{kernel:?} {shape:?}: {found:?}");
    });
}

/// A kernel on the generated library with `body` as its `kernel()`.
fn with_body(body: &str) -> String {
    let shape = workgroup(32, 4, LimbPath::Bits32);
    format!(
        "{}\n{}\n@group(0) @binding(0) var<storage, read_write> results: array<u32>;\n\
         @group(0) @binding(1) var<uniform> params: Params;\n\
         fn kernel(_grid_row: u32) {{\n    let live = item < params.count;\n{body}\n}}\n",
        library(&shape, &[], &[]),
        include_str!("../../../../../../../shaders/params.wgsl"),
    )
}

/// What the check reports on a kernel with `body` as its `kernel()`.
fn reported(body: &str) -> Vec<String> {
    non_uniform_barriers(&with_body(body)).unwrap()
}

#[test]
fn a_lane_crossing_call_under_a_per_item_branch_is_reported() {
    let found = reported("    if (live) {\n        results[item] = lane_sum(1u);\n    }");
    assert_eq!(found, ["kernel → lane_sum()"]);
}

#[test]
fn an_early_exit_of_some_invocations_makes_what_follows_non_uniform() {
    let returned =
        reported("    if (!live) {\n        return;\n    }\n    results[item] = lane_sum(1u);");
    assert_eq!(returned, ["kernel → lane_sum()"]);
    let left_loop = reported("    for (var k = 0u; k < 4u; k++) {\n        if (k == item) {\n            break;\n        }\n        results[k] = lane_sum(k);\n    }");
    assert_eq!(left_loop, ["kernel → lane_sum()"]);
    // A value that differs reaches a branch through a local too.
    let through_local = reported("    var n = 0u;\n    n = lane;\n    if (n == 0u) {\n        results[0] = lane_sum(1u);\n    }");
    assert_eq!(through_local, ["kernel → lane_sum()"]);
}

#[test]
fn uniform_branches_and_loops_are_accepted() {
    let found = reported("    var total = 0u;\n    for (var k = 0u; k < params.count; k++) {\n        if ((params.phase & 1u) != 0u) {\n            continue;\n        }\n        total += lane_sum(k);\n    }\n    if (live) {\n        results[item] = total;\n    }");
    assert!(found.is_empty(), "{found:?}");
}

/// The two-digit exponentiation's last step with the high half's addition (an exchange)
/// moved under `if (live)`, where lavapipe 25 computes the last workgroup's items wrong.
#[test]
fn the_two_digit_exponentiation_store_under_live_is_reported() {
    let shape = workgroup(16, 2, LimbPath::Bits32);
    let fixed = source(Kernel::TwoDigitExp, &shape);
    let computed_first = "        let high = add_limbs(wide.hi, unit(low.flag));\n";
    assert!(fixed.contains(computed_first));
    let broken = fixed.replace(computed_first, "").replace(
        "store_results(slot + S, high.v);",
        "store_results(slot + S, add_limbs(wide.hi, unit(low.flag)).v);",
    );
    assert_eq!(
        non_uniform_barriers(&broken).unwrap(),
        ["kernel → add_limbs()"]
    );
}
