//! N-API addon of Selecta (Node, Electron): the `Library` class with the wasm module's methods,
//! names and JSON shapes, over the SQLite store of a library folder. Every call runs on the
//! libuv thread pool (`AsyncTask`), never on the JS thread; one library's calls are serialised
//! by a mutex. Translation only: the workflows are the core's `Engine`.
//!
//! Failures reject with an `Error` whose message starts with `[code] ` (the engine's codes);
//! `native/index.cjs` moves the code into `error.code`. Each call gets its own cancellation flag:
//! `cancelJob(id)` (the loader wires a call's AbortSignal to it, with the id `nextJobId()` gave
//! just before the call) stops that call at its next check, whether it runs or still waits for
//! the library; `cancel()` stops every call pending on the library.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use selecta_core::control::{JobControl, Progress};
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::{self, AudioSearchOptions, RekordboxExportOptions, SimilarOptions, SongPage, parse_profile};
use selecta_core::features::key::compatible_camelot;
use selecta_core::{Engine, EngineError, ErrorCode};
use selecta_sqlite::SqliteStore;
use serde::Serialize;
use serde_json::Value;

/// What the library's own steps return (napi's prelude shadows `Result` with its own).
type Step<T> = std::result::Result<T, EngineError>;

/// An engine error as a JS error (`[code] message`).
fn js_error(e: EngineError) -> Error {
    Error::from_reason(format!("[{}] {}", e.code, e.message))
}

/// A JSON result as text (`serde_json::Value` has no N-API type name); `index.cjs` parses it.
fn json_text(value: &impl Serialize) -> Step<String> {
    serde_json::to_string(value).map_err(|e| EngineError::new(ErrorCode::InternalError, e))
}

/// The system clock (the core has none).
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Progress callback (called on the JS thread through a thread-safe function) and the
/// cancellation flag of the running job, checked between steps.
struct Control {
    cancel: Arc<AtomicBool>,
    on_progress: Option<Arc<ProgressFn>>,
}

/// Sent to the progress callback after the job's last report: the reports travel through a
/// queue of their own, and `native/index.cjs` resolves the call only once this one arrived, so
/// every report reaches JS before the Promise settles.
const PROGRESS_END: &str = "end";

/// A JS `(progressJson: string) => void` callable from the worker thread.
type ProgressFn = ThreadsafeFunction<String, (), String, Status, false>;

