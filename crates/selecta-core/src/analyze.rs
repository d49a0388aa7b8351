//! The per-track analysis pipeline: bytes in, [`SongFeatures`] out, in bounded steps
//! ([`AnalysisJob`]) so that bindings can report progress and stop a file part-way. One
//! decoding pass feeds the `songId`, the loudness meter and a mono downmix; the downmix is
//! resampled as it arrives into the analysis signal, which the fingerprint reads on the way
//! ([`features::analysis_signal`]), and into the model's signal, so the downmix itself is never
//! kept at the decoded rate. Pure computation: no files, clocks or threads.

use crate::audio::{self, Damage, DecodeLimits, DecodeSummary, Decoder, StreamInfo, Tags};
use crate::embed::{EmbedError, EmbedJob, Embedder, Region, SamplingProfile, TrackEmbedding};
use crate::error::AnalysisError;
use crate::features::{
    self, ANALYSIS_SAMPLE_RATE, AnalysisSignal, AnalysisSignalBuilder, CappedResample, LoudnessMeter, RmsMeter,
    TempoRange,
};
use crate::hash::sha256_hex;
use crate::record::SongFeatures;

/// Version of the feature extractors. Stored with each track; a track analysed by an older
/// version is analysed again.
pub const ANALYSIS_VERSION: u32 = 6;

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

/// Stage of an [`AnalysisJob`] (`decode`, `features`, `embed`).
pub use crate::control::Phase as AnalysisPhase;
/// `progress {phase, percent}` of one file; `percent` (0–100) covers the whole file.
pub use crate::control::Progress as AnalysisProgress;

/// What a job computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Every feature (and the embedding when an embedder is given).
    Everything,
    /// The `songId` and the embedding only (the other features are current).
    EmbeddingOnly,
}

/// What a finished [`AnalysisJob`] produced.
#[derive(Debug)]
#[non_exhaustive]
pub enum JobOutput {
    /// [`Want::Everything`].
    Analysis(Box<Analysis>),
    /// [`Want::EmbeddingOnly`].
    Embedding {
        /// The track's `songId`.
        song_id: String,
        /// `None` when the track is silent.
        embedding: Option<TrackEmbedding>,
    },
    /// The audio is that of the song named by [`AnalysisJob::reusing_features_of`]: the file
    /// was decoded and its tags read, and neither the spectral features nor the embedding were
    /// computed.
    SameAudio(Box<SameAudio>),
}

/// A stored song whose audio a file probably holds (a file at its path whose bytes changed),
/// with what the decoded audio is checked against besides the `songId`: the id hashes the
/// samples (or, for lossy codecs, the packets), not the sample rate a header declares nor the
/// gain an Opus header applies, and either changes every feature.
#[derive(Debug, Clone, PartialEq)]
pub struct ReusableSong {
    /// Its `songId`.
    pub song_id: String,
    /// Its stored sample rate.
    pub sample_rate: u32,
    /// Its stored channel count.
    pub channels: u16,
    /// Its stored duration.
    pub duration_sec: f64,
    /// Its stored integrated loudness.
    pub loudness_lufs: Option<f64>,
}

impl ReusableSong {
    /// The song's hint as stored.
    pub fn of(features: &SongFeatures) -> Self {
        Self {
            song_id: features.song_id.clone(),
            sample_rate: features.sample_rate,
            channels: features.channels,
            duration_sec: features.duration_sec,
            loudness_lufs: features.loudness_lufs,
        }
    }

    /// Whether decoding gave this song's audio. The same audio gives the same values exactly;
    /// the tolerances only keep a stored rounding from mattering.
    fn matches(&self, summary: &DecodeSummary, loudness_lufs: Option<f64>) -> bool {
        let close = |a: f64, b: f64, tolerance: f64| (a - b).abs() <= tolerance;
        self.song_id == summary.song_id
            && self.sample_rate == summary.info.sample_rate
            && self.channels == summary.info.channels
            && close(self.duration_sec, summary.duration_sec(), 1e-6)
            && match (self.loudness_lufs, loudness_lufs) {
                (Some(a), Some(b)) => close(a, b, 0.01),
                (a, b) => a.is_none() && b.is_none(),
            }
    }
}

