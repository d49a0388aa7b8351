#![no_main]
//! libFuzzer entry of the `taste_model` target (see crates/selecta-fuzz).

libfuzzer_sys::fuzz_target!(|data: &[u8]| selecta_fuzz::taste_model(data));
