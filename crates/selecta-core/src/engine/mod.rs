//! The engine: one facade over a library that every front end (the CLI, the wasm module, the
//! N-API addon, later the HTTP service) translates. It owns the store, the path index, the
//! embedding model and the sampling profile, and offers every workflow a front end runs:
//! step-wise analysis with progress and cancellation ([`analysis`]), songs and their JSON,
//! labels, training and prediction with the training lock, similar tracks ([`similar`]),
//! library export and import, rekordbox XML and M3U8 ([`interop`]), the path-index clean-up
//! policy, and the rules a user interface shows ([`rules`]).
//!
//! Front ends convert arguments and results and supply what the core has no access to: bytes
//! read from files, the clock (`now_ms` arguments), threads. Every failure is an
//! [`EngineError`] with an [`ErrorCode`](crate::ErrorCode); batch results carry per-item errors
//! as data.

pub mod analysis;
pub mod audio_search;
pub mod bandcamp;
pub mod dj;
pub mod interop;
pub mod rules;
pub mod similar;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;
use serde_json::Value;

use crate::bundle::{self, ImportSummary};
use crate::control::JobControl;
use crate::embed::{EmbedError, Embedder, ModelManifest, SamplingProfile};
use crate::error::{EngineError, ErrorCode};
use crate::path_index::{PATH_INDEX_CAPACITY, PATH_INDEX_TTL_MS, PathIndex, path_key};
use crate::record::{Label, SongFeatures};
use crate::retrieval::ann::AnnIndex;
use crate::retrieval::{PrintIndex, SearchIndex};
use crate::store::TasteStore;
use crate::taste::{self, LabelSnapshot, PredictOutcome, SetLabelsResult, TrainOutcome, TrainStatus};

pub use analysis::{Begun, Claim, Committed, FileJob, FileResult, FileStatus, PendingFile, ProcessedFile, ScanReport};
pub use audio_search::{
    AudioAnalyzer, AudioQuery, AudioSearchOptions, AudioSearchOutcome, IdentifiedTrack, IdentifyOutcome, IndexSource,
    PrintIndexStats,
};
pub use bandcamp::{BandcampImport, BandcampImportOptions};
pub use interop::{M3uOptions, RekordboxExport, RekordboxExportOptions, RekordboxImport, RekordboxImportOptions};
pub use rules::{Rules, rules};
pub use similar::{
    APPROXIMATE_FROM_TRACKS, APPROXIMATE_MIN_PASS_SHARE, SERVICE_APPROXIMATE_FROM_TRACKS, Searcher, SimilarItem,
    SimilarOptions, SimilarOutcome,
};

/// Whether tracks get an embedding in this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingStatus {
    /// A verified model is loaded.
    Ok,
    /// No model, or a missing or altered one: every other feature is still computed.
    RuntimeUnavailable,
}

/// The embedding model's state (`embedding` in `selecta analyze --json`, without the count).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelState {
    /// `ok` or `runtime_unavailable`.
    pub status: EmbeddingStatus,
    /// The loaded model's version.
    pub model_version: Option<String>,
    /// The sampling profile new embeddings use.
    pub profile: &'static str,
    /// Why the model is unavailable.
    pub error: Option<String>,
}

/// One stored path with its song (`listSongs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SongRow {
    /// Path relative to the library.
    pub path: String,
    /// Its song.
    pub song_id: String,
    /// The song's features in the public JSON shape.
    pub features: Value,
}

/// Which rows of the path-sorted listing `listSongs({offset, limit})` returns: from `offset`, at
/// most `limit` (all when absent). A large library is listed page by page: every song's features
/// at once are more than one JSON string can hold at 50 000 songs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct SongPage {
    /// Rows skipped.
    pub offset: usize,
    /// Most rows returned.
    pub limit: Option<usize>,
}

impl SongPage {
    /// A page of `limit` rows from `offset`.
    pub fn new(offset: usize, limit: Option<usize>) -> Self {
        Self { offset, limit }
    }

    /// `{offset, limit}` (`null` for every row).
    pub fn from_json(value: Value) -> Result<Self, EngineError> {
        options_from_json(value, "listSongs options")
    }
}

