//! `selecta label`, `selecta train`, `selecta predict`: the taste API on a library folder.
//! Files are mapped to `songId`s through the path index written by `selecta analyze`; every
//! rule (threshold, revisions, cache, counter) is the core's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use selecta_core::Label;
use selecta_core::control::{JobControl, NoControl, Progress};
use selecta_core::engine::{parse_label, rules};
use selecta_core::taste::{PredictStatus, TrainStatus};
use serde_json::json;

use crate::files::{now_ms, open_library, song_of};

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
            let label = parse_label(l)?;
            args.files.iter().map(|f| (f.clone(), label)).collect()
        }
        _ => bail!("give either LABEL FILE... or --csv FILE"),
    };
    let (root, mut engine) = open_library(args.library, rows.first().map(|(p, _)| p.as_path()))?;
    let mut groups: Vec<(Label, Vec<String>)> =
        [Label::Liked, Label::Disliked, Label::Neutral].into_iter().map(|l| (l, Vec::new())).collect();
    let mut unknown = Vec::new();
    for (path, label) in &rows {
        match song_of(&root, &engine, path) {
            Ok(id) => groups.iter_mut().filter(|(l, _)| l == label).for_each(|(_, ids)| ids.push(id.clone())),
            Err(reason) => unknown.push(json!({"path": path.display().to_string(), "error": reason})),
        }
    }
    let outcome = engine.label_songs(&groups, args.auto_train, now_ms(), &mut NoControl)?;
    let mut value = serde_json::to_value(&outcome)?;
    value["unknown"] = json!(unknown);
    if args.json {
        println!("{value}");
    } else {
        println!(
            "{} tracks, {} changed; {} liked, {} disliked; {} changes since the last training",
            outcome.total, outcome.changed, outcome.positives, outcome.negatives, outcome.sample_change_count
        );
        for u in &unknown {
            println!("  skipped: {}: {}", u["path"].as_str().unwrap_or(""), u["error"].as_str().unwrap_or(""));
        }
        if let Some(t) = &outcome.auto_train {
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

pub fn train(library: Option<&Path>, json: bool) -> Result<()> {
    let (_, mut engine) = open_library(library, None)?;
    let started = std::time::Instant::now();
    let mut bar = Bar::new(!json);
    let outcome = engine.train_on_labels(now_ms(), &mut bar)?;
    bar.0.finish_and_clear();
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
                rules().min_positives,
                rules().negatives_per_positive
            ),
            _ => println!("{}", serde_json::to_string(&outcome)?),
        }
    }
    if outcome.status == TrainStatus::Failed {
        bail!("training failed: {}", outcome.error.unwrap_or_default());
    }
    Ok(())
}

pub fn predict(files: &[PathBuf], top_k: usize, library: Option<&Path>, json: bool, m3u: Option<&Path>) -> Result<()> {
    let (root, mut engine) = open_library(library, files.first().map(PathBuf::as_path))?;
    let path_of = engine.song_paths()?;
    let mut unknown = Vec::new();
    let candidates: Vec<String> = if files.is_empty() {
        engine.unlabelled_songs()?
    } else {
        let mut ids = Vec::new();
        for f in files {
            match song_of(&root, &engine, f) {
                Ok(id) => ids.push(id),
                Err(reason) => unknown.push(json!({"path": f.display().to_string(), "error": reason})),
            }
        }
        ids
    };
    let outcome = engine.predict_selection_candidates(&candidates, top_k, now_ms(), &mut NoControl);
    if let (Some(out), PredictStatus::Ok) = (m3u, outcome.status) {
        let songs: Vec<String> = outcome.items.iter().map(|i| i.id.clone()).collect();
        crate::interop::write_m3u(&root, &engine, &songs, out)?;
    }
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
