//! `selecta label`, `selecta train`, `selecta predict`: the taste API on a library folder.
//! Files are mapped to `songId`s through the path index written by `selecta analyze`; every
//! rule (threshold, revisions, cache, counter) is the core's.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use selecta_core::Store;
use selecta_core::library::path_key;
use selecta_core::taste::{
    self, JobControl, Label, PredictStatus, Progress, TrainOutcome, TrainStatus, auto_retrain_due,
};
use selecta_sqlite::SqliteStore;
use serde_json::json;

use crate::files::{find_library, now_ms, relative_to};

/// Open the library given by `--library`, or the one holding the first file (or the current
/// folder).
pub fn open_library(library: Option<&Path>, first_file: Option<&Path>) -> Result<SqliteStore> {
    let root = match (library, first_file) {
        (Some(l), _) => {
            std::fs::canonicalize(l).with_context(|| format!("{}: cannot open the library", l.display()))?
        }
        (None, Some(f)) => find_library(f)?,
        (None, None) => {
            let cwd = std::env::current_dir()?;
            if cwd.join(selecta_sqlite::FEATURES_DB).is_file() { cwd } else { find_library(&cwd)? }
        }
    };
    if !root.join(selecta_sqlite::FEATURES_DB).is_file() {
        bail!("{}: not a library (no {}); run `selecta analyze` first", root.display(), selecta_sqlite::FEATURES_DB);
    }
    Ok(SqliteStore::open(&root)?)
}

