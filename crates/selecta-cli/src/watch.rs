//! `selecta watch DIR`: keeps a library in step with its folder. After one incremental scan it
//! watches the folder (notify, debounced by notify-debouncer-full, which also pairs the two
//! halves of a rename) and, for each quiet moment after a burst of events, brings the touched
//! files through the same incremental scan as `selecta analyze`: a new or changed file is
//! analysed, a moved or copied one is recognised by its bytes and only gets a new path, a file
//! or folder that is gone is forgotten (its features and labels stay). A burst larger than the
//! operating system's event queue, or an error from the watcher, triggers a full rescan, so no
//! file is lost; the path index answers files already seen, so none is analysed twice.
//!
//! A file that fails while it may still be being written (caught empty or cut short between two
//! writes) is read once more after a quiet debounce period; only a second failure is reported.
//!
//! Ctrl-C (or SIGTERM) stops it: files already read are committed, the others wait for the
//! next run. With `--json`, each scan prints one JSON line (`{"event": "scan" | "changes", ...}`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use selecta_core::embed::SamplingProfile;
use serde_json::json;

use crate::analyze::scan;
use crate::files::{audio_files, is_audio, open_engine, relative_to};

/// Settings of `selecta watch`.
#[derive(Debug)]
pub struct WatchArgs<'a> {
    pub dir: &'a Path,
    pub jobs: Option<usize>,
    pub json: bool,
    pub profile: SamplingProfile,
    pub model_dir: Option<PathBuf>,
    pub debounce_ms: u64,
}

/// What a batch of events asks for.
#[derive(Debug, Default)]
struct Batch {
    /// Existing audio files to bring in.
    files: BTreeSet<PathBuf>,
    /// Paths (files or folders) that no longer exist.
    gone: BTreeSet<PathBuf>,
    /// The watcher lost events (queue overflow) or failed: scan everything.
    rescan: bool,
}

impl Batch {
    fn add(&mut self, root: &Path, path: &Path) {
        // Hidden files and folders are skipped like a scan skips them; the library's own files
        // (features.db, indexes, sessions, models) are not audio.
        let Ok(relative) = path.strip_prefix(root) else { return };
        if relative.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')) {
            return;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => match audio_files(path) {
                Ok(files) => self.files.extend(files),
                Err(_) => self.rescan = true,
            },
            Ok(_) if is_audio(path) => {
                self.files.insert(path.to_path_buf());
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.gone.insert(path.to_path_buf());
            }
            Err(_) => self.rescan = true,
        }
    }

    fn absorb(&mut self, root: &Path, result: DebounceEventResult) {
        match result {
            Ok(events) => {
                for e in events {
                    if e.event.need_rescan() {
                        self.rescan = true;
                    }
                    // Reading a file or listing a folder (the scan itself) is not a change.
                    if e.event.kind.is_access() {
                        continue;
                    }
                    for path in &e.event.paths {
                        self.add(root, path);
                    }
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::warn!("watcher: {e}; rescanning the folder");
                }
                self.rescan = true;
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.files.is_empty() && self.gone.is_empty() && !self.rescan
    }
}

pub fn run(args: &WatchArgs<'_>) -> Result<()> {
    let root =
        std::fs::canonicalize(args.dir).with_context(|| format!("{}: cannot open the folder", args.dir.display()))?;
    let mut engine = open_engine(&root, args.profile)?;
    engine.set_model(crate::model::load(args.model_dir.as_deref()))?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed)).context("cannot handle Ctrl-C")?;
    }
    // Watching starts before the first scan, so nothing changed during it is missed.
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer =
        new_debouncer(Duration::from_millis(args.debounce_ms), None, tx).context("cannot watch the folder")?;
    debouncer.watch(&root, RecursiveMode::Recursive).with_context(|| format!("{}: cannot watch", root.display()))?;

    let print = |event: &str, report: serde_json::Value| {
        if args.json {
            let mut line = json!({"event": event});
            if let (Some(line), Some(fields)) = (line.as_object_mut(), report.as_object()) {
                line.extend(fields.clone());
            }
            println!("{line}");
        } else {
            println!("{event}: {report}");
        }
    };
    let report = scan(&root, &mut engine, audio_files(&root)?, args.jobs, Some(&stop))?;
    print("scan", serde_json::to_value(&report)?);
    if !args.json {
        eprintln!("watching {} (Ctrl-C stops)", root.display());
    }
    // Files that failed while they may still have been written (caught empty or cut short
    // between two writes): read once more after a quiet debounce period before a failure is
    // reported.
    let mut retry: BTreeSet<PathBuf> = BTreeSet::new();
    let mut retry_at: Option<std::time::Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let mut batch = Batch::default();
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(result) => batch.absorb(&root, result),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let mut retried: BTreeSet<PathBuf> = BTreeSet::new();
        if retry_at.is_some_and(|at| std::time::Instant::now() >= at) {
            retried = std::mem::take(&mut retry).into_iter().filter(|p| p.exists()).collect();
            batch.files.extend(retried.iter().cloned());
            retry_at = None;
        }
        while let Ok(more) = rx.try_recv() {
            batch.absorb(&root, more);
        }
        if batch.is_empty() {
            continue;
        }
        let (files, forgotten) = if batch.rescan {
            let files = audio_files(&root)?;
            // Everything the index holds that the folder no longer has.
            let present: BTreeSet<String> = files
                .iter()
                .filter_map(|f| relative_to(&root, f).ok())
                .map(|r| selecta_core::path_index::path_key(&r))
                .collect();
            let missing: Vec<String> = engine
                .list_paths()?
                .into_iter()
                .filter(|p| !present.contains(&selecta_core::path_index::path_key(p)))
                .collect();
            (files, engine.forget_paths(&missing)?)
        } else {
            let gone: Vec<String> = batch.gone.iter().filter_map(|p| relative_to(&root, p).ok()).collect();
            (batch.files.into_iter().collect(), engine.forget_paths(&gone)?)
        };
        let mut report = scan(&root, &mut engine, files, args.jobs, Some(&stop))?;
        report.failed.retain(|f| {
            let path = PathBuf::from(&f.path);
            let again = !retried.contains(&path) && path.exists();
            if again {
                retry.insert(path);
            }
            !again
        });
        if !retry.is_empty() && retry_at.is_none() {
            retry_at = Some(std::time::Instant::now() + Duration::from_millis(args.debounce_ms.max(200)));
        }
        let mut value = serde_json::to_value(&report)?;
        value["removed"] = json!(forgotten);
        value["rescan"] = json!(batch.rescan);
        print("changes", value);
    }
    debouncer.stop();
    if !args.json {
        eprintln!("stopped");
    }
    Ok(())
}
