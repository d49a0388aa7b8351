//! `selecta analyze DIR`: incremental, parallel, crash-safe ingest of a library folder.
//!
//! Unchanged files (same path, size and mtime, current features) are not read at all. Other
//! files are read and hashed; known bytes under a new path (a rename or move) reuse their song;
//! the rest are decoded and analysed on the worker pool. One writer thread commits each track in
//! its own transaction as soon as it is done, so a killed run keeps everything finished before.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use selecta_core::embed::{Embedder, SamplingProfile};
use selecta_core::ingest::{self, Plan, Processed};
use selecta_core::library::{LibraryIndex, path_key};
use selecta_core::{AnalyzeOptions, Store};
use selecta_sqlite::SqliteStore;
use serde::Serialize;

use crate::files::{audio_files, now_ms, relative_to, stat};

/// Path-index entries not seen for this long are dropped (they only cost a re-hash).
const PATH_INDEX_TTL_MS: i64 = 90 * 24 * 3600 * 1000;
/// Upper bound of the path index.
const PATH_INDEX_CAPACITY: usize = 500_000;

#[derive(Debug, Serialize)]
struct Failure {
    path: String,
    error: String,
}

#[derive(Debug, Serialize)]
struct Report {
    scanned: usize,
    analyzed: usize,
    unchanged: usize,
    failed: Vec<Failure>,
    embedding: EmbeddingReport,
}

/// The state of the embedding model for this run (`status`: `ok` or `runtime_unavailable`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddingReport {
    status: &'static str,
    model_version: Option<String>,
    profile: &'static str,
    /// Tracks whose embedding was (re)computed in this run.
    embedded: usize,
    /// Why the model is unavailable, or the first inference error.
    error: Option<String>,
}

/// Settings of one `analyze` run.
#[derive(Debug)]
pub struct AnalyzeArgs<'a> {
    pub dir: &'a Path,
    pub jobs: Option<usize>,
    pub json: bool,
    pub profile: SamplingProfile,
    pub model_dir: Option<PathBuf>,
}

struct Done {
    path: PathBuf,
    key: String,
    size: u64,
    mtime_ms: i64,
    result: Result<Processed, String>,
}

pub fn run(args: &AnalyzeArgs<'_>) -> Result<()> {
    let (dir, jobs, json) = (args.dir, args.jobs, args.json);
    let root = std::fs::canonicalize(dir).with_context(|| format!("{}: cannot open the folder", dir.display()))?;
    let mut store = SqliteStore::open(&root).with_context(|| format!("{}: cannot open the library", root.display()))?;
    let (embedder, model_error) = match crate::model::load(args.model_dir.as_deref()) {
        Ok(e) => (Some(e), None),
        Err(e) => {
            tracing::warn!("{e}; analysing without embeddings");
            (None, Some(e))
        }
    };
    let wanted = embedder.as_ref().map(|e| (e.manifest().model_version.clone(), args.profile));
    let mut index = LibraryIndex::load(&store, wanted)?;
    let files = audio_files(&root)?;
    let scanned = files.len();
    let mut report = Report {
        scanned,
        analyzed: 0,
        unchanged: 0,
        failed: Vec::new(),
        embedding: EmbeddingReport {
            status: model_error.as_ref().map_or("ok", |e| e.status()),
            model_version: embedder.as_ref().map(|e| e.manifest().model_version.clone()),
            profile: args.profile.name(),
            embedded: 0,
            error: model_error.map(|e| e.to_string()),
        },
    };

    // Stat every file; unchanged ones need nothing else.
    let mut touched = Vec::new();
    let mut work = Vec::new();
    for path in files {
        let key = path_key(&relative_to(&root, &path)?);
        match stat(&path) {
            Ok((size, mtime_ms)) => match ingest::plan(&index, &key, size, mtime_ms) {
                Plan::Unchanged { .. } => {
                    touched.push(key);
                    report.unchanged += 1;
                }
                Plan::EmbedOnly => work.push((path, key, size, mtime_ms, true)),
                Plan::Analyse => work.push((path, key, size, mtime_ms, false)),
            },
            Err(e) => report
                .failed
                .push(Failure { path: path.display().to_string(), error: format!("cannot read the file: {e}") }),
        }
    }

    let progress = ProgressBar::new(work.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{spinner} analysing [{bar:40}] {pos}/{len} {per_sec} eta {eta} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let threads = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().context("cannot start worker threads")?;
    let options = AnalyzeOptions { profile: args.profile, ..AnalyzeOptions::default() };
    let (tx, rx) = mpsc::sync_channel::<Done>(threads * 2);
    let index_ref = &index;
    let embedder_ref = embedder.as_ref();
    let write_result: Result<()> = std::thread::scope(|scope| {
        scope.spawn(move || {
            pool.install(|| {
                work.into_par_iter().for_each_with(tx, |tx, (path, key, size, mtime_ms, embed_only)| {
                    let result = read_and_process(&path, size, embed_only, index_ref, &options, embedder_ref);
                    let done = Done { path, key, size, mtime_ms, result };
                    // The receiver only goes away when the writer failed; stop quietly then.
                    let _ = tx.send(done);
                });
            });
        });
        for done in rx {
            progress.inc(1);
            progress.set_message(done.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            let processed = match done.result {
                Ok(p) => p,
                Err(error) => {
                    report.failed.push(Failure { path: done.path.display().to_string(), error });
                    continue;
                }
            };
            if let Some(e) = &processed.embedding_error {
                tracing::warn!("{}: {e}", done.path.display());
            }
            let c = ingest::commit(&mut store, &processed, &done.key, done.size, done.mtime_ms, now_ms())?;
            if c.analyzed {
                report.analyzed += 1;
            } else {
                report.unchanged += 1;
            }
            if c.embedded {
                report.embedding.embedded += 1;
            }
        }
        Ok(())
    });
    progress.finish_and_clear();
    write_result?;
    for s in store.song_versions()? {
        index.note_song(&s.song_id, &s.file_hash);
    }
    let now = now_ms();
    store.touch_path_entries(&touched, now)?;
    let collected = store.gc_path_entries(now, PATH_INDEX_TTL_MS, PATH_INDEX_CAPACITY)?;
    tracing::info!(collected, "path index garbage-collected");
    report.failed.sort_by(|a, b| a.path.cmp(&b.path));
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} files: {} analysed, {} unchanged, {} failed",
            report.scanned,
            report.analyzed,
            report.unchanged,
            report.failed.len()
        );
        for f in &report.failed {
            println!("  failed: {}: {}", f.path, f.error);
        }
    }
    Ok(())
}

/// Read a file and process it (on a worker thread); errors are the report's text.
fn read_and_process(
    path: &Path,
    size: u64,
    embed_only: bool,
    index: &LibraryIndex,
    options: &AnalyzeOptions,
    embedder: Option<&Embedder>,
) -> Result<Processed, String> {
    // Refuse by size before reading a byte of a huge file.
    options.limits.check_size(size).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let name = path.file_name().and_then(|n| n.to_str());
    ingest::process(index, bytes, name, embed_only, options, embedder).map_err(|e| e.to_string())
}