/// What labelling did (`selecta label --json`, without the per-file errors the CLI adds).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelOutcome {
    /// Distinct tracks labelled.
    pub total: usize,
    /// Tracks whose label really changed.
    pub changed: usize,
    /// The counter after the call (0 after an automatic retraining).
    pub sample_change_count: u64,
    /// What the call added to the counter.
    pub sample_change_delta: u64,
    /// Liked tracks now.
    pub positives: usize,
    /// Disliked tracks now.
    pub negatives: usize,
    /// The automatic retraining, when one was due.
    pub auto_train: Option<TrainOutcome>,
}

/// A library: store, path index, embedding model and sampling profile.
pub struct Engine<S> {
    store: S,
    /// Shared with analyses in flight, which read it when they hash their file.
    index: Arc<RwLock<PathIndex>>,
    /// Shared with analyses in flight, so a model loaded meanwhile does not pull it from under them.
    embedder: Option<Arc<Embedder>>,
    /// Why there is no embedder.
    model_error: Option<EmbedError>,
    /// The model's tag names, for `topTags` (also known without a loaded model).
    tag_names: Vec<String>,
    profile: SamplingProfile,
    /// Similar-track search over the stored features; `None` until used or after they change.
    search: Option<Arc<SearchIndex>>,
    /// The approximate index bound to `search` (large libraries only); kept when features
    /// change, and brought up to date with the next search index.
    ann: Option<Arc<AnnIndex>>,
    /// Library size from which the approximate index answers.
    approximate_from_tracks: usize,
    /// Snippet identification's fingerprint index; `None` until used or after features change.
    prints: Option<PrintIndex>,
    /// Path keys this engine is analysing now ([`Engine::claim_file`]).
    claimed: HashSet<String>,
}

impl<S> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("profile", &self.profile)
            .field("model", &self.embedder.as_ref().map(|e| e.manifest().model_version.clone()))
            .finish_non_exhaustive()
    }
}

impl<S: TasteStore> Engine<S> {
    /// Open a library over `store`: apply the path-index clean-up policy and load the index.
    /// No embedding model yet ([`Engine::set_model`]).
    ///
    /// The policy: entries not seen within [`PATH_INDEX_TTL_MS`] of the library's most recent
    /// sighting (or of `now_ms`, if earlier) are dropped, then the oldest beyond
    /// [`PATH_INDEX_CAPACITY`]. Measuring from the last sighting rather than the clock means a
    /// library left alone for months loses nothing: only files that scans kept missing while
    /// the library was in use are forgotten (and they cost only a re-hash if they return).
    pub fn open(mut store: S, profile: SamplingProfile, now_ms: i64) -> Result<Self, EngineError> {
        let reference = store.newest_path_seen_ms()?.map_or(now_ms, |newest| newest.min(now_ms));
        let collected = store.gc_path_entries(reference, PATH_INDEX_TTL_MS, PATH_INDEX_CAPACITY)?;
        if collected > 0 {
            tracing::info!(collected, "path index garbage-collected");
        }
        let model_error = Some(EmbedError::RuntimeUnavailable("no embedding model loaded".into()));
        let mut engine = Self {
            store,
            index: Arc::new(RwLock::new(PathIndex::default())),
            embedder: None,
            model_error,
            tag_names: Vec::new(),
            profile,
            search: None,
            ann: None,
            approximate_from_tracks: similar::APPROXIMATE_FROM_TRACKS,
            prints: None,
            claimed: HashSet::new(),
        };
        engine.reload_index()?;
        Ok(engine)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, for a front end's own bookkeeping (e.g. the browser store's write journal).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Put `store` in place of the engine's: a front end whose write to disk failed after the
    /// working set changed restores the working set from disk, so memory and disk agree again.
    /// Every index derived from the old store is dropped or reloaded.
    pub fn replace_store(&mut self, store: S) -> Result<(), EngineError> {
        self.store = store;
        self.search = None;
        self.ann = None;
        self.prints = None;
        self.reload_index()
    }

    /// The sampling profile new embeddings use.
    pub fn profile(&self) -> SamplingProfile {
        self.profile
    }

    /// Use a loaded model, or record why there is none (`runtime_unavailable`: analysis goes on
    /// without embeddings).
    pub fn set_model(&mut self, model: Result<Embedder, EmbedError>) -> Result<(), EngineError> {
        match model {
            Ok(embedder) => {
                self.tag_names = embedder.manifest().tag_names.clone();
                self.embedder = Some(Arc::new(embedder));
                self.model_error = None;
            }
            Err(e) => {
                tracing::warn!("{e}; analysing without embeddings");
                self.embedder = None;
                self.model_error = Some(e);
            }
        }
        self.reload_index()
    }

