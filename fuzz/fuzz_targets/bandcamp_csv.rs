#![no_main]
//! libFuzzer entry of the `bandcamp_csv` target (see crates/selecta-fuzz).

libfuzzer_sys::fuzz_target!(|data: &[u8]| selecta_fuzz::bandcamp_csv(data));
