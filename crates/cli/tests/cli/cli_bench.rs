//! `bench` through the built binary: its table, JSON and SVG, on the CPU and on whatever GPU
//! adapter answers.

use crate::common;

use common::cli::{fails, ok, run, run_with, NO_ADAPTER};
use serde_json::Value;

#[test]
fn bench_prints_a_table_and_writes_json_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(run(
        dir.path(),
        None,
        &[
            "bench",
            "--device",
            "cpu",
            "--type",
            "paillier,paillier_lookup",
            "--key-len",
            "256",
            "--embed-len",
            "64",
            "--batch",
            "2,3",
            "--repeat",
            "1",
            "--json",
            "bench.json",
            "--plot",
            "bench.svg",
        ],
    ));
    // The machine line, the header, 2 schemes × 2 batches × 5 operations, 2 batches × 3 number
    // operations of the paillier scheme and one linear layer, plain and packed (both batches
    // hold one 64-feature sample: timed once), and a latency line per whole search.
    assert_eq!(out.lines().count(), 2 + 20 + 6 + 2 + 4, "{out}");
    for operation in [
        "nums_enc_owner",
        "nums_enc_public",
        "nums_decrypt",
        "linear_64x10",
        "linear_packed_64x10",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("paillier ") && l.contains(operation)),
            "{operation}: {out}"
        );
    }
    assert_eq!(
        out.lines().filter(|l| l.starts_with("search: ")).count(),
        4,
        "{out}"
    );
    assert!(
        out.lines()
            .all(|l| !l.contains("NaN") && !l.contains("inf")),
        "{out}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bench.json")).unwrap())
            .unwrap();
    let measurements = report["measurements"].as_array().unwrap();
    assert_eq!(measurements.len(), 28);
    for m in measurements {
        assert_eq!(m["device"], "cpu");
        // The CPU has no device side to break down.
        assert!(m["breakdown"].is_null(), "{m}");
        assert_eq!(m["runs_s"].as_array().unwrap().len(), 1);
        let rate = m["per_second"].as_f64().unwrap();
        let expected = m["batch"].as_f64().unwrap() / m["median_s"].as_f64().unwrap();
        assert!(
            rate > 0.0 && (rate - expected).abs() <= 1e-9 * expected,
            "{m}"
        );
    }
    let svg = std::fs::read_to_string(dir.path().join("bench.svg")).unwrap();
    let mut lines = svg.lines();
    // The mark by which `bench` recognises its own plots.
    assert_eq!(lines.next(), Some("<!-- paillier-gpu bench plot -->"));
    assert!(lines.next().is_some_and(|l| l.starts_with("<svg")));
    assert!(svg.contains("encrypt_owner k256 paillier (vectors/s)"));
    assert!(svg.contains("linear_64x10 k256 paillier (samples/s)"));
    // Each row says what it counts: the linear layer's count is of samples.
    let unit = |operation: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {operation} ")))
            .and_then(|l| l.split_whitespace().nth(3))
            .map(str::to_owned)
    };
    assert_eq!(unit("linear_64x10").as_deref(), Some("samples"), "{out}");
    assert_eq!(unit("nums_decrypt").as_deref(), Some("numbers"), "{out}");
    assert_eq!(unit("aggregate").as_deref(), Some("records"), "{out}");
    assert_eq!(unit("encrypt_owner").as_deref(), Some("vectors"), "{out}");
    assert!(svg.contains("median of 1 run") && svg.contains("CPU (solid, circles)"));
    // One device: no GPU/CPU chart.
    assert!(!svg.contains("GPU rate / CPU rate"));

    // Bad plans fail with one line; `--device gpu` without an adapter is an error, `both` is not.
    for args in [
        &["bench", "--device", "cpu", "--batch", "0"][..],
        &["bench", "--device", "cpu", "--repeat", "0"][..],
        &["bench", "--device", "cpu", "--key-len", "100"][..],
    ] {
        fails(run(dir.path(), None, args));
    }
    // A value that does not parse is an argument error: clap's whole message, exit 2.
    let not_a_number = run(
        dir.path(),
        None,
        &["bench", "--device", "cpu", "--batch", "x"],
    );
    assert_eq!(not_a_number.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_a_number.stderr).contains("invalid value 'x'"));
    let no_gpu = [
        "bench",
        "--key-len",
        "256",
        "--embed-len",
        "8",
        "--batch",
        "1",
        "--repeat",
        "1",
    ];
    let line = fails(run_with(
        dir.path(),
        None,
        &[&no_gpu[..], &["--device", "gpu"]].concat(),
        NO_ADAPTER,
    ));
    assert!(line.contains("GPU") || line.contains("gpu"), "{line}");
    let out = run_with(
        dir.path(),
        None,
        &[&no_gpu[..], &["--device", "both"]].concat(),
        NO_ADAPTER,
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipping gpu"));
}

