//! Test data with known truth, for tests and benchmarks only (feature `testkit`): [`synth`]
//! renders music with a known tempo and key, [`synth_library`] makes synthetic feature records
//! of whole libraries. Never part of what the product computes.

pub mod synth;
pub mod synth_library;