    /// Load a model from its manifest and bytes (verified by SHA-256); an error leaves the
    /// current model in place.
    pub fn load_model(&mut self, manifest: &[u8], model: &[u8]) -> Result<(), EngineError> {
        let embedder = Embedder::load(manifest, Some(model))?;
        self.set_model(Ok(embedder))
    }

    /// The model's state.
    pub fn model_state(&self) -> ModelState {
        ModelState {
            status: if self.embedder.is_some() { EmbeddingStatus::Ok } else { EmbeddingStatus::RuntimeUnavailable },
            model_version: self.embedder.as_ref().map(|e| e.manifest().model_version.clone()),
            profile: self.profile.name(),
            error: self.model_error.as_ref().map(ToString::to_string),
        }
    }

    /// Name the tags of stored embeddings after a model's manifest without loading the model
    /// (a read-only caller that shows features).
    pub fn use_manifest_tags(&mut self, manifest_json: &[u8]) -> Result<(), EngineError> {
        let manifest: ModelManifest = serde_json::from_slice(manifest_json)
            .map_err(|e| EngineError::from(EmbedError::Manifest(e.to_string())))?;
        self.tag_names = manifest.tag_names;
        Ok(())
    }

    /// The model's tag names (for `topTags`).
    pub fn tag_names(&self) -> &[String] {
        &self.tag_names
    }

    /// A record in the public JSON shape.
    pub fn features_json(&self, features: &SongFeatures, path: Option<&str>) -> Value {
        features.to_json(path, self.tag_names())
    }

    /// Store features analysed outside a library scan (e.g. audio uploaded to the HTTP
    /// service): the song is searchable from then on, without a path.
    pub fn add_features(&mut self, features: &SongFeatures, now_ms: i64) -> Result<(), EngineError> {
        self.store.put_song_features(features, now_ms)?;
        self.features_changed();
        Ok(())
    }

    /// The first path (in path order) of a song, if it has one.
    pub fn path_of(&self, song_id: &str) -> Result<Option<String>, EngineError> {
        Ok(self.index()?.first_path(song_id).map(str::to_string))
    }

    /// Stored features changed: the search indexes are rebuilt on next use.
    fn features_changed(&mut self) {
        self.search = None;
        self.prints = None;
    }

