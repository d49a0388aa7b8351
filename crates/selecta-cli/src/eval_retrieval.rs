//! `selecta eval retrieval QUERIES.csv --library DIR`: identification (and, with `--similar`,
//! search-by-audio) quality on augmented snippets of the library's tracks, made by
//! `scripts/make_retrieval_queries.py`. Snippets are analysed on all cores; the engine answers
//! each; `selecta_core::eval::retrieval` scores.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use selecta_core::engine::SimilarOptions;
use selecta_core::eval::retrieval::{QueryOutcome, held_out_packages, summarise};
use selecta_core::features::fingerprint::SUB_FINGERPRINT_SECONDS;
use selecta_core::retrieval::PrintMatch;
use selecta_core::retrieval::identify::mark_matches;

use crate::files::open_library;

/// One row of the query CSV.
#[derive(Debug, serde::Deserialize)]
struct QueryRow {
    query: String,
    target: String,
    augmentation: String,
    offset_sec: f64,
}

/// Settings of one evaluation.
#[derive(Debug)]
pub struct RetrievalArgs<'a> {
    pub queries: &'a Path,
    pub library: &'a Path,
    pub similar: bool,
    pub model_dir: Option<&'a Path>,
    pub jobs: Option<usize>,
    pub json: bool,
}

pub fn run(args: RetrievalArgs<'_>) -> Result<()> {
    let mut reader =
        csv::Reader::from_path(args.queries).with_context(|| format!("{}: cannot read", args.queries.display()))?;
    let rows: Vec<QueryRow> = reader.deserialize().collect::<Result<_, _>>()?;
    let folder = args.queries.parent().unwrap_or(Path::new(".")).to_path_buf();
    let (_, mut engine) = open_library(Some(args.library), None)?;
    if args.similar {
        engine.set_model(crate::model::load(args.model_dir))?;
    }
    let analyzer = engine.audio_analyzer();
    let started = Instant::now();
    let threads = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    let analysed: Vec<_> = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?.install(|| {
        rows.par_iter()
            .map(|row| {
                let path: PathBuf = folder.join(&row.query);
                let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                Ok(analyzer.analyze(bytes, Some(&row.query), args.similar)?)
            })
            .collect::<Vec<Result<_>>>()
    });
    let analyse_sec = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut outcomes = Vec::new();
    let (mut failed, mut missing_target) = (0usize, 0usize);
    for (row, query) in rows.iter().zip(analysed) {
        let query = match query {
            Ok(q) => q,
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}");
                continue;
            }
        };
        let Some(target) = engine.song_for_path(&row.target)? else {
            // A track the library could not analyse (e.g. a codec it does not decode).
            missing_target += 1;
            continue;
        };
        let identify = engine.identify(&query)?;
        let position = identify.candidates.iter().position(|c| c.id == target);
        let found = position.map(|p| &identify.candidates[p]);
        let similar_rank = if args.similar {
            let items =
                engine.similar_to_audio(&query, None, &SimilarOptions { k: Some(100), ..Default::default() })?;
            items.iter().position(|i| i.id == target).map(|p| p + 1)
        } else {
            None
        };
        let mut others: Vec<PrintMatch> = identify
            .candidates
            .iter()
            .filter(|c| c.id != target)
            .map(|c| PrintMatch {
                id: c.id.clone(),
                offset_sec: c.offset_sec,
                agreement: c.parts.fingerprint,
                speed: c.speed,
                stretch: c.stretch,
                matched: false,
            })
            .collect();
        mark_matches(&mut others, (identify.query_seconds / SUB_FINGERPRINT_SECONDS).round() as usize);
        let impostor = identify.candidates.iter().find(|c| c.id != target);
        if let Some(wrong) = impostor.filter(|c| c.matched) {
            // Printed so a reader can hear whether the "impostor" is another version of the track.
            eprintln!(
                "{}: the target is {} ({:?}); {} agrees {:.3} (matched)",
                row.query,
                row.target,
                found.map(|c| c.parts.fingerprint),
                wrong.path.as_deref().unwrap_or(&wrong.id),
                wrong.parts.fingerprint
            );
        }
        outcomes.push(QueryOutcome {
            augmentation: row.augmentation.clone(),
            package: row.target.split('/').next().unwrap_or_default().to_string(),
            // The target, or a duplicate of it in the library with the target matched too (the
            // same recording held twice: either answer names it).
            identified: found.is_some_and(|c| c.matched),
            candidate_rank: position.map(|p| p + 1),
            offset_error_sec: found.map(|c| (c.offset_sec - row.offset_sec).abs()),
            target_agreement: found.map(|c| c.parts.fingerprint),
            impostor_agreement: identify
                .candidates
                .iter()
                .filter(|c| c.id != target)
                .map(|c| c.parts.fingerprint)
                .reduce(f32::max),
            false_match_without_target: others.iter().any(|c| c.matched),
            similar_rank,
        });
    }
    let answer_ms = started.elapsed().as_secs_f64() * 1000.0 / outcomes.len().max(1) as f64;
    let held_out = held_out_packages(outcomes.iter().map(|o| o.package.as_str()));
    let scores = summarise(&outcomes, &held_out, args.similar);
    if args.json {
        let report = serde_json::json!({
            "queries": outcomes.len(), "failed": failed, "targetNotInLibrary": missing_target, "heldOutPackages": held_out,
            "analyseSec": analyse_sec, "answerMsPerQuery": answer_ms, "scores": scores,
        });
        println!("{report}");
        return Ok(());
    }
    println!(
        "{} queries ({failed} failed, {missing_target} of tracks not in the library); analysis {analyse_sec:.1} s on {threads} threads; {answer_ms:.2} ms per answer",
        outcomes.len()
    );
    println!("held-out packages: {}", held_out.iter().cloned().collect::<Vec<_>>().join(", "));
    let pct = |v: f64| format!("{:5.1}", v * 100.0);
    let opt = |v: Option<f64>| v.map_or("    –".into(), pct);
    println!(
        "{:<16} {:<8} {:>4} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>6} {:>5} {:>5} {:>5} {:>5}",
        "augmentation",
        "split",
        "n",
        "R@1",
        "R@5",
        "MRR",
        "off50",
        "off95",
        "tgtMin",
        "impMax",
        "sR@1",
        "sR@10",
        "sR100",
        "sMRR"
    );
    for s in &scores {
        println!(
            "{:<16} {:<8} {:>4} {} {} {} {} {:>6} {:>6} {:>6} {:>6} {} {} {} {}",
            s.augmentation,
            s.split,
            s.queries,
            pct(s.identify_recall_at_1),
            pct(s.identify_recall_at_5),
            pct(s.identify_mrr),
            pct(s.false_identification_without_target),
            s.offset_error_median_sec.map_or("–".into(), |v| format!("{v:.2}")),
            s.offset_error_p95_sec.map_or("–".into(), |v| format!("{v:.2}")),
            s.target_agreement_min.map_or("–".into(), |v| format!("{v:.3}")),
            s.impostor_agreement_max.map_or("–".into(), |v| format!("{v:.3}")),
            opt(s.similar_recall_at_1),
            opt(s.similar_recall_at_10),
            opt(s.similar_recall_at_100),
            opt(s.similar_mrr),
        );
    }
    Ok(())
}
