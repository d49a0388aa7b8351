//! File-system helpers of the CLI: finding audio files and the library that holds a file,
//! opening the engine on a library folder, reading a file's size/mtime, and the wall clock the
//! core does not have.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use selecta_core::Engine;
use selecta_core::audio::is_audio_file_name;
use selecta_core::embed::SamplingProfile;
use selecta_sqlite::{FEATURES_DB, SqliteStore};

/// Whether a path names an audio file by its extension (the core's list).
pub fn is_audio(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(is_audio_file_name)
}

/// The engine over the library in folder `root` (created and migrated as needed).
pub fn open_engine(root: &Path, profile: SamplingProfile) -> Result<Engine<SqliteStore>> {
    let store = SqliteStore::open(root).with_context(|| format!("{}: cannot open the library", root.display()))?;
    Engine::open(store, profile, now_ms()).with_context(|| format!("{}: cannot open the library", root.display()))
}

/// The library given by `--library`, or the one holding the first file (or the current
/// folder); it must exist already.
pub fn open_library(library: Option<&Path>, first_file: Option<&Path>) -> Result<(PathBuf, Engine<SqliteStore>)> {
    let root = match (library, first_file) {
        (Some(l), _) => {
            std::fs::canonicalize(l).with_context(|| format!("{}: cannot open the library", l.display()))?
        }
        (None, Some(f)) => find_library(f)?,
        (None, None) => {
            let cwd = std::env::current_dir()?;
            if cwd.join(FEATURES_DB).is_file() { cwd } else { find_library(&cwd)? }
        }
    };
    if !root.join(FEATURES_DB).is_file() {
        bail!("{}: not a library (no {FEATURES_DB}); run `selecta analyze` first", root.display());
    }
    let engine = open_engine(&root, SamplingProfile::default())?;
    Ok((root, engine))
}

/// `songId` of an analysed file of the library at `root`, or why there is none.
pub fn song_of(root: &Path, engine: &Engine<SqliteStore>, file: &Path) -> Result<String, String> {
    let abs = std::fs::canonicalize(file).map_err(|e| format!("cannot open: {e}"))?;
    let relative = relative_to(root, &abs).map_err(|e| e.to_string())?;
    match engine.song_for_path(&relative) {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err("not analysed yet; run `selecta analyze` on the library first".into()),
        Err(e) => Err(e.to_string()),
    }
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
