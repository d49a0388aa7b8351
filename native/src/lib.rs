//! N-API addon of Selecta (Node, Electron): the `Library` class with the wasm module's methods,
//! names and JSON shapes, over the SQLite store of a library folder. Every call runs on the
//! libuv thread pool (`AsyncTask`), never on the JS thread; one library's calls are serialised
//! by a mutex. Thin: the work is `selecta_core`'s.
//!
//! Failures reject with an `Error` whose message starts with `[code] ` (the same codes as the
//! wasm module); `native/index.js` moves the code into `error.code`. `cancel()` stops the job
//! running on the library at its next check (the loader wires an AbortSignal to it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use selecta_core::analyze::AnalyzeOptions;
use selecta_core::bundle::{BundleError, export_library, import_library};
use selecta_core::embed::{Embedder, SamplingProfile};
use selecta_core::ingest::{self, Plan};
use selecta_core::library::{LibraryIndex, path_key};
use selecta_core::taste::{self, JobControl, Label};
use selecta_core::{AnalysisError, SongFeatures, Store};
use selecta_sqlite::SqliteStore;
use serde_json::{Value, json};

/// A failure: code and message.
type Failure = (&'static str, String);
/// What the library's own steps return (napi's prelude shadows `Result` with its own).
type Step<T> = std::result::Result<T, Failure>;

fn db(e: impl std::fmt::Display) -> Failure {
    ("db_error", e.to_string())
}

struct Inner {
    store: SqliteStore,
    index: LibraryIndex,
    embedder: Option<Embedder>,
    profile: SamplingProfile,
}

impl Inner {
    fn rebuild_index(&mut self) -> Step<()> {
        let wanted = self.embedder.as_ref().map(|e| (e.manifest().model_version.clone(), self.profile));
        self.index = LibraryIndex::load(&self.store, wanted).map_err(db)?;
        Ok(())
    }

    fn features_json(&self, f: &SongFeatures, path: Option<&str>) -> Value {
        let tags = self.embedder.as_ref().map(|e| e.manifest().tag_names.as_slice()).unwrap_or_default();
        f.to_json(path, tags)
    }
}

/// Progress callback (called on the JS thread through a thread-safe function) and the
/// cancellation flag of the running job, checked between steps.
struct Control {
    cancel: Arc<AtomicBool>,
    on_progress: Option<Progress>,
}

/// A JS `(progressJson: string) => void` callable from the worker thread.
type Progress = ThreadsafeFunction<String, (), String, Status, false>;

impl Control {
    /// Send `{phase, percent}` to the JS callback (queued; the worker does not wait).
    fn report(&self, progress: &impl serde::Serialize) {
        if let Some(f) = &self.on_progress {
            let _ = f.call(json!(progress).to_string(), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

impl JobControl for Control {
    fn progress(&mut self, p: taste::Progress) {
        self.report(&p);
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

fn progress_function(f: Option<Function<'_, String, ()>>) -> Result<Option<Progress>> {
    f.map(|f| f.build_threadsafe_function::<String>().callee_handled::<false>().build()).transpose()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

type Work<T> = Box<dyn FnOnce(&mut Inner, &Arc<AtomicBool>) -> Step<T> + Send>;

/// One call, run on the libuv thread pool. JSON results travel as a string (`serde_json::Value`
/// has no N-API type name) that `native/index.js` parses; bytes travel as a Buffer.
pub struct Job<T> {
    inner: Arc<Mutex<Inner>>,
    cancel: Arc<AtomicBool>,
    work: Option<Work<T>>,
}

impl<T> Job<T> {
    fn run(&mut self) -> Result<T> {
        let work = self.work.take().ok_or_else(|| Error::from_reason("[internal_error] job ran twice"))?;
        let mut inner = self.inner.lock().map_err(|_| Error::from_reason("[internal_error] library lock poisoned"))?;
        self.cancel.store(false, Ordering::Relaxed);
        work(&mut inner, &self.cancel).map_err(|(code, message)| Error::from_reason(format!("[{code}] {message}")))
    }
}

impl Task for Job<String> {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        self.run()
    }

    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }
}

impl Task for Job<Vec<u8>> {
    type Output = Vec<u8>;
    type JsValue = Buffer;

    fn compute(&mut self) -> Result<Vec<u8>> {
        self.run()
    }

    fn resolve(&mut self, _env: Env, output: Vec<u8>) -> Result<Buffer> {
        Ok(output.into())
    }
}

/// A music library folder (`features.db`, `selection_labels.db`, … inside it).
#[napi]
pub struct Library {
    inner: Arc<Mutex<Inner>>,
    cancel: Arc<AtomicBool>,
}

fn parse_label(label: &str) -> Step<Label> {
    Label::parse(label)
        .filter(|_| !label.trim().is_empty())
        .ok_or(("invalid_input", format!("label {label:?} is not liked, disliked or neutral")))
}

fn field<'a>(options: &'a Option<Value>, name: &str) -> Option<&'a Value> {
    options.as_ref().and_then(|o| o.get(name)).filter(|v| !v.is_null())
}

#[napi]
impl Library {
    /// Open (creating and migrating) the library in folder `dir`. `options.profile`: `full`
    /// (default natively), `club_hifi_150s` or `fast`.
    #[napi(factory)]
    pub fn open(dir: String, options: Option<Value>) -> Result<Library> {
        let profile = match field(&options, "profile").and_then(Value::as_str) {
            Some(p) => SamplingProfile::parse(p)
                .ok_or_else(|| Error::from_reason(format!("[invalid_input] unknown profile {p:?}")))?,
            None => SamplingProfile::Full,
        };
        let store = SqliteStore::open(std::path::Path::new(&dir))
            .map_err(|e| Error::from_reason(format!("[db_error] {dir}: {e}")))?;
        let mut inner = Inner { store, index: LibraryIndex::default(), embedder: None, profile };
        inner.rebuild_index().map_err(|(c, m)| Error::from_reason(format!("[{c}] {m}")))?;
        Ok(Library { inner: Arc::new(Mutex::new(inner)), cancel: Arc::new(AtomicBool::new(false)) })
    }

    /// A job whose JSON result is sent as a string.
    fn job(
        &self,
        work: impl FnOnce(&mut Inner, &Arc<AtomicBool>) -> Step<Value> + Send + 'static,
    ) -> AsyncTask<Job<String>> {
        let work: Work<String> = Box::new(move |i, c| work(i, c).map(|v| v.to_string()));
        AsyncTask::new(Job { inner: self.inner.clone(), cancel: self.cancel.clone(), work: Some(work) })
    }

    /// Stop the running job at its next check.
    #[napi]
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Load the embedding model (manifest JSON and model bytes, checked by SHA-256).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn load_model(&self, manifest: Buffer, model: Buffer) -> AsyncTask<Job<String>> {
        let (manifest, model) = (manifest.to_vec(), model.to_vec());
        self.job(move |i, _| {
            let embedder = Embedder::load(&manifest, Some(&model)).map_err(|e| (e.status(), e.to_string()))?;
            i.embedder = Some(embedder);
            i.rebuild_index()?;
            Ok(Value::Null)
        })
    }

    /// Analyse one file's bytes stored under `path` (relative to the library folder);
    /// `options`: `size`, `mtimeMs`; `onProgress` receives `{phase, percent}` as JSON text, and
    /// `cancel()` stops the analysis between two steps (nothing is written). Resolves
    /// `{status, songId, features}` like the wasm module.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn analyze_file(
        &self,
        bytes: Buffer,
        path: String,
        options: Option<Value>,
        on_progress: Option<Function<'_, String, ()>>,
    ) -> Result<AsyncTask<Job<String>>> {
        let bytes = bytes.to_vec();
        let size = field(&options, "size").and_then(Value::as_f64).map_or(bytes.len() as u64, |s| s.max(0.0) as u64);
        let mtime = field(&options, "mtimeMs").and_then(Value::as_f64).map_or(0, |m| m as i64);
        let on_progress = progress_function(on_progress)?;
        Ok(self.job(move |i, cancel| {
            let limits = AnalyzeOptions::default().limits;
            limits.check_size(size).map_err(|e| (e.code(), format!("{path}: {e}")))?;
            let key = path_key(&path);
            let plan = ingest::plan(&i.index, &key, size, mtime);
            if let Plan::Unchanged { song_id } = &plan {
                i.store.touch_path_entries(std::slice::from_ref(&key), now_ms()).map_err(db)?;
                let f = i.store.song_features(song_id).map_err(db)?;
                let features = f.map(|f| i.features_json(&f, Some(&key)));
                return Ok(json!({"status": "unchanged", "songId": song_id, "features": features}));
            }
            let control = Control { cancel: cancel.clone(), on_progress };
            let failed = |e: AnalysisError| (e.code(), format!("{path}: {e}"));
            let mut job =
                ingest::start_path(&i.index, bytes, &path, &plan, i.profile, i.embedder.as_ref()).map_err(failed)?;
            let processed = loop {
                if control.is_cancelled() {
                    return Err(("cancelled", format!("{path}: cancelled")));
                }
                if let Some(done) = job.step().map_err(failed)? {
                    break done;
                }
                control.report(&job.progress());
            };
            let c = ingest::commit(&mut i.store, &processed, &key, size, mtime, now_ms()).map_err(db)?;
            i.index.note_song(&c.song_id, &processed.file_hash);
            let f = i.store.song_features(&c.song_id).map_err(db)?;
            let features = f.map(|f| i.features_json(&f, Some(&key)));
            let status = if c.analyzed { "analyzed" } else { "unchanged" };
            let mut out = json!({"status": status, "songId": c.song_id, "features": features});
            if let Some(e) = &processed.embedding_error {
                out["embeddingError"] = json!(e.to_string());
            }
            Ok(out)
        }))
    }

    /// The stored features of a song, or `null`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn get_song_features(&self, song_id: String) -> AsyncTask<Job<String>> {
        self.job(move |i, _| {
            let f = i.store.song_features(&song_id).map_err(db)?;
            Ok(f.map_or(Value::Null, |f| i.features_json(&f, None)))
        })
    }

    /// Every stored path with its song and features, sorted by path.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn list_songs(&self) -> AsyncTask<Job<String>> {
        self.job(move |i, _| {
            let mut entries = i.store.path_entries().map_err(db)?;
            entries.sort_by(|a, b| a.path_key.cmp(&b.path_key));
            let mut out = Vec::new();
            for e in entries {
                if let Some(f) = i.store.song_features(&e.song_id).map_err(db)? {
                    let features = i.features_json(&f, Some(&e.file_path));
                    out.push(json!({"path": e.file_path, "songId": e.song_id, "features": features}));
                }
            }
            Ok(Value::Array(out))
        })
    }

    /// `setSelectionLabels(songIds, "liked" | "disliked" | "neutral")`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn set_selection_labels(&self, song_ids: Vec<String>, label: String) -> AsyncTask<Job<String>> {
        self.job(move |i, _| {
            let label = parse_label(&label)?;
            let r = taste::set_selection_labels(&mut i.store, &song_ids, label, now_ms()).map_err(db)?;
            Ok(json!(r))
        })
    }

    /// `getSelectionLabelSnapshot()`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn get_selection_label_snapshot(&self) -> AsyncTask<Job<String>> {
        self.job(move |i, _| Ok(json!(taste::get_selection_label_snapshot(&i.store).map_err(db)?)))
    }

    /// `resetSelectionSampleChangeCount()`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn reset_selection_sample_change_count(&self) -> AsyncTask<Job<String>> {
        self.job(move |i, _| Ok(json!(taste::reset_selection_sample_change_count(&mut i.store).map_err(db)?)))
    }

    /// `resetSelectionLabels()`: labels, model, cache and revision are cleared.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn reset_selection_labels(&self) -> AsyncTask<Job<String>> {
        self.job(move |i, _| Ok(json!(taste::reset_selection_labels(&mut i.store).map_err(db)?)))
    }

    /// `trainSelectionGbdt(positiveIds, negativeIds, onProgress?)`; one training per library at
    /// a time (also across processes: the store's training lock). `onProgress` receives
    /// `{phase, percent}` as JSON text (`native/index.cjs` parses it).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn train_selection_gbdt(
        &self,
        positive_ids: Vec<String>,
        negative_ids: Vec<String>,
        on_progress: Option<Function<'_, String, ()>>,
    ) -> Result<AsyncTask<Job<String>>> {
        let on_progress = progress_function(on_progress)?;
        Ok(self.job(move |i, cancel| {
            let _lock = i.store.lock_training().map_err(db)?;
            let mut control = Control { cancel: cancel.clone(), on_progress };
            let o = taste::train_selection_gbdt(&mut i.store, &positive_ids, &negative_ids, now_ms(), &mut control);
            Ok(json!(o))
        }))
    }

    /// `predictSelectionCandidates(candidateIds, topK = 100)` (0 = all).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn predict_selection_candidates(
        &self,
        candidate_ids: Vec<String>,
        top_k: Option<u32>,
    ) -> AsyncTask<Job<String>> {
        self.job(move |i, cancel| {
            let mut control = Control { cancel: cancel.clone(), on_progress: None };
            let top_k = top_k.unwrap_or(100) as usize;
            let o = taste::predict_selection_candidates(&mut i.store, &candidate_ids, top_k, now_ms(), &mut control);
            Ok(json!(o))
        })
    }

    /// The whole library as one file (importable by the wasm module and natively).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn export_library(&self) -> AsyncTask<Job<Vec<u8>>> {
        let work: Work<Vec<u8>> = Box::new(|i, _| export_library(&i.store).map_err(db));
        AsyncTask::new(Job { inner: self.inner.clone(), cancel: self.cancel.clone(), work: Some(work) })
    }

    /// Bring in a library file; a damaged file is refused before anything is written.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn import_library(&self, bytes: Buffer) -> AsyncTask<Job<String>> {
        let bytes = bytes.to_vec();
        self.job(move |i, _| {
            let summary = import_library(&mut i.store, &bytes, now_ms()).map_err(|e| match e {
                BundleError::Store(s) => db(s),
                other => ("invalid_input", other.to_string()),
            })?;
            i.rebuild_index()?;
            Ok(json!(summary))
        })
    }
}