/// What a file adds to audio whose features are known: [`JobOutput::SameAudio`].
#[derive(Debug, Clone, PartialEq)]
pub struct SameAudio {
    /// The track's `songId`.
    pub song_id: String,
    /// The file's tags.
    pub metadata: Tags,
    /// What decoding skipped, when the data is damaged.
    pub damage: Option<Damage>,
    /// The file's size in bytes (its bitrate follows from it).
    pub file_size: u64,
}

/// A file's average bitrate: all its bytes (tags and cover art included) over its duration.
pub(crate) fn bitrate_kbps(file_size: u64, duration_sec: f64) -> f64 {
    if duration_sec > 0.0 { file_size as f64 * 8.0 / duration_sec / 1000.0 } else { 0.0 }
}

/// Audio decoded per step: bounded work, so a caller can report progress and stop often.
const STEP_SECONDS: f64 = 8.0;

struct StreamState {
    rate: u32,
    channels: usize,
    /// Loudness, and the analysis signal with its fingerprint; `None` when only the embedding
    /// is wanted.
    meters: Option<(LoudnessMeter, AnalysisSignalBuilder)>,
    /// What reads the downmix up to the spectral cap.
    capped: CappedReaders,
    /// Frames of the downmix read up to the spectral cap: [`AnalyzeOptions::max_spectral_seconds`].
    mono_cap: usize,
    /// Frames downmixed so far.
    frames: usize,
    /// The current block's downmix.
    scratch: Vec<f32>,
    /// Stereo only: the first seconds, interleaved, until the downmix is chosen.
    opening: Vec<f32>,
    /// Stereo only: `Some(true)` when the channels are in opposite polarity (a phase-inverted
    /// master), so the downmix takes their difference; `None` until decided.
    inverted: Option<bool>,
}

/// What reads the downmix up to the spectral cap.
struct CappedReaders {
    rms: RmsMeter,
    /// The downmix at the model's rate, when there is a model.
    model: Option<CappedResample>,
    /// An embedding-only job: the downmix at the analysis rate, which finds the intro and outro.
    sections: Option<CappedResample>,
    /// [`decode_mono`]: the downmix at the decoded rate.
    mono: Option<Vec<f32>>,
}

impl CappedReaders {
    fn push(&mut self, mono: &[f32]) {
        self.rms.push(mono);
        for signal in [&mut self.model, &mut self.sections].into_iter().flatten() {
            signal.push(mono);
        }
        if let Some(kept) = &mut self.mono {
            kept.extend_from_slice(mono);
        }
    }
}

/// Who reads a stream's downmix besides the features: the model (at its rate), and
/// [`decode_mono`]'s caller (at the decoded rate).
#[derive(Debug, Clone, Copy)]
struct Readers {
    model_rate: Option<u32>,
    keep_mono: bool,
}

/// Seconds of stereo audio that decide the downmix.
const POLARITY_SECONDS: f64 = 10.0;

/// A stereo frame whose sum keeps under this share of the channels' energy cancels itself: a
/// phase-inverted master sounds full in stereo but is near-silent when the channels are added,
/// which would leave every mono feature (RMS, tempo, key, embedding) measuring nothing.
const CANCELLED_SHARE: f64 = 0.01;

/// Whether interleaved stereo samples cancel when the channels are added.
fn cancels(stereo: &[f32]) -> bool {
    let (mut sum, mut channels) = (0.0f64, 0.0f64);
    for f in stereo.chunks_exact(2) {
        let (l, r) = (f64::from(f[0]), f64::from(f[1]));
        sum += (l + r) * (l + r) / 4.0;
        channels += (l * l + r * r) / 2.0;
    }
    channels > 1e-9 * (stereo.len() as f64) && sum < CANCELLED_SHARE * channels
}

