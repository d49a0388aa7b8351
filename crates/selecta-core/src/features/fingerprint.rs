//! Chromaprint fingerprint (AcoustID-compatible) and a 64-bit SimHash of it for fast
//! near-duplicate search.
//!
//! Like `fpcalc`, the fingerprint covers the first 120 s of the audio with the default algorithm
//! (TEST2). The analysis feeds it the mono analysis signal at chromaprint's own 11 025 Hz
//! ([`super::analysis_signal`]), as `fpcalc` has FFmpeg deliver it, and the sub-fingerprints
//! come from [`super::chromaprint`]. Beside it the builder keeps the raw sub-fingerprints of the
//! *whole* track, which snippet identification matches at any offset (`retrieval::identify`).

use base64::Engine;
use rusty_chromaprint::{Configuration, FingerprintCompressor, Fingerprinter};

use super::chromaprint::{CHROMAPRINT_RATE, ChromaPrinter, FRAME, HOP};
use crate::hash::f32_to_i16;

/// Seconds of audio fingerprinted, as `fpcalc -length` defaults to.
pub const FINGERPRINT_SECONDS: u32 = 120;

/// Seconds of audio between two sub-fingerprints: chromaprint (TEST2) analyses 11 025 Hz audio
/// in 4096-sample frames that overlap by two thirds.
pub const SUB_FINGERPRINT_SECONDS: f64 = HOP as f64 / CHROMAPRINT_RATE as f64;

/// Sub-fingerprints kept of a whole track: 4 h 30 min, longer than any DJ mix a library holds;
/// beyond it a track is identified by its first 4 h 30 min.
pub const MAX_TRACK_SUB_FINGERPRINTS: usize = 1 << 17;

/// Streaming fingerprint builder of mono 11 025 Hz audio: feed blocks as they are decoded.
///
/// Two prints come of one stream: the first 120 s (finished there, as `fpcalc` finishes it) and
/// the whole track. The first is the start of the second: chromaprint reads frames in order and
/// each sub-fingerprint depends only on frames before it, so the 120 s print is the
/// sub-fingerprints made before the first frame that reaches past 120 s.
#[derive(Debug)]
pub struct FingerprintBuilder {
    printer: ChromaPrinter,
    /// Sub-fingerprints of the first 120 s, known once a frame reaches past them.
    head: Option<usize>,
}

/// A finished fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// Raw 32-bit sub-fingerprints (what `fpcalc -raw` prints).
    pub raw: Vec<u32>,
    /// Compressed, URL-safe base64 form (what `fpcalc` prints by default).
    pub encoded: String,
    /// 64-bit SimHash, see [`simhash64`].
    pub simhash: u64,
    /// Raw sub-fingerprints of the whole track (at most [`MAX_TRACK_SUB_FINGERPRINTS`]), one
    /// every [`SUB_FINGERPRINT_SECONDS`]; empty in records analysed before it existed. Left out
    /// of the record's serde encoding, so that records stored and exported before it existed
    /// still decode: each store and the library bundle keep it beside the record.
    #[serde(skip)]
    pub track: Vec<u32>,
}

impl Default for FingerprintBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl FingerprintBuilder {
    /// Start a fingerprint of mono audio at 11 025 Hz.
    pub fn new() -> Self {
        Self { printer: ChromaPrinter::new(MAX_TRACK_SUB_FINGERPRINTS), head: None }
    }

    /// Feed the next samples.
    pub fn push(&mut self, mono: &[f32]) {
        const HEAD_SAMPLES: usize = FINGERPRINT_SECONDS as usize * CHROMAPRINT_RATE as usize;
        let head = &mut self.head;
        self.printer.push(mono, |frame, prints| {
            if head.is_none() && frame * HOP + FRAME > HEAD_SAMPLES {
                *head = Some(prints.len());
            }
        });
    }

    /// Finish; `None` when the audio was too short to give any sub-fingerprint.
    pub fn finish(self) -> Option<Fingerprint> {
        let head = self.head.unwrap_or(self.printer.prints().len());
        let track = self.printer.into_prints();
        let raw = track[..head.min(track.len())].to_vec();
        if raw.is_empty() {
            return None;
        }
        let compressed = FingerprintCompressor::from(&Configuration::preset_test2()).compress(&raw);
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed);
        let simhash = simhash64(&raw);
        Some(Fingerprint { raw, encoded, simhash, track })
    }
}