/// `songId` of an analysed file, or why there is none.
pub fn song_of(store: &SqliteStore, file: &Path) -> Result<String, String> {
    let abs = std::fs::canonicalize(file).map_err(|e| format!("cannot open: {e}"))?;
    let key = relative_to(store.root(), &abs).map(|r| path_key(&r)).map_err(|e| e.to_string())?;
    match store.path_entry(&key) {
        Ok(Some(entry)) => Ok(entry.song_id),
        Ok(None) => Err("not analysed yet; run `selecta analyze` on the library first".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// One row of a labels CSV.
pub struct LabelRow {
    pub path: PathBuf,
    pub label: Label,
    /// The `truth` column, when present (simulated listeners: the label before noise).
    pub truth: Option<Label>,
}

/// Rows of a labels CSV (`path`, `label`, optional `truth`), paths relative to the CSV's folder
/// (or absolute).
pub fn read_label_csv(csv_path: &Path) -> Result<Vec<LabelRow>> {
    let mut reader =
        csv::Reader::from_path(csv_path).with_context(|| format!("{}: cannot read", csv_path.display()))?;
    let headers = reader.headers()?.clone();
    let find = |name: &str| headers.iter().position(|h| h.trim() == name);
    let col = |name: &str| find(name).with_context(|| format!("{}: no `{name}` column", csv_path.display()));
    let (path_col, label_col, truth_col) = (col("path")?, col("label")?, find("truth"));
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let parse = |l: &str, line: usize| {
        Label::parse(l)
            .ok_or_else(|| anyhow!("{} line {line}: label {l:?} is not liked/disliked/neutral", csv_path.display()))
    };
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record?;
        let (Some(p), Some(l)) = (record.get(path_col), record.get(label_col)) else { continue };
        let truth = truth_col.and_then(|c| record.get(c)).map(|t| parse(t, n + 2)).transpose()?;
        rows.push(LabelRow { path: base.join(p), label: parse(l, n + 2)?, truth });
    }
    Ok(rows)
}

pub struct LabelArgs<'a> {
    pub label: Option<&'a str>,
    pub files: &'a [PathBuf],
    pub csv: Option<&'a Path>,
    pub library: Option<&'a Path>,
    pub json: bool,
    pub auto_train: bool,
}

pub fn label(args: &LabelArgs<'_>) -> Result<()> {
    let rows: Vec<(PathBuf, Label)> = match (args.csv, args.label) {
        (Some(csv), None) if args.files.is_empty() => {
            read_label_csv(csv)?.into_iter().map(|r| (r.path, r.label)).collect()
        }
        (None, Some(l)) if !args.files.is_empty() => {
            let label = Label::parse(l).filter(|_| !l.trim().is_empty());
            let label = label.ok_or_else(|| anyhow!("label {l:?} is not liked, disliked or neutral"))?;
            args.files.iter().map(|f| (f.clone(), label)).collect()
        }
        _ => bail!("give either LABEL FILE... or --csv FILE"),
    };
    let mut store = open_library(args.library, rows.first().map(|(p, _)| p.as_path()))?;
    let mut by_label: HashMap<Label, Vec<String>> = HashMap::new();
    let mut unknown = Vec::new();
    for (path, label) in &rows {
        match song_of(&store, path) {
            Ok(id) => by_label.entry(*label).or_default().push(id),
            Err(reason) => unknown.push(json!({"path": path.display().to_string(), "error": reason})),
        }
    }
    let now = now_ms();
    let (mut total, mut changed, mut delta) = (0, 0, 0);
    for label in [Label::Liked, Label::Disliked, Label::Neutral] {
        if let Some(ids) = by_label.get(&label) {
            let r = taste::set_selection_labels(&mut store, ids, label, now)?;
            total += r.total;
            changed += r.changed;
            delta += r.sample_change_delta;
        }
    }
    let snapshot = taste::get_selection_label_snapshot(&store)?;
    // The CLI runs once per call, so the debounce is the call itself: retrain when due.
    let auto = (args.auto_train && auto_retrain_due(&snapshot)).then(|| train_with_lock(&mut store, false));
    let auto = auto.transpose()?;
    let value = json!({
        "total": total,
        "changed": changed,
        "sampleChangeCount": auto.as_ref().filter(|t| t.status == TrainStatus::Trained).map_or(snapshot.sample_change_count, |_| 0),
        "sampleChangeDelta": delta,
        "positives": snapshot.positive_ids.len(),
        "negatives": snapshot.negative_ids.len(),
        "unknown": unknown,
        "autoTrain": auto,
    });
    if args.json {
        println!("{value}");
    } else {
        println!(
            "{total} tracks, {changed} changed; {} liked, {} disliked; {} changes since the last training",
            snapshot.positive_ids.len(),
            snapshot.negative_ids.len(),
            value["sampleChangeCount"]
        );
        for u in &unknown {
            println!("  skipped: {}: {}", u["path"].as_str().unwrap_or(""), u["error"].as_str().unwrap_or(""));
        }
        if let Some(t) = &auto {
            println!("retrained automatically: {}", serde_json::to_string(t)?);
        }
    }
    Ok(())
}

/// Progress bar on stderr for a long job.
struct Bar(ProgressBar);

impl Bar {
    fn new(visible: bool) -> Self {
        let bar = if visible { ProgressBar::new(100) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template("{msg:8} [{bar:40}] {pos:>3}%")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Self(bar)
    }
}

impl JobControl for Bar {
    fn progress(&mut self, p: Progress) {
        self.0.set_message(format!("{:?}", p.phase).to_lowercase());
        self.0.set_position(u64::from(p.percent));
    }
}

fn train_with_lock(store: &mut SqliteStore, show_progress: bool) -> Result<TrainOutcome> {
    let _lock = store.lock_training()?;
    let snapshot = taste::get_selection_label_snapshot(store)?;
    let mut bar = Bar::new(show_progress);
    let outcome =
        taste::train_selection_gbdt(store, &snapshot.positive_ids, &snapshot.negative_ids, now_ms(), &mut bar);
    bar.0.finish_and_clear();
    Ok(outcome)
}

pub fn train(library: Option<&Path>, json: bool) -> Result<()> {
    let mut store = open_library(library, None)?;
    let started = std::time::Instant::now();
    let outcome = train_with_lock(&mut store, !json)?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "training finished");
    if json {
        println!("{}", serde_json::to_string(&outcome)?);
    } else {
        match (&outcome.status, &outcome.metrics) {
            (TrainStatus::Trained, Some(m)) => println!(
                "trained revision {} on {} liked / {} disliked ({} without features skipped), training AUC {:.3}, {:.1} s",
                outcome.model_revision.unwrap_or(0),
                m.positives,
                m.negatives,
                m.skipped_without_features,
                m.train_auc,
                started.elapsed().as_secs_f64()
            ),
            (TrainStatus::InsufficientSamples, _) => println!(
                "insufficient_samples: mark at least {} tracks liked and {} disliked per liked track",
                taste::labels::MIN_POSITIVES,
                taste::labels::NEGATIVES_PER_POSITIVE
            ),
            _ => println!("{}", serde_json::to_string(&outcome)?),
        }
    }
    if outcome.status == TrainStatus::Failed {
        bail!("training failed: {}", outcome.error.unwrap_or_default());
    }
    Ok(())
}

pub fn predict(files: &[PathBuf], top_k: usize, library: Option<&Path>, json: bool) -> Result<()> {
    let mut store = open_library(library, files.first().map(PathBuf::as_path))?;
    let entries = store.path_entries()?;
    let mut path_of: HashMap<String, String> = HashMap::new();
    for e in &entries {
        path_of.entry(e.song_id.clone()).or_insert_with(|| e.file_path.clone());
    }
    let mut unknown = Vec::new();
    let candidates: Vec<String> = if files.is_empty() {
        let labelled: HashSet<String> = store_labels(&store)?;
        let mut ids: Vec<String> = path_of.keys().filter(|id| !labelled.contains(*id)).cloned().collect();
        ids.sort();
        ids
    } else {
        let mut ids = Vec::new();
        for f in files {
            match song_of(&store, f) {
                Ok(id) => ids.push(id),
                Err(reason) => unknown.push(json!({"path": f.display().to_string(), "error": reason})),
            }
        }
        ids
    };
    let outcome = taste::predict_selection_candidates(&mut store, &candidates, top_k, now_ms(), &mut taste::NoControl);
    let items: Vec<serde_json::Value> =
        outcome.items.iter().map(|it| json!({"id": it.id, "path": path_of.get(&it.id), "score": it.score})).collect();
    let mut value = serde_json::to_value(&outcome)?;
    value["items"] = serde_json::Value::Array(items);
    if !unknown.is_empty() {
        value["unknown"] = serde_json::Value::Array(unknown.clone());
    }
    if json {
        println!("{value}");
    } else if outcome.status == PredictStatus::Ok {
        for it in &outcome.items {
            println!("{:>3}  {}", it.score, path_of.get(&it.id).map_or(it.id.as_str(), String::as_str));
        }
        for u in &unknown {
            println!("  skipped: {}: {}", u["path"].as_str().unwrap_or(""), u["error"].as_str().unwrap_or(""));
        }
    } else {
        println!("{}", value["status"].as_str().unwrap_or("failed"));
        if outcome.status == PredictStatus::InsufficientSamples {
            println!("*  Not enough samples: mark what you like and dislike");
        }
    }
    if outcome.status == PredictStatus::Failed {
        bail!("prediction failed: {}", outcome.error.unwrap_or_default());
    }
    Ok(())
}

fn store_labels(store: &SqliteStore) -> Result<HashSet<String>> {
    use selecta_core::taste::TasteStore;
    Ok(store.labels()?.into_keys().collect())
}
