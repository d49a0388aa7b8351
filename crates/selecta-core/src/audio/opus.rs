//! Opus in Ogg, decoded with the `opus-rs` crate (pure Rust, a port of libopus; it builds for
//! wasm32): symphonia reads the Ogg pages and the `OpusHead` header but has no Opus decoder. Mono
//! and stereo streams (channel mapping family 0) are decoded at 48 kHz; the encoder's pre-skip is
//! dropped from the start and the header's output gain applied.

use super::decode::StreamInfo;
use crate::error::AnalysisError;

/// Opus always decodes at this rate.
pub(crate) const OPUS_RATE: u32 = 48_000;
/// The longest Opus packet: 120 ms at 48 kHz.
const MAX_FRAME: usize = 5_760;

/// An Opus stream being decoded.
pub(crate) struct OpusStream {
    decoder: opus_rs::OpusDecoder,
    channels: u16,
    /// Samples per channel still to drop from the start.
    pre_skip: usize,
    gain: f32,
    pcm: Vec<f32>,
}

impl OpusStream {
    /// A decoder for the stream whose `OpusHead` identification header is `head`.
    pub(crate) fn new(head: &[u8]) -> Result<Self, AnalysisError> {
        if head.len() < 19 || !head.starts_with(b"OpusHead") {
            return Err(AnalysisError::Corrupt("the Opus identification header is missing or damaged".into()));
        }
        let channels = head[9];
        let pre_skip = usize::from(u16::from_le_bytes([head[10], head[11]]));
        let gain_q8 = i16::from_le_bytes([head[16], head[17]]);
        let family = head[18];
        if family != 0 || !(1..=2).contains(&channels) {
            return Err(AnalysisError::UnsupportedFormat(format!(
                "Opus with {channels} channels (mapping family {family}) cannot be decoded; mono and stereo can"
            )));
        }
        let decoder = opus_rs::OpusDecoder::new(OPUS_RATE as i32, usize::from(channels))
            .map_err(|e| AnalysisError::UnsupportedFormat(format!("opus: {e}")))?;
        Ok(Self {
            decoder,
            channels: u16::from(channels),
            pre_skip,
            gain: 10f32.powf(f32::from(gain_q8) / (20.0 * 256.0)),
            pcm: vec![0.0; MAX_FRAME * usize::from(channels)],
        })
    }

    /// Decode one packet into `out` (interleaved; empty while the pre-skip lasts).
    pub(crate) fn decode(&mut self, packet: &[u8], out: &mut Vec<f32>) -> Result<StreamInfo, String> {
        let frames = self.decoder.decode(packet, MAX_FRAME, &mut self.pcm).map_err(|e| format!("opus: {e}"))?;
        let skip = self.pre_skip.min(frames);
        self.pre_skip -= skip;
        let ch = usize::from(self.channels);
        out.clear();
        out.extend(self.pcm[skip * ch..frames * ch].iter().map(|&s| s * self.gain));
        Ok(StreamInfo { sample_rate: OPUS_RATE, channels: self.channels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multichannel_and_damaged_headers_are_refused_with_the_reason() {
        let mut head = b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00".to_vec();
        assert!(OpusStream::new(&head).is_ok(), "stereo, family 0");
        head[9] = 6;
        head[18] = 1;
        let err = OpusStream::new(&head).err().expect("5.1 is refused").to_string();
        assert!(err.contains("6 channels"), "{err}");
        assert!(OpusStream::new(b"OpusTags").is_err());
    }
}