impl StreamState {
    /// `announced_frames`: the length the container announces, if any; the signals are sized
    /// for it at once (within the spectral cap) rather than grown and copied as the audio arrives.
    fn new(
        info: &StreamInfo,
        options: &AnalyzeOptions,
        want: Want,
        announced_frames: Option<u64>,
        readers: Readers,
    ) -> Self {
        let rate = info.sample_rate;
        let mono_cap = (f64::from(rate) * options.max_spectral_seconds) as usize;
        let announced = announced_frames.and_then(|f| usize::try_from(f).ok());
        let capped_resample = |to| CappedResample::new(rate, to, mono_cap, announced);
        Self {
            rate,
            channels: usize::from(info.channels.max(1)),
            meters: (want == Want::Everything).then(|| {
                (LoudnessMeter::new(rate, info.channels), AnalysisSignalBuilder::new(rate, mono_cap, announced))
            }),
            capped: CappedReaders {
                rms: RmsMeter::new((rate / 20).max(1) as usize),
                model: readers.model_rate.map(capped_resample),
                sections: (want == Want::EmbeddingOnly && readers.model_rate.is_some())
                    .then(|| capped_resample(ANALYSIS_SAMPLE_RATE)),
                mono: readers.keep_mono.then(|| Vec::with_capacity(announced.unwrap_or(0).min(mono_cap))),
            },
            mono_cap,
            frames: 0,
            scratch: Vec::new(),
            opening: Vec::new(),
            inverted: (info.channels != 2).then_some(false),
        }
    }

    fn push(&mut self, block: &[f32]) {
        if let Some((loudness, _)) = &mut self.meters {
            loudness.push(block);
        }
        if self.inverted.is_none() {
            self.opening.extend_from_slice(block);
            if (self.opening.len() / 2) as f64 >= POLARITY_SECONDS * f64::from(self.rate) {
                self.decide_polarity();
            }
            return;
        }
        self.downmix(block);
    }

    /// Choose the downmix from the opening seconds and pass them through it.
    fn decide_polarity(&mut self) {
        let inverted = cancels(&self.opening);
        if inverted {
            tracing::info!("the channels are in opposite polarity: analysing their difference");
            if let Some((_, signal)) = &mut self.meters {
                signal.print_apart(self.rate);
            }
        }
        self.inverted = Some(inverted);
        let opening = std::mem::take(&mut self.opening);
        self.downmix(&opening);
    }

    fn downmix(&mut self, block: &[f32]) {
        let inverted = self.inverted == Some(true);
        let room = self.mono_cap.saturating_sub(self.frames);
        // Past the cap only the analysis signal still reads the downmix (the whole track's
        // fingerprint).
        let block = match &self.meters {
            Some(_) => block,
            None => &block[..(room * self.channels).min(block.len())],
        };
        if block.is_empty() {
            return;
        }
        self.scratch.clear();
        downmix_into(&mut self.scratch, block, self.channels, inverted);
        if let Some((_, signal)) = &mut self.meters {
            signal.push(&self.scratch);
        }
        self.capped.push(&self.scratch[..self.scratch.len().min(room)]);
        self.frames += self.scratch.len();
        if inverted && let Some((_, signal)) = &mut self.meters {
            self.scratch.clear();
            downmix_into(&mut self.scratch, block, self.channels, false);
            signal.push_print(&self.scratch);
        }
    }

    /// The stream ended: a track shorter than the opening is decided on what there is.
    fn finish(&mut self) {
        if self.inverted.is_none() {
            self.decide_polarity();
        }
    }
}

/// Append the mono downmix of interleaved `block`: the mean of the channels, or for inverted
/// stereo half their difference.
fn downmix_into(mono: &mut Vec<f32>, block: &[f32], channels: usize, inverted: bool) {
    if inverted {
        mono.extend(block.chunks_exact(2).map(|f| (f[0] - f[1]) * 0.5));
    } else if channels == 2 {
        // The common case on its own: a fixed-size frame lets the loop vectorise.
        mono.extend(block.chunks_exact(2).map(|f| (f[0] + f[1]) * 0.5));
    } else {
        let inv = 1.0 / channels as f32;
        mono.extend(block.chunks_exact(channels).map(|f| f.iter().sum::<f32>() * inv));
    }
}

enum Stage<'e> {
    Decode {
        decoder: Box<Decoder>,
        stream: Option<StreamState>,
    },
    Features {
        summary: Box<DecodeSummary>,
        stream: StreamState,
    },
    /// `audio`: the downmix at the model's rate.
    EmbedStart {
        done: Done,
        audio: Result<Vec<f32>, AnalysisError>,
        sections: Sections,
    },
    Embed {
        done: Done,
        job: EmbedJob<'e>,
    },
    Finished,
}

