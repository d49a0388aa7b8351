//! Audio input: decoding any supported container from bytes (symphonia), reading its tags,
//! and resampling (rubato). It does not compute features; see [`crate::features`].

mod decode;
mod flac_frames;
mod matroska;
mod ogg_pages;
mod opus;
mod resample;
mod tags;
mod vorbis_setup;
mod wav_tags;

pub use decode::{
    Damage, DecodeLimits, DecodeSummary, Decoder, MAX_HOLE_SEC, MIN_DAMAGED_SEC, MIN_DECODED_SHARE, StreamInfo, decode,
};
pub use resample::{MonoResampler, resample_mono};
pub use tags::Tags;

/// Extensions treated as audio when a folder is scanned. Formats this build cannot decode (WMA,
/// CAF) are listed too, so that they are reported as unsupported instead of silently ignored.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "flac", "wav", "wave", "aif", "aiff", "aifc", "ogg", "oga", "opus", "m4a", "m4b", "mp4", "aac", "alac",
    "caf", "wma", "webm", "mka",
];

/// Whether a file name (or path) names an audio file by its extension, in any case.
pub fn is_audio_file_name(name: &str) -> bool {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && AUDIO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_names_are_recognised_by_extension() {
        for name in ["a.mp3", "dir/B.FLAC", "c:\\x\\d.Aiff", "e.m4a", "f.opus", "weird name.final.wav", "g.webm"] {
            assert!(is_audio_file_name(name), "{name}");
        }
        for name in ["a.txt", "mp3", ".mp3", "dir.mp3/readme", "cover.jpg", ""] {
            assert!(!is_audio_file_name(name), "{name}");
        }
    }
}
