//! Choosing a GPU adapter: by name (a missing one is a typed error), by index among the matching
//! ones, and `auto`, which never picks a software adapter such as lavapipe.
//!
//! Without an adapter these tests print why and pass, unless `PAILLIER_GPU_REQUIRE_ADAPTER=1`:
//! then they fail. CI sets it.
#![cfg(feature = "gpu")]

use crate::common;

use paillier_gpu::hazmat::backend::gpu::{AdapterKind, GpuBackend, GpuOptions};
use paillier_gpu::hazmat::Error;
use paillier_gpu::Device;

#[test]
fn a_missing_adapter_is_a_typed_error() {
    common::quiet_mesa();
    let options = GpuOptions {
        adapter_name: Some("no-such-adapter-anywhere".into()),
        ..GpuOptions::default()
    };
    assert!(matches!(
        GpuBackend::new(&options),
        Err(Error::GpuUnavailable(_))
    ));
}

#[test]
fn an_adapter_index_picks_one_of_the_matching_adapters() {
    common::quiet_mesa();
    let Ok(first) = GpuBackend::new(&GpuOptions::default()) else {
        assert!(
            !common::gpu_required(),
            "PAILLIER_GPU_REQUIRE_ADAPTER=1 but no GPU"
        );
        return;
    };
    let by_index = GpuBackend::new(&GpuOptions {
        adapter_index: Some(0),
        ..GpuOptions::default()
    })
    .unwrap();
    assert_eq!(by_index.adapter_info().name, first.adapter_info().name);
    let past_the_end = GpuBackend::new(&GpuOptions {
        adapter_index: Some(1000),
        ..GpuOptions::default()
    });
    assert!(
        matches!(&past_the_end, Err(Error::GpuUnavailable(why)) if why.contains("index 1000")),
        "{past_the_end:?}"
    );
}

#[test]
fn auto_never_picks_a_software_adapter() {
    common::quiet_mesa();
    let backend = paillier_gpu::hazmat::backend::backend_for(Device::Auto).unwrap();
    if let Ok(gpu) = GpuBackend::shared() {
        let software = gpu.adapter_info().kind == AdapterKind::Software;
        assert_eq!(backend.device() == Device::Cpu, software);
    } else {
        assert_eq!(backend.device(), Device::Cpu);
    }
}