/// The intro and outro spans (seconds) the model also runs on, when the track has them.
type Sections = [Option<(f32, f32)>; 2];

/// The stretch of an intro and of an outro the model embeds: the first (intro) or last (outro)
/// [`SECTION_EMBED_SECONDS`] of it, the part that plays while the other track is still in.
fn sections_of(dj: Option<&features::DjFeatures>) -> Sections {
    let Some(dj) = dj else { return [None, None] };
    [
        dj.intro.map(|s| (s.start_sec, s.end_sec.min(s.start_sec + SECTION_EMBED_SECONDS))),
        dj.outro.map(|s| (s.start_sec.max(s.end_sec - SECTION_EMBED_SECONDS), s.end_sec)),
    ]
}

/// How much of an intro or outro the model embeds.
pub const SECTION_EMBED_SECONDS: f32 = 15.0;

/// What is known once the features stage is over.
struct Done {
    song_id: String,
    /// `None` for [`Want::EmbeddingOnly`].
    features: Option<Box<SongFeatures>>,
}

/// One file's analysis in bounded steps ([`analyze_bytes`] runs it to the end): each
/// [`AnalysisJob::step`] decodes [`STEP_SECONDS`] of audio, or computes the spectral features,
/// or prepares the model input, or runs one embedding patch. Between steps the caller reports
/// [`AnalysisJob::progress`], lets its event loop run (wasm) or checks a cancel flag; dropping
/// the job stops it, and nothing has been written anywhere.
pub struct AnalysisJob<'e> {
    options: AnalyzeOptions,
    embedder: Option<&'e Embedder>,
    want: Want,
    file_hash: String,
    file_size: u64,
    stage: Stage<'e>,
    embedding_error: Option<EmbedError>,
    progress: AnalysisProgress,
    /// A song with current features whose audio this file probably holds.
    reusable_song: Option<ReusableSong>,
}

impl std::fmt::Debug for AnalysisJob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisJob").field("want", &self.want).field("progress", &self.progress).finish()
    }
}

impl<'e> AnalysisJob<'e> {
    /// Hash the bytes and recognise the format. `file_name` is a format hint only. Without an
    /// embedder (model unavailable) every other feature is still computed.
    pub fn new(
        bytes: Vec<u8>,
        file_name: Option<&str>,
        options: &AnalyzeOptions,
        embedder: Option<&'e Embedder>,
        want: Want,
    ) -> Result<Self, AnalysisError> {
        let file_hash = sha256_hex(&bytes);
        Self::with_file_hash(bytes, file_hash, file_name, options, embedder, want)
    }

    /// [`AnalysisJob::new`] when the caller already hashed the bytes.
    pub(crate) fn with_file_hash(
        bytes: Vec<u8>,
        file_hash: String,
        file_name: Option<&str>,
        options: &AnalyzeOptions,
        embedder: Option<&'e Embedder>,
        want: Want,
    ) -> Result<Self, AnalysisError> {
        let file_size = bytes.len() as u64;
        let decoder = Decoder::open(bytes, file_name, &options.limits)?;
        Ok(Self {
            options: *options,
            embedder,
            want,
            file_hash,
            file_size,
            stage: Stage::Decode { decoder: Box::new(decoder), stream: None },
            embedding_error: None,
            progress: AnalysisProgress { phase: AnalysisPhase::Decode, percent: 0 },
            reusable_song: None,
        })
    }

    /// When the decoded audio turns out to be that of `song`, whose features (and wanted
    /// embedding) are current, stop after decoding with [`JobOutput::SameAudio`]: a tag edit
    /// changes a file's bytes but not its audio, and the features computed from the same audio
    /// by the same analysis would be the same. Other audio is analysed as usual, with the
    /// stream already decoded.
    pub fn reusing_features_of(mut self, song: ReusableSong) -> Self {
        self.reusable_song = Some(song);
        self
    }

    /// Where the job stands.
    pub fn progress(&self) -> AnalysisProgress {
        self.progress
    }

