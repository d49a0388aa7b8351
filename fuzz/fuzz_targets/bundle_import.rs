#![no_main]
//! libFuzzer entry of the `bundle_import` target (see crates/selecta-fuzz).

libfuzzer_sys::fuzz_target!(|data: &[u8]| selecta_fuzz::bundle_import(data));
