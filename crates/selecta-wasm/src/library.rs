//! `Library`: the taste and analysis API over an IndexedDB-backed store. Every method returns a
//! Promise that resolves after the writes it made have committed. Translation only: the
//! workflows are the core's `Engine`; this file converts arguments, results and errors, lets
//! the event loop run during an analysis and persists each call's write journal.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Uint8Array;
use selecta_core::control::{JobControl, NoControl};
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::{
    self, AudioSearchOptions, Begun, Claim, PendingFile, ProcessedFile, RekordboxExportOptions, SimilarOptions,
    SongPage,
};
use selecta_core::features::key::compatible_camelot;
use selecta_core::{Engine, EngineError, ErrorCode};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::browser_store::{BrowserStore, StoreLoader};
use crate::idb::{Db, Op};
use crate::js::{Options, from_js, idb_error, js_error, to_js, yield_now};

/// How long an analysis computes before it lets the event loop run (an abort, other calls).
const YIELD_MS: f64 = 50.0;

type Shared = Rc<RefCell<Engine<BrowserStore>>>;

/// A music library kept in IndexedDB (database `selecta:<name>`), or only in memory when
/// opened with `{inMemory: true}` (Node, tests).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Library {
    engine: Shared,
    db: Option<Db>,
}

/// The browser's clock (the core has none).
fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Run `f` on the engine and persist the writes it journalled; a failed call writes nothing.
async fn apply<T: Serialize>(
    engine: &Shared,
    db: &Option<Db>,
    f: impl FnOnce(&mut Engine<BrowserStore>) -> Result<T, EngineError>,
) -> Result<JsValue, JsValue> {
    let (value, ops, index_ops) = {
        let mut e = engine.borrow_mut();
        let value = f(&mut e).inspect_err(|_| e.store_mut().discard_journal()).map_err(js_error)?;
        (value, e.store_mut().take_journal(), e.store_mut().take_index_journal())
    };
    if let Err(error) = persist(db, engine, &ops).await {
        restore_from_disk(engine, db).await;
        return Err(error);
    }
    // A derived index that cannot be kept (a full quota) is built again on the next open.
    if let Err(error) = persist(db, engine, &index_ops).await {
        tracing::warn!("cannot keep a derived index: {error:?}");
    }
    to_js(&value)
}

/// After a failed IndexedDB write, read the working set back from the database, so that the
/// library answers what a reload would (the call that changed it rejects). If the database
/// cannot be read either, memory stays ahead of it until the page reloads.
async fn restore_from_disk(engine: &Shared, db: &Option<Db>) {
    let Some(db) = db else { return };
    let restored = match read_store(db).await {
        Ok(store) => engine.borrow_mut().replace_store(store),
        Err(e) => Err(EngineError::new(ErrorCode::DbError, format!("{e:?}"))),
    };
    if let Err(e) = restored {
        tracing::warn!("the library could not be read back after a failed write: {e}");
    }
}

/// Stored keys decoded per chunk of the database's reads: a few MB of records at a time (a
/// track's keys hold 4–16 KB), and small enough that a library of a hundred tracks, like the
/// browser test's, already spans two.
const READ_CHUNK: u32 = 256;

/// The working set, read from the database chunk by chunk.
async fn read_store(db: &Db) -> Result<BrowserStore, JsValue> {
    let mut loader = StoreLoader::default();
    // A record that does not decode is the store's error (its code), not IndexedDB's.
    let mut undecodable = None;
    let read = db
        .read_in_chunks(READ_CHUNK, |entries| {
            loader.add(entries).map_err(|e| {
                undecodable = Some(e);
                JsValue::from_str("undecodable record")
            })
        })
        .await;
    if let Some(e) = undecodable {
        return Err(js_error(e.into()));
    }
    read.map_err(idb_error)?;
    loader.finish().map_err(|e| js_error(e.into()))
}

/// Process a claimed file in bounded steps. No engine borrow is held across the awaits: other
/// calls run meanwhile, and the event loop runs every YIELD_MS so an abort or another call is
/// not kept waiting. A cancelled analysis ends with `cancelled` and writes nothing.
async fn process(
    file: &PendingFile,
    bytes: Vec<u8>,
    control: &mut impl JobControl,
    path: &str,
) -> Result<ProcessedFile, JsValue> {
    let mut job = file.start(bytes).map_err(js_error)?;
    let processed = loop {
        let started = js_sys::Date::now();
        let mut pause = || js_sys::Date::now() - started >= YIELD_MS;
        if let Some(done) = job.run_until(control, &mut pause).map_err(js_error)? {
            break done;
        }
        yield_now().await;
    };
    // Let a pending abort arrive.
    yield_now().await;
    if control.is_cancelled() {
        return Err(js_error(EngineError::cancelled(path)));
    }
    Ok(processed)
}

