//! `Library`: the browser API of MISSION §4 over an IndexedDB-backed store. Every method returns
//! a Promise that resolves after the writes it made have committed. The work itself is the
//! core's (`ingest`, `taste`, `bundle`); this file converts arguments and results.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Uint8Array;
use selecta_core::analyze::AnalyzeOptions;
use selecta_core::bundle::{export_library, import_library};
use selecta_core::embed::{Embedder, SamplingProfile};
use selecta_core::ingest::{self, Plan};
use selecta_core::library::{LibraryIndex, path_key};
use selecta_core::taste::{self, Label};
use selecta_core::{SongFeatures, Store};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::browser_store::BrowserStore;
use crate::idb::Db;
use crate::js::{Options, db_error, error, to_js, yield_now};

/// How long an analysis computes before it lets the event loop run (an abort, other calls).
const YIELD_MS: f64 = 50.0;

struct Inner {
    store: BrowserStore,
    index: LibraryIndex,
    /// Shared with running analyses, so a model loaded meanwhile does not pull it from under them.
    embedder: Option<Rc<Embedder>>,
    profile: SamplingProfile,
}

impl Inner {
    fn rebuild_index(&mut self) -> Result<(), JsValue> {
        let wanted = self.embedder.as_ref().map(|e| (e.manifest().model_version.clone(), self.profile));
        self.index = LibraryIndex::load(&self.store, wanted).map_err(db_error)?;
        Ok(())
    }

    fn tag_names(&self) -> &[String] {
        self.embedder.as_ref().map(|e| e.manifest().tag_names.as_slice()).unwrap_or_default()
    }

    fn features_json(&self, f: &SongFeatures, path: Option<&str>) -> Result<JsValue, JsValue> {
        to_js(&f.to_json(path, self.tag_names()))
    }
}

/// A music library kept in IndexedDB (database `selecta:<name>`), or only in memory when
/// opened with `{inMemory: true}` (Node, tests).
#[wasm_bindgen]
pub struct Library {
    inner: Rc<RefCell<Inner>>,
    db: Option<Db>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library").field("persistent", &self.db.is_some()).finish()
    }
}

/// Persist a journal (nothing to do for an in-memory library).
async fn persist(db: &Option<Db>, ops: &[crate::idb::Op]) -> Result<(), JsValue> {
    match db {
        Some(db) => db.apply(ops).await.map_err(db_error_js),
        None => Ok(()),
    }
}

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

fn parse_label(label: &str) -> Result<Label, JsValue> {
    Label::parse(label)
        .filter(|_| !label.trim().is_empty())
        .ok_or_else(|| error("invalid_input", format!("label {label:?} is not liked, disliked or neutral")))
}

#[wasm_bindgen]
impl Library {
    /// Open (creating) a library. `options.inMemory`: keep nothing (no IndexedDB, e.g. Node).
    /// `options.profile`: `full`, `club_hifi_150s` (default in the
    /// browser: the same accuracy budget as seed 004, a fraction of the inference time) or `fast`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Library>")]
    pub async fn open(name: String, options: JsValue) -> Result<Library, JsValue> {
        let opts = Options::new(options);
        let profile = match opts.string("profile") {
            Some(p) => {
                SamplingProfile::parse(&p).ok_or_else(|| error("invalid_input", format!("unknown profile {p:?}")))?
            }
            None => SamplingProfile::ClubHifi150s,
        };
        let (db, entries) = if opts.flag("inMemory") {
            (None, Vec::new())
        } else {
            let db = Db::open(&format!("selecta:{name}")).await.map_err(db_error_js)?;
            let entries = db.read_all().await.map_err(db_error_js)?;
            (Some(db), entries)
        };
        let store = BrowserStore::load(entries).map_err(db_error)?;
        let mut inner = Inner { store, index: LibraryIndex::default(), embedder: None, profile };
        inner.rebuild_index()?;
        Ok(Library { inner: Rc::new(RefCell::new(inner)), db })
    }

    /// Delete a library's database.
    #[wasm_bindgen(js_name = deleteLibrary, unchecked_return_type = "Promise<void>")]
    pub async fn delete_library(name: String) -> Result<(), JsValue> {
        Db::delete(&format!("selecta:{name}")).await.map_err(db_error_js)
    }