impl JobControl for Control {
    /// Queue `{phase, percent}` for the JS callback (the worker does not wait).
    fn progress(&mut self, p: Progress) {
        if let (Some(f), Ok(text)) = (&self.on_progress, json_text(&p)) {
            let _ = f.call(text, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

fn progress_function(f: Option<Function<'_, String, ()>>) -> Result<Option<ProgressFn>> {
    f.map(|f| f.build_threadsafe_function::<String>().callee_handled::<false>().build()).transpose()
}

type Work<T> = Box<dyn FnOnce(&mut Engine<SqliteStore>, Control) -> Step<T> + Send>;

/// The cancellation flags of a library's calls that are queued or running, by call id.
type PendingJobs = Arc<Mutex<HashMap<u64, Arc<AtomicBool>>>>;

/// One call, run on the libuv thread pool; bytes travel as a Buffer, JSON as text.
pub struct Job<T> {
    engine: Arc<Mutex<Engine<SqliteStore>>>,
    /// This call's own flag: set before the call started, it still stops it.
    cancel: Arc<AtomicBool>,
    id: u64,
    pending: PendingJobs,
    on_progress: Option<ProgressFn>,
    work: Option<Work<T>>,
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(&self.id);
        }
    }
}

impl<T> Job<T> {
    fn run(&mut self) -> Result<T> {
        let on_progress = self.on_progress.take().map(Arc::new);
        let result = self.run_work(on_progress.clone());
        // Whatever happened: the JS side waits for this marker.
        if let Some(f) = on_progress {
            let _ = f.call(PROGRESS_END.to_string(), ThreadsafeFunctionCallMode::Blocking);
        }
        result
    }

    fn run_work(&mut self, on_progress: Option<Arc<ProgressFn>>) -> Result<T> {
        let internal = |m: &str| js_error(EngineError::new(ErrorCode::InternalError, m));
        let work = self.work.take().ok_or_else(|| internal("job ran twice"))?;
        let mut engine = self.engine.lock().map_err(|_| internal("library lock poisoned"))?;
        work(&mut engine, Control { cancel: self.cancel.clone(), on_progress }).map_err(js_error)
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Job<T> {
    type Output = T;
    type JsValue = T;

    fn compute(&mut self) -> Result<T> {
        self.run()
    }

    fn resolve(&mut self, _env: Env, output: T) -> Result<T> {
        Ok(output)
    }
}

/// `libraryRules()`: the training threshold, the audio extensions, the profiles and error codes.
#[napi(ts_return_type = "string")]
pub fn library_rules() -> Result<String> {
    json_text(&engine::rules()).map_err(js_error)
}

/// `compatibleKeys("8A")`: the Camelot codes that mix without a clash, or `null`.
#[napi]
pub fn compatible_keys(camelot: String) -> Option<Vec<String>> {
    compatible_camelot(&camelot)
}

/// The error a call rejects with when its signal fired before it started.
#[napi]
pub fn cancelled_error(what: String) -> String {
    js_error(EngineError::cancelled(what)).reason
}

/// A music library folder (`features.db`, `selection_labels.db`, … inside it).
#[napi]
pub struct Library {
    engine: Arc<Mutex<Engine<SqliteStore>>>,
    pending: PendingJobs,
    next_job: AtomicU64,
}

#[napi]
impl Library {
    /// Open (creating and migrating) the library in folder `dir`. `options.profile`: `full`
    /// (default natively), `club_hifi_150s` or `fast`.
    #[napi(factory)]
    pub fn open(dir: String, options: Option<Value>) -> Result<Library> {
        let profile = options.as_ref().and_then(|o| o.get("profile")).and_then(Value::as_str);
        let profile = profile.map_or(Ok(SamplingProfile::Full), parse_profile).map_err(js_error)?;
        let store =
            SqliteStore::open(std::path::Path::new(&dir)).map_err(|e| js_error(EngineError::from(e).context(&dir)))?;
        let engine = Engine::open(store, profile, now_ms()).map_err(|e| js_error(e.context(&dir)))?;
        Ok(Library {
            engine: Arc::new(Mutex::new(engine)),
            pending: PendingJobs::default(),
            next_job: AtomicU64::new(0),
        })
    }

    fn task<T>(&self, on_progress: Option<ProgressFn>, work: Work<T>) -> AsyncTask<Job<T>>
    where
        Job<T>: Task,
    {
        let id = self.next_job.fetch_add(1, Ordering::Relaxed);
        let cancel = Arc::new(AtomicBool::new(false));
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, cancel.clone());
        }
        AsyncTask::new(Job {
            engine: self.engine.clone(),
            cancel,
            id,
            pending: self.pending.clone(),
            on_progress,
            work: Some(work),
        })
    }

    /// A job whose result is sent as JSON text.
    fn json<T: Serialize>(
        &self,
        on_progress: Option<ProgressFn>,
        work: impl FnOnce(&mut Engine<SqliteStore>, Control) -> Step<T> + Send + 'static,
    ) -> AsyncTask<Job<String>> {
        self.task(on_progress, Box::new(move |e, c| json_text(&work(e, c)?)))
    }

    /// The id the next call on this library will have (JS is single-threaded: read it just
    /// before the call, then `cancelJob(id)` stops that call).
    #[napi]
    pub fn next_job_id(&self) -> i64 {
        i64::try_from(self.next_job.load(Ordering::Relaxed)).unwrap_or(i64::MAX)
    }

    /// Stop call `id` at its next check, whether it runs or still waits (nothing once it ended).
    #[napi]
    pub fn cancel_job(&self, id: i64) {
        let flag = u64::try_from(id).ok().and_then(|id| self.pending.lock().ok()?.get(&id).cloned());
        if let Some(flag) = flag {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Stop every call pending on this library at its next check.
    #[napi]
    pub fn cancel(&self) {
        if let Ok(pending) = self.pending.lock() {
            pending.values().for_each(|flag| flag.store(true, Ordering::Relaxed));
        }
    }

    /// Load the embedding model (manifest JSON and model bytes, checked by SHA-256).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn load_model(&self, manifest: Buffer, model: Buffer) -> AsyncTask<Job<String>> {
        let (manifest, model) = (manifest.to_vec(), model.to_vec());
        self.json(None, move |e, _| e.load_model(&manifest, &model))
    }

    /// Analyse one file's bytes stored under `path` (relative to the library folder);
    /// `options`: `size`, `mtimeMs`; `onProgress` receives `{phase, percent}` as JSON text, then
    /// `end` after the last report (whether the job worked or not), and `cancel()` stops the analysis between two steps (nothing is written). Resolves
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
        let number = |name: &str| options.as_ref().and_then(|o| o.get(name)).and_then(Value::as_f64);
        let size = number("size").map(|s| s.max(0.0) as u64);
        let mtime = number("mtimeMs").map_or(0, |m| m as i64);
        Ok(self.json(progress_function(on_progress)?, move |e, mut control| {
            e.analyze_file(&path, bytes, size, mtime, now_ms(), &mut control)
        }))
    }

    /// The stored features of a song, or `null`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn get_song_features(&self, song_id: String) -> AsyncTask<Job<String>> {
        self.json(None, move |e, _| e.song_json(&song_id, None))
    }

    /// `listSongs({offset, limit})`: stored paths with their songs and features, sorted by path;
    /// a page of them when asked.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn list_songs(&self, options: Option<Value>) -> AsyncTask<Job<String>> {
        let page = SongPage::from_json(options.unwrap_or(Value::Null));
        self.json(None, move |e, _| e.list_songs_page(page?))
    }

