//! `selecta`: the command-line front end. It parses arguments, walks folders, reads files and
//! runs work on all cores; every decision about music lives in `selecta-core`.
//!
//! Exit codes: 0 when the command finished (a batch with per-file failures still exits 0 and
//! lists them), 1 when it could not run (missing folder, unreadable library, schema too new),
//! 2 for invalid arguments.

mod analyze;
mod bench;
mod bench_export;
mod bench_http;
mod bench_identify;
mod bench_next;
mod bench_scale;
mod bench_search;
mod bench_taste;
mod dj;
mod eval;
mod eval_retrieval;
mod files;
mod identify;
mod interop;
mod model;
mod serve;
mod show;
mod similar;
mod taste;
mod watch;

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
    /// Keep DIR's library in step with the folder: one incremental scan, then new, changed,
    /// moved and deleted files are handled as they appear (debounced). Ctrl-C stops cleanly.
    Watch {
        /// The library folder.
        dir: PathBuf,
        /// Parallel workers (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Print one JSON line per scan.
        #[arg(long)]
        json: bool,
        /// Embedding sampling profile: full, club_hifi_150s or fast.
        #[arg(long, default_value = "full", value_parser = parse_profile)]
        profile: SamplingProfile,
        /// Model folder (manifest.json + model); default: the bundled musicnn-MSD model.
        #[arg(long, env = "SELECTA_MODEL_DIR")]
        model_dir: Option<PathBuf>,
        /// Quiet time after a burst of file events before it is handled, ms.
        #[arg(long, default_value_t = 1500)]
        debounce_ms: u64,
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
    /// `--embedding`, the embedding throughput per sampling profile; with `--taste`, taste
    /// training and prediction on a synthetic library.
    Bench {
        /// Files or folders to measure.
        #[arg(required_unless_present_any = ["taste", "search", "identify", "http", "next", "export", "layout"])]
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
        /// Benchmark taste training and prediction on a synthetic library instead.
        #[arg(long, conflicts_with = "embedding")]
        taste: bool,
        /// With --taste: candidates to score.
        #[arg(long, default_value_t = 50_000)]
        candidates: usize,
        /// Benchmark exact similar-track search on synthetic libraries instead.
        #[arg(long, conflicts_with_all = ["embedding", "taste"])]
        search: bool,
        /// Benchmark the next-track ranking and 20-track set planning on synthetic libraries of
        /// the --tracks sizes instead.
        #[arg(long, conflicts_with_all = ["embedding", "taste", "search", "http"])]
        next: bool,
        /// Benchmark the rekordbox XML export and import and the M3U8 export on a SQLite library
        /// of synthetic records of the largest --tracks size instead.
        #[arg(long, conflicts_with_all = ["embedding", "taste", "search", "http", "next"])]
        export: bool,
        /// Lay out a library of --tracks files in this folder instead: links to the audio under
        /// --from with synthetic records, for `scripts/bench_50k.sh`.
        #[arg(long, requires = "from", conflicts_with_all = ["embedding", "taste", "search", "http", "next", "export"])]
        layout: Option<PathBuf>,
        /// With --layout: the audio files to link to.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Benchmark the HTTP service instead: 2 000 `/search` requests from 32 clients on a
        /// synthetic library of the largest --tracks size.
        #[arg(long, conflicts_with_all = ["embedding", "taste", "search"])]
        http: bool,
        /// Benchmark snippet identification on the queries of this CSV instead (needs
        /// --library; made by scripts/make_retrieval_queries.py).
        #[arg(long, conflicts_with_all = ["embedding", "taste", "search"], requires = "library")]
        identify: Option<PathBuf>,
        /// With --identify: the library the queries were cut from.
        #[arg(long)]
        library: Option<PathBuf>,
        /// With --search: library sizes; with --identify: the size (the largest) the library
        /// is filled up to with distractors.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,50000")]
        tracks: Vec<usize>,
        /// With --search or --next: queries per size.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// With --taste: liked tracks in the prediction benchmark.
        #[arg(long, default_value_t = 500)]
        liked: usize,
    },
    /// Mark tracks liked, disliked or neutral (by file, or from a `path,label` CSV). When 20
    /// real changes have accumulated and the threshold holds, the model is retrained.
    Label {
        /// liked, disliked or neutral.
        #[arg(required_unless_present = "csv")]
        label: Option<String>,
        /// Analysed audio files of the library.
        files: Vec<PathBuf>,
        /// A CSV with `path` and `label` columns (paths relative to the CSV's folder).
        #[arg(long, conflicts_with = "label")]
        csv: Option<PathBuf>,
        /// Library folder (default: the one holding the files).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Do not retrain automatically.
        #[arg(long)]
        no_auto_train: bool,
    },
    /// Train the taste model on the current labels (needs 20 liked and 4 disliked per liked).
    Train {
        /// Library folder (default: the current folder or its nearest library ancestor).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Score tracks 0–100 with the trained taste model, best first (no FILE: every analysed,
    /// unlabelled track).
    Predict {
        /// Analysed audio files of the library.
        files: Vec<PathBuf>,
        /// At most this many results (0: all).
        #[arg(long, default_value_t = 100)]
        top_k: usize,
        /// Also write the list as an M3U8 playlist (paths relative to it inside the library).
        #[arg(long)]
        m3u: Option<PathBuf>,
        /// Library folder (default: the one holding the files, or the current folder).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The tracks that sound most like FILE (or --id ID), best first, with the parts of each
    /// score (standard deviations closer than a typical pair of the library).
    Similar {
        /// An analysed audio file of the library.
        #[arg(required_unless_present = "id")]
        file: Option<PathBuf>,
        /// The song id instead of a file.
        #[arg(long, conflicts_with = "file")]
        id: Option<String>,
        /// How many results.
        #[arg(short, long, default_value_t = 10)]
        k: usize,
        /// Keep tempos in LO-HI (BPM).
        #[arg(long, value_parser = similar::bpm_range)]
        bpm: Option<(f32, f32)>,
        /// With --bpm: a half or double tempo in the range passes too.
        #[arg(long, requires = "bpm")]
        half_double: bool,
        /// Keep keys that mix with the track's on the Camelot wheel (when both keys are clear).
        #[arg(long)]
        key_compatible: bool,
        /// Keep durations in LO-HI (seconds).
        #[arg(long, value_parser = similar::seconds_range)]
        duration: Option<(f64, f64)>,
        /// Never return this song id (repeatable).
        #[arg(long)]
        exclude: Vec<String>,
        /// Also list what the filters removed and why.
        #[arg(long)]
        explain: bool,
        /// Compare every track, even where a large library would use the approximate index.
        #[arg(long)]
        exact: bool,
        /// Also write the track and its similar tracks as an M3U8 playlist (paths relative to it inside the library).
        #[arg(long)]
        m3u: Option<PathBuf>,
        /// Library folder (default: the one holding FILE, or the current folder).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// What to play after FILE (or --id ID, or the playing track of --session): mixable tracks
    /// (tempo within 6 %, half or double time, keys that mix when both are clear), ranked by
    /// outro → intro similarity, the energy goal, low-end clash, intro mixability, key, hype and
    /// distance from what was just played; every part of each score is shown.
    Next {
        /// The playing track (an analysed file of the library).
        file: Option<PathBuf>,
        /// The song id instead of a file.
        #[arg(long, conflicts_with = "file")]
        id: Option<String>,
        /// Where the energy should go: maintain, up, down or peak.
        #[arg(long, default_value = "maintain", value_parser = goal)]
        goal: selecta_core::dj::Goal,
        /// How many suggestions.
        #[arg(short, long, default_value_t = 10)]
        k: usize,
        /// A session of the library: its played tracks are left out (and without FILE, its last
        /// one is the playing track).
        #[arg(long)]
        session: Option<String>,
        /// Also list the best candidates the rules removed, and which rule did.
        #[arg(long)]
        explain: bool,
        /// Also write the suggestions as an M3U8 playlist (paths relative to it inside the library).
        #[arg(long)]
        m3u: Option<PathBuf>,
        /// Library folder (default: the one holding FILE, or the current folder).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// DJ sessions kept in the library: `new NAME`, `played NAME FILE|--id ID`, `undo NAME`,
    /// `show NAME`, `list`.
    Session {
        /// new, played, undo, show or list.
        action: String,
        /// The session's name.
        name: Option<String>,
        /// With `played`: the track played.
        file: Option<PathBuf>,
        /// With `played`: the song id instead of a file.
        #[arg(long, conflicts_with = "file")]
        id: Option<String>,
        /// Library folder (default: the one holding FILE, or the current folder).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON on one line.
        #[arg(long)]
        json: bool,
    },
    /// Plan a set from FILE (or --id ID) whose energy follows an arc; every transition passes
    /// the `next` rules.
    Plan {
        /// The first track.
        file: Option<PathBuf>,
        /// The song id instead of a file.
        #[arg(long, conflicts_with = "file")]
        id: Option<String>,
        /// Tracks in the set (default 12).
        #[arg(long, conflicts_with = "minutes")]
        length: Option<usize>,
        /// Or minutes of music.
        #[arg(long)]
        minutes: Option<f32>,
        /// warmup, peak, journey, or energies such as 4,6,8,7,9.
        #[arg(long, default_value = "warmup", value_parser = arc)]
        arc: selecta_core::dj::plan::EnergyArc,
        /// Also write the set as an M3U8 playlist.
        #[arg(long)]
        m3u: Option<PathBuf>,
        /// Library folder (default: the one holding FILE, or the current folder).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Which library track each recording (a whole file or a 5–30 s snippet cut from anywhere,
    /// re-encoded, noisy, played up to 4 % faster or slower) is, and where in it it starts.
    Identify {
        /// Audio files to identify.
        #[arg(required = true)]
        snippets: Vec<PathBuf>,
        /// Library folder (default: the current folder, or the library holding it).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print one JSON object per snippet.
        #[arg(long)]
        json: bool,
    },
    /// The fingerprint index behind `identify`: `stats` (size, and whether it was read from the
    /// kept file or built) or `rebuild` (build it from the stored prints and keep it).
    Index {
        /// `stats` or `rebuild`.
        #[arg(value_parser = ["stats", "rebuild"])]
        action: String,
        /// Library folder (default: the current folder, or the library holding it).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the library over local HTTP: /health, /tracks/{id}, /search, /identify,
    /// /search_by_audio, /embed (JSON; see README).
    Serve {
        /// Library folder (default: the current folder, or the library holding it).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:8717")]
        addr: std::net::SocketAddr,
        /// Allow a non-loopback address (needs --token).
        #[arg(long)]
        allow_remote: bool,
        /// Bearer token every request must carry.
        #[arg(long, env = "SELECTA_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Largest request body in MiB (413 beyond).
        #[arg(long, default_value_t = selecta_server::DEFAULT_MAX_BODY_BYTES / (1024 * 1024))]
        max_body_mb: usize,
        /// Model folder (default: the bundled model).
        #[arg(long, env = "SELECTA_MODEL_DIR")]
        model_dir: Option<PathBuf>,
    },
    /// Write the library for DJ software: `export rekordbox OUT.xml`.
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Read what DJ software knows: `import rekordbox collection.xml`.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Evaluate against ground truth.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// The library as a rekordbox XML collection (File > Import > rekordbox xml): every analysed
    /// file with tempo, key, beat grid and intro/outro memory cues, and the playlists asked for
    /// under a "Selecta" folder. The same library and options write the same bytes.
    Rekordbox {
        /// The XML file to write.
        out: PathBuf,
        /// A "Selecta picks" playlist of the taste model's best N unlabelled tracks.
        #[arg(long)]
        picks: Option<usize>,
        /// A "Similar to …" playlist for this analysed file (repeatable).
        #[arg(long)]
        similar_to: Vec<PathBuf>,
        /// Tracks in each "Similar to …" playlist (default 25).
        #[arg(long)]
        similar_tracks: Option<usize>,
        /// A planned 12-track warm-up set from this analysed file (repeatable).
        #[arg(long)]
        plan: Vec<PathBuf>,
        /// A playlist of this DJ session's played tracks (repeatable).
        #[arg(long)]
        session: Vec<String>,
        /// Write keys as Camelot codes (8A) instead of rekordbox's notation (Am).
        #[arg(long)]
        camelot: bool,
        /// Library folder (default: the current folder, or the library holding it).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print a JSON report.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Match a Bandcamp CSV's rows to library songs by artist and title (accents, case,
    /// punctuation, "feat." and "(Original Mix)" tolerated; ambiguous rows reported, never
    /// guessed) and keep their genre, subgenre and tags beside the files' own tags.
    Bandcamp {
        /// The CSV (a sales or purchase report, or a collection listing).
        file: PathBuf,
        /// Which column holds a field: COLUMN=artist|title|album|tags|genre|subgenre|item_type
        /// (repeatable; the usual header names are found without it).
        #[arg(long, value_parser = column_mapping)]
        map: Vec<(String, String)>,
        /// Label the matched tracks liked.
        #[arg(long)]
        like: bool,
        /// Do not retrain automatically.
        #[arg(long)]
        no_auto_train: bool,
        /// Library folder (default: the current folder, or the library holding it).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Match a rekordbox XML collection's tracks to library songs (by location, then by file
    /// bytes) and label the tracks of named playlists; reports every unmatched track.
    Rekordbox {
        /// The exported collection.
        file: PathBuf,
        /// Label this playlist's tracks liked (a name or Folder/Name; repeatable).
        #[arg(long)]
        liked_playlist: Vec<String>,
        /// Label this playlist's tracks disliked (repeatable).
        #[arg(long)]
        disliked_playlist: Vec<String>,
        /// Do not retrain automatically.
        #[arg(long)]
        no_auto_train: bool,
        /// Library folder (default: the current folder, or the library holding it).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
    /// Choose the similarity's weights on half the packages of an analysed library (each
    /// top-level folder is a package) and report top-1 / P@5 same package on both halves, beside
    /// each view alone and the defaults.
    Weights {
        /// The analysed library.
        #[arg(long)]
        library: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Identification and search-by-audio quality on augmented snippets of library tracks
    /// (`scripts/make_retrieval_queries.py` makes them): Recall@1/5 and MRR of the
    /// identification, the offset error, and with --similar Recall@1/10/100 and MRR of the
    /// similarity ranking, per augmentation, on tuned and held-out packages.
    Retrieval {
        /// The query CSV (query, target, augmentation, offset_sec; paths relative to it and to
        /// the library).
        queries: PathBuf,
        /// The library holding the targets.
        #[arg(long)]
        library: PathBuf,
        /// Also rank the library by similarity to each snippet (runs the model on each).
        #[arg(long)]
        similar: bool,
        /// Model folder (default: the bundled model).
        #[arg(long, env = "SELECTA_MODEL_DIR")]
        model_dir: Option<PathBuf>,
        /// Parallel workers (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Taste-model quality: stratified k-fold cross-validation of the GBDT and a cosine-kNN
    /// baseline on labelled, analysed tracks (Precision/Recall/NDCG@10/50/100, ROC-AUC).
    Taste {
        /// CSV with `path` and `label` columns (paths relative to the CSV's folder).
        #[arg(long)]
        labels: PathBuf,
        /// Folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Library folder (default: the one holding the first file).
        #[arg(long)]
        library: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Trees (default: the product's setting).
        #[arg(long)]
        trees: Option<usize>,
        /// Tree depth.
        #[arg(long)]
        depth: Option<u32>,
        /// Learning rate.
        #[arg(long)]
        learning_rate: Option<f32>,
        /// Minimum samples per leaf.
        #[arg(long)]
        min_leaf: Option<usize>,
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
        Command::Watch { dir, jobs, json, profile, model_dir, debounce_ms } => {
            watch::run(&watch::WatchArgs { dir: &dir, jobs, json, profile, model_dir, debounce_ms })
        }
        Command::Show { file, library, json, model_dir } => {
            show::run(&file, library.as_deref(), model_dir.as_deref(), json)
        }
        Command::Bench { json, taste: true, candidates, liked, .. } => bench_taste::run(candidates, liked, json),
        Command::Bench { json, search: true, tracks, queries, .. } => bench_search::run(&tracks, queries, json),
        Command::Bench { json, next: true, tracks, queries, .. } => bench_next::run(&tracks, queries, json),
        Command::Bench { layout: Some(dir), from: Some(from), tracks, .. } => {
            bench_scale::layout(&dir, &from, tracks.iter().copied().max().unwrap_or(50_000))
        }
        Command::Bench { json, export: true, tracks, .. } => {
            bench_export::run(&[tracks.iter().copied().max().unwrap_or(50_000)], json)
        }
        Command::Bench { json, http: true, tracks, .. } => {
            bench_http::run(tracks.iter().copied().max().unwrap_or(50_000), json)
        }
        Command::Bench { json, identify: Some(queries), library: Some(library), tracks, .. } => {
            bench_identify::run(&queries, &library, tracks.iter().copied().max().unwrap_or(50_000), json)
        }
        Command::Bench { paths, json, embedding: false, .. } => bench::run(&paths, json),
        Command::Bench { paths, json, embedding: true, limit, model_dir, .. } => {
            bench::run_embedding(&paths, limit, model_dir.as_deref(), json)
        }
        Command::Label { label, files, csv, library, json, no_auto_train } => taste::label(&taste::LabelArgs {
            label: label.as_deref(),
            files: &files,
            csv: csv.as_deref(),
            library: library.as_deref(),
            json,
            auto_train: !no_auto_train,
        }),
        Command::Train { library, json } => taste::train(library.as_deref(), json),
        Command::Similar {
            file,
            id,
            k,
            bpm,
            half_double,
            key_compatible,
            duration,
            exclude,
            explain,
            exact,
            m3u,
            library,
            json,
        } => similar::run(similar::SimilarArgs {
            file: file.as_deref(),
            id: id.as_deref(),
            k,
            filters: selecta_core::retrieval::SearchFilters { bpm, half_double, key_compatible, exclude, duration },
            explain,
            exact,
            library: library.as_deref(),
            json,
            m3u: m3u.as_deref(),
        }),
        Command::Next { file, id, goal, k, session, explain, m3u, library, json } => dj::next(dj::NextArgs {
            file: file.as_deref(),
            id: id.as_deref(),
            goal,
            k,
            session: session.as_deref(),
            explain,
            library: library.as_deref(),
            json,
            m3u: m3u.as_deref(),
        }),
        Command::Session { action, name, file, id, library, json } => {
            dj::session(&action, name.as_deref(), file.as_deref(), id.as_deref(), library.as_deref(), json)
        }
        Command::Plan { file, id, length, minutes, arc, m3u, library, json } => dj::plan(dj::PlanArgs {
            file: file.as_deref(),
            id: id.as_deref(),
            length,
            minutes,
            arc,
            library: library.as_deref(),
            json,
            m3u: m3u.as_deref(),
        }),
        Command::Serve { library, addr, allow_remote, token, max_body_mb, model_dir } => serve::run(serve::ServeArgs {
            library: library.as_deref(),
            addr,
            allow_remote,
            token,
            max_body_mb,
            model_dir: model_dir.as_deref(),
        }),
        Command::Index { action, library, json } => identify::index(action == "rebuild", library.as_deref(), json),
        Command::Export {
            what:
                ExportCommand::Rekordbox { out, picks, similar_to, similar_tracks, plan, session, camelot, library, json },
        } => interop::export_rekordbox(interop::ExportArgs {
            out: &out,
            picks,
            similar_to: &similar_to,
            similar_tracks,
            plan: &plan,
            sessions: &session,
            camelot,
            library: library.as_deref(),
            json,
        }),
        Command::Import {
            what: ImportCommand::Rekordbox { file, liked_playlist, disliked_playlist, no_auto_train, library, json },
        } => interop::import_rekordbox(interop::ImportArgs {
            file: &file,
            liked: &liked_playlist,
            disliked: &disliked_playlist,
            no_auto_train,
            library: library.as_deref(),
            json,
        }),
        Command::Import { what: ImportCommand::Bandcamp { file, map, like, no_auto_train, library, json } } => {
            interop::import_bandcamp(interop::BandcampArgs {
                file: &file,
                map: map.into_iter().collect(),
                like,
                no_auto_train,
                library: library.as_deref(),
                json,
            })
        }
        Command::Identify { snippets, library, json } => identify::run(&snippets, library.as_deref(), json),
        Command::Predict { files, top_k, m3u, library, json } => {
            taste::predict(&files, top_k, library.as_deref(), json, m3u.as_deref())
        }
        Command::Eval {
            what: EvalCommand::Taste { labels, folds, library, json, trees, depth, learning_rate, min_leaf },
        } => {
            let d = selecta_core::taste::BoostParams::default();
            let params = selecta_core::taste::BoostParams {
                trees: trees.unwrap_or(d.trees),
                max_depth: depth.unwrap_or(d.max_depth),
                learning_rate: learning_rate.unwrap_or(d.learning_rate),
                min_leaf_size: min_leaf.unwrap_or(d.min_leaf_size),
                ..d
            };
            eval::taste(&eval::TasteEvalArgs { labels: &labels, folds, library: library.as_deref(), params, json })
        }
        Command::Eval { what: EvalCommand::Retrieval { queries, library, similar, model_dir, jobs, json } } => {
            eval_retrieval::run(eval_retrieval::RetrievalArgs {
                queries: &queries,
                library: &library,
                similar,
                model_dir: model_dir.as_deref(),
                jobs,
                json,
            })
        }
        Command::Eval { what: EvalCommand::Tempo { manifest, jobs, json } } => eval::tempo(&manifest, jobs, json),
        Command::Eval { what: EvalCommand::Weights { library, json } } => eval::weights(&library, json),
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

/// Parsed here so clap reports a bad goal as an argument error.
fn goal(text: &str) -> Result<selecta_core::dj::Goal, String> {
    selecta_core::dj::Goal::parse(text).ok_or_else(|| format!("{text:?}: use maintain, up, down or peak"))
}

/// `COLUMN=field`, parsed here so clap reports a bad mapping as an argument error.
fn column_mapping(text: &str) -> Result<(String, String), String> {
    match text.rsplit_once('=') {
        Some((column, field)) if !column.trim().is_empty() && !field.trim().is_empty() => {
            Ok((column.trim().to_string(), field.trim().to_string()))
        }
        _ => Err(format!("{text:?}: use COLUMN=field, e.g. \"Band Name=artist\"")),
    }
}

/// See [`goal`].
fn arc(text: &str) -> Result<selecta_core::dj::plan::EnergyArc, String> {
    selecta_core::dj::plan::EnergyArc::parse(text)
        .ok_or_else(|| format!("{text:?}: use warmup, peak, journey or 2+ energies 1-10 such as 4,6,8"))
}
