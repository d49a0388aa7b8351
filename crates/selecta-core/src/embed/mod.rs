//! The neural music embedding: a manifest-described model (musicnn MSD by default, OpenL3 as a
//! drop-in; ONNX, or tract's NNEF archive of it: [`model_file`]) run with tract, natively and in
//! wasm. Audio → sampling profile → log-mel
//! patches → model → RMS-weighted mean of the patch embeddings (quiet patches skipped),
//! L2-normalised, plus the mean tag probabilities.
//!
//! The model arrives as bytes and is verified by SHA-256 before use; a missing or altered model
//! is [`EmbedError::RuntimeUnavailable`] and the rest of the analysis goes on without it.

pub mod conv;
mod fft_conv;
mod frontend;
mod graph;
mod kernels;
pub mod manifest;
pub mod model_file;
pub mod profile;
mod prune;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tract_nnef::prelude::*;

pub use frontend::FrontEnd;
pub use manifest::ModelManifest;
pub use profile::{Region, SamplingProfile};

use crate::error::{Coded, ErrorCode, into_engine_error};
use crate::hash::sha256_hex;

/// Why no embedding could be computed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// The model is missing, altered (hash mismatch) or cannot be loaded: status
    /// `runtime_unavailable`.
    #[error("embedding model unavailable: {0}")]
    RuntimeUnavailable(String),
    /// The manifest is malformed or asks for something unsupported.
    #[error("model manifest is invalid: {0}")]
    Manifest(String),
    /// Inference failed on a patch.
    #[error("embedding inference failed: {0}")]
    Inference(String),
}

impl Coded for EmbedError {
    fn code(&self) -> ErrorCode {
        match self {
            EmbedError::RuntimeUnavailable(_) | EmbedError::Manifest(_) => ErrorCode::RuntimeUnavailable,
            EmbedError::Inference(_) => ErrorCode::InternalError,
        }
    }
}

into_engine_error!(EmbedError);

/// A region of the track the embedding looked at, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Start, seconds from the beginning of the track.
    pub start: f32,
    /// End, seconds from the beginning of the track.
    pub end: f32,
}

/// Per-patch model outputs of one track, before pooling.
#[derive(Debug, Clone, Default)]
pub struct PatchOutputs {
    /// For each requested output (manifest order: embedding, tags, others), one vector per patch.
    pub outputs: Vec<Vec<Vec<f32>>>,
    /// RMS level of the audio under each patch.
    pub rms: Vec<f32>,
    /// Regions covered.
    pub windows: Vec<Window>,
}

/// The pooled result stored with the track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackEmbedding {
    /// Model version (from the manifest).
    pub model_version: String,
    /// Sampling profile used.
    pub profile: SamplingProfile,
    /// L2-normalised embedding.
    pub vector: Vec<f32>,
    /// Mean tag probabilities (empty when the model has no tag output).
    pub tags: Vec<f32>,
    /// Regions of the track the patches came from.
    pub windows: Vec<Window>,
    /// L2-normalised embedding of the intro alone (DJ transitions), when the track has one.
    #[serde(default)]
    pub intro: Option<Vec<f32>>,
    /// L2-normalised embedding of the outro alone.
    #[serde(default)]
    pub outro: Option<Vec<f32>>,
}

/// One plan node's share of [`Embedder::profile_patch`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NodeTime {
    /// The node's name in the optimised graph.
    pub name: String,
    /// Its operator.
    pub op: String,
    /// Total milliseconds over the profiled runs.
    pub ms: f64,
}

/// A loaded, verified model with its front-end.
pub struct Embedder {
    manifest: ModelManifest,
    front_end: FrontEnd,
    plan: Arc<TypedSimplePlan>,
    output_names: Vec<String>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("model_version", &self.manifest.model_version).finish()
    }
}

/// Patches quieter than this (linear RMS, −60 dBFS) carry no music.
const SILENT_RMS: f32 = 0.001;
/// Patches quieter than this fraction of the loudest one are skipped in pooling.
const QUIET_FRACTION: f32 = 0.05;

