//! Where the CLI gets its embedding model: the musicnn-MSD bundle compiled into the binary (zero
//! configuration, nothing downloaded), or a model folder given with `--model-dir` /
//! `SELECTA_MODEL_DIR` (a `manifest.json` and the model file it names). Either way the core
//! verifies the SHA-256 before use.

use std::path::Path;

use selecta_core::embed::{EmbedError, Embedder};

const BUNDLED_MANIFEST: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/manifest.json");
const BUNDLED_MODEL: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/model.onnx");

/// Load the model from `dir`, or the bundled one.
pub fn load(dir: Option<&Path>) -> Result<Embedder, EmbedError> {
    let Some(dir) = dir else { return Embedder::load(BUNDLED_MANIFEST, Some(BUNDLED_MODEL)) };
    let manifest = std::fs::read(dir.join("manifest.json"))
        .map_err(|e| EmbedError::RuntimeUnavailable(format!("{}: cannot read manifest.json: {e}", dir.display())))?;
    let file = serde_json::from_slice::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|v| v.get("modelFile").and_then(|f| f.as_str()).map(str::to_string))
        .ok_or_else(|| EmbedError::Manifest(format!("{}: manifest.json has no modelFile", dir.display())))?;
    let model = std::fs::read(dir.join(&file)).ok();
    Embedder::load(&manifest, model.as_deref())
}

/// The model's tag names (for `topTags`), from the manifest in `dir` or the bundled one.
pub fn tag_names(dir: Option<&Path>) -> Vec<String> {
    let manifest = match dir {
        Some(d) => std::fs::read(d.join("manifest.json")).unwrap_or_default(),
        None => BUNDLED_MANIFEST.to_vec(),
    };
    serde_json::from_slice::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|v| {
            v.get("tagNames")?.as_array().map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        })
        .unwrap_or_default()
}
