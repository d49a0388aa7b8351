#![no_main]
//! libFuzzer entry of the `rekordbox_xml` target (see crates/selecta-fuzz).

libfuzzer_sys::fuzz_target!(|data: &[u8]| selecta_fuzz::rekordbox_xml(data));
