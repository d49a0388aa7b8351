//! `selecta bench --layout DIR --from AUDIO_DIR [--tracks 50000]`: lays out a library of
//! `--tracks` files cheaply, for the library-scale measurements of `scripts/bench_50k.sh`:
//! hard links (a symbolic link where the folders sit on different file systems) to the audio
//! files under `--from`, under distinct names in artist/album folders, each with a synthetic
//! feature record (the taste benchmark's) and a path entry carrying the link's real size and
//! mtime — so a rescan finds every file unchanged without hashing 50 000 files first, exactly as
//! it would after a first full analysis.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use selecta_core::embed::SamplingProfile;
use selecta_core::path_index::path_key;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{PathEntry, Store};
use selecta_sqlite::SqliteStore;

use crate::files::{audio_files, stat};

fn link(source: &Path, target: &Path) -> Result<()> {
    if std::fs::hard_link(source, target).is_ok() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(source, target)
            .with_context(|| format!("{}: cannot link to {}", target.display(), source.display()))
    }
    #[cfg(not(unix))]
    {
        std::fs::copy(source, target).map(drop).with_context(|| format!("{}: cannot copy", target.display()))
    }
}

pub fn layout(dir: &Path, from: &Path, tracks: usize) -> Result<()> {
    let sources: Vec<PathBuf> = audio_files(from)?;
    if sources.is_empty() {
        bail!("{}: no audio files to link to", from.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let root = std::fs::canonicalize(dir)?;
    let started = Instant::now();
    let lib = SyntheticLibrary::new(16, 7);
    // The records carry the bundled model's version and the `club_hifi_150s` profile the
    // script ingests with, as a first `analyze --profile club_hifi_150s` would have left them,
    // so a rescan with that profile has nothing to embed (another profile re-embeds every file).
    let manifest = crate::model::manifest_bytes(None).context("the bundled model's manifest")?;
    let model_version = serde_json::from_slice::<serde_json::Value>(&manifest)?["modelVersion"]
        .as_str()
        .context("the manifest has no modelVersion")?
        .to_string();
    let mut store = SqliteStore::open(&root)?;
    for i in 0..tracks {
        let source = &sources[i % sources.len()];
        let ext = source.extension().and_then(|e| e.to_str()).unwrap_or("audio");
        let rel = format!("Artist {:04}/Album {:02}/{i:05} Track {i} – mix.{ext}", i % 2500, (i / 2500) % 20);
        let target = root.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if !target.exists() {
            link(source, &target)?;
        }
        let (size, mtime_ms) = stat(&target).with_context(|| format!("{}: cannot stat", target.display()))?;
        let mut f = lib.track(i);
        if let Some(e) = f.embedding.as_mut() {
            e.model_version.clone_from(&model_version);
            e.profile = SamplingProfile::ClubHifi150s;
        }
        store.put_song_features(&f, 0)?;
        let entry = PathEntry {
            path_key: path_key(&rel),
            file_path: rel,
            size,
            mtime_ms,
            song_id: f.song_id,
            file_hash: f.file_hash,
        };
        store.put_path_entry(&entry, crate::files::now_ms())?;
    }
    println!(
        "{}: {tracks} files linked to {} audio files, with records, in {:.1} s",
        root.display(),
        sources.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