#[test]
fn bench_without_numbers_times_the_search_operations_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(run(
        dir.path(),
        None,
        &[
            "bench",
            "--device",
            "cpu",
            "--key-len",
            "256",
            "--embed-len",
            "64",
            "--batch",
            "2",
            "--repeat",
            "1",
            "--no-numbers",
        ],
    ));
    // The machine line, the header, five operations and the search's latency line.
    assert_eq!(out.lines().count(), 2 + 5 + 1, "{out}");
    assert!(!out.contains("nums_") && !out.contains("linear"), "{out}");
}

/// `bench --device gpu` measures every operation of both schemes on whatever adapter answers
/// (lavapipe in CI), and its JSON names the adapter, the driver and the kernel shapes.
#[cfg(feature = "gpu")]
#[test]
fn bench_on_the_gpu_names_the_adapter_and_every_operation() {
    let Some(gpu) = common::shared_gpu() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raw = run(
        dir.path(),
        None,
        &[
            "bench",
            "--device",
            "gpu",
            "--type",
            "paillier,paillier_lookup",
            "--key-len",
            "256",
            "--embed-len",
            "64",
            "--batch",
            "3",
            "--database",
            "5",
            "--repeat",
            "1",
            "--json",
            "gpu.json",
            "--plot",
            "gpu.svg",
        ],
    );
    let stderr = String::from_utf8_lossy(&raw.stderr).to_string();
    let out = ok(raw);
    assert!(out.contains("gpu bound"), "{out}");
    assert!(
        out.contains("search: paillier k256 over 5 records on gpu"),
        "{out}"
    );
    let adapter = gpu.adapter_info().name.clone();
    assert!(out.contains(&adapter), "{out}");
    let software = gpu.adapter_info().is_software();
    // The warning goes to stderr, never into the table.
    assert_eq!(stderr.contains("software adapter"), software, "{stderr}");
    assert!(!out.contains("software adapter"), "{out}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("gpu.json")).unwrap())
            .unwrap();
    assert_eq!(report["gpu"]["adapter"], adapter.as_str());
    assert!(report["gpu"]["driver"].is_string());
    assert_eq!(report["gpu"]["software"], software);
    assert!(["subgroup", "workgroup"].contains(&report["gpu"]["exchange"].as_str().unwrap()));
    // n², p² and p of key_len 256, each with its lanes per number.
    let shapes = report["gpu"]["shapes"].as_array().unwrap();
    assert_eq!(shapes.len(), 3);
    for s in shapes {
        let (limbs, lanes) = (s["limbs"].as_u64().unwrap(), s["lanes"].as_u64().unwrap());
        assert_eq!(limbs, lanes * s["limbs_per_lane"].as_u64().unwrap());
    }
    // The device times its kernels where it keeps timestamps (lavapipe does).
    let timed = report["gpu"]["device_timing"].as_bool().unwrap();
    assert!(!report["gpu"]["timestamps"].as_bool().unwrap() || timed);
    if gpu.adapter_info().name.contains("llvmpipe") {
        assert!(timed, "lavapipe keeps timestamps");
    }
    let measurements = report["measurements"].as_array().unwrap();
    for scheme in ["paillier", "paillier_lookup"] {
        for operation in [
            "encrypt_owner",
            "encrypt_public",
            "aggregate",
            "decode",
            "search",
        ] {
            assert!(
                measurements.iter().any(|m| m["scheme"] == scheme
                    && m["operation"] == operation
                    && m["device"] == "gpu"
                    && m["device_name"].as_str().unwrap().contains(&adapter)
                    && m["per_second"].as_f64().unwrap() > 0.0),
                "{scheme} {operation}"
            );
        }
        if scheme == "paillier" {
            for operation in [
                "nums_enc_owner",
                "nums_enc_public",
                "nums_decrypt",
                "linear_64x10",
                "linear_packed_64x10",
            ] {
                assert!(
                    measurements.iter().any(|m| m["operation"] == operation
                        && m["device"] == "gpu"
                        && m["per_second"].as_f64().unwrap() > 0.0),
                    "{operation}"
                );
            }
        }
        // The whole search over the --database size too.
        assert!(measurements
            .iter()
            .any(|m| m["scheme"] == scheme && m["operation"] == "search" && m["batch"] == 5));
    }
    // Every GPU measurement says where its time went: a search that decodes on the device
    // makes GPU calls and moves bytes both ways, and the parts add up to at most the whole.
    for m in measurements {
        let b = &m["breakdown"];
        assert!(b.is_object(), "{m}");
        assert!(
            ["host", "device"].contains(&b["bound"].as_str().unwrap()),
            "{m}"
        );
        let part = |k: &str| b[k].as_f64().unwrap();
        assert!(
            part("waiting_s") + part("submit_s") + part("copy_out_s")
                <= part("in_gpu_calls_s") + 1e-6
        );
        assert!(
            part("in_gpu_calls_s") <= part("host_visible_s") + 1e-6,
            "{m}"
        );
        assert_eq!(part("gpu_calls") > 0.0, part("bytes_down") > 0.0, "{m}");
        // The device's time in kernels lies within its span, and the span within the GPU calls
        // (its clock is not the host's: a little slack); it names the kernels that ran.
        let kernels = b["kernel_s"].as_object().unwrap();
        if timed && part("gpu_calls") > 0.0 {
            let (busy, span) = (part("device_busy_s"), part("device_span_s"));
            assert!(busy > 0.0 && busy <= span * (1.0 + 1e-9), "{m}");
            assert!(span <= part("in_gpu_calls_s") * 1.05 + 1e-4, "{m}");
            assert!(!kernels.is_empty(), "{m}");
            assert!(kernels.values().all(|s| s.as_f64().unwrap() >= 0.0), "{m}");
        } else {
            assert!(
                b["device_busy_s"].is_null() && b["device_span_s"].is_null(),
                "{m}"
            );
            assert!(kernels.is_empty(), "{m}");
        }
        // A pipelined batch's exposed preparation is host time (none here: too few items to
        // cut a batch into pieces).
        for k in ["first_piece_prep_s", "prep_stall_s", "pieces"] {
            assert!(part(k) >= 0.0, "{k}: {m}");
        }
        assert!(
            part("first_piece_prep_s") + part("prep_stall_s") <= part("host_visible_s") + 1e-6,
            "{m}"
        );
    }
    assert!(measurements
        .iter()
        .any(|m| m["breakdown"]["gpu_calls"].as_f64().unwrap() >= 1.0));
    let svg = std::fs::read_to_string(dir.path().join("gpu.svg")).unwrap();
    assert!(svg.contains("paillier-gpu bench: median of 1 run"));
    assert!(svg.contains(&format!("GPU: {}", gpu.adapter_info().name)));
    assert_eq!(
        svg.contains("SOFTWARE adapter"),
        gpu.adapter_info().kind == paillier_gpu::hazmat::backend::gpu::AdapterKind::Software
    );
}

/// With both devices the plot adds the GPU/CPU ratio of every operation, a bar per batch size,
/// and `bench` ends with a line for each file it wrote.
#[cfg(feature = "gpu")]
#[test]
fn bench_on_both_devices_plots_the_gpu_cpu_ratio() {
    if common::shared_gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "bench",
        "--device",
        "both",
        "--key-len",
        "256",
        "--embed-len",
        "16",
        "--batch",
        "2,4",
        "--repeat",
        "1",
        "--json",
        "both.json",
        "--plot",
        "both.svg",
    ];
    let out = run(dir.path(), None, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let last: Vec<&str> = stderr.lines().rev().take(2).collect();
    assert_eq!(
        last,
        [
            "paillier-gpu: wrote the plot to both.svg",
            "paillier-gpu: wrote 36 measurements to both.json"
        ],
        "{stderr}"
    );
    let svg = std::fs::read_to_string(dir.path().join("both.svg")).unwrap();
    assert!(svg.contains("GPU rate / CPU rate"), "the ratio chart");
    for operation in [
        "encrypt_owner",
        "encrypt_public",
        "aggregate",
        "decode",
        "search",
        "nums_enc_owner",
        "nums_decrypt",
        "linear_64x10",
        "linear_packed_64x10",
    ] {
        assert!(
            svg.contains(&format!("{operation} k256 paillier")),
            "{operation}"
        );
    }
    assert!(svg.contains("batch size") && svg.contains("GPU (dashed, triangles)"));
}

/// `--device both` measures a software adapter as the gpu, as docs/cli.md says, and says so
/// before anything is measured: on one terminal the warning comes before the table.
#[cfg(feature = "gpu")]
#[test]
fn both_devices_warn_of_a_software_adapter_before_the_table() {
    let Some(gpu) = common::shared_gpu() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let merged = dir.path().join("terminal.txt");
    let file = std::fs::File::create(&merged).unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_paillier-gpu"))
        .args([
            "bench",
            "--device",
            "both",
            "--key-len",
            "256",
            "--embed-len",
            "16",
        ])
        .args(["--batch", "2", "--repeat", "1", "--no-numbers"])
        .current_dir(dir.path())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    let terminal = std::fs::read_to_string(&merged).unwrap();
    assert!(status.success(), "{terminal}");
    let line_of = |words: &str| terminal.lines().position(|l| l.contains(words));
    let table = line_of("operation").expect("a table");
    let gpu_column = terminal.lines().nth(table).unwrap_or_default();
    assert!(
        gpu_column.contains("gpu /s"),
        "the software adapter is measured: {terminal}"
    );
    match (
        gpu.adapter_info().is_software(),
        line_of("software adapter"),
    ) {
        (true, Some(warning)) => assert!(warning < table, "{terminal}"),
        (false, None) => {}
        (software, warning) => panic!("software {software}, warning at {warning:?}: {terminal}"),
    }
}
