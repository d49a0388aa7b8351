//! Audio input: decoding any supported container from bytes (symphonia), reading its tags,
//! and resampling (rubato). It does not compute features; see [`crate::features`].

mod decode;
mod resample;
mod tags;

pub use decode::{DecodeLimits, DecodeSummary, Decoder, StreamInfo, decode};
pub use resample::resample_mono;
pub use tags::Tags;