/// Raw sub-fingerprints of a mono signal, as if it had been recorded at `sample_rate`. Telling
/// chromaprint another rate than the true one undoes a speed change: audio played 4 % fast,
/// read as if its rate were 4 % lower, has the original's pitch and tempo again.
pub fn raw_print(mono: &[f32], sample_rate: u32) -> Vec<u32> {
    let config = Configuration::preset_test2();
    let mut printer = Fingerprinter::new(&config);
    if printer.start(sample_rate, 1).is_err() {
        return Vec::new();
    }
    let samples: Vec<i16> = mono.iter().map(|&s| f32_to_i16(s)).collect();
    printer.consume(&samples);
    printer.finish();
    printer.fingerprint().to_vec()
}

/// 64-bit SimHash of a raw fingerprint. The low 32 bits are chromaprint's own
/// `chromaprint_hash_fingerprint` (per-bit majority vote over the sub-fingerprints); the high 32
/// bits are the same vote over the XOR of consecutive sub-fingerprints, which captures how the
/// audio changes over time. Similar audio gives a small Hamming distance.
pub fn simhash64(raw: &[u32]) -> u64 {
    fn vote(values: impl Iterator<Item = u32>) -> u32 {
        let mut counts = [0i64; 32];
        for v in values {
            for (bit, c) in counts.iter_mut().enumerate() {
                if v >> bit & 1 == 1 {
                    *c += 1;
                } else {
                    *c -= 1;
                }
            }
        }
        counts.iter().enumerate().fold(0u32, |acc, (bit, &c)| if c > 0 { acc | 1 << bit } else { acc })
    }
    let low = vote(raw.iter().copied());
    let high = vote(raw.windows(2).map(|w| w[0] ^ w[1]));
    u64::from(high) << 32 | u64::from(low)
}

/// Fraction of equal bits between two raw fingerprints over their common length.
pub fn bit_agreement(a: &[u32], b: &[u32]) -> f32 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let differing: u32 = a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum();
    1.0 - differing as f32 / (n as f32 * 32.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::chromaprint::tests::{crate_print, music};

    #[test]
    fn simhash_low_half_is_chromaprint_vote() {
        // bit 0 is set in 2 of 3 values (kept), bit 1 in 1 of 3 (dropped).
        let raw = [0b01u32, 0b11, 0b00];
        assert_eq!(simhash64(&raw) & 0xffff_ffff, 0b01);
        // XORs of neighbours: 0b10, 0b11 → bit 1 set in both, bit 0 in one (a tie is dropped).
        assert_eq!(simhash64(&raw) >> 32, 0b10);
    }

    /// The builder's print of `audio` fed in blocks of `block` samples.
    fn built_print(audio: &[f32], block: usize) -> Fingerprint {
        let mut builder = FingerprintBuilder::new();
        audio.chunks(block).for_each(|b| builder.push(b));
        builder.finish().expect("a print")
    }

    #[test]
    fn the_120_second_print_and_the_whole_tracks_are_chromaprints() {
        let audio = music(131.0);
        let print = built_print(&audio, 4099);
        let whole = crate_print(&audio);
        assert_eq!(print.track.len(), whole.len());
        assert_eq!(print.track.iter().zip(&whole).position(|(a, b)| a != b), None);
        assert!(print.raw == crate_print(&audio[..CHROMAPRINT_RATE as usize * 120]), "the 120 s print differs");
        assert!(print.raw.len() < print.track.len());
    }

    #[test]
    fn a_track_within_the_first_120_seconds_has_one_print_for_both() {
        let audio = music(115.0);
        let print = built_print(&audio, 8192);
        assert!(print.track == print.raw);
        assert!(print.raw == crate_print(&audio));
    }

    #[test]
    fn agreement_counts_bits() {
        assert_eq!(bit_agreement(&[0, 0], &[0, 0]), 1.0);
        assert_eq!(bit_agreement(&[u32::MAX], &[0]), 0.0);
    }
}