    /// Load the embedding model (manifest JSON and model bytes, checked by SHA-256). Tracks
    /// analysed afterwards get the embedding and tags.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&self, manifest: &[u8], model: &[u8]) -> Result<(), JsValue> {
        let embedder = Embedder::load(manifest, Some(model)).map_err(|e| error(e.status(), e))?;
        let mut inner = self.inner.borrow_mut();
        inner.embedder = Some(Rc::new(embedder));
        inner.rebuild_index()
    }

    /// Analyse one file. `path` is its path in the library (e.g. from `webkitRelativePath`);
    /// `options`: `size` and `mtimeMs` (an unchanged file is answered without decoding; a
    /// claimed size over the limit is refused before reading), `onProgress` (`{phase:
    /// "decode" | "features" | "embed", percent}`, percent of the whole file), `signal`
    /// (AbortSignal: the analysis stops within a step and writes nothing).
    /// Resolves `{status: "analyzed" | "unchanged", songId, features}`.
    #[wasm_bindgen(js_name = analyzeFile, unchecked_return_type = "Promise<AnalyzeResult>")]
    pub fn analyze_file(
        &self,
        bytes: Vec<u8>,
        path: String,
        #[wasm_bindgen(unchecked_param_type = "AnalyzeFileOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let (inner, db) = (self.inner.clone(), self.db.clone());
        future_to_promise(async move {
            let opts = Options::new(options);
            let control = opts.control();
            let limits = AnalyzeOptions::default().limits;
            let size = opts.number("size").map_or(bytes.len() as u64, |s| s.max(0.0) as u64);
            limits.check_size(size).map_err(|e| error(e.code(), format!("{path}: {e}")))?;
            if control.aborted() {
                return Err(error("cancelled", format!("{path}: cancelled")));
            }
            let key = path_key(&path);
            let mtime = opts.number("mtimeMs").map_or(0, |m| m as i64);
            let plan = ingest::plan(&inner.borrow().index, &key, size, mtime);
            let processed = match plan {
                Plan::Unchanged { song_id } => {
                    let (value, ops) = {
                        let mut i = inner.borrow_mut();
                        i.store.touch_path_entries(std::slice::from_ref(&key), now_ms()).map_err(db_error)?;
                        let features = i.store.song_features(&song_id).map_err(db_error)?;
                        let value = features.map(|f| i.features_json(&f, Some(&key))).transpose()?;
                        (value, i.store.take_journal())
                    };
                    persist(&db, &ops).await?;
                    return to_js(&json!({"status": "unchanged", "songId": song_id}))
                        .and_then(|v| set(v, "features", value.unwrap_or(JsValue::NULL)));
                }
                Plan::EmbedOnly | Plan::Analyse => {
                    // No RefCell borrow is held across the awaits below: other calls may run
                    // while this file is analysed.
                    let (embedder, profile) = {
                        let i = inner.borrow();
                        (i.embedder.clone(), i.profile)
                    };
                    let mut job = {
                        let i = inner.borrow();
                        ingest::start_path(&i.index, bytes, &path, &plan, profile, embedder.as_deref())
                    }
                    .map_err(|e| error(e.code(), format!("{path}: {e}")))?;
                    // Steps are bounded (a few seconds of audio, one model patch); the event
                    // loop runs every YIELD_MS so an abort or another call is not kept waiting.
                    let mut last_yield = js_sys::Date::now();
                    loop {
                        if let Some(done) = job.step().map_err(|e| error(e.code(), format!("{path}: {e}")))? {
                            break done;
                        }
                        control.report(&job.progress());
                        if js_sys::Date::now() - last_yield >= YIELD_MS {
                            yield_now().await;
                            last_yield = js_sys::Date::now();
                            if control.aborted() {
                                return Err(error("cancelled", format!("{path}: cancelled")));
                            }
                        }
                    }
                }
            };
            // Let a pending abort arrive; a cancelled analysis writes nothing.
            yield_now().await;
            if control.aborted() {
                return Err(error("cancelled", format!("{path}: cancelled")));
            }
            let (committed, value, ops) = {
                let mut i = inner.borrow_mut();
                let committed = ingest::commit(&mut i.store, &processed, &key, size, mtime, now_ms()).map_err(|e| {
                    i.store.discard_journal();
                    db_error(e)
                })?;
                i.index.note_song(&committed.song_id, &processed.file_hash);
                let features = i.store.song_features(&committed.song_id).map_err(db_error)?;
                let value = features.map(|f| i.features_json(&f, Some(&key))).transpose()?;
                (committed, value, i.store.take_journal())
            };
            persist(&db, &ops).await?;
            let status = if committed.analyzed { "analyzed" } else { "unchanged" };
            let mut result = to_js(&json!({"status": status, "songId": committed.song_id}))?;
            if let Some(e) = &processed.embedding_error {
                result = set(result, "embeddingError", JsValue::from_str(&e.to_string()))?;
            }
            set(result, "features", value.unwrap_or(JsValue::NULL))
        })
    }

    /// The stored features of a song (`selecta show --json` shape), or `null`.
    #[wasm_bindgen(js_name = getSongFeatures, unchecked_return_type = "Promise<SongFeatures | null>")]
    pub fn get_song_features(&self, song_id: String) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let i = inner.borrow();
            match i.store.song_features(&song_id).map_err(db_error)? {
                Some(f) => i.features_json(&f, None),
                None => Ok(JsValue::NULL),
            }
        })
    }

    /// Every stored path with its song and features, sorted by path.
    #[wasm_bindgen(js_name = listSongs, unchecked_return_type = "Promise<Array<{path: string, songId: string, features: SongFeatures}>>")]
    pub fn list_songs(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let i = inner.borrow();
            let mut entries = i.store.path_entries().map_err(db_error)?;
            entries.sort_by(|a, b| a.path_key.cmp(&b.path_key));
            let out = js_sys::Array::new();
            for e in entries {
                if let Some(f) = i.store.song_features(&e.song_id).map_err(db_error)? {
                    let row = to_js(&json!({"path": e.file_path, "songId": e.song_id}))?;
                    out.push(&set(row, "features", i.features_json(&f, Some(&e.file_path))?)?);
                }
            }
            Ok(out.into())
        })
    }

    /// `setSelectionLabels(songIds, "liked" | "disliked" | "neutral")`.
    #[wasm_bindgen(js_name = setSelectionLabels, unchecked_return_type = "Promise<SetLabelsResult>")]
    pub fn set_selection_labels(&self, song_ids: Vec<String>, label: String) -> js_sys::Promise {
        self.mutate(move |store| {
            let label = parse_label(&label)?;
            taste::set_selection_labels(store, &song_ids, label, now_ms()).map_err(db_error)
        })
    }

    /// `getSelectionLabelSnapshot()`.
    #[wasm_bindgen(js_name = getSelectionLabelSnapshot, unchecked_return_type = "Promise<LabelSnapshot>")]
    pub fn get_selection_label_snapshot(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let snapshot = taste::get_selection_label_snapshot(&inner.borrow().store).map_err(db_error)?;
            to_js(&snapshot)
        })
    }

    /// `resetSelectionSampleChangeCount()`.
    #[wasm_bindgen(js_name = resetSelectionSampleChangeCount, unchecked_return_type = "Promise<number>")]
    pub fn reset_selection_sample_change_count(&self) -> js_sys::Promise {
        self.mutate(|store| taste::reset_selection_sample_change_count(store).map_err(db_error))
    }

    /// `resetSelectionLabels()`: labels, model, cache and revision are cleared.
    #[wasm_bindgen(js_name = resetSelectionLabels, unchecked_return_type = "Promise<boolean>")]
    pub fn reset_selection_labels(&self) -> js_sys::Promise {
        self.mutate(|store| taste::reset_selection_labels(store).map_err(db_error))
    }

    /// `trainSelectionGbdt(positiveIds, negativeIds, {onProgress, signal})`.
    #[wasm_bindgen(js_name = trainSelectionGbdt, unchecked_return_type = "Promise<TrainOutcome>")]
    pub fn train_selection_gbdt(
        &self,
        positive_ids: Vec<String>,
        negative_ids: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "TrainOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let mut control = Options::new(options).control();
        self.mutate(move |store| {
            Ok(taste::train_selection_gbdt(store, &positive_ids, &negative_ids, now_ms(), &mut control))
        })
    }

    /// `predictSelectionCandidates(candidateIds, topK = 100)` (0 = all).
    #[wasm_bindgen(js_name = predictSelectionCandidates, unchecked_return_type = "Promise<PredictOutcome>")]
    pub fn predict_selection_candidates(
        &self,
        candidate_ids: Vec<String>,
        top_k: Option<u32>,
        options: JsValue,
    ) -> js_sys::Promise {
        let mut control = Options::new(options).control();
        let top_k = top_k.unwrap_or(100) as usize;
        self.mutate(move |store| {
            Ok(taste::predict_selection_candidates(store, &candidate_ids, top_k, now_ms(), &mut control))
        })
    }

    /// The whole library as one file (features, paths, labels, model), importable natively.
    #[wasm_bindgen(js_name = exportLibrary, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn export_library(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let bytes = export_library(&inner.borrow().store).map_err(|e| error("db_error", e))?;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Bring in a library file (from `exportLibrary` here or natively). A damaged file is
    /// refused before anything is written.
    #[wasm_bindgen(js_name = importLibrary, unchecked_return_type = "Promise<ImportSummary>")]
    pub fn import_library(&self, bytes: Vec<u8>) -> js_sys::Promise {
        let (inner, db) = (self.inner.clone(), self.db.clone());
        future_to_promise(async move {
            let (summary, ops) = {
                let mut i = inner.borrow_mut();
                let summary = import_library(&mut i.store, &bytes, now_ms()).map_err(|e| {
                    i.store.discard_journal();
                    match e {
                        selecta_core::bundle::BundleError::Store(s) => db_error(s),
                        other => error("invalid_input", other),
                    }
                })?;
                i.rebuild_index()?;
                (summary, i.store.take_journal())
            };
            persist(&db, &ops).await?;
            to_js(&summary)
        })
    }

    /// Close the database connection.
    pub fn close(&self) {
        if let Some(db) = &self.db {
            db.close();
        }
    }
}