    fn index(&self) -> Result<RwLockReadGuard<'_, PathIndex>, EngineError> {
        self.index.read().map_err(|_| EngineError::new(ErrorCode::InternalError, "the path index lock is poisoned"))
    }

    fn index_mut(&self) -> Result<RwLockWriteGuard<'_, PathIndex>, EngineError> {
        self.index.write().map_err(|_| EngineError::new(ErrorCode::InternalError, "the path index lock is poisoned"))
    }

    /// Load the path index and track versions again from the store (after an import or a new
    /// model).
    fn reload_index(&mut self) -> Result<(), EngineError> {
        let wanted = self.embedder.as_ref().map(|e| (e.manifest().model_version.clone(), self.profile));
        let fresh = PathIndex::load(&self.store, wanted)?;
        *self.index_mut()? = fresh;
        Ok(())
    }

    /// The song stored for a path relative to the library.
    pub fn song_for_path(&self, relative_path: &str) -> Result<Option<String>, EngineError> {
        Ok(self.index()?.entry(&path_key(relative_path)).map(|e| e.song_id.to_string()))
    }

    /// The stored features of a song.
    pub fn song_features(&self, song_id: &str) -> Result<Option<SongFeatures>, EngineError> {
        Ok(self.store.song_features(song_id)?)
    }

    /// The stored features of a song in the public JSON shape, or `None`.
    /// With the metadata a person brought in (`userMetadata`, `null` when none).
    pub fn song_json(&self, song_id: &str, path: Option<&str>) -> Result<Option<Value>, EngineError> {
        let Some(features) = self.song_features(song_id)? else { return Ok(None) };
        let mut json = self.features_json(&features, path);
        let user = self.store.user_metadata(song_id)?;
        json["userMetadata"] = serde_json::to_value(user).map_err(|e| EngineError::new(ErrorCode::InternalError, e))?;
        Ok(Some(json))
    }

    /// Every stored path with its song and features, sorted by path (paths whose song has no
    /// features are left out).
    pub fn list_songs(&self) -> Result<Vec<SongRow>, EngineError> {
        self.list_songs_page(SongPage::default())
    }

    /// [`Engine::list_songs`], the rows of `page` only; only their features are read.
    pub fn list_songs_page(&self, page: SongPage) -> Result<Vec<SongRow>, EngineError> {
        let analysed: HashSet<String> = self.store.song_versions()?.into_iter().map(|v| v.song_id).collect();
        let mut entries: Vec<_> =
            self.store.path_entries()?.into_iter().filter(|e| analysed.contains(&e.song_id)).collect();
        entries.sort_by(|a, b| a.path_key.cmp(&b.path_key));
        let rows = entries.into_iter().skip(page.offset).take(page.limit.unwrap_or(usize::MAX));
        let mut out = Vec::new();
        for e in rows {
            if let Some(features) = self.song_json(&e.song_id, Some(&e.file_path))? {
                out.push(SongRow { path: e.file_path, song_id: e.song_id, features });
            }
        }
        Ok(out)
    }

    /// Every stored library path, sorted.
    pub fn list_paths(&self) -> Result<Vec<String>, EngineError> {
        let mut paths: Vec<String> = self.store.path_entries()?.into_iter().map(|e| e.file_path).collect();
        paths.sort();
        Ok(paths)
    }

    /// A path for every song that has one (the first in path order), by song.
    pub fn song_paths(&self) -> Result<HashMap<String, String>, EngineError> {
        let mut paths: BTreeMap<String, (String, String)> = BTreeMap::new();
        for e in self.store.path_entries()? {
            paths.insert(e.path_key, (e.song_id, e.file_path));
        }
        let mut by_song = HashMap::new();
        for (song_id, path) in paths.into_values() {
            by_song.entry(song_id).or_insert(path);
        }
        Ok(by_song)
    }

    /// Songs with a path that carry no label, sorted: the default prediction candidates.
    pub fn unlabelled_songs(&self) -> Result<Vec<String>, EngineError> {
        let labelled = self.store.labels()?;
        let mut ids: Vec<String> = self.song_paths()?.into_keys().filter(|id| !labelled.contains_key(id)).collect();
        ids.sort();
        Ok(ids)
    }

    /// `setSelectionLabels(songIds, "liked" | "disliked" | "neutral")`.
    pub fn set_selection_labels(
        &mut self,
        song_ids: &[String],
        label: &str,
        now_ms: i64,
    ) -> Result<SetLabelsResult, EngineError> {
        let label = parse_label(label)?;
        Ok(taste::set_selection_labels(&mut self.store, song_ids, label, now_ms)?)
    }

    /// Label groups of songs, then retrain when the labels call for it (`auto_train`: 20 real
    /// changes since the last training and the threshold holds). A one-shot caller such as the
    /// CLI is its own debounce; a long-running one debounces with `taste::RetrainDebounce`.
    pub fn label_songs(
        &mut self,
        groups: &[(Label, Vec<String>)],
        auto_train: bool,
        now_ms: i64,
        control: &mut dyn JobControl,
    ) -> Result<LabelOutcome, EngineError> {
        let (mut total, mut changed, mut delta) = (0, 0, 0);
        for (label, ids) in groups.iter().filter(|(_, ids)| !ids.is_empty()) {
            let r = taste::set_selection_labels(&mut self.store, ids, *label, now_ms)?;
            total += r.total;
            changed += r.changed;
            delta += r.sample_change_delta;
        }
        let mut snapshot = self.get_selection_label_snapshot()?;
        let auto_train = if auto_train && taste::auto_retrain_due(&snapshot) {
            // Decide again under the training lock: another process may have retrained on these
            // changes while this one waited for it.
            let _lock = self.store.training_lock()?;
            snapshot = self.get_selection_label_snapshot()?;
            taste::auto_retrain_due(&snapshot).then(|| {
                taste::train_selection_gbdt(
                    &mut self.store,
                    &snapshot.positive_ids,
                    &snapshot.negative_ids,
                    now_ms,
                    control,
                )
            })
        } else {
            None
        };
        let retrained = auto_train.as_ref().is_some_and(|t| t.status == TrainStatus::Trained);
        if retrained {
            snapshot.sample_change_count = self.store.sample_change_count()?;
        }
        Ok(LabelOutcome {
            total,
            changed,
            sample_change_count: snapshot.sample_change_count,
            sample_change_delta: delta,
            positives: snapshot.positive_ids.len(),
            negatives: snapshot.negative_ids.len(),
            auto_train,
        })
    }

    /// `getSelectionLabelSnapshot()`.
    pub fn get_selection_label_snapshot(&self) -> Result<LabelSnapshot, EngineError> {
        Ok(taste::get_selection_label_snapshot(&self.store)?)
    }

    /// `resetSelectionSampleChangeCount()`.
    pub fn reset_selection_sample_change_count(&mut self) -> Result<u64, EngineError> {
        Ok(taste::reset_selection_sample_change_count(&mut self.store)?)
    }

    /// `resetSelectionLabels()`: labels, model, cache and revision are cleared.
    pub fn reset_selection_labels(&mut self) -> Result<bool, EngineError> {
        Ok(taste::reset_selection_labels(&mut self.store)?)
    }

    /// `trainSelectionGbdt(positiveIds, negativeIds)`, holding the library's training lock.
    pub fn train_selection_gbdt(
        &mut self,
        positive_ids: &[String],
        negative_ids: &[String],
        now_ms: i64,
        control: &mut dyn JobControl,
    ) -> Result<TrainOutcome, EngineError> {
        let _lock = self.store.training_lock()?;
        Ok(taste::train_selection_gbdt(&mut self.store, positive_ids, negative_ids, now_ms, control))
    }

    /// Train on the current labels (`selecta train`).
    pub fn train_on_labels(&mut self, now_ms: i64, control: &mut dyn JobControl) -> Result<TrainOutcome, EngineError> {
        let snapshot = self.get_selection_label_snapshot()?;
        self.train_selection_gbdt(&snapshot.positive_ids, &snapshot.negative_ids, now_ms, control)
    }

    /// `predictSelectionCandidates(candidateIds, topK)` (`top_k` 0 = all).
    pub fn predict_selection_candidates(
        &mut self,
        candidate_ids: &[String],
        top_k: usize,
        now_ms: i64,
        control: &mut dyn JobControl,
    ) -> PredictOutcome {
        taste::predict_selection_candidates(&mut self.store, candidate_ids, top_k, now_ms, control)
    }

    /// `exportLibrary()`: the whole library as one file.
    pub fn export_library(&self) -> Result<Vec<u8>, EngineError> {
        Ok(bundle::export_library(&self.store)?)
    }

    /// `importLibrary(bytes)`: a damaged file is refused before anything is written.
    pub fn import_library(&mut self, bytes: &[u8], now_ms: i64) -> Result<ImportSummary, EngineError> {
        self.import_library_from(&bytes, now_ms)
    }

    /// [`Engine::import_library`] of a bundle read a piece at a time from where it is kept
    /// (the page's JavaScript memory), never whole in this module's.
    pub fn import_library_from(
        &mut self,
        source: &dyn bundle::BundleSource,
        now_ms: i64,
    ) -> Result<ImportSummary, EngineError> {
        let summary = bundle::import_library_from(&mut self.store, source, now_ms)?;
        self.features_changed();
        self.reload_index()?;
        Ok(summary)
    }
}

/// Options of type `T` from JSON (`null` for the defaults); `what` names them in the error.
pub(crate) fn options_from_json<T: Default + serde::de::DeserializeOwned>(
    value: serde_json::Value,
    what: &str,
) -> Result<T, EngineError> {
    if value.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(value).map_err(|e| EngineError::invalid_input(format!("{what}: {e}")))
}

/// A label from its name; an empty string is not neutral but an error.
pub fn parse_label(label: &str) -> Result<Label, EngineError> {
    Label::parse(label)
        .ok_or_else(|| EngineError::invalid_input(format!("label {label:?} is not liked, disliked or neutral")))
}

/// A sampling profile from its name.
pub fn parse_profile(name: &str) -> Result<SamplingProfile, EngineError> {
    SamplingProfile::parse(name).ok_or_else(|| {
        let known: Vec<&str> = SamplingProfile::ALL.iter().map(|p| p.name()).collect();
        EngineError::invalid_input(format!("unknown profile {name:?} ({})", known.join(", ")))
    })
}
