//! Decoding with symphonia from an in-memory byte buffer. Samples are handed to a callback
//! block by block (interleaved `f32`), so the caller can hash, meter and downmix in one pass
//! without holding the whole multi-channel track in memory.

use std::io::Cursor;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::Tags;
use crate::error::AnalysisError;

/// Limits against hostile or broken input.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Shortest decoded duration accepted, in seconds.
    pub min_duration_sec: f64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self { max_file_bytes: 2 * 1024 * 1024 * 1024 - 1, min_duration_sec: 0.5 }
    }
}

impl DecodeLimits {
    /// Refuse a file by its size alone — before reading it, when the caller knows the size.
    pub fn check_size(&self, size: u64) -> Result<(), AnalysisError> {
        if size == 0 {
            return Err(AnalysisError::Empty);
        }
        if size > self.max_file_bytes {
            return Err(AnalysisError::TooLarge { size, limit: self.max_file_bytes });
        }
        Ok(())
    }
}

/// Format of the decoded stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Number of channels.
    pub channels: u16,
}

/// What a complete decode found.
#[derive(Debug, Clone)]
pub struct DecodeSummary {
    /// Stream format.
    pub info: StreamInfo,
    /// Decoded frames (samples per channel).
    pub frames: u64,
    /// File tags.
    pub tags: Tags,
    /// Packets the decoder rejected and skipped.
    pub skipped_packets: u64,
}

impl DecodeSummary {
    /// Decoded duration in seconds.
    pub fn duration_sec(&self) -> f64 {
        self.frames as f64 / f64::from(self.info.sample_rate.max(1))
    }
}

/// Decode `bytes` completely, calling `on_block` with each block of interleaved samples.
///
/// `file_name` only serves as a format hint (its extension). Errors name what is wrong with the
/// data; truncated streams whose header announces a length are reported as
/// [`AnalysisError::Truncated`].
pub fn decode(
    bytes: Vec<u8>,
    file_name: Option<&str>,
    limits: &DecodeLimits,
    mut on_block: impl FnMut(&[f32], &StreamInfo),
) -> Result<DecodeSummary, AnalysisError> {
    limits.check_size(bytes.len() as u64)?;
    let mut hint = Hint::new();
    if let Some(ext) = file_name.and_then(|n| n.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase()) {
        hint.with_extension(&ext);
    }
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| match e {
            SymError::Unsupported(_) => AnalysisError::UnsupportedFormat("no decoder recognises this container".into()),
            SymError::IoError(_) => {
                AnalysisError::UnsupportedFormat("the data ends before any audio container could be recognised".into())
            }
            other => AnalysisError::UnsupportedFormat(other.to_string()),
        })?;
    let track = format.default_track(TrackType::Audio).ok_or(AnalysisError::NoAudioTrack)?;
    let track_id = track.id;
    let announced_frames = track.num_frames;
    let params = track.codec_params.as_ref().and_then(|p| p.audio()).ok_or(AnalysisError::NoAudioTrack)?.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|_| {
            AnalysisError::UnsupportedFormat(
                "its audio codec cannot be decoded (supported: MP3, AAC, ALAC, FLAC, Vorbis, PCM)".into(),
            )
        })?;

    let mut tags = Tags::default();
    let mut info: Option<StreamInfo> = None;
    let mut frames: u64 = 0;
    let mut skipped: u64 = 0;
    let mut decoded_packets: u64 = 0;
    let mut block: Vec<f32> = Vec::new();
    let mut io_error: Option<String> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) => {
                io_error = Some(e.to_string());
                break;
            }
            Err(SymError::ResetRequired) => break,
            Err(SymError::DecodeError(msg)) => {
                skipped += 1;
                if skipped > 64 && skipped > decoded_packets {
                    return Err(AnalysisError::Corrupt(msg.to_string()));
                }
                continue;
            }
            Err(e) => return Err(AnalysisError::Corrupt(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = buf.spec();
                let this = StreamInfo {
                    sample_rate: spec.rate(),
                    channels: u16::try_from(spec.channels().count()).unwrap_or(u16::MAX),
                };
                match &info {
                    None => info = Some(this.clone()),
                    Some(first) if *first != this => {
                        return Err(AnalysisError::FormatChanged(format!(
                            "{} Hz × {} ch became {} Hz × {} ch",
                            first.sample_rate, first.channels, this.sample_rate, this.channels
                        )));
                    }
                    Some(_) => {}
                }
                if buf.frames() == 0 {
                    continue;
                }
                buf.copy_to_vec_interleaved(&mut block);
                frames += buf.frames() as u64;
                decoded_packets += 1;
                if let Some(i) = &info {
                    on_block(&block, i);
                }
            }
            Err(SymError::DecodeError(msg)) => {
                skipped += 1;
                // Many decoders skip a bad frame and go on; a stream that is mostly bad frames
                // is not audio (random bytes often carry MP3 sync words).
                if skipped > 64 && skipped > decoded_packets {
                    return Err(AnalysisError::Corrupt(msg.to_string()));
                }
            }
            Err(SymError::IoError(e)) => {
                io_error = Some(e.to_string());
                break;
            }
            Err(e) => return Err(AnalysisError::Corrupt(e.to_string())),
        }
    }
    // Tags may sit before (probe) or inside the container; gather every revision.
    {
        let mut meta = format.metadata();
        while let Some(rev) = meta.pop() {
            tags.absorb(&rev);
        }
        if let Some(rev) = meta.current() {
            tags.absorb(rev);
        }
    }
    let info = info.ok_or_else(|| match &io_error {
        Some(e) => AnalysisError::Corrupt(format!("no audio could be decoded ({e})")),
        None => AnalysisError::Corrupt("no audio could be decoded".into()),
    })?;
    let rate = f64::from(info.sample_rate.max(1));
    let decoded_sec = frames as f64 / rate;
    if let Some(expected) = announced_frames {
        // Decoders may drop a final partial frame; more than 1 % or 50 ms missing is truncation.
        let missing = expected.saturating_sub(frames) as f64 / rate;
        let expected_sec = expected as f64 / rate;
        if missing > 0.05f64.max(expected_sec * 0.01) {
            return Err(AnalysisError::Truncated { expected_sec, decoded_sec });
        }
    } else if let Some(e) = io_error {
        return Err(AnalysisError::Corrupt(format!("stream ends unexpectedly after {decoded_sec:.2} s ({e})")));
    }
    if decoded_sec < limits.min_duration_sec {
        return Err(AnalysisError::TooShort { decoded_sec, min_sec: limits.min_duration_sec });
    }
    Ok(DecodeSummary { info, frames, tags, skipped_packets: skipped })
}