    /// `setSelectionLabels(songIds, "liked" | "disliked" | "neutral")`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn set_selection_labels(&self, song_ids: Vec<String>, label: String) -> AsyncTask<Job<String>> {
        self.json(None, move |e, _| e.set_selection_labels(&song_ids, &label, now_ms()))
    }

    /// `getSelectionLabelSnapshot()`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn get_selection_label_snapshot(&self) -> AsyncTask<Job<String>> {
        self.json(None, |e, _| e.get_selection_label_snapshot())
    }

    /// `resetSelectionSampleChangeCount()`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn reset_selection_sample_change_count(&self) -> AsyncTask<Job<String>> {
        self.json(None, |e, _| e.reset_selection_sample_change_count())
    }

    /// `resetSelectionLabels()`: labels, model, cache and revision are cleared.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn reset_selection_labels(&self) -> AsyncTask<Job<String>> {
        self.json(None, |e, _| e.reset_selection_labels())
    }

    /// `trainSelectionGbdt(positiveIds, negativeIds, onProgress?)`; one training per library at
    /// a time (also across processes: the store's training lock). `onProgress` receives
    /// `{phase, percent}` as JSON text, then `end` after the last report.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn train_selection_gbdt(
        &self,
        positive_ids: Vec<String>,
        negative_ids: Vec<String>,
        on_progress: Option<Function<'_, String, ()>>,
    ) -> Result<AsyncTask<Job<String>>> {
        Ok(self.json(progress_function(on_progress)?, move |e, mut control| {
            e.train_selection_gbdt(&positive_ids, &negative_ids, now_ms(), &mut control)
        }))
    }

    /// `predictSelectionCandidates(candidateIds, topK = 100)` (0 = all).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn predict_selection_candidates(
        &self,
        candidate_ids: Vec<String>,
        top_k: Option<u32>,
    ) -> AsyncTask<Job<String>> {
        let top_k = top_k.unwrap_or(100) as usize;
        self.json(None, move |e, mut control| {
            Ok(e.predict_selection_candidates(&candidate_ids, top_k, now_ms(), &mut control))
        })
    }

    /// `similarTracks(songId, options)`: the most similar tracks with their score parts.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn similar_tracks(&self, song_id: String, options: Option<Value>) -> AsyncTask<Job<String>> {
        let options = SimilarOptions::from_json(options.unwrap_or(Value::Null));
        self.json(None, move |e, _| e.similar_tracks(&song_id, &options?))
    }

    /// `nextTracks(songId | null, options)`: what to play next, with the parts of each score.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn next_tracks(&self, song_id: Option<String>, options: Option<Value>) -> AsyncTask<Job<String>> {
        let options = selecta_core::engine::dj::next_call_from_json(options.unwrap_or(Value::Null));
        self.json(None, move |e, _| {
            let (session, options) = options?;
            e.next_tracks(song_id.as_deref(), session.as_deref(), &options)
        })
    }

    /// `planSet(startId, options)`: a set following an energy arc.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn plan_set(&self, start_id: String, options: Option<Value>) -> AsyncTask<Job<String>> {
        let options = selecta_core::engine::dj::plan_options_from_json(options.unwrap_or(Value::Null));
        self.json(None, move |e, _| e.plan_set(&start_id, &options?))
    }

    /// `sessionNew(name)`: start (or restart) a DJ session.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn session_new(&self, name: String) -> AsyncTask<Job<String>> {
        self.json(None, move |e, _| e.session_new(&name, now_ms()))
    }

    /// `addPlayed(name, songId)`: mark a song played.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn add_played(&self, name: String, song_id: String) -> AsyncTask<Job<String>> {
        self.json(None, move |e, _| e.session_played(&name, &song_id, now_ms()))
    }

    /// `undoPlayed(name)`: take the last played track back.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn undo_played(&self, name: String) -> AsyncTask<Job<String>> {
        self.json(None, move |e, _| e.session_undo(&name))
    }

    /// `sessionShow(name)`: the session's played tracks.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn session_show(&self, name: String) -> AsyncTask<Job<String>> {
        self.json(None, move |e, _| e.session_show(&name))
    }

    /// `sessionNames()`: the kept sessions.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn session_names(&self) -> AsyncTask<Job<String>> {
        self.json(None, move |e, _| e.session_names())
    }

    /// `searchByAudio(bytes, options)`: the track the audio is, if any, and the most similar.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn search_by_audio(&self, bytes: Buffer, options: Option<Value>) -> AsyncTask<Job<String>> {
        let (bytes, options) = (bytes.to_vec(), AudioSearchOptions::from_json(options.unwrap_or(Value::Null)));
        self.json(None, move |e, _| e.search_by_audio_bytes(bytes, &options?))
    }

    /// `identify(bytes, options)`: which library track the audio is and where in it it starts.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn identify(&self, bytes: Buffer, options: Option<Value>) -> AsyncTask<Job<String>> {
        let (bytes, options) = (bytes.to_vec(), AudioSearchOptions::from_json(options.unwrap_or(Value::Null)));
        self.json(None, move |e, _| e.identify_bytes(bytes, &options?))
    }

    /// `exportRekordboxXml(options)`: the library as a rekordbox XML collection.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn export_rekordbox_xml(&self, options: Option<Value>) -> AsyncTask<Job<String>> {
        let options = RekordboxExportOptions::from_json(options.unwrap_or(Value::Null));
        self.json(None, move |e, mut control| e.export_rekordbox_xml(&options?, now_ms(), &mut control))
    }

    /// `exportM3u(songIds, options)`: an M3U8 playlist of the songs (resolves the text as JSON).
    #[napi(js_name = "exportM3u", ts_return_type = "Promise<string>")]
    pub fn export_m3u(&self, song_ids: Vec<String>, options: Option<Value>) -> AsyncTask<Job<String>> {
        let options = selecta_core::engine::interop::m3u_options_from_json(options.unwrap_or(Value::Null));
        self.json(None, move |e, _| e.export_m3u(&song_ids, &options?))
    }

    /// `importRekordboxXml(bytes, options)`: match a rekordbox collection and label playlists;
    /// a location outside the library is matched by the bytes of the file it names.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn import_rekordbox_xml(&self, bytes: Buffer, options: Option<Value>) -> AsyncTask<Job<String>> {
        let bytes = bytes.to_vec();
        let options = selecta_core::engine::interop::import_options_from_json(options.unwrap_or(Value::Null));
        self.json(None, move |e, mut control| {
            let mut read_file = |path: &str| std::fs::read(path).ok();
            e.import_rekordbox_xml(&bytes, &options?, &mut read_file, now_ms(), &mut control)
        })
    }

    /// `importBandcampCsv(bytes, options)`: match a Bandcamp CSV and keep its genres and tags.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn import_bandcamp_csv(&self, bytes: Buffer, options: Option<Value>) -> AsyncTask<Job<String>> {
        let bytes = bytes.to_vec();
        let options = engine::BandcampImportOptions::from_json(options.unwrap_or(Value::Null));
        self.json(None, move |e, mut control| e.import_bandcamp_csv(&bytes, &options?, now_ms(), &mut control))
    }

    /// The whole library as one file (importable by the wasm module and natively).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn export_library(&self) -> AsyncTask<Job<Buffer>> {
        self.task(None, Box::new(|e, _| e.export_library().map(Buffer::from)))
    }

    /// Bring in a library file; a damaged file is refused before anything is written.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn import_library(&self, bytes: Buffer) -> AsyncTask<Job<String>> {
        let bytes = bytes.to_vec();
        self.json(None, move |e, _| e.import_library(&bytes, now_ms()))
    }
}