impl Embedder {
    /// Parse a manifest, verify the model bytes against its SHA-256 and prepare inference.
    /// `model` is `None` when the model file could not be read.
    pub fn load(manifest_json: &[u8], model: Option<&[u8]>) -> Result<Self, EmbedError> {
        kernels::prefer_fastest_matrix_kernels();
        let manifest: ModelManifest =
            serde_json::from_slice(manifest_json).map_err(|e| EmbedError::Manifest(e.to_string()))?;
        let model = model
            .ok_or_else(|| EmbedError::RuntimeUnavailable(format!("model file {} is missing", manifest.model_file)))?;
        let (file, expected) = manifest.file_and_hash_of(model);
        let actual = sha256_hex(model);
        if !expected.is_some_and(|expected| actual.eq_ignore_ascii_case(expected)) {
            return Err(EmbedError::RuntimeUnavailable(format!(
                "model file {file} does not match its manifest (sha256 {actual}, expected {})",
                expected.unwrap_or("none: the manifest names no such file")
            )));
        }
        let front_end = FrontEnd::new(&manifest.front_end)?;
        let output_names = manifest.output_names();
        let unavailable = model_file::unavailable;
        let mut typed = model_file::typed_model(model, &front_end.input_shape()?, &output_names)?;
        graph::whole_row_max_pools_to_row_max(&mut typed).map_err(unavailable)?;
        // Convolutions drop their dead filters, and what follows them runs on the live
        // channels only.
        prune::prune_dead_filters(&mut typed).map_err(unavailable)?;
        // The front-end's long filters (now live-only) run through spectra, a third of a
        // native patch's time (20 → 12.4–13.9 ms, `selecta bench --embedding`). In wasm the
        // other convolutions run directly too; natively tract's AVX-512/FMA kernels stay faster
        // for those (57.5 vs 76 ms a patch with the direct op on portable lanes, before pruning).
        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
            graph::single_channel_convs_to_direct(&mut typed).map_err(unavailable)?;
        } else {
            graph::long_convs_to_spectral(&mut typed).map_err(unavailable)?;
        }
        let plan = typed.into_optimized().map_err(unavailable)?.into_runnable().map_err(unavailable)?;
        Ok(Self { manifest, front_end, plan, output_names })
    }

    /// The manifest.
    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }

    /// The front-end.
    pub fn front_end(&self) -> &FrontEnd {
        &self.front_end
    }

    /// Names of the outputs in [`PatchOutputs::outputs`] order.
    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }

    /// Run the model on one log-mel patch (`[frames][mels]`, already logged).
    pub fn run_patch(&self, patch: &[f32]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut state = self.plan.spawn().map_err(|e| EmbedError::Inference(e.to_string()))?;
        self.run_patch_with(&mut state, patch)
    }

    /// Time each node of the plan on one patch, `runs` times, with the caller's clock (the core
    /// has none: milliseconds from `performance.now()` in wasm, `Instant` natively). Returns one
    /// row per plan node in execution order: the node's name, its operator and the total ms.
    pub fn profile_patch(
        &self,
        patch: &[f32],
        runs: usize,
        clock_ms: &mut dyn FnMut() -> f64,
    ) -> Result<Vec<NodeTime>, EmbedError> {
        let inference = |e: TractError| EmbedError::Inference(e.to_string());
        let input = self.front_end.to_layout(patch)?;
        let shape = self.front_end.input_shape()?;
        let mut state = self.plan.spawn().map_err(inference)?;
        let model = self.plan.model();
        let mut times = vec![0.0f64; model.nodes().len()];
        for _ in 0..runs {
            let tensor = Tensor::from_shape(&shape, &input).map_err(inference)?;
            state
                .run_plan_with_eval(tvec!(tensor.into_tvalue()), |ctx, op_state, node, inputs| {
                    let start = clock_ms();
                    let outputs = tract_nnef::tract_core::plan::eval(ctx, op_state, node, inputs);
                    times[node.id] += clock_ms() - start;
                    outputs
                })
                .map_err(inference)?;
        }
        Ok(self
            .plan
            .order_without_consts()
            .iter()
            .map(|&id| NodeTime {
                name: model.node(id).name.clone(),
                op: model.node(id).op().name().to_string(),
                ms: times[id],
            })
            .collect())
    }

    /// [`Embedder::run_patch`] with a reusable execution state (saves its allocations).
    fn run_patch_with(&self, state: &mut TypedSimpleState, patch: &[f32]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let input = self.front_end.to_layout(patch)?;
        let shape = self.front_end.input_shape()?;
        let tensor = Tensor::from_shape(&shape, &input).map_err(|e| EmbedError::Inference(e.to_string()))?;
        let outputs = state.run(tvec!(tensor.into_tvalue())).map_err(|e| EmbedError::Inference(e.to_string()))?;
        outputs
            .iter()
            .map(|o| {
                o.to_plain_array_view::<f32>()
                    .map(|v| v.iter().copied().collect())
                    .map_err(|e| EmbedError::Inference(e.to_string()))
            })
            .collect()
    }

    /// Log-mel patches and their RMS for the given regions of `audio` (mono, at the model's
    /// sample rate). Patches advance by half a patch inside a region (50 % overlap).
    pub fn patches(&self, audio: &[f32], regions: &[Region]) -> Vec<(Vec<f32>, f32, usize)> {
        let spec = self.front_end.spec();
        let (frames_per_patch, mels) = (spec.patch_frames, spec.n_mels);
        let mut out = Vec::new();
        for region in regions {
            let start = region.start.min(audio.len());
            let end = region.end.min(audio.len()).max(start);
            let samples = &audio[start..end];
            let patch_samples = spec.patch_samples();
            let hop_samples = (patch_samples / 2).max(1);
            if spec.window_samples.is_some() {
                // One window per patch, each with its own padding (OpenL3).
                let mut offset = 0usize;
                loop {
                    let w_end = (offset + patch_samples).min(samples.len());
                    let window = &samples[offset..w_end];
                    let (mel, frames) = self.front_end.mel(window);
                    let mut patch = vec![0.0f32; frames_per_patch * mels];
                    let take = frames.min(frames_per_patch) * mels;
                    patch[..take].copy_from_slice(&mel[..take]);
                    self.front_end.log_patch(&mut patch);
                    out.push((patch, rms(window), start + offset));
                    offset += hop_samples;
                    if offset + patch_samples > samples.len() {
                        break;
                    }
                }
            } else {
                // The spectrogram of the whole region, cut into patches (musicnn).
                let (mel, frames) = self.front_end.mel(samples);
                let hop_frames = (frames_per_patch / 2).max(1);
                let mut first = 0usize;
                loop {
                    let mut patch = vec![0.0f32; frames_per_patch * mels];
                    let avail = frames.saturating_sub(first).min(frames_per_patch);
                    patch[..avail * mels].copy_from_slice(&mel[first * mels..(first + avail) * mels]);
                    self.front_end.log_patch(&mut patch);
                    let a = (first * spec.hop).min(samples.len());
                    let b = (a + patch_samples).min(samples.len());
                    out.push((patch, rms(&samples[a..b]), start + a));
                    first += hop_frames;
                    if first + frames_per_patch > frames {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Run every patch of the regions and keep all outputs (for pooling or evaluation).
    pub fn run_regions(&self, audio: &[f32], regions: &[Region]) -> Result<PatchOutputs, EmbedError> {
        let mut job = self.start_regions(audio, regions, SamplingProfile::default())?;
        while !job.step()? {}
        Ok(job.outputs)
    }

    /// The track embedding of `audio` (mono, at the model's sample rate) under a profile.
    /// `None` when the whole track is silent.
    pub fn embed(&self, audio: &[f32], profile: SamplingProfile) -> Result<Option<TrackEmbedding>, EmbedError> {
        let mut job = self.start(audio, profile)?;
        while !job.step()? {}
        Ok(job.finish())
    }

    /// [`Embedder::embed`] in steps of one patch: the front-end runs now, the model in
    /// [`EmbedJob::step`].
    pub fn start(&self, audio: &[f32], profile: SamplingProfile) -> Result<EmbedJob<'_>, EmbedError> {
        self.start_with_sections(audio, profile, [None, None])
    }

    /// [`Embedder::start`], also embedding an intro and an outro region on their own (their
    /// patches are pooled apart from the track's).
    pub fn start_with_sections(
        &self,
        audio: &[f32],
        profile: SamplingProfile,
        sections: [Option<Region>; 2],
    ) -> Result<EmbedJob<'_>, EmbedError> {
        let rate = self.manifest.front_end.sample_rate;
        let regions = profile.regions(audio, rate, self.front_end.spec().patch_samples());
        let mut job = self.start_regions(audio, &regions, profile)?;
        job.main_patches = job.patches.len();
        for (slot, region) in sections.into_iter().enumerate() {
            let Some(region) = region.filter(|r| r.end.min(audio.len()) > r.start) else { continue };
            let from = job.patches.len();
            job.patches.extend(self.patches(audio, &[region]).into_iter().map(|(patch, level, _)| (patch, level)));
            job.section_patches[slot] = from..job.patches.len();
        }
        Ok(job)
    }

    fn start_regions(
        &self,
        audio: &[f32],
        regions: &[Region],
        profile: SamplingProfile,
    ) -> Result<EmbedJob<'_>, EmbedError> {
        let rate = self.manifest.front_end.sample_rate as f32;
        let outputs = PatchOutputs {
            outputs: vec![Vec::new(); self.output_names.len()],
            rms: Vec::new(),
            windows: regions
                .iter()
                .map(|r| Window { start: r.start as f32 / rate, end: r.end.min(audio.len()) as f32 / rate })
                .collect(),
        };
        let state = self.plan.spawn().map_err(|e| EmbedError::Inference(e.to_string()))?;
        let patches: Vec<(Vec<f32>, f32)> =
            self.patches(audio, regions).into_iter().map(|(patch, level, _)| (patch, level)).collect();
        let main_patches = patches.len();
        Ok(EmbedJob {
            embedder: self,
            profile,
            patches,
            main_patches,
            section_patches: [0..0, 0..0],
            next: 0,
            state,
            outputs,
        })
    }
}

/// A track's embedding being computed one patch at a time ([`Embedder::start`]).
pub struct EmbedJob<'e> {
    embedder: &'e Embedder,
    profile: SamplingProfile,
    /// Log-mel patches with their RMS level, in order.
    patches: Vec<(Vec<f32>, f32)>,
    /// The first `main_patches` make the track embedding.
    main_patches: usize,
    /// Patches of the intro and of the outro.
    section_patches: [std::ops::Range<usize>; 2],
    next: usize,
    state: TypedSimpleState,
    outputs: PatchOutputs,
}

