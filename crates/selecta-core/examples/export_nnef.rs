//! Converts a model directory's ONNX file into the NNEF archive the browser package reads, and
//! writes the archive's name and SHA-256 into the manifest:
//!
//!     cargo run -p selecta-core --features onnx --example export_nnef -- resources/models/musicnn-msd
//!
//! The archive is the same bytes on every run with the same tract; `tests/embedding.rs` fails
//! when the committed one no longer matches what the ONNX converts to.

use std::path::PathBuf;

use selecta_core::embed::model_file::onnx_to_nnef;

/// The archive's file name beside the ONNX model.
const NNEF_FILE: &str = "model.nnef.tar";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: export_nnef MODEL_DIR")?);
    let manifest_path = dir.join("manifest.json");
    let manifest_text = std::fs::read_to_string(&manifest_path)?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest_text)?;
    let onnx_file = manifest["modelFile"].as_str().ok_or("the manifest has no modelFile")?;
    let archive = onnx_to_nnef(manifest_text.as_bytes(), &std::fs::read(dir.join(onnx_file))?)?;
    std::fs::write(dir.join(NNEF_FILE), &archive)?;
    let sha256 = selecta_core::hash::sha256_hex(&archive);
    // The manifest keeps its layout (the export script writes it): the two keys are replaced
    // in place, or added after the ONNX file's hash.
    let mut lines: Vec<String> = manifest_text
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"nnefFile\"") && !l.trim_start().starts_with("\"nnefSha256\""))
        .map(str::to_string)
        .collect();
    let at = lines.iter().position(|l| l.trim_start().starts_with("\"sha256\"")).ok_or("the manifest has no sha256")?;
    let indent: String = lines[at].chars().take_while(|c| c.is_whitespace()).collect();
    lines.insert(at + 1, format!("{indent}\"nnefFile\": \"{NNEF_FILE}\","));
    lines.insert(at + 2, format!("{indent}\"nnefSha256\": \"{sha256}\","));
    std::fs::write(&manifest_path, lines.join("\n") + "\n")?;
    println!("{}: {} bytes, sha256 {sha256}", dir.join(NNEF_FILE).display(), archive.len());
    Ok(())
}