impl Library {
    /// Run a store mutation, persist its journal, resolve with its JSON result.
    fn mutate<T: serde::Serialize>(
        &self,
        f: impl FnOnce(&mut BrowserStore) -> Result<T, JsValue> + 'static,
    ) -> js_sys::Promise {
        let (inner, db) = (self.inner.clone(), self.db.clone());
        future_to_promise(async move {
            let (value, ops) = {
                let mut i = inner.borrow_mut();
                let v = f(&mut i.store)?;
                (v, i.store.take_journal())
            };
            persist(&db, &ops).await?;
            to_js(&value)
        })
    }
}

fn db_error_js(e: JsValue) -> JsValue {
    let message = e
        .as_string()
        .or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "IndexedDB failed".into());
    error("db_error", message)
}

fn set(target: JsValue, key: &str, value: JsValue) -> Result<JsValue, JsValue> {
    js_sys::Reflect::set(&target, &JsValue::from_str(key), &value)?;
    Ok(target)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
export type ErrorCode = "invalid_input" | "unsupported_format" | "empty_file" | "too_large" | "cancelled"
  | "db_error" | "internal_error" | "runtime_unavailable";
export interface SongFeatures {
  songId: string; fileHash: string; path: string | null; durationSec: number; sampleRate: number;
  channels: number; bitrateKbps: number; bpm: number | null; bpmConfidence: number | null;
  key: string | null; camelot: string | null; openKey: string | null; keyStrength: number | null;
  rmsMean: number; loudnessLufs: number | null; hpcp: number[] | null; chromaprintFingerprint: string | null;
  chromaprintSimhash: string | null; analysisVersion: number;
  metadata: { title: string | null; artist: string | null; album: string | null; genre: string | null;
    year: number | null; comment: string | null };
  embedding: number[] | null; modelVersion: string | null; profile: string | null;
  windows: { start: number; end: number }[] | null; topTags: { name: string; p: number }[] | null;
}
export interface AnalyzeResult { status: "analyzed" | "unchanged"; songId: string; features: SongFeatures | null; embeddingError?: string }
export interface SetLabelsResult { total: number; changed: number; sampleChangeCount: number; sampleChangeDelta: number }
export interface LabelSnapshot { positiveIds: string[]; negativeIds: string[]; sampleChangeCount: number }
export interface Progress { phase: "prepare" | "train" | "save"; percent: number }
/** Progress of one file's analysis; `percent` covers the whole file. */
export interface AnalysisProgress { phase: "decode" | "features" | "embed"; percent: number }
export interface AnalyzeFileOptions {
  size?: number; mtimeMs?: number; onProgress?: (p: AnalysisProgress) => void; signal?: AbortSignal;
}
export interface TrainOptions { onProgress?: (p: Progress) => void; signal?: AbortSignal }
export interface TrainOutcome {
  status: "trained" | "insufficient_samples" | "cancelled" | "failed"; modelRevision?: number;
  metrics?: { positives: number; negatives: number; skippedWithoutFeatures: number; features: number; trees: number;
    trainAuc: number; trainLogLoss: number };
  errorCode?: ErrorCode; error?: string;
}
export interface PredictOutcome {
  status: "ok" | "not_trained" | "insufficient_samples" | "cancelled" | "failed"; modelRevision?: number;
  items: { id: string; score: number }[]; missing?: string[]; errorCode?: ErrorCode; error?: string;
}
export interface ImportSummary { songs: number; paths: number; labels: number; model: boolean }
"#;
