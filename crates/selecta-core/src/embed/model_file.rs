//! The two forms a model ships in, and the typed graph each becomes.
//!
//! - **ONNX** (`modelFile`): the model as exported, read with tract-onnx where the core is built
//!   with its `onnx` feature (the CLI, the HTTP service, the SQLite store, the N-API addon).
//! - **NNEF** (`nnefFile`): tract's own archive of the same graph, converted from the ONNX once
//!   ([`onnx_to_nnef`], `cargo run -p selecta-core --features onnx --example export_nnef`) and
//!   committed beside it. The browser package reads this form only: without an ONNX parser
//!   (tract-onnx, tract-hir, protobuf) its wasm module is several hundred KB of gzip smaller.
//!
//! Both give the same typed graph: the archive holds the ONNX graph after tract's
//! decluttering, with the manifest's outputs, and the rewrites that follow (row max pools,
//! dead-filter pruning, direct convolutions) run on either the same way.

use std::io::Cursor;

use tract_nnef::prelude::*;

use super::EmbedError;

/// Where a POSIX tar header keeps its magic: an NNEF archive is a tar file.
const TAR_MAGIC_AT: std::ops::Range<usize> = 257..262;

/// Whether `bytes` are an NNEF archive (a tar file) rather than an ONNX protobuf.
pub fn is_nnef_archive(bytes: &[u8]) -> bool {
    bytes.get(TAR_MAGIC_AT) == Some(b"ustar".as_slice())
}

/// A tract error while preparing the model: status `runtime_unavailable`.
pub(super) fn unavailable(e: TractError) -> EmbedError {
    EmbedError::RuntimeUnavailable(format!("model cannot be loaded: {e:#}"))
}

/// The decluttered typed graph of a model in either form, with `outputs` as its outputs.
/// `input_shape` is the patch shape the front-end produces.
pub(crate) fn typed_model(model: &[u8], input_shape: &[usize], outputs: &[String]) -> Result<TypedModel, EmbedError> {
    if is_nnef_archive(model) {
        let mut typed = tract_nnef::nnef().model_for_read(&mut Cursor::new(model)).map_err(unavailable)?;
        let expected = f32::fact(input_shape);
        let input = typed.input_fact(0).map_err(unavailable)?;
        if *input != expected {
            return Err(EmbedError::RuntimeUnavailable(format!(
                "the model's NNEF archive takes {input:?}, the front-end gives {expected:?}"
            )));
        }
        typed.select_outputs_by_name(outputs).map_err(unavailable)?;
        return typed.into_decluttered().map_err(unavailable);
    }
    onnx_typed_model(model, input_shape, outputs)
}

#[cfg(feature = "onnx")]
fn onnx_typed_model(model: &[u8], input_shape: &[usize], outputs: &[String]) -> Result<TypedModel, EmbedError> {
    use tract_onnx::prelude::{Framework, InferenceModelExt};
    tract_onnx::onnx()
        .model_for_read(&mut Cursor::new(model))
        .map_err(unavailable)?
        .with_input_fact(0, f32::fact(input_shape).into())
        .map_err(unavailable)?
        .with_outputs_by_name(outputs.iter().map(String::as_str))
        .map_err(unavailable)?
        .into_typed()
        .map_err(unavailable)?
        .into_decluttered()
        .map_err(unavailable)
}

#[cfg(not(feature = "onnx"))]
fn onnx_typed_model(_model: &[u8], _input_shape: &[usize], _outputs: &[String]) -> Result<TypedModel, EmbedError> {
    Err(EmbedError::RuntimeUnavailable(
        "this build reads the model's NNEF archive (the manifest's nnefFile), not its ONNX file".into(),
    ))
}

/// The NNEF archive of an ONNX model: its decluttered graph with the manifest's outputs, written
/// byte for byte the same on every run (fixed timestamps, sorted entries).
#[cfg(feature = "onnx")]
pub fn onnx_to_nnef(manifest_json: &[u8], onnx: &[u8]) -> Result<Vec<u8>, EmbedError> {
    let manifest: super::ModelManifest =
        serde_json::from_slice(manifest_json).map_err(|e| EmbedError::Manifest(e.to_string()))?;
    let front_end = super::FrontEnd::new(&manifest.front_end)?;
    let typed = onnx_typed_model(onnx, &front_end.input_shape()?, &manifest.output_names())?;
    tract_nnef::nnef().write_to_tar_with_config(&typed, Vec::new(), false, true).map_err(unavailable)
}
