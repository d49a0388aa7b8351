//! Chromaprint fingerprint (AcoustID-compatible, via `rusty-chromaprint`) and a 64-bit SimHash
//! of it for fast near-duplicate search.
//!
//! Like `fpcalc`, the fingerprint covers the first 120 s of the audio with the default algorithm
//! (TEST2). The analysis feeds it the mono analysis signal at chromaprint's own 11 025 Hz
//! ([`super::analysis_signal`]), as `fpcalc` has FFmpeg deliver it; other rates and channel
//! counts are downmixed and resampled by chromaprint itself. Beside it the builder keeps the raw
//! sub-fingerprints of the *whole* track, which snippet identification matches at any offset
//! (`retrieval::identify`).

use base64::Engine;
use rusty_chromaprint::{Configuration, FingerprintCompressor, Fingerprinter};

use crate::hash::f32_to_i16;

/// Seconds of audio fingerprinted, as `fpcalc -length` defaults to.
pub const FINGERPRINT_SECONDS: u32 = 120;

/// Seconds of audio between two sub-fingerprints: chromaprint (TEST2) analyses 11 025 Hz audio
/// in 4096-sample frames that overlap by two thirds.
pub const SUB_FINGERPRINT_SECONDS: f64 = 4096.0 / 3.0 / 11025.0;

/// Sub-fingerprints kept of a whole track: 4 h 30 min, longer than any DJ mix a library holds;
/// beyond it a track is identified by its first 4 h 30 min.
pub const MAX_TRACK_SUB_FINGERPRINTS: usize = 1 << 17;

/// Streaming fingerprint builder: feed blocks as they are decoded.
///
/// Two prints come of one stream: the first 120 s (finished there, as `fpcalc` finishes it) and
/// the whole track. Both are the same computation over the first 120 s, so the whole-track
/// printer starts only at a splice point shortly before 120 s, and its print is the 120 s
/// printer's up to that point followed by its own after a warm-up. Chromaprint's state is
/// short-lived (a 16-tap resampler for input not at 11 025 Hz, 4096-sample frames every 1365 samples at 11 025 Hz, filters
/// a few frames wide), so a printer started on a frame boundary gives, once warmed up, the very
/// sub-fingerprints a printer running from the start gives there: 110 s of a second printer's
/// work saved on every track longer than 120 s.
pub struct FingerprintBuilder {
    config: Configuration,
    printer: Fingerprinter,
    /// The whole track's printer, from [`Splice::frame`] on.
    track: Option<Fingerprinter>,
    splice: Option<Splice>,
    sample_rate: u32,
    channels: u16,
    /// Frames (one sample per channel) fed so far.
    frames: u64,
    remaining_samples: u64,
    scratch: Vec<i16>,
    started: bool,
}

/// Where the whole-track printer starts: a frame on chromaprint's frame grid, in the input's
/// frames and in sub-fingerprints.
#[derive(Debug, Clone, Copy)]
struct Splice {
    /// Input frame the whole-track printer starts at.
    frame: u64,
    /// The sub-fingerprint of the whole print that the track printer's first one stands for.
    offset: usize,
}

/// Seconds before [`FINGERPRINT_SECONDS`] at most where the whole-track printer starts: room
/// for its warm-up and far from where the 120 s printer finishes (its last chunk is flushed).
const SPLICE_BEFORE_END_SECONDS: u32 = 10;
/// Sub-fingerprints of the whole-track printer taken from the 120 s printer instead: its
/// resampler (for input not at 11 025 Hz) starts with 16 taps of silence, which reach the first
/// three frames and, through the chroma filter, the first three sub-fingerprints. Sixteen leave a wide margin (on the
/// 161-file corpus even none made a difference: the quantised bits absorb it).
const SPLICE_WARM_UP: usize = 16;
/// The rate chromaprint resamples to, and its frame hop at that rate.
const CHROMAPRINT_RATE: u64 = 11_025;
const CHROMAPRINT_HOP: u64 = 1365;

