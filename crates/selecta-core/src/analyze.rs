//! The per-track analysis pipeline: bytes in, [`SongFeatures`] out. One decoding pass feeds the
//! PCM hash (`songId`), the loudness meter, the fingerprint and a mono downmix; the downmix is
//! resampled once for the spectral features. Pure computation: no files, clocks or threads.

use crate::audio::{self, DecodeLimits};
use crate::embed::{EmbedError, Embedder, SamplingProfile, TrackEmbedding};
use crate::error::AnalysisError;
use crate::features::{self, FingerprintBuilder, LoudnessMeter, TempoRange};
use crate::hash::{PcmHasher, sha256_hex};
use crate::record::SongFeatures;

/// Version of the feature extractors. Stored with each track; a track analysed by an older
/// version is analysed again.
pub const ANALYSIS_VERSION: u32 = 2;

/// Options of [`analyze_bytes`].
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeOptions {
    /// Input limits.
    pub limits: DecodeLimits,
    /// BPM search range.
    pub tempo_range: TempoRange,
    /// The spectral features look at no more than this many seconds (very long files such as DJ
    /// mixes); hashes, duration and loudness always cover the whole file.
    pub max_spectral_seconds: f64,
    /// Which windows the embedding looks at.
    pub profile: SamplingProfile,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            limits: DecodeLimits::default(),
            tempo_range: TempoRange::default(),
            max_spectral_seconds: 900.0,
            profile: SamplingProfile::default(),
        }
    }
}

/// Result of [`analyze_bytes`]: the features, and why the embedding is missing if it is.
#[derive(Debug)]
pub struct Analysis {
    /// Every feature that could be computed.
    pub features: SongFeatures,
    /// Set when an embedder was given but inference failed (the other features are still there).
    pub embedding_error: Option<EmbedError>,
}

struct StreamState {
    rate: u32,
    channels: usize,
    pcm: PcmHasher,
    loudness: LoudnessMeter,
    fingerprint: FingerprintBuilder,
    mono: Vec<f32>,
    mono_cap: usize,
}

/// Analyse one audio file given as bytes. `file_name` is a format hint only. Without an
/// embedder (model unavailable) every other feature is still computed.
pub fn analyze_bytes(
    bytes: Vec<u8>,
    file_name: Option<&str>,
    options: &AnalyzeOptions,
    embedder: Option<&Embedder>,
) -> Result<Analysis, AnalysisError> {
    let file_hash = sha256_hex(&bytes);
    let file_size = bytes.len() as u64;
    let mut state: Option<StreamState> = None;
    let summary = audio::decode(bytes, file_name, &options.limits, |block, info| {
        let s = state.get_or_insert_with(|| StreamState {
            rate: info.sample_rate,
            channels: usize::from(info.channels.max(1)),
            pcm: PcmHasher::default(),
            loudness: LoudnessMeter::new(info.sample_rate, info.channels),
            fingerprint: FingerprintBuilder::new(info.sample_rate, info.channels),
            mono: Vec::new(),
            mono_cap: (f64::from(info.sample_rate) * options.max_spectral_seconds) as usize,
        });
        s.pcm.update(block);
        s.loudness.push(block);
        s.fingerprint.push(block);
        if s.mono.len() < s.mono_cap {
            let inv = 1.0 / s.channels as f32;
            s.mono.extend(block.chunks_exact(s.channels).map(|f| f.iter().sum::<f32>() * inv));
            s.mono.truncate(s.mono_cap);
        }
    })?;
    let state = state.ok_or_else(|| AnalysisError::Corrupt("no audio could be decoded".into()))?;
    let duration_sec = summary.duration_sec();
    let analysis = resample_for_spectral(&state.mono, state.rate)?;
    let (envelope, fps) = features::tempo::onset_envelope(&analysis);
    let tempo = features::tempo::estimate_tempo(&envelope, fps, options.tempo_range);
    let hpcp = features::key::hpcp(&analysis);
    let key = hpcp.as_ref().map(features::key::estimate_key);
    let fingerprint = state.fingerprint.finish();
    let rms_window = (state.rate / 20).max(1) as usize;
    let timbre = features::timbre::timbre_stats(&analysis, features::tempo::ONSET_SAMPLE_RATE);
    let (embedding, embedding_error) = match embedder {
        Some(e) => match embed_mono(e, &state.mono, state.rate, options.profile) {
            Ok(v) => (v, None),
            Err(err) => (None, Some(err)),
        },
        None => (None, None),
    };
    let features = SongFeatures {
        song_id: state.pcm.finish(),
        file_hash,
        analysis_version: ANALYSIS_VERSION,
        duration_sec,
        sample_rate: state.rate,
        channels: summary.info.channels,
        bitrate_kbps: if duration_sec > 0.0 { file_size as f64 * 8.0 / duration_sec / 1000.0 } else { 0.0 },
        bpm: tempo.map(|t| t.bpm),
        bpm_confidence: tempo.map(|t| t.confidence),
        key: key.map(|k| k.key),
        key_strength: key.map(|k| k.strength),
        rms_mean: features::rms_mean(&state.mono, rms_window),
        loudness_lufs: state.loudness.finish(),
        hpcp: hpcp.map(|h| h.to_vec()),
        chromaprint: fingerprint,
        metadata: summary.tags,
        timbre,
        embedding,
    };
    Ok(Analysis { features, embedding_error })
}

