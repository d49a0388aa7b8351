//! Where the CLI gets its embedding model: the musicnn-MSD bundle compiled into the binary (zero
//! configuration, nothing downloaded), or a model folder given with `--model-dir` /
//! `SELECTA_MODEL_DIR` (a `manifest.json` and the model file it names). Either way the core
//! verifies the SHA-256 before use.

use std::path::Path;

use selecta_core::embed::{EmbedError, Embedder, ModelManifest};

const BUNDLED_MANIFEST: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/manifest.json");
const BUNDLED_MODEL: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/model.onnx");

/// Load the model from `dir`, or the bundled one.
pub fn load(dir: Option<&Path>) -> Result<Embedder, EmbedError> {
    let Some(dir) = dir else { return Embedder::load(BUNDLED_MANIFEST, Some(BUNDLED_MODEL)) };
    let manifest = manifest_bytes(Some(dir))
        .map_err(|e| EmbedError::RuntimeUnavailable(format!("{}: cannot read manifest.json: {e}", dir.display())))?;
    let parsed: ModelManifest = serde_json::from_slice(&manifest)
        .map_err(|e| EmbedError::Manifest(format!("{}: manifest.json: {e}", dir.display())))?;
    let model = std::fs::read(dir.join(&parsed.model_file)).ok();
    Embedder::load(&manifest, model.as_deref())
}

/// The manifest in `dir`, or the bundled one.
pub fn manifest_bytes(dir: Option<&Path>) -> std::io::Result<Vec<u8>> {
    match dir {
        Some(d) => std::fs::read(d.join("manifest.json")),
        None => Ok(BUNDLED_MANIFEST.to_vec()),
    }
}
