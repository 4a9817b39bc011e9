#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paillier_gpu::fuzzing::numbers_encrypted(data));