/// Embed a mono signal at `rate`: resample to the model's rate, then run the profile.
fn embed_mono(
    embedder: &Embedder,
    mono: &[f32],
    rate: u32,
    profile: SamplingProfile,
) -> Result<Option<TrackEmbedding>, EmbedError> {
    let model_rate = embedder.manifest().front_end.sample_rate;
    let audio = audio::resample_mono(mono, rate, model_rate).map_err(|e| EmbedError::Inference(e.to_string()))?;
    embedder.embed(&audio, profile)
}

/// Decode to a mono signal (capped at `max_spectral_seconds`) with its `songId` and rate.
pub fn decode_mono(
    bytes: Vec<u8>,
    file_name: Option<&str>,
    options: &AnalyzeOptions,
) -> Result<(String, Vec<f32>, u32), AnalysisError> {
    let mut pcm = PcmHasher::default();
    let mut mono = Vec::new();
    let mut rate = 0;
    let cap_seconds = options.max_spectral_seconds;
    audio::decode(bytes, file_name, &options.limits, |block, info| {
        rate = info.sample_rate;
        let channels = usize::from(info.channels.max(1));
        pcm.update(block);
        if (mono.len() as f64) < f64::from(rate) * cap_seconds {
            let inv = 1.0 / channels as f32;
            mono.extend(block.chunks_exact(channels).map(|f| f.iter().sum::<f32>() * inv));
        }
    })?;
    Ok((pcm.finish(), mono, rate))
}

/// Decode and embed only (a new model version or profile for a track whose other features are
/// current). Returns the `songId` with the embedding.
pub fn embed_bytes(
    bytes: Vec<u8>,
    file_name: Option<&str>,
    options: &AnalyzeOptions,
    embedder: &Embedder,
) -> Result<(String, Option<TrackEmbedding>), AnalysisError> {
    let (song_id, mono, rate) = decode_mono(bytes, file_name, options)?;
    let embedding =
        embed_mono(embedder, &mono, rate, options.profile).map_err(|e| AnalysisError::Feature(e.to_string()))?;
    Ok((song_id, embedding))
}

/// The mono signal at the rate the spectral features use.
fn resample_for_spectral(mono: &[f32], rate: u32) -> Result<Vec<f32>, AnalysisError> {
    debug_assert_eq!(features::tempo::ONSET_SAMPLE_RATE, features::key::CHROMA_SAMPLE_RATE);
    audio::resample_mono(mono, rate, features::tempo::ONSET_SAMPLE_RATE)
}

/// Decode only, discarding the samples: the baseline of the speed benchmark.
pub fn decode_only(bytes: Vec<u8>, file_name: Option<&str>, limits: &DecodeLimits) -> Result<f64, AnalysisError> {
    audio::decode(bytes, file_name, limits, |_, _| {}).map(|s| s.duration_sec())
}