/// Write a journal of `engine`'s store to IndexedDB (nothing to do for an in-memory library).
async fn persist(db: &Option<Db>, engine: &RefCell<Engine<BrowserStore>>, ops: &[Op]) -> Result<(), JsValue> {
    // Borrowed only while the requests are made, before the commit is awaited.
    let encode = |key: &str| engine.borrow().store().encode_later(key).map_err(|e| js_error(EngineError::from(e)));
    match db {
        Some(db) => db.apply(ops, &encode).await.map_err(idb_error),
        None => Ok(()),
    }
}

/// `libraryRules()`: the training threshold, the audio extensions, the profiles and error codes.
#[wasm_bindgen(js_name = libraryRules, unchecked_return_type = "LibraryRules")]
pub fn library_rules() -> Result<JsValue, JsValue> {
    to_js(&engine::rules())
}

/// `compatibleKeys("8A")`: the Camelot codes that mix with a key without a clash (itself, ±1,
/// the relative major/minor), or `null` for a string that is not a Camelot code.
#[wasm_bindgen(js_name = compatibleKeys)]
pub fn compatible_keys(camelot: &str) -> Option<Vec<String>> {
    compatible_camelot(camelot)
}

/// `cancelled` for `what` (a caller's error when the signal fired before the call started).
#[wasm_bindgen(js_name = cancelledError)]
pub fn cancelled_error(what: &str) -> JsValue {
    js_error(EngineError::cancelled(what))
}

/// `runtime_unavailable` with a reason (the loader's error when a forced backend is missing).
#[wasm_bindgen(js_name = unavailableError)]
pub fn unavailable_error(reason: &str) -> JsValue {
    js_error(EngineError::new(ErrorCode::RuntimeUnavailable, reason))
}

#[wasm_bindgen]
impl Library {
    /// Open (creating) a library. `options.inMemory`: keep nothing (no IndexedDB, e.g. Node).
    /// `options.profile`: `full`, `club_hifi_150s` (default in the browser: a 150-second budget
    /// per track, a fraction of the inference time) or `fast`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Library>")]
    pub async fn open(name: String, options: JsValue) -> Result<Library, JsValue> {
        let opts = Options::new(options);
        let profile = match opts.string("profile") {
            Some(p) => engine::parse_profile(&p).map_err(js_error)?,
            None => SamplingProfile::ClubHifi150s,
        };
        let (db, store) = if opts.flag("inMemory") {
            (None, BrowserStore::in_memory())
        } else {
            let db = Db::open(&format!("selecta:{name}")).await.map_err(idb_error)?;
            let store = read_store(&db).await?;
            (Some(db), store)
        };
        let engine = RefCell::new(Engine::open(store, profile, now_ms()).map_err(js_error)?);
        // The path-index clean-up at open is written like any other change.
        let ops = engine.borrow_mut().store_mut().take_journal();
        persist(&db, &engine, &ops).await?;
        Ok(Library { engine: Rc::new(engine), db })
    }

    /// Delete a library's database.
    #[wasm_bindgen(js_name = deleteLibrary, unchecked_return_type = "Promise<void>")]
    pub async fn delete_library(name: String) -> Result<(), JsValue> {
        Db::delete(&format!("selecta:{name}")).await.map_err(idb_error)
    }