    fn set_progress(&mut self, phase: AnalysisPhase, done: u64, total: u64) {
        // Share of the file's time at the start of decoding, features, embedding and the end
        // (measured: with the model, inference takes most of it).
        let milestones: [f64; 4] = match (self.embedder.is_some(), self.want) {
            (true, Want::Everything) => [0.0, 15.0, 25.0, 100.0],
            (true, Want::EmbeddingOnly) => [0.0, 10.0, 10.0, 100.0],
            (false, _) => [0.0, 60.0, 100.0, 100.0],
        };
        let (from, to) = match phase {
            AnalysisPhase::Decode => (milestones[0], milestones[1]),
            AnalysisPhase::Features => (milestones[1], milestones[2]),
            // The training phases never occur in an analysis; they would count as its end.
            AnalysisPhase::Embed | AnalysisPhase::Prepare | AnalysisPhase::Train | AnalysisPhase::Save => {
                (milestones[2], milestones[3])
            }
        };
        let share = if total == 0 { 0.0 } else { (done as f64 / total as f64).min(1.0) };
        self.progress = AnalysisProgress { phase, percent: (from + share * (to - from)).round() as u8 };
    }

    /// Do one bounded piece of work; the output once the last piece is done.
    pub fn step(&mut self) -> Result<Option<JobOutput>, AnalysisError> {
        match std::mem::replace(&mut self.stage, Stage::Finished) {
            Stage::Decode { decoder, stream } => self.decode_step(decoder, stream),
            Stage::Features { summary, stream } => self.features_step(*summary, stream),
            Stage::EmbedStart { done, audio, sections } => self.embed_start_step(done, audio, sections),
            Stage::Embed { done, job } => self.embed_step(done, job),
            Stage::Finished => Err(AnalysisError::Feature("the analysis already finished".into())),
        }
    }

    fn decode_step(
        &mut self,
        mut decoder: Box<Decoder>,
        mut stream: Option<StreamState>,
    ) -> Result<Option<JobOutput>, AnalysisError> {
        let (first_frame, announced) = (decoder.frames(), decoder.announced_frames());
        let readers =
            Readers { model_rate: self.embedder.map(|e| e.manifest().front_end.sample_rate), keep_mono: false };
        while let Some((block, info)) = decoder.next_block()? {
            let s = stream.get_or_insert_with(|| StreamState::new(info, &self.options, self.want, announced, readers));
            s.push(block);
            if (decoder.frames() - first_frame) as f64 >= f64::from(s.rate) * STEP_SECONDS {
                self.set_progress(AnalysisPhase::Decode, decoder.frames(), decoder.announced_frames().unwrap_or(0));
                self.stage = Stage::Decode { decoder, stream };
                return Ok(None);
            }
        }
        let summary = decoder.finish()?;
        let loudness = stream.as_ref().and_then(|s| s.meters.as_ref()).and_then(|(meter, _)| meter.finish());
        if self.want == Want::Everything
            && self.reusable_song.take().is_some_and(|song| song.matches(&summary, loudness))
        {
            self.progress = AnalysisProgress { phase: AnalysisPhase::Decode, percent: 100 };
            return Ok(Some(JobOutput::SameAudio(Box::new(SameAudio {
                song_id: summary.song_id,
                metadata: summary.tags,
                damage: summary.damage,
                file_size: self.file_size,
            }))));
        }
        let mut stream = stream.ok_or_else(|| AnalysisError::Corrupt("no audio could be decoded".into()))?;
        stream.finish();
        self.set_progress(AnalysisPhase::Features, 0, 1);
        self.stage = Stage::Features { summary: Box::new(summary), stream };
        Ok(None)
    }

