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
use selecta_core::embed::{Embedder, SamplingProfile, TrackEmbedding};
use selecta_core::hash::sha256_hex;
use selecta_core::library::{LibraryIndex, path_key};
use selecta_core::taste;
use selecta_core::{AnalyzeOptions, PathEntry, SongFeatures, Store, analyze_bytes, embed_bytes};
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

enum Outcome {
    Analyzed(Box<SongFeatures>),
    Known { song_id: String },
    Embedded { song_id: String, embedding: Option<Box<TrackEmbedding>> },
    Failed(String),
}

/// What a worker must do with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// New or changed: read, hash, analyse.
    Analyse,
    /// Unchanged, but its embedding is missing or from another model/profile.
    EmbedOnly,
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
    file_hash: String,
    outcome: Outcome,
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
            Ok((size, mtime_ms)) => match index.unchanged(&key, size, mtime_ms) {
                Some(entry) if index.needs_embedding(&entry.song_id) => {
                    work.push((path, key, size, mtime_ms, Job::EmbedOnly));
                }
                Some(_) => {
                    touched.push(key);
                    report.unchanged += 1;
                }
                None => work.push((path, key, size, mtime_ms, Job::Analyse)),
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
                work.into_par_iter().for_each_with(tx, |tx, (path, key, size, mtime_ms, job)| {
                    let file = FileJob { path: &path, key, size, mtime_ms, job };
                    let done = process(file, index_ref, &options, embedder_ref);
                    // The receiver only goes away when the writer failed; stop quietly then.
                    let _ = tx.send(done);
                });
            });
        });
        for done in rx {
            progress.inc(1);
            progress.set_message(done.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            let now = now_ms();
            let song_id = match done.outcome {
                Outcome::Analyzed(features) => {
                    // Through the taste API: a re-analysed track's cached scores go, and a tag
                    // edit of a labelled track counts as a sample change.
                    taste::upsert_song_features(&mut store, &features, now)?;
                    report.analyzed += 1;
                    if features.embedding.is_some() {
                        report.embedding.embedded += 1;
                    }
                    features.song_id.clone()
                }
                Outcome::Embedded { song_id, embedding } => {
                    if let Some(e) = embedding {
                        taste::upsert_embedding(&mut store, &song_id, &e, now)?;
                        report.embedding.embedded += 1;
                    }
                    report.analyzed += 1;
                    song_id
                }
                Outcome::Known { song_id } => {
                    report.unchanged += 1;
                    song_id
                }
                Outcome::Failed(error) => {
                    report.failed.push(Failure { path: done.path.display().to_string(), error });
                    continue;
                }
            };
            let entry = PathEntry {
                path_key: done.key.clone(),
                file_path: done.key,
                size: done.size,
                mtime_ms: done.mtime_ms,
                song_id,
                file_hash: done.file_hash,
            };
            store.put_path_entry(&entry, now)?;
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

struct FileJob<'a> {
    path: &'a Path,
    key: String,
    size: u64,
    mtime_ms: i64,
    job: Job,
}

fn process(file: FileJob<'_>, index: &LibraryIndex, options: &AnalyzeOptions, embedder: Option<&Embedder>) -> Done {
    let FileJob { path, key, size, mtime_ms, job } = file;
    let mut done = Done {
        path: path.to_path_buf(),
        key,
        size,
        mtime_ms,
        file_hash: String::new(),
        outcome: Outcome::Failed(String::new()),
    };
    if size > options.limits.max_file_bytes {
        done.outcome = Outcome::Failed(format!(
            "file is too large ({size} bytes; the limit is {} bytes)",
            options.limits.max_file_bytes
        ));
        return done;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            done.outcome = Outcome::Failed(format!("cannot read the file: {e}"));
            return done;
        }
    };
    done.file_hash = sha256_hex(&bytes);
    let name = path.file_name().and_then(|n| n.to_str());
    let known = index.song_for_file_hash(&done.file_hash).map(str::to_string);
    if let Some(song_id) = known {
        done.outcome = match embedder.filter(|_| job == Job::EmbedOnly || index.needs_embedding(&song_id)) {
            None => Outcome::Known { song_id },
            Some(model) => match embed_bytes(bytes, name, options, model) {
                Ok((_, embedding)) => Outcome::Embedded { song_id, embedding: embedding.map(Box::new) },
                Err(e) => Outcome::Failed(e.to_string()),
            },
        };
        return done;
    }
    done.outcome = match analyze_bytes(bytes, name, options, embedder) {
        Ok(analysis) => {
            if let Some(e) = analysis.embedding_error {
                tracing::warn!("{}: {e}", path.display());
            }
            Outcome::Analyzed(Box::new(analysis.features))
        }
        Err(e) => Outcome::Failed(e.to_string()),
    };
    done
}