impl Splice {
    /// The latest splice point on the frame grid at most [`SPLICE_BEFORE_END_SECONDS`] before the
    /// 120 s end: a frame `f` whose position at 11 025 Hz, `f · 11025 / rate`, is a whole
    /// number of hops. `None` for a rate whose grid is too coarse to fit one.
    fn for_rate(sample_rate: u32) -> Option<Self> {
        let rate = u64::from(sample_rate);
        if rate == 0 {
            return None;
        }
        // Hops q with q · 1365 · rate / 11025 whole: q a multiple of 11025 / gcd(1365 · rate, 11025).
        let step = CHROMAPRINT_RATE / gcd(CHROMAPRINT_HOP * rate, CHROMAPRINT_RATE);
        let latest = u64::from(FINGERPRINT_SECONDS - SPLICE_BEFORE_END_SECONDS) * CHROMAPRINT_RATE / CHROMAPRINT_HOP;
        let hops = latest / step * step;
        let offset = usize::try_from(hops).ok()?;
        (offset > SPLICE_WARM_UP).then(|| Self { frame: hops * CHROMAPRINT_HOP * rate / CHROMAPRINT_RATE, offset })
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl std::fmt::Debug for FingerprintBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerprintBuilder").field("remaining_samples", &self.remaining_samples).finish()
    }
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

impl FingerprintBuilder {
    /// Start a fingerprint of a stream with this format.
    pub fn new(sample_rate: u32, channels: u16) -> Self {
        let config = Configuration::preset_test2();
        let mut printer = Fingerprinter::new(&config);
        let started = printer.start(sample_rate, u32::from(channels)).is_ok();
        Self {
            config,
            printer,
            track: None,
            splice: Splice::for_rate(sample_rate),
            sample_rate,
            channels,
            frames: 0,
            remaining_samples: u64::from(sample_rate) * u64::from(channels) * u64::from(FINGERPRINT_SECONDS),
            scratch: Vec::new(),
            started,
        }
    }

    /// Feed interleaved samples.
    pub fn push(&mut self, interleaved: &[f32]) {
        if !self.started {
            return;
        }
        self.scratch.clear();
        self.scratch.extend(interleaved.iter().map(|&s| f32_to_i16(s)));
        let channels = usize::from(self.channels.max(1));
        let block_frames = (self.scratch.len() / channels) as u64;
        let splice_frame = self.splice.map_or(0, |s| s.frame);
        if self.frames + block_frames > splice_frame {
            if self.track.is_none() {
                // Starts as the 120 s printer did, with the same format.
                let mut track = Fingerprinter::new(&self.config);
                self.track = track.start(self.sample_rate, u32::from(self.channels)).is_ok().then_some(track);
            }
            let skip = usize::try_from(splice_frame.saturating_sub(self.frames))
                .map_or(self.scratch.len(), |frames| frames.saturating_mul(channels).min(self.scratch.len()));
            let offset = self.splice.map_or(0, |s| s.offset);
            if let Some(track) =
                self.track.as_mut().filter(|t| offset + t.fingerprint().len() < MAX_TRACK_SUB_FINGERPRINTS)
            {
                track.consume(&self.scratch[skip..]);
            }
        }
        self.frames += block_frames;
        let take = (self.scratch.len() as u64).min(self.remaining_samples) as usize;
        if take > 0 {
            self.printer.consume(&self.scratch[..take]);
            self.remaining_samples -= take as u64;
        }
    }

    /// Finish; `None` when the audio was too short to give any sub-fingerprint.
    pub fn finish(mut self) -> Option<Fingerprint> {
        if !self.started {
            return None;
        }
        self.printer.finish();
        let raw = self.printer.fingerprint().to_vec();
        if raw.is_empty() {
            return None;
        }
        let compressed = FingerprintCompressor::from(&self.config).compress(&raw);
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed);
        let simhash = simhash64(&raw);
        // A track that ended within the first 120 s: the 120 s printer saw all of it and
        // finished where the track does, so its print is the whole track's.
        let cut = self.remaining_samples == 0;
        let mut track = match (self.splice, self.track.as_mut()) {
            (Some(splice), Some(printer)) if cut => {
                printer.finish();
                let own = printer.fingerprint();
                let head = splice.offset + SPLICE_WARM_UP;
                let mut track = raw[..head.min(raw.len())].to_vec();
                track.extend_from_slice(own.get(SPLICE_WARM_UP..).unwrap_or_default());
                track
            }
            (None, Some(printer)) => {
                printer.finish();
                printer.fingerprint().to_vec()
            }
            _ => raw.clone(),
        };
        track.truncate(MAX_TRACK_SUB_FINGERPRINTS);
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

