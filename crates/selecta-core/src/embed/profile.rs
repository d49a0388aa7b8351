//! Sampling profiles: which parts of a track the embedding looks at.
//!
//! - `full`: the whole track, patches with 50 % overlap (accuracy first).
//! - `club_hifi_150s`: a 150-second budget for large libraries — a 90 s main window from the first strong onset after 10 s,
//!   plus two 30 s tails in the last 30 % of the track at its two most novel, distinct points.
//!   Tracks of 150 s or less are taken whole.
//! - `fast`: 30 s around 40 % of the track.
//!
//! Everything is derived from the audio, so the windows are deterministic per track.

use serde::{Deserialize, Serialize};

/// A span of the track, in samples at the model's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
}

/// Which windows of a track are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SamplingProfile {
    /// Whole track.
    #[default]
    Full,
    /// Seed 004's 150-second budget.
    #[serde(rename = "club_hifi_150s")]
    ClubHifi150s,
    /// One 30-second window.
    Fast,
}

impl SamplingProfile {
    /// Every profile, most accurate first.
    pub const ALL: [SamplingProfile; 3] = [SamplingProfile::Full, SamplingProfile::ClubHifi150s, SamplingProfile::Fast];

    /// Name used in the CLI, the API and the store.
    pub fn name(&self) -> &'static str {
        match self {
            SamplingProfile::Full => "full",
            SamplingProfile::ClubHifi150s => "club_hifi_150s",
            SamplingProfile::Fast => "fast",
        }
    }

    /// Parse a name given by [`SamplingProfile::name`].
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "full" => Some(SamplingProfile::Full),
            "club_hifi_150s" => Some(SamplingProfile::ClubHifi150s),
            "fast" => Some(SamplingProfile::Fast),
            _ => None,
        }
    }

    /// The regions of `audio` (mono at `rate`) to embed. Never empty for non-empty audio.
    pub fn regions(&self, audio: &[f32], rate: u32, patch_samples: usize) -> Vec<Region> {
        let len = audio.len();
        let sec = rate as usize;
        let whole = vec![Region { start: 0, end: len }];
        match self {
            SamplingProfile::Full => whole,
            SamplingProfile::Fast => {
                let span = (30 * sec).max(patch_samples);
                if len <= span {
                    return whole;
                }
                let start = (len * 2 / 5).saturating_sub(span / 2).min(len - span);
                vec![Region { start, end: start + span }]
            }
            SamplingProfile::ClubHifi150s => club_hifi(audio, rate),
        }
    }
}

/// Log energy (dB) of consecutive 100 ms frames.
fn energy_db(audio: &[f32], frame: usize) -> Vec<f32> {
    audio.chunks(frame.max(1)).map(|c| 10.0 * (super::rms(c).powi(2) + 1e-10).log10()).collect()
}

fn club_hifi(audio: &[f32], rate: u32) -> Vec<Region> {
    let len = audio.len();
    let sec = rate as usize;
    if len <= 150 * sec {
        return vec![Region { start: 0, end: len }];
    }
    let frame = sec / 10;
    let e = energy_db(audio, frame);
    let fps = 10usize;
    // Main window: the first strong onset (a rise in the top 10 % of rises) after 10 s.
    let mut rises: Vec<f32> = e.windows(2).map(|w| w[1] - w[0]).collect();
    let mut sorted = rises.clone();
    sorted.sort_by(f32::total_cmp);
    let threshold = sorted.get(sorted.len() * 9 / 10).copied().unwrap_or(0.0).max(1.0);
    let onset_frame =
        rises.iter_mut().enumerate().skip(10 * fps).find(|(_, r)| **r >= threshold).map_or(10 * fps, |(i, _)| i + 1);
    let main_len = 90 * sec;
    let main_start = (onset_frame * frame).min(len - main_len);
    let mut regions = vec![Region { start: main_start, end: main_start + main_len }];
    // Tails: the two most novel, distinct 30 s windows starting in the last 30 %.
    let tail_len = 30 * sec;
    let half = 5 * fps;
    let novelty = |t: usize| -> f32 {
        let before = &e[t.saturating_sub(half)..t];
        let after = &e[t..(t + half).min(e.len())];
        if before.is_empty() || after.is_empty() {
            return 0.0;
        }
        let mean = |x: &[f32]| x.iter().sum::<f32>() / x.len() as f32;
        (mean(after) - mean(before)).abs()
    };
    let first = len * 7 / 10 / frame;
    let last = (len - tail_len) / frame;
    let mut candidates: Vec<(usize, f32)> = (first..=last.max(first)).step_by(fps).map(|t| (t, novelty(t))).collect();
    // Most novel first; ties go to the earlier point, so the choice is deterministic.
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut tails: Vec<usize> = Vec::new();
    for (t, _) in candidates {
        let start = (t * frame).min(len - tail_len);
        if tails.iter().all(|&s| s.abs_diff(start) >= tail_len) {
            tails.push(start);
        }
        if tails.len() == 2 {
            break;
        }
    }
    tails.sort_unstable();
    regions.extend(tails.into_iter().map(|s| Region { start: s, end: s + tail_len }));
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise_track(seconds: usize, rate: u32) -> Vec<f32> {
        let mut x: u32 = 1;
        (0..seconds * rate as usize)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Quiet intro, louder sections every 20 s.
                let gain =
                    if i < 12 * rate as usize { 0.01 } else { 0.1 + 0.1 * ((i / (20 * rate as usize)) % 2) as f32 };
                gain * ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
            })
            .collect()
    }

    #[test]
    fn club_profile_has_a_main_window_and_two_distinct_tails() {
        let rate = 1000;
        let audio = noise_track(300, rate);
        let regions = SamplingProfile::ClubHifi150s.regions(&audio, rate, 3000);
        assert_eq!(regions.len(), 3, "{regions:?}");
        let main = regions[0];
        assert_eq!(main.end - main.start, 90_000);
        assert!(main.start >= 10_000, "{main:?}");
        for tail in &regions[1..] {
            assert_eq!(tail.end - tail.start, 30_000);
            assert!(tail.start >= 300_000 * 7 / 10 - 100);
            assert!(tail.end <= 300_000);
        }
        assert!(regions[2].start - regions[1].start >= 30_000);
        // Deterministic.
        assert_eq!(regions, SamplingProfile::ClubHifi150s.regions(&audio, rate, 3000));
        let total: usize = regions.iter().map(|r| r.end - r.start).sum();
        assert_eq!(total, 150_000);
    }

    #[test]
    fn short_tracks_are_taken_whole() {
        let audio = vec![0.1f32; 100 * 1000];
        assert_eq!(SamplingProfile::ClubHifi150s.regions(&audio, 1000, 3000), vec![Region { start: 0, end: 100_000 }]);
        let fast = SamplingProfile::Fast.regions(&audio, 1000, 3000);
        assert_eq!(fast[0].end - fast[0].start, 30_000);
    }

    #[test]
    fn names_round_trip() {
        for p in [SamplingProfile::Full, SamplingProfile::ClubHifi150s, SamplingProfile::Fast] {
            assert_eq!(SamplingProfile::parse(p.name()), Some(p));
        }
    }
}
