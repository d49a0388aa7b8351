//! File-system helpers of the CLI: finding audio files and the library that holds a file,
//! reading a file's size/mtime, and the wall clock the core does not have.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use selecta_sqlite::FEATURES_DB;

/// Extensions treated as audio. Formats symphonia cannot decode (e.g. Opus, WMA) are still
/// listed so that they are reported as unsupported instead of silently ignored.
const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "flac", "wav", "wave", "aif", "aiff", "aifc", "ogg", "oga", "opus", "m4a", "m4b", "mp4", "aac", "alac",
    "caf", "wma",
];

/// Whether a path names an audio file by its extension.
pub fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Audio files under `dir`, sorted. Symbolic links are listed (a dangling one is then reported
/// as unreadable); hidden folders are skipped.
pub fn audio_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_str().is_some_and(|n| n.starts_with('.')));
    for entry in walker {
        match entry {
            Ok(e) if !e.file_type().is_dir() && is_audio(e.path()) => out.push(e.into_path()),
            Ok(_) => {}
            Err(e) => tracing::warn!("skipping unreadable folder entry: {e}"),
        }
    }
    out.sort();
    Ok(out)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Size and modification time (ms) of a file, following links.
pub fn stat(path: &Path) -> std::io::Result<(u64, i64)> {
    let meta = std::fs::metadata(path)?;
    let mtime =
        meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as i64).unwrap_or(0);
    Ok((meta.len(), mtime))
}

/// The nearest ancestor folder of `file` that holds a `features.db`.
pub fn find_library(file: &Path) -> Result<PathBuf> {
    let abs = std::fs::canonicalize(file).with_context(|| format!("{}: cannot open", file.display()))?;
    let mut dir = abs.parent();
    while let Some(d) = dir {
        if d.join(FEATURES_DB).is_file() {
            return Ok(d.to_path_buf());
        }
        dir = d.parent();
    }
    bail!(
        "{}: no library found (no {FEATURES_DB} in any parent folder); run `selecta analyze DIR` first",
        file.display()
    )
}

/// The path of `file` relative to `root`, with `/` separators.
pub fn relative_to(root: &Path, file: &Path) -> Result<String> {
    let rel = file
        .strip_prefix(root)
        .with_context(|| format!("{} is not inside the library {}", file.display(), root.display()))?;
    Ok(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}