    #[test]
    fn simhash_low_half_is_chromaprint_vote() {
        // bit 0 is set in 2 of 3 values (kept), bit 1 in 1 of 3 (dropped).
        let raw = [0b01u32, 0b11, 0b00];
        assert_eq!(simhash64(&raw) & 0xffff_ffff, 0b01);
        // XORs of neighbours: 0b10, 0b11 → bit 1 set in both, bit 0 in one (a tie is dropped).
        assert_eq!(simhash64(&raw) >> 32, 0b10);
    }

    /// A stereo test signal: a chord that changes every 0.7 s, with a noise burst on every beat.
    fn music(sample_rate: u32, seconds: f32) -> Vec<f32> {
        let frames = (sample_rate as f32 * seconds) as usize;
        let mut noise = 0x2545_f491_4f6c_dd1du64;
        let mut out = Vec::with_capacity(frames * 2);
        for n in 0..frames {
            let t = n as f32 / sample_rate as f32;
            let chord = (t / 0.7) as u32;
            let root = 110.0 * 2f32.powf((chord * 5 % 12) as f32 / 12.0);
            let tone: f32 = [1.0, 1.26, 1.5].iter().map(|r| (std::f32::consts::TAU * root * r * t).sin()).sum();
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            let burst = (-(t % 0.5) * 30.0).exp() * ((noise >> 40) as f32 / (1u64 << 23) as f32 - 1.0);
            let (l, r) = (0.2 * tone + 0.3 * burst, 0.2 * tone - 0.1 * burst);
            out.extend([l, r]);
        }
        out
    }

    fn continuous_print(interleaved: &[f32], sample_rate: u32) -> Vec<u32> {
        let mut printer = Fingerprinter::new(&Configuration::preset_test2());
        printer.start(sample_rate, 2).expect("starts");
        printer.consume(&interleaved.iter().map(|&s| f32_to_i16(s)).collect::<Vec<_>>());
        printer.finish();
        printer.fingerprint().to_vec()
    }

    #[test]
    fn the_spliced_whole_track_print_is_the_print_of_one_printer_from_the_start() {
        // Common rates, one whose ratio to 11 025 Hz is not a power of two, and an odd one whose
        // grid puts the splice further back.
        for rate in [44_100, 48_000, 22_050, 32_000, 44_056] {
            let splice = Splice::for_rate(rate).expect("a splice point");
            let audio = music(rate, 131.0);
            let mut builder = FingerprintBuilder::new(rate, 2);
            // Blocks of an odd size, so the splice falls inside one.
            for block in audio.chunks(2 * 4099) {
                builder.push(block);
            }
            let print = builder.finish().expect("a print");
            let whole = continuous_print(&audio, rate);
            assert_eq!(print.track.len(), whole.len(), "{rate} Hz");
            let first_difference = print.track.iter().zip(&whole).position(|(a, b)| a != b);
            assert_eq!(first_difference, None, "{rate} Hz");
            let first_120 = continuous_print(&audio[..2 * rate as usize * 120], rate);
            assert!(print.raw == first_120, "{rate} Hz: the 120 s print changed");
            let at = splice.frame as f64 / f64::from(rate);
            assert!((100.0..=110.0).contains(&at), "{rate} Hz: splice at {at} s");
        }
    }

    #[test]
    fn a_track_within_the_first_120_seconds_has_one_print_for_both() {
        let audio = music(44_100, 115.0);
        let mut builder = FingerprintBuilder::new(44_100, 2);
        for block in audio.chunks(2 * 8192) {
            builder.push(block);
        }
        let print = builder.finish().expect("a print");
        assert!(print.track == print.raw);
        assert!(print.raw == continuous_print(&audio, 44_100));
    }

    #[test]
    fn agreement_counts_bits() {
        assert_eq!(bit_agreement(&[0, 0], &[0, 0]), 1.0);
        assert_eq!(bit_agreement(&[u32::MAX], &[0]), 0.0);
    }
}