    /// Load the embedding model (manifest JSON and the model's NNEF archive, the manifest's
    /// `nnefFile`, checked by SHA-256; this module reads no ONNX). Tracks analysed afterwards
    /// get the embedding and tags.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&self, manifest: &[u8], model: &[u8]) -> Result<(), JsValue> {
        self.engine.borrow_mut().load_model(manifest, model).map_err(js_error)
    }

    /// Analyse one file. `path` is its path in the library (e.g. from `webkitRelativePath`);
    /// `options`: `size` and `mtimeMs` (an unchanged file is answered without decoding; a
    /// claimed size over the limit is refused before reading), `onProgress` (`{phase:
    /// "decode" | "features" | "embed", percent}`, percent of the whole file), `signal`
    /// (AbortSignal: the analysis stops within a step and writes nothing).
    /// Resolves `{status: "analyzed" | "unchanged", songId, features}`. A second call for a path
    /// whose analysis is in flight rejects with `busy` (the first one stores it).
    #[wasm_bindgen(js_name = analyzeFile, unchecked_return_type = "Promise<AnalyzeResult>")]
    pub fn analyze_file(
        &self,
        bytes: Vec<u8>,
        path: String,
        #[wasm_bindgen(unchecked_param_type = "AnalyzeFileOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let (engine, db) = (self.engine.clone(), self.db.clone());
        future_to_promise(async move {
            let opts = Options::new(options);
            let mut control = opts.control();
            let size = opts.number("size").map_or(bytes.len() as u64, |s| s.max(0.0) as u64);
            let mtime = opts.number("mtimeMs").map_or(0, |m| m as i64);
            let begun = engine.borrow().begin_file(&path, size, mtime).map_err(js_error)?;
            let file = match begun {
                Begun::Unchanged { key, song_id } => {
                    return apply(&engine, &db, |e| e.unchanged_file(&key, &song_id, now_ms())).await;
                }
                Begun::Pending(file) => file,
            };
            // Two calls for one path at once: the second is told `busy` (the first stores it).
            let claim = engine.borrow_mut().claim_file(&file, now_ms()).map_err(js_error)?;
            match claim {
                Claim::Granted => {}
                Claim::Busy => return Err(js_error(EngineError::busy(&path))),
                Claim::Unchanged { key, song_id } => {
                    return apply(&engine, &db, |e| e.unchanged_file(&key, &song_id, now_ms())).await;
                }
            }
            let processed = match process(&file, bytes, &mut control, &path).await {
                Ok(processed) => processed,
                Err(e) => {
                    let _ = engine.borrow_mut().release_file(file.key());
                    return Err(e);
                }
            };
            apply(&engine, &db, |e| {
                let committed = e.commit_file(processed, now_ms())?;
                e.file_result(committed)
            })
            .await
        })
    }

    /// The stored features of a song (`selecta show --json` shape), or `null`.
    #[wasm_bindgen(js_name = getSongFeatures, unchecked_return_type = "Promise<SongFeatures | null>")]
    pub fn get_song_features(&self, song_id: String) -> js_sys::Promise {
        self.read(move |e| e.song_json(&song_id, None))
    }

    /// `listSongs({offset, limit})`: stored paths with their songs and features, sorted by
    /// path; the rows from `offset`, at most `limit` of them, when asked (a large library is
    /// listed page by page).
    #[wasm_bindgen(js_name = listSongs, unchecked_return_type = "Promise<Array<{path: string, songId: string, features: SongFeatures}>>")]
    pub fn list_songs(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SongPage | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let page = from_js(options).and_then(SongPage::from_json);
        self.read(move |e| e.list_songs_page(page?))
    }

    /// `setSelectionLabels(songIds, "liked" | "disliked" | "neutral")`.
    #[wasm_bindgen(js_name = setSelectionLabels, unchecked_return_type = "Promise<SetLabelsResult>")]
    pub fn set_selection_labels(&self, song_ids: Vec<String>, label: String) -> js_sys::Promise {
        self.mutate(move |e| e.set_selection_labels(&song_ids, &label, now_ms()))
    }

    /// `getSelectionLabelSnapshot()`.
    #[wasm_bindgen(js_name = getSelectionLabelSnapshot, unchecked_return_type = "Promise<LabelSnapshot>")]
    pub fn get_selection_label_snapshot(&self) -> js_sys::Promise {
        self.read(|e| e.get_selection_label_snapshot())
    }

    /// `resetSelectionSampleChangeCount()`.
    #[wasm_bindgen(js_name = resetSelectionSampleChangeCount, unchecked_return_type = "Promise<number>")]
    pub fn reset_selection_sample_change_count(&self) -> js_sys::Promise {
        self.mutate(|e| e.reset_selection_sample_change_count())
    }

    /// `resetSelectionLabels()`: labels, model, cache and revision are cleared.
    #[wasm_bindgen(js_name = resetSelectionLabels, unchecked_return_type = "Promise<boolean>")]
    pub fn reset_selection_labels(&self) -> js_sys::Promise {
        self.mutate(|e| e.reset_selection_labels())
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
        self.mutate(move |e| e.train_selection_gbdt(&positive_ids, &negative_ids, now_ms(), &mut control))
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
        self.mutate(move |e| Ok(e.predict_selection_candidates(&candidate_ids, top_k, now_ms(), &mut control)))
    }

    /// `similarTracks(songId, {k, explain, bpm: [lo, hi], halfDouble, keyCompatible, exclude,
    /// duration: [lo, hi]})`: the most similar tracks, best first, with their score parts.
    #[wasm_bindgen(js_name = similarTracks, unchecked_return_type = "Promise<SimilarOutcome>")]
    pub fn similar_tracks(
        &self,
        song_id: String,
        #[wasm_bindgen(unchecked_param_type = "SimilarOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(SimilarOptions::from_json);
        self.mutate(move |e| e.similar_tracks(&song_id, &options?))
    }

    /// `nextTracks(songId | null, {session, k, goal, weights, bpmTolerance, halfDouble, keyRule,
    /// pool, explain})`: what to play after a song (or after a session's playing track), best
    /// first, with the parts of each score.
    #[wasm_bindgen(js_name = nextTracks, unchecked_return_type = "Promise<NextOutcome>")]
    pub fn next_tracks(
        &self,
        song_id: Option<String>,
        #[wasm_bindgen(unchecked_param_type = "NextTracksOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(selecta_core::engine::dj::next_call_from_json);
        self.mutate(move |e| {
            let (session, options) = options?;
            e.next_tracks(song_id.as_deref(), session.as_deref(), &options)
        })
    }

    /// `planSet(startId, {length | minutes, arc: "warmup" | "peak" | "journey" | number[],
    /// beam, next})`: a set whose every transition passes the next-track rules and whose energy
    /// follows the arc.
    #[wasm_bindgen(js_name = planSet, unchecked_return_type = "Promise<PlanOutcome>")]
    pub fn plan_set(
        &self,
        start_id: String,
        #[wasm_bindgen(unchecked_param_type = "PlanSetOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(selecta_core::engine::dj::plan_options_from_json);
        self.mutate(move |e| e.plan_set(&start_id, &options?))
    }

    /// `sessionNew(name)`: start (or restart) a DJ session kept in the library.
    #[wasm_bindgen(js_name = sessionNew, unchecked_return_type = "Promise<SessionView>")]
    pub fn session_new(&self, name: String) -> js_sys::Promise {
        self.mutate(move |e| e.session_new(&name, now_ms()))
    }

    /// `addPlayed(name, songId)`: mark a song played (it becomes the playing track).
    #[wasm_bindgen(js_name = addPlayed, unchecked_return_type = "Promise<SessionChange>")]
    pub fn add_played(&self, name: String, song_id: String) -> js_sys::Promise {
        self.mutate(move |e| e.session_played(&name, &song_id, now_ms()))
    }

    /// `undoPlayed(name)`: take the last played track back.
    #[wasm_bindgen(js_name = undoPlayed, unchecked_return_type = "Promise<SessionChange>")]
    pub fn undo_played(&self, name: String) -> js_sys::Promise {
        self.mutate(move |e| e.session_undo(&name))
    }

    /// `sessionShow(name)`: the session's played tracks with their paths.
    #[wasm_bindgen(js_name = sessionShow, unchecked_return_type = "Promise<SessionView>")]
    pub fn session_show(&self, name: String) -> js_sys::Promise {
        self.read(move |e| e.session_show(&name))
    }

    /// `sessionNames()`: the kept sessions.
    #[wasm_bindgen(js_name = sessionNames, unchecked_return_type = "Promise<string[]>")]
    pub fn session_names(&self) -> js_sys::Promise {
        self.read(|e| e.session_names())
    }

    /// `searchByAudio(bytes, {name, k, ...filters})`: the library track the audio is (a whole
    /// file or a 5–30 s snippet), if any, and the tracks most like it.
    #[wasm_bindgen(js_name = searchByAudio, unchecked_return_type = "Promise<AudioSearchOutcome>")]
    pub fn search_by_audio(
        &self,
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "AudioSearchOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(AudioSearchOptions::from_json);
        self.mutate(move |e| e.search_by_audio_bytes(bytes, &options?))
    }

    /// `identify(bytes, {name})`: which library track the audio is and where in it it starts.
    #[wasm_bindgen(unchecked_return_type = "Promise<IdentifyOutcome>")]
    pub fn identify(
        &self,
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "AudioSearchOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(AudioSearchOptions::from_json);
        self.mutate(move |e| e.identify_bytes(bytes, &options?))
    }

    /// `exportRekordboxXml({libraryRoot, picks, similarTo, similarTracks, plans, sessions,
    /// keyNotation: "classic" | "camelot"})`: the library as a rekordbox XML collection
    /// (`{xml, tracks, playlists}`), byte-identical to the native export of the same library.
    #[wasm_bindgen(js_name = exportRekordboxXml, unchecked_return_type = "Promise<RekordboxExport>")]
    pub fn export_rekordbox_xml(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RekordboxExportOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(RekordboxExportOptions::from_json);
        self.mutate(move |e| e.export_rekordbox_xml(&options?, now_ms(), &mut NoControl))
    }

    /// `exportM3u(songIds, {libraryRoot, playlistDir})`: an M3U8 playlist of the songs.
    #[wasm_bindgen(js_name = exportM3u, unchecked_return_type = "Promise<string>")]
    pub fn export_m3u(
        &self,
        song_ids: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "M3uOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(engine::interop::m3u_options_from_json);
        self.read(move |e| e.export_m3u(&song_ids, &options?))
    }

    /// `importRekordboxXml(bytes, {libraryRoot, likedPlaylists, dislikedPlaylists,
    /// noAutoTrain})`: match a rekordbox collection to the library by location and label the
    /// named playlists' tracks (the page reads no files outside the library: no content match).
    #[wasm_bindgen(js_name = importRekordboxXml, unchecked_return_type = "Promise<RekordboxImport>")]
    pub fn import_rekordbox_xml(
        &self,
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "RekordboxImportOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(engine::interop::import_options_from_json);
        self.mutate(move |e| e.import_rekordbox_xml(&bytes, &options?, &mut |_| None, now_ms(), &mut NoControl))
    }

    /// `importBandcampCsv(bytes, {map: {column: field}, like, noAutoTrain})`: match a Bandcamp
    /// CSV's rows to songs and keep their genre, subgenre and tags beside the files' tags.
    #[wasm_bindgen(js_name = importBandcampCsv, unchecked_return_type = "Promise<BandcampImport>")]
    pub fn import_bandcamp_csv(
        &self,
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "BandcampImportOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let options = from_js(options).and_then(engine::BandcampImportOptions::from_json);
        self.mutate(move |e| e.import_bandcamp_csv(&bytes, &options?, now_ms(), &mut NoControl))
    }

    /// The whole library as one file (features, paths, labels, model), importable natively.
    #[wasm_bindgen(js_name = exportLibrary, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn export_library(&self) -> js_sys::Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            let bytes = engine.borrow().export_library().map_err(js_error)?;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Bring in a library file (from `exportLibrary` here or natively). A damaged file is
    /// refused before anything is written. The bytes stay in JavaScript's memory and are read
    /// a piece at a time: the module's memory never shrinks, and a 50 000-track bundle copied
    /// into it whole would stay its peak.
    #[wasm_bindgen(js_name = importLibrary, unchecked_return_type = "Promise<ImportSummary>")]
    pub fn import_library(&self, bytes: Uint8Array) -> js_sys::Promise {
        self.mutate(move |e| e.import_library_from(&JsBytes(bytes), now_ms()))
    }

    /// Close the database connection.
    pub fn close(&self) {
        if let Some(db) = &self.db {
            db.close();
        }
    }
}

