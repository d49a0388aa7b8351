//! `selecta export rekordbox`, `selecta import rekordbox`, `selecta import bandcamp` and the `--m3u` option of the list
//! commands: the CLI names the library folder and the files, reads and writes them; what goes
//! into a file and what an import does are the engine's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use selecta_core::Engine;
use selecta_core::control::NoControl;
use selecta_core::engine::BandcampImportOptions;
use selecta_core::engine::interop::{M3uOptions, RekordboxExportOptions, RekordboxImportOptions};
use selecta_core::interop::rekordbox::KeyNotation;
use selecta_sqlite::SqliteStore;

use crate::files::{now_ms, open_library, song_of};

/// A path as the engine takes it: `/`-separated text (non-UTF-8 parts replaced).
fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The folder `out` will be written into, resolved (it must exist).
fn folder_of(out: &Path) -> Result<PathBuf> {
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::canonicalize(&dir).with_context(|| format!("{}: cannot write there", dir.display()))
}

/// Write `text` to `out` through a temporary file beside it, so a failed write never leaves a
/// half file where a good one was.
fn write_whole(out: &Path, text: &str) -> Result<()> {
    let dir = folder_of(out)?;
    let name = out.file_name().ok_or_else(|| anyhow!("{}: not a file name", out.display()))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("{}: cannot write", out.display()))
}

/// Write songs (any list Selecta produced) as an M3U8 playlist at `out`.
pub fn write_m3u(root: &Path, engine: &Engine<SqliteStore>, song_ids: &[String], out: &Path) -> Result<()> {
    let options = M3uOptions { library_root: path_text(root), playlist_dir: Some(path_text(&folder_of(out)?)) };
    let text = engine.export_m3u(song_ids, &options)?;
    write_whole(out, &text)
}

/// Settings of `selecta export rekordbox`.
#[derive(Debug)]
pub struct ExportArgs<'a> {
    pub out: &'a Path,
    pub picks: Option<usize>,
    pub similar_to: &'a [PathBuf],
    pub similar_tracks: Option<usize>,
    pub plan: &'a [PathBuf],
    pub sessions: &'a [String],
    pub camelot: bool,
    pub library: Option<&'a Path>,
    pub json: bool,
}

pub fn export_rekordbox(args: ExportArgs<'_>) -> Result<()> {
    let (root, mut engine) = open_library(args.library, None)?;
    let songs = |files: &[PathBuf]| -> Result<Vec<String>> {
        files.iter().map(|f| song_of(&root, &engine, f).map_err(|e| anyhow!("{}: {e}", f.display()))).collect()
    };
    let options = RekordboxExportOptions {
        library_root: path_text(&root),
        picks: args.picks,
        similar_to: songs(args.similar_to)?,
        similar_tracks: args.similar_tracks,
        plans: songs(args.plan)?,
        sessions: args.sessions.to_vec(),
        key_notation: if args.camelot { KeyNotation::Camelot } else { KeyNotation::Classic },
    };
    let export = engine.export_rekordbox_xml(&options, now_ms(), &mut NoControl)?;
    write_whole(args.out, &export.xml)?;
    if args.json {
        let report = serde_json::json!({
            "file": path_text(args.out),
            "tracks": export.tracks,
            "playlists": export.playlists,
        });
        println!("{report}");
        return Ok(());
    }
    println!("{}: {} tracks", args.out.display(), export.tracks);
    for p in &export.playlists {
        println!("  playlist {:?}: {} tracks", p.name, p.tracks);
    }
    Ok(())
}

/// Settings of `selecta import rekordbox`.
#[derive(Debug)]
pub struct ImportArgs<'a> {
    pub file: &'a Path,
    pub liked: &'a [String],
    pub disliked: &'a [String],
    pub no_auto_train: bool,
    pub library: Option<&'a Path>,
    pub json: bool,
}

pub fn import_rekordbox(args: ImportArgs<'_>) -> Result<()> {
    let (root, mut engine) = open_library(args.library, None)?;
    let bytes = std::fs::read(args.file).with_context(|| format!("{}: cannot read", args.file.display()))?;
    let options = RekordboxImportOptions {
        library_root: path_text(&root),
        liked_playlists: args.liked.to_vec(),
        disliked_playlists: args.disliked.to_vec(),
        no_auto_train: args.no_auto_train,
    };
    // The content match reads the file a location names, when it exists.
    let mut read_file = |path: &str| std::fs::read(path).ok();
    let report = engine
        .import_rekordbox_xml(&bytes, &options, &mut read_file, now_ms(), &mut NoControl)
        .map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "{}: {} tracks, {} matched, {} unmatched",
        args.file.display(),
        report.tracks,
        report.matched.len(),
        report.unmatched.len()
    );
    for u in &report.unmatched {
        println!(
            "  unmatched: {} ({}; {})",
            u.name,
            u.reason,
            if u.location.is_empty() { "no location" } else { &u.location }
        );
    }
    if let Some(labels) = &report.labels {
        println!(
            "labelled {} liked, {} disliked ({} changed); now {} liked, {} disliked",
            report.liked, report.disliked, labels.changed, labels.positives, labels.negatives
        );
        if let Some(t) = &labels.auto_train {
            println!("retrained: {:?}", t.status);
        }
    } else {
        println!("playlists: {}", report.playlists.join(", "));
    }
    if !report.conflicting.is_empty() {
        println!("{} tracks are in both a liked and a disliked playlist: left unlabelled", report.conflicting.len());
    }
    Ok(())
}

/// Settings of `selecta import bandcamp`.
#[derive(Debug)]
pub struct BandcampArgs<'a> {
    pub file: &'a Path,
    pub map: std::collections::BTreeMap<String, String>,
    pub like: bool,
    pub no_auto_train: bool,
    pub library: Option<&'a Path>,
    pub json: bool,
}

pub fn import_bandcamp(args: BandcampArgs<'_>) -> Result<()> {
    let (_, mut engine) = open_library(args.library, None)?;
    let bytes = std::fs::read(args.file).with_context(|| format!("{}: cannot read", args.file.display()))?;
    let options = BandcampImportOptions { map: args.map, like: args.like, no_auto_train: args.no_auto_train };
    let report = engine
        .import_bandcamp_csv(&bytes, &options, now_ms(), &mut NoControl)
        .map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "{}: {} rows, {} matched, {} unmatched, {} ambiguous; metadata kept for {} tracks",
        args.file.display(),
        report.rows,
        report.matched.len(),
        report.unmatched.len(),
        report.ambiguous.len(),
        report.songs_updated
    );
    let name = |r: &selecta_core::engine::bandcamp::RowRef| {
        format!("{} - {}", r.artist, r.title.as_deref().or(r.album.as_deref()).unwrap_or(""))
    };
    for u in &report.unmatched {
        println!("  line {}: no track matches {}", u.line, name(u));
    }
    for a in &report.ambiguous {
        println!("  line {}: {} could be any of {}", a.row.line, name(&a.row), a.candidates.join(", "));
    }
    if let Some(labels) = &report.labels {
        println!(
            "labelled liked: {} changed; now {} liked, {} disliked",
            labels.changed, labels.positives, labels.negatives
        );
    }
    Ok(())
}
