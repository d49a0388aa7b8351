//! The model manifest (`resources/models/*/manifest.json`): which file, its SHA-256, the
//! front-end that turns audio into the model's input, and the names of inputs and outputs.
//! Everything model-specific is data here, so another model (e.g. OpenL3) drops in unchanged.

use serde::Deserialize;

/// A model bundle's description.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelManifest {
    /// Stored with every embedding; a new version means embeddings are recomputed.
    pub model_version: String,
    /// File name of the ONNX model next to the manifest.
    pub model_file: String,
    /// Lower-case hex SHA-256 of the model file.
    pub sha256: String,
    /// File name of the same model as tract's NNEF archive, what builds without an ONNX parser
    /// (the browser package) read.
    #[serde(default)]
    pub nnef_file: Option<String>,
    /// Lower-case hex SHA-256 of the NNEF archive.
    #[serde(default)]
    pub nnef_sha256: Option<String>,
    /// How audio becomes the model's input.
    pub front_end: FrontEndSpec,
    /// Name of the model input.
    pub input_name: String,
    /// Output holding the embedding.
    pub embedding_output: String,
    /// Output holding tag probabilities, if any.
    #[serde(default)]
    pub tags_output: Option<String>,
    /// Every output of the model.
    #[serde(default)]
    pub outputs: Vec<OutputSpec>,
    /// Size of the embedding.
    pub embedding_size: usize,
    /// Names of the tags, in output order.
    #[serde(default)]
    pub tag_names: Vec<String>,
    /// SPDX-like licence name.
    #[serde(default)]
    pub licence: Option<String>,
}

impl ModelManifest {
    /// The outputs the model is run for: the embedding first, then the tags, then the others.
    pub fn output_names(&self) -> Vec<String> {
        let mut names = vec![self.embedding_output.clone()];
        if let Some(t) = &self.tags_output {
            names.push(t.clone());
        }
        for o in &self.outputs {
            if !names.contains(&o.name) {
                names.push(o.name.clone());
            }
        }
        names
    }

    /// The file name and SHA-256 the manifest gives for a model in the form of `bytes`.
    pub fn file_and_hash_of(&self, bytes: &[u8]) -> (&str, Option<&str>) {
        if super::model_file::is_nnef_archive(bytes) {
            (self.nnef_file.as_deref().unwrap_or("the NNEF archive"), self.nnef_sha256.as_deref())
        } else {
            (&self.model_file, Some(&self.sha256))
        }
    }
}

/// One model output.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputSpec {
    /// Output name in the ONNX graph.
    pub name: String,
    /// `embedding` or `tags`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Log-mel front-end settings (librosa conventions).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontEndSpec {
    /// Model sample rate (mono).
    pub sample_rate: u32,
    /// FFT size.
    pub n_fft: usize,
    /// Window length (≤ n_fft, centred in the FFT frame).
    #[serde(default)]
    pub win_length: Option<usize>,
    /// Hop between frames, in samples.
    pub hop: usize,
    /// `hann_periodic` (the only window supported).
    #[serde(default = "default_window")]
    pub window: String,
    /// librosa `center=True`: pad `n_fft/2` zeros on both sides of a region.
    #[serde(default)]
    pub center: bool,
    /// Explicit zero padding before a window (when not centred).
    #[serde(default)]
    pub pad_left: usize,
    /// Explicit zero padding after a window (when not centred).
    #[serde(default)]
    pub pad_right: usize,
    /// 1 = magnitude, 2 = power.
    pub power: f32,
    /// Mel bands.
    pub n_mels: usize,
    /// `slaney` or `htk`.
    pub mel_scale: String,
    /// `slaney` (area normalisation) or `none`.
    #[serde(default)]
    pub mel_norm: Option<String>,
    /// Lowest filter edge, Hz.
    pub fmin: f32,
    /// Highest filter edge, Hz.
    pub fmax: f32,
    /// Log compression.
    pub log: LogSpec,
    /// Frames per model input patch.
    pub patch_frames: usize,
    /// Default hop between patches, in frames (profiles may override it).
    pub patch_hop: usize,
    /// When set, every patch is computed from its own window of this many samples (OpenL3);
    /// otherwise the spectrogram of a whole region is cut into patches (musicnn).
    #[serde(default)]
    pub window_samples: Option<usize>,
    /// Layout of the input tensor: `N,T,M` or `N,M,T,C`.
    pub input_layout: String,
}

fn default_window() -> String {
    "hann_periodic".into()
}

/// Log compression of the mel spectrogram.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LogSpec {
    /// `log10(scale · x + offset)` (musicnn).
    #[serde(rename = "log10")]
    Log10 {
        /// Multiplier inside the log.
        scale: f32,
        /// Offset inside the log.
        offset: f32,
    },
    /// librosa `power_to_db`: `multiplier · log10(max(x, amin) / ref)`, floored at `top_db`
    /// below the maximum (OpenL3 through kapre).
    #[serde(rename = "db", rename_all = "camelCase")]
    Db {
        /// 10 for power, 20 for magnitude.
        multiplier: f32,
        /// Floor inside the log.
        amin: f32,
        /// `max` (reference = maximum of the patch) or a number as a string.
        #[serde(rename = "ref")]
        reference: String,
        /// Dynamic range kept below the maximum.
        #[serde(default)]
        top_db: Option<f32>,
    },
}

impl FrontEndSpec {
    /// Samples a patch spans (for RMS weighting and window bookkeeping).
    pub fn patch_samples(&self) -> usize {
        self.window_samples.unwrap_or(self.patch_frames * self.hop)
    }
}