impl Library {
    /// A call that writes: run it, persist its journal, resolve with its JSON result.
    fn mutate<T: Serialize>(
        &self,
        f: impl FnOnce(&mut Engine<BrowserStore>) -> Result<T, EngineError> + 'static,
    ) -> js_sys::Promise {
        let (engine, db) = (self.engine.clone(), self.db.clone());
        future_to_promise(async move { apply(&engine, &db, f).await })
    }

    /// A call that only reads.
    fn read<T: Serialize>(
        &self,
        f: impl FnOnce(&Engine<BrowserStore>) -> Result<T, EngineError> + 'static,
    ) -> js_sys::Promise {
        let engine = self.engine.clone();
        future_to_promise(async move { to_js(&f(&engine.borrow()).map_err(js_error)?) })
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR_CODE: &str = selecta_core::error::TS_ERROR_CODE_TYPE;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("../js/types.d.ts");

/// A bundle in JavaScript's memory, read a piece at a time.
struct JsBytes(Uint8Array);

impl selecta_core::bundle::BundleSource for JsBytes {
    fn len(&self) -> usize {
        self.0.length() as usize
    }

    fn read_at(&self, offset: usize, buf: &mut [u8]) {
        // Offsets fit in u32: a Uint8Array is shorter than 4 GiB in wasm32.
        self.0.subarray(offset as u32, (offset + buf.len()) as u32).copy_to(buf);
    }
}
