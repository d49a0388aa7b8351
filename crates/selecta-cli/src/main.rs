//! `selecta`: the command-line front end. It parses arguments, walks folders, reads files and
//! runs work on all cores; every decision about music lives in `selecta-core`.
//!
//! Exit codes: 0 when the command finished (a batch with per-file failures still exits 0 and
//! lists them), 1 when it could not run (missing folder, unreadable library, schema too new),
//! 2 for invalid arguments.

mod analyze;
mod bench;
mod eval;
mod files;
mod model;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use selecta_core::embed::SamplingProfile;

fn parse_profile(name: &str) -> Result<SamplingProfile, String> {
    SamplingProfile::parse(name).ok_or_else(|| format!("unknown profile {name:?} (full, club_hifi_150s, fast)"))
}

#[derive(Debug, Parser)]
#[command(name = "selecta", version, about = "Local-first music-library intelligence: analysis, taste, similarity, DJ")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyse every audio file under DIR (recursively) into DIR/features.db; only new or
    /// changed files are decoded.
    Analyze {
        /// The library folder.
        dir: PathBuf,
        /// Parallel workers (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Print one JSON object on stdout instead of a summary.
        #[arg(long)]
        json: bool,
        /// Embedding sampling profile: full, club_hifi_150s or fast.
        #[arg(long, default_value = "full", value_parser = parse_profile)]
        profile: SamplingProfile,
        /// Model folder (manifest.json + model); default: the bundled musicnn-MSD model.
        #[arg(long, env = "SELECTA_MODEL_DIR")]
        model_dir: Option<PathBuf>,
    },
    /// Show every stored feature of one file.
    Show {
        /// The audio file.
        file: PathBuf,
        /// Library folder (default: the nearest ancestor holding features.db).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Model folder whose tag names label `topTags` (default: the bundled model).
        #[arg(long, env = "SELECTA_MODEL_DIR")]
        model_dir: Option<PathBuf>,
    },
    /// Measure decode-only and full-analysis speed (× realtime per core) on audio files; with
    /// `--embedding`, the embedding throughput per sampling profile instead.
    Bench {
        /// Files or folders to measure.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Benchmark the embedding model instead of the DSP analysis.
        #[arg(long)]
        embedding: bool,
        /// With --embedding: at most this many files.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Model folder (default: the bundled model).
        #[arg(long, env = "SELECTA_MODEL_DIR")]
        model_dir: Option<PathBuf>,
    },
    /// Evaluate against ground truth.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Tempo accuracy (Acc1 within 4 %, Acc2 also at ×2, ×½, ×3, ×⅓) against a manifest CSV
    /// with `path` and `bpm_gt` columns (the corpus's `real_manifest.csv`).
    Tempo {
        /// The manifest.
        manifest: PathBuf,
        /// Parallel workers (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Similarity quality: for every track, is its nearest neighbour from the same source
    /// (`source_package` column) — top-1 — and how many of its 5 nearest are (P@5), for the
    /// embedding variants, MFCC baselines and Selecta's combined similarity.
    Similarity {
        /// The manifest (`path`, `source_package` columns).
        manifest: PathBuf,
        /// Parallel workers (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Embedding sampling profile.
        #[arg(long, default_value = "full", value_parser = parse_profile)]
        profile: SamplingProfile,
        /// Model folder (default: the bundled model).
        #[arg(long, env = "SELECTA_MODEL_DIR")]
        model_dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SELECTA_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze { dir, jobs, json, profile, model_dir } => {
            analyze::run(&analyze::AnalyzeArgs { dir: &dir, jobs, json, profile, model_dir })
        }
        Command::Show { file, library, json, model_dir } => {
            show::run(&file, library.as_deref(), model_dir.as_deref(), json)
        }
        Command::Bench { paths, json, embedding: false, .. } => bench::run(&paths, json),
        Command::Bench { paths, json, embedding: true, limit, model_dir } => {
            bench::run_embedding(&paths, limit, model_dir.as_deref(), json)
        }
        Command::Eval { what: EvalCommand::Tempo { manifest, jobs, json } } => eval::tempo(&manifest, jobs, json),
        Command::Eval { what: EvalCommand::Similarity { manifest, jobs, profile, model_dir, json } } => {
            eval::similarity(&manifest, jobs, profile, model_dir.as_deref(), json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("selecta: {e:#}");
            ExitCode::from(1)
        }
    }
}