    fn features_step(
        &mut self,
        summary: DecodeSummary,
        mut stream: StreamState,
    ) -> Result<Option<JobOutput>, AnalysisError> {
        let rms_mean = stream.capped.rms.clone().finish();
        let features = match (self.want, stream.meters) {
            (Want::Everything, Some((loudness, signal))) => {
                let AnalysisSignal { signal: analysis, fingerprint } = signal.finish()?;
                let onsets = features::tempo::onsets(&analysis);
                let tempo = features::tempo::estimate_tempo(&onsets, self.options.tempo_range);
                let (envelope, fps) = (&onsets.full, onsets.fps);
                let hpcp = features::key::hpcp(&analysis);
                let key = hpcp.as_ref().map(features::key::estimate_key);
                let duration_sec = summary.duration_sec();
                let loudness_lufs = loudness.finish();
                let dj =
                    features::dj::dj_features(&analysis, envelope, fps, tempo.as_ref().map(|t| t.bpm), loudness_lufs);
                Some(Box::new(SongFeatures {
                    song_id: summary.song_id.clone(),
                    file_hash: self.file_hash.clone(),
                    analysis_version: ANALYSIS_VERSION,
                    duration_sec,
                    sample_rate: stream.rate,
                    channels: summary.info.channels,
                    bitrate_kbps: bitrate_kbps(self.file_size, duration_sec),
                    bpm: tempo.as_ref().map(|t| t.bpm),
                    bpm_confidence: tempo.as_ref().map(|t| t.confidence),
                    bpm_alternatives: tempo.map(|t| t.alternatives).unwrap_or_default(),
                    key: key.map(|k| k.key),
                    key_strength: key.map(|k| k.strength),
                    rms_mean,
                    loudness_lufs,
                    hpcp: hpcp.map(|h| h.to_vec()),
                    chromaprint: fingerprint,
                    metadata: summary.tags,
                    timbre: features::timbre::timbre_stats(&analysis, features::tempo::ONSET_SAMPLE_RATE),
                    embedding: None,
                    dj,
                    damage: summary.damage,
                }))
            }
            _ => None,
        };
        let done = Done { song_id: summary.song_id, features };
        if self.embedder.is_none() {
            return Ok(Some(self.output(done, None)));
        }
        let sections = match &done.features {
            Some(f) => sections_of(f.dj.as_ref()),
            // A new model for a track whose features are current: find its sections again
            // (the same computation, so the same spans) rather than trust a caller's copy.
            None => {
                let sections = stream.capped.sections.take();
                let analysis = sections
                    .ok_or_else(|| AnalysisError::Feature("the embedding job kept no analysis signal".into()))?
                    .finish()?;
                let onsets = features::tempo::onsets(&analysis);
                let tempo = features::tempo::estimate_tempo(&onsets, self.options.tempo_range);
                let (envelope, fps) = (&onsets.full, onsets.fps);
                // No loudness meter runs for an embedding-only job; the sections do not need it.
                sections_of(
                    features::dj::dj_features(&analysis, envelope, fps, tempo.as_ref().map(|t| t.bpm), None).as_ref(),
                )
            }
        };
        self.set_progress(AnalysisPhase::Features, 1, 1);
        let audio = stream
            .capped
            .model
            .take()
            .ok_or_else(|| AnalysisError::Feature("the job kept no signal for the model".into()))
            .and_then(CappedResample::finish);
        self.stage = Stage::EmbedStart { done, audio, sections };
        Ok(None)
    }

    fn embed_start_step(
        &mut self,
        done: Done,
        audio: Result<Vec<f32>, AnalysisError>,
        sections: Sections,
    ) -> Result<Option<JobOutput>, AnalysisError> {
        let Some(embedder) = self.embedder else { return Ok(Some(self.output(done, None))) };
        let model_rate = embedder.manifest().front_end.sample_rate;
        let to_region = |span: Option<(f32, f32)>| {
            span.map(|(a, b)| Region {
                start: (a.max(0.0) * model_rate as f32) as usize,
                end: (b.max(0.0) * model_rate as f32) as usize,
            })
        };
        let regions = [to_region(sections[0]), to_region(sections[1])];
        let started = audio
            .map_err(|e| EmbedError::Inference(e.to_string()))
            .and_then(|audio| embedder.start_with_sections(&audio, self.options.profile, regions));
        match started {
            Ok(job) => {
                self.set_progress(AnalysisPhase::Embed, 0, 1);
                self.stage = Stage::Embed { done, job };
                Ok(None)
            }
            Err(e) => self.embedding_failed(done, e),
        }
    }

    fn embed_step(&mut self, done: Done, mut job: EmbedJob<'e>) -> Result<Option<JobOutput>, AnalysisError> {
        match job.step() {
            Ok(true) => Ok(Some(self.output(done, job.finish()))),
            Ok(false) => {
                let (ran, total) = job.progress();
                self.set_progress(AnalysisPhase::Embed, ran as u64, total as u64);
                self.stage = Stage::Embed { done, job };
                Ok(None)
            }
            Err(e) => self.embedding_failed(done, e),
        }
    }

