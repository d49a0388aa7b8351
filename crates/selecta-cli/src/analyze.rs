//! `selecta analyze DIR`: incremental, parallel, crash-safe ingest of a library folder through
//! the engine. This file walks the folder, reads files on worker threads and shows a progress
//! bar; the engine decides what each file needs, claims it (so processes sharing the library
//! decode each file once) and commits it. One writer (this thread) commits each track in its
//! own transaction as soon as it is done, so a killed run keeps everything finished before.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::{PendingFile, ProcessedFile, ScanReport};
use selecta_core::{Engine, EngineError, control::NoControl};
use selecta_sqlite::SqliteStore;

use crate::files::{audio_files, now_ms, open_engine, relative_to, stat};

/// Settings of one `analyze` run.
#[derive(Debug)]
pub struct AnalyzeArgs<'a> {
    pub dir: &'a Path,
    pub jobs: Option<usize>,
    pub json: bool,
    pub profile: SamplingProfile,
    pub model_dir: Option<PathBuf>,
}

pub fn run(args: &AnalyzeArgs<'_>) -> Result<()> {
    let root =
        std::fs::canonicalize(args.dir).with_context(|| format!("{}: cannot open the folder", args.dir.display()))?;
    let mut engine = open_engine(&root, args.profile)?;
    engine.set_model(crate::model::load(args.model_dir.as_deref()))?;
    let files = audio_files(&root)?;
    let report = scan(&root, &mut engine, files, args.jobs, None)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
    }
    Ok(())
}

/// Bring `files` (audio files under `root`) into the library: unchanged ones are only marked
/// seen, the others are read and analysed on `jobs` threads and committed one by one as they
/// finish. When `stop` is set, files not started yet are left for the next scan (and reported
/// as not analysed), so Ctrl-C never cuts a commit.
pub fn scan(
    root: &Path,
    engine: &mut Engine<SqliteStore>,
    files: Vec<PathBuf>,
    jobs: Option<usize>,
    stop: Option<&AtomicBool>,
) -> Result<ScanReport> {
    let mut report = ScanReport::new(files.len(), engine.model_state());

    // Stat every file; unchanged ones need nothing else.
    let mut touched = Vec::new();
    let mut work: Vec<(PathBuf, PendingFile)> = Vec::new();
    for path in files {
        let file = stat(&path)
            .map_err(|e| format!("cannot read the file: {e}"))
            .and_then(|(size, mtime)| Ok((relative_to(root, &path).map_err(|e| e.to_string())?, size, mtime)));
        if let Some(pending) = report.begin(engine, &path.display().to_string(), file, &mut touched) {
            work.push((path, pending));
        }
    }

    // Longest first (by size, the length known before decoding): the short files left at the
    // end fill the threads evenly, instead of one long file running alone at the end.
    work.sort_by_key(|(_, pending)| std::cmp::Reverse(pending.size()));

    let progress = if stop.is_some() { ProgressBar::hidden() } else { ProgressBar::new(work.len() as u64) };
    progress.set_style(
        ProgressStyle::with_template("{spinner} analysing [{bar:40}] {pos}/{len} {per_sec} eta {eta} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let threads = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
    // Each file is claimed by this thread just before a worker reads it (not all at the start),
    // so processes sharing the library divide the files between them as they go.
    let (work_tx, work_rx) = mpsc::sync_channel::<(PathBuf, PendingFile)>(threads + 1);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(PathBuf, String, Result<ProcessedFile, String>)>();
    let write_result: Result<()> = std::thread::scope(|scope| {
        for _ in 0..threads {
            let (work_rx, done_tx) = (&work_rx, done_tx.clone());
            scope.spawn(move || {
                loop {
                    // Hold the lock only to take the next file.
                    let next = work_rx.lock().map_err(|_| ()).and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((path, file)) = next else { break };
                    let result = if stopped() {
                        Err("stopped before it was read; the next scan analyses it".to_string())
                    } else {
                        std::fs::read(&path).map_err(|e| format!("cannot read the file: {e}")).and_then(|bytes| {
                            file.run(bytes, &mut NoControl).map_err(|e: EngineError| e.reason().to_string())
                        })
                    };
                    // The receiver only goes away when the writer failed; stop quietly then.
                    if done_tx.send((path, file.key().to_string(), result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut queue = work.into_iter();
        let mut in_flight = 0;
        loop {
            while in_flight <= threads {
                let Some((path, file)) = queue.next() else { break };
                let shown = path.display().to_string();
                if stopped() {
                    report.add_failure(shown, "stopped before it was read; the next scan analyses it");
                    progress.inc(1);
                } else if report.claim(engine, &shown, &file, &mut touched, now_ms()) {
                    work_tx.send((path, file)).context("the worker threads stopped")?;
                    in_flight += 1;
                } else {
                    progress.inc(1);
                }
            }
            if in_flight == 0 {
                break;
            }
            let (path, key, result) = done_rx.recv().context("the worker threads stopped")?;
            in_flight -= 1;
            progress.inc(1);
            progress.set_message(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            match result {
                Ok(processed) => report.add_committed(&engine.commit_file(processed, now_ms())?),
                Err(error) => {
                    engine.release_file(&key)?;
                    report.add_failure(path.display().to_string(), error);
                }
            }
        }
        drop(work_tx);
        Ok(())
    });
    progress.finish_and_clear();
    write_result?;
    engine.touch_paths(&touched, now_ms())?;
    Ok(report.finish())
}
