#![no_main]
//! libFuzzer entry of the `http_request` target (see crates/selecta-fuzz).

libfuzzer_sys::fuzz_target!(|data: &[u8]| selecta_fuzz::http_request(data));