impl std::fmt::Debug for EmbedJob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedJob").field("patches", &self.patches.len()).field("next", &self.next).finish()
    }
}

impl EmbedJob<'_> {
    /// Run the model on the next patch. `true` once every patch has run.
    pub fn step(&mut self) -> Result<bool, EmbedError> {
        let Some((patch, level)) = self.patches.get_mut(self.next) else { return Ok(true) };
        let outs = self.embedder.run_patch_with(&mut self.state, patch)?;
        for (slot, o) in self.outputs.outputs.iter_mut().zip(outs) {
            slot.push(o);
        }
        self.outputs.rms.push(*level);
        // The patch is not needed any more.
        *patch = Vec::new();
        self.next += 1;
        Ok(self.next >= self.patches.len())
    }

    /// (patches run, patches in all).
    pub fn progress(&self) -> (usize, usize) {
        (self.next, self.patches.len())
    }

    /// Pool the patch outputs. `None` when the whole track is silent.
    pub fn finish(self) -> Option<TrackEmbedding> {
        let manifest = &self.embedder.manifest;
        let main = 0..self.main_patches.min(self.outputs.rms.len());
        let embeddings = &self.outputs.outputs[0];
        let vector = pool(&embeddings[main.clone()], &self.outputs.rms[main.clone()], true)?;
        let tags = match manifest.tags_output {
            Some(_) => pool(&self.outputs.outputs[1][main.clone()], &self.outputs.rms[main], false).unwrap_or_default(),
            None => Vec::new(),
        };
        let section = |r: &std::ops::Range<usize>| {
            let r = r.start.min(embeddings.len())..r.end.min(embeddings.len());
            if r.is_empty() { None } else { pool(&embeddings[r.clone()], &self.outputs.rms[r], true) }
        };
        Some(TrackEmbedding {
            model_version: manifest.model_version.clone(),
            profile: self.profile,
            vector,
            tags,
            intro: section(&self.section_patches[0]),
            outro: section(&self.section_patches[1]),
            windows: self.outputs.windows,
        })
    }
}

/// RMS of a slice.
pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

/// RMS-weighted mean of patch vectors, skipping silent and comparatively quiet patches;
/// L2-normalised when `normalise`. `None` if every patch is silent.
pub fn pool(vectors: &[Vec<f32>], levels: &[f32], normalise: bool) -> Option<Vec<f32>> {
    let loudest = levels.iter().copied().fold(0.0f32, f32::max);
    let floor = SILENT_RMS.max(loudest * QUIET_FRACTION);
    let dim = vectors.first()?.len();
    let mut sum = vec![0.0f64; dim];
    let mut total = 0.0f64;
    for (v, &w) in vectors.iter().zip(levels) {
        if w < floor {
            continue;
        }
        for (s, x) in sum.iter_mut().zip(v) {
            *s += f64::from(w) * f64::from(*x);
        }
        total += f64::from(w);
    }
    if total <= 0.0 {
        return None;
    }
    let mut mean: Vec<f32> = sum.iter().map(|s| (s / total) as f32).collect();
    if normalise {
        let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            mean.iter_mut().for_each(|x| *x /= norm);
        }
    }
    Some(mean)
}
