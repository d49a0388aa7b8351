#![no_main]
//! libFuzzer entry of the `decode_aiff` target (see crates/selecta-fuzz).

libfuzzer_sys::fuzz_target!(|data: &[u8]| selecta_fuzz::decode_aiff(data));
