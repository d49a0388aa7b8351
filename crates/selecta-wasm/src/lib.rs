//! Browser bindings of the Selecta core (`wasm-bindgen`). Thin: each function converts its
//! arguments, calls [`selecta_core`] and converts the result; the logic lives in the core.
//!
//! ```js
//! import init, { analyzeFile, loadModel, embed } from "./selecta_wasm.js";
//! await init();
//! loadModel(manifestBytes, modelBytes);          // optional: adds the embedding to analyzeFile
//! const features = analyzeFile(fileBytes, "track.flac");   // the `selecta show --json` shape
//! const vector = embed(monoSamples, 44100);      // Float32Array, or undefined for silence
//! ```

use std::cell::RefCell;

use selecta_core::embed::{Embedder, SamplingProfile};
use selecta_core::{AnalyzeOptions, analyze_bytes};
use wasm_bindgen::prelude::*;

thread_local! {
    /// The model loaded by [`load_model`] (wasm32 runs on one thread).
    static MODEL: RefCell<Option<Embedder>> = const { RefCell::new(None) };
}

/// Analyse an audio file's bytes; `fileName` gives the format hint. Returns the features as
/// `selecta show --json` prints them (camelCase keys), with the embedding when a model is
/// loaded.
#[wasm_bindgen(js_name = analyzeFile)]
pub fn analyze_file(bytes: &[u8], file_name: &str) -> Result<JsValue, JsError> {
    MODEL.with_borrow(|model| {
        let analysis = analyze_bytes(bytes.to_vec(), Some(file_name), &AnalyzeOptions::default(), model.as_ref())?;
        let tag_names = model.as_ref().map(|m| m.manifest().tag_names.as_slice()).unwrap_or_default();
        let json = analysis.features.to_json(None, tag_names).to_string();
        js_sys::JSON::parse(&json).map_err(|_| JsError::new("features JSON did not parse"))
    })
}

/// Load the embedding model: its manifest JSON and ONNX bytes (checked against the manifest's
/// SHA-256). Replaces any model loaded before.
#[wasm_bindgen(js_name = loadModel)]
pub fn load_model(manifest: &[u8], model: &[u8]) -> Result<(), JsError> {
    let embedder = Embedder::load(manifest, Some(model))?;
    MODEL.with_borrow_mut(|m| *m = Some(embedder));
    Ok(())
}

/// The L2-normalised track embedding of mono `audio` at `sampleRate` (whole track), or
/// `undefined` when it is silent. Needs [`load_model`] first.
#[wasm_bindgen]
pub fn embed(audio: &[f32], sample_rate: u32) -> Result<Option<Vec<f32>>, JsError> {
    MODEL.with_borrow(|model| {
        let embedder = model.as_ref().ok_or_else(|| JsError::new("no model loaded: call loadModel first"))?;
        let audio = selecta_core::audio::resample_mono(audio, sample_rate, embedder.manifest().front_end.sample_rate)?;
        Ok(embedder.embed(&audio, SamplingProfile::Full)?.map(|e| e.vector))
    })
}