    /// Inference failed: the other features still count; an embedding-only job fails.
    fn embedding_failed(&mut self, done: Done, error: EmbedError) -> Result<Option<JobOutput>, AnalysisError> {
        if done.features.is_none() {
            return Err(AnalysisError::Feature(error.to_string()));
        }
        self.embedding_error = Some(error);
        Ok(Some(self.output(done, None)))
    }

    fn output(&mut self, done: Done, embedding: Option<TrackEmbedding>) -> JobOutput {
        self.progress = AnalysisProgress { phase: self.progress.phase, percent: 100 };
        match done.features {
            Some(mut features) => {
                features.embedding = embedding;
                JobOutput::Analysis(Box::new(Analysis {
                    features: *features,
                    embedding_error: self.embedding_error.take(),
                }))
            }
            None => JobOutput::Embedding { song_id: done.song_id, embedding },
        }
    }

    /// Run every remaining step.
    pub fn run(mut self) -> Result<JobOutput, AnalysisError> {
        loop {
            if let Some(output) = self.step()? {
                return Ok(output);
            }
        }
    }
}

/// Analyse one audio file given as bytes. `file_name` is a format hint only. Without an
/// embedder (model unavailable) every other feature is still computed.
pub fn analyze_bytes(
    bytes: Vec<u8>,
    file_name: Option<&str>,
    options: &AnalyzeOptions,
    embedder: Option<&Embedder>,
) -> Result<Analysis, AnalysisError> {
    match AnalysisJob::new(bytes, file_name, options, embedder, Want::Everything)?.run()? {
        JobOutput::Analysis(analysis) => Ok(*analysis),
        JobOutput::Embedding { .. } | JobOutput::SameAudio(_) => {
            Err(AnalysisError::Feature("the analysis produced no features".into()))
        }
    }
}

/// Decode to a mono signal (capped at `max_spectral_seconds`) with its `songId` and rate.
pub fn decode_mono(
    bytes: Vec<u8>,
    file_name: Option<&str>,
    options: &AnalyzeOptions,
) -> Result<(String, Vec<f32>, u32), AnalysisError> {
    let mut decoder = Decoder::open(bytes, file_name, &options.limits)?;
    let mut stream: Option<StreamState> = None;
    let announced = decoder.announced_frames();
    while let Some((block, info)) = decoder.next_block()? {
        let readers = Readers { model_rate: None, keep_mono: true };
        stream
            .get_or_insert_with(|| StreamState::new(info, options, Want::EmbeddingOnly, announced, readers))
            .push(block);
    }
    let summary = decoder.finish()?;
    let mut stream = stream.ok_or_else(|| AnalysisError::Corrupt("no audio could be decoded".into()))?;
    stream.finish();
    Ok((summary.song_id, stream.capped.mono.unwrap_or_default(), stream.rate))
}

/// Decode and embed only (a new model version or profile for a track whose other features are
/// current). Returns the `songId` with the embedding.
pub fn embed_bytes(
    bytes: Vec<u8>,
    file_name: Option<&str>,
    options: &AnalyzeOptions,
    embedder: &Embedder,
) -> Result<(String, Option<TrackEmbedding>), AnalysisError> {
    match AnalysisJob::new(bytes, file_name, options, Some(embedder), Want::EmbeddingOnly)?.run()? {
        JobOutput::Embedding { song_id, embedding } => Ok((song_id, embedding)),
        JobOutput::Analysis(a) => Ok((a.features.song_id, a.features.embedding)),
        // Only a job wanting every feature stops at known audio.
        JobOutput::SameAudio(_) => Err(AnalysisError::Feature("the embedding job produced no embedding".into())),
    }
}

/// Decode only, discarding the samples: the baseline of the speed benchmark.
pub fn decode_only(bytes: Vec<u8>, file_name: Option<&str>, limits: &DecodeLimits) -> Result<f64, AnalysisError> {
    audio::decode(bytes, file_name, limits, |_, _| {}).map(|s| s.duration_sec())
}
