#![no_main]
//! libFuzzer entry of the `decode_webm` target (see crates/selecta-fuzz).

libfuzzer_sys::fuzz_target!(|data: &[u8]| selecta_fuzz::decode_webm(data));
