//! The browser's [`Store`]: an in-memory working set ([`MemoryStore`]) that answers every read,
//! plus a journal of the IndexedDB writes each change needs. The core's store traits are
//! synchronous; the binding drains the journal into one IndexedDB transaction after each call
//! and awaits its commit before resolving (see the `Store` trait's notes).
//!
//! Keys of the `kv` object store: `song:<songId>`, `print:<songId>` (the whole-track print),
//! `path:<pathKey>`, `label:<songId>`, `meta:sampleChangeCount`, `session:<name>` (JSON),
//! `usermeta:<songId>` (JSON), `model:bin`, `model:manifest`, `cache:<revision, 20 digits>:<songId>`,
//! `index:<name>` (the approximate similar-track index's own file, see [`KEPT_INDEXES`]). Values
//! are bincode (serde) of the core's records; a track's value is the very encoding the working
//! set holds ([`selecta_core::SongFeatures::to_bytes`]), written and read back without another
//! encoding. A [`StoreLoader`] rebuilds the working set from them chunk by chunk; a library
//! opened only in memory journals nothing.

use std::collections::HashMap;

use selecta_core::embed::TrackEmbedding;
use selecta_core::record::UserMetadata;
use selecta_core::retrieval::ann::ANN_FILE;
use selecta_core::store::{CachedScore, SelectionManifest, TasteStore};
use selecta_core::{Label, MemoryStore, PathEntry, SongFeatures, SongVersion, Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::idb::Op;

const COUNT_KEY: &str = "meta:sampleChangeCount";

/// The derived indexes a persistent library keeps in IndexedDB: the approximate similar-track
/// index, whose graph takes ≈20 s to build at 50 000 tracks and whose file (7 MB) is read back
/// in a fraction of a second. The fingerprint index is built again on each load instead: 2–3 s
/// at 50 000 tracks, but its file is 165 MB, which the page would hold while reading it back
/// and writing it, beside the live index.
const KEPT_INDEXES: &[&str] = &[ANN_FILE];
const MODEL_KEY: &str = "model:bin";
const MANIFEST_KEY: &str = "model:manifest";

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(|e| StoreError::Backend(e.to_string()))
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))
}

fn cache_key(revision: u64, song_id: &str) -> String {
    format!("cache:{revision:020}:{song_id}")
}

/// Working set + journal.
#[derive(Debug, Default)]
pub struct BrowserStore {
    mem: MemoryStore,
    journal: Vec<Op>,
    /// Whether changes are journalled: a library kept only in memory has nowhere to write them,
    /// and encoding every record of a large import for nothing once doubled its memory.
    persistent: bool,
    /// The files of the [`KEPT_INDEXES`], kept only by a persistent library: read back on the
    /// next open, they spare a rebuild. A library kept only in memory keeps none: the engine
    /// holds the live indexes, and a copy would not outlive it.
    index_files: HashMap<String, Vec<u8>>,
    /// The index files' writes, apart from the journal: a derived index that cannot be kept is
    /// built again on the next open, so failing to write one must not fail the call.
    index_journal: Vec<Op>,
}

impl BrowserStore {
    /// A library kept only in memory (`{inMemory: true}`): nothing is journalled.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// The writes recorded since the last call.
    pub fn take_journal(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.journal)
    }

    /// The index files written since the last call, to be kept if the database allows.
    pub fn take_index_journal(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.index_journal)
    }

    /// Drop the recorded writes and reload nothing: used when a call fails half-way, so that a
    /// later flush does not persist part of it.
    pub fn discard_journal(&mut self) {
        self.journal.clear();
        self.index_journal.clear();
    }

    fn record(&mut self, op: Op) {
        if self.persistent {
            self.journal.push(op);
        }
    }

    fn put<T: Serialize>(&mut self, key: String, value: &T) -> Result<(), StoreError> {
        if self.persistent {
            let bytes = encode(value)?;
            self.journal.push(Op::Put(key, bytes));
        }
        Ok(())
    }

    fn put_song(&mut self, song_id: &str) -> Result<(), StoreError> {
        // Encoded as the journal is written, one record at a time.
        self.record(Op::PutEncodedLater(format!("song:{song_id}")));
        Ok(())
    }

    /// The value of a key journalled as [`Op::PutEncodedLater`], as the working set holds it
    /// now; `None` when there is nothing to write.
    pub fn encode_later(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match key.split_once(':') {
            // The stored record (the memory store may have kept an older embedding).
            Some(("song", song_id)) => Ok(self.mem.song_bytes(song_id).map(<[u8]>::to_vec)),
            _ => Err(StoreError::Backend(format!("{key}: not a key encoded when written"))),
        }
    }

    fn put_path(&mut self, path_key: &str) -> Result<(), StoreError> {
        if !self.persistent {
            return Ok(());
        }
        match (self.mem.path_entry(path_key)?, self.mem.path_seen_ms(path_key)) {
            (Some(e), Some(seen)) => self.put(format!("path:{path_key}"), &(e, seen)),
            _ => Ok(()),
        }
    }
}

/// Rebuilds a [`BrowserStore`] from the stored keys as they arrive, chunk by chunk (in key
/// order): each chunk's bytes are decoded into the working set and dropped.
#[derive(Debug, Default)]
pub struct StoreLoader {
    mem: MemoryStore,
    labels: Vec<(String, Label)>,
    model: Option<Vec<u8>>,
    manifest: Option<SelectionManifest>,
    prints: Vec<(String, Vec<u32>)>,
    index_files: HashMap<String, Vec<u8>>,
}

impl StoreLoader {
    /// Decode one chunk of stored keys into the working set.
    pub fn add(&mut self, entries: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        let mem = &mut self.mem;
        for (key, value) in entries {
            let (kind, rest) = key.split_once(':').unwrap_or((key.as_str(), ""));
            match kind {
                // A record an older build wrote (before a field was added) no longer decodes:
                // it is derived from the audio, so the track is analysed again instead of the
                // whole library failing to open.
                "song" => {
                    if let Err(e) = mem.put_song_bytes(value) {
                        tracing::warn!("{key}: {e}: the track will be analysed again");
                    }
                }
                "session" => mem.put_dj_session(rest, &value)?,
                "usermeta" => {
                    let meta: UserMetadata =
                        serde_json::from_slice(&value).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?;
                    mem.put_user_metadata(&[(rest.to_string(), meta)])?;
                }
                "path" => {
                    let (entry, seen): (PathEntry, i64) = decode(&key, &value)?;
                    mem.put_path_entry(&entry, seen)?;
                }
                "label" => self.labels.push((rest.to_string(), decode::<Label>(&key, &value)?)),
                "print" => self.prints.push((rest.to_string(), decode::<Vec<u32>>(&key, &value)?)),
                // The index's own file, checked by the index when it is read back.
                "index" => {
                    self.index_files.insert(rest.to_string(), value);
                }
                "meta" if key == COUNT_KEY => mem.set_sample_change_count(decode(&key, &value)?)?,
                "model" if key == MODEL_KEY => self.model = Some(value),
                "model" if key == MANIFEST_KEY => self.manifest = Some(decode::<SelectionManifest>(&key, &value)?),
                "cache" => {
                    let revision: u64 = rest
                        .split_once(':')
                        .and_then(|(r, _)| r.parse().ok())
                        .ok_or_else(|| StoreError::Corrupt(format!("{key}: bad cache key")))?;
                    let (song_id, file_hash, score): (String, String, f32) = decode(&key, &value)?;
                    mem.put_cached_scores(revision, &[CachedScore { song_id, file_hash, score }], 0)?;
                }
                _ => tracing::warn!("ignoring unknown key {key}"),
            }
        }
        Ok(())
    }

    /// The store, once every key has been added.
    pub fn finish(self) -> Result<BrowserStore, StoreError> {
        let Self { mut mem, labels, model, manifest, prints, index_files } = self;
        for (song_id, print) in prints {
            mem.set_track_print(&song_id, print);
        }
        mem.write_labels(&labels, 0, 0)?;
        if let (Some(m), Some(man)) = (model, manifest) {
            mem.put_selection_model(&m, &man)?;
        }
        Ok(BrowserStore { mem, journal: Vec::new(), persistent: true, index_files, index_journal: Vec::new() })
    }
}

impl Store for BrowserStore {
    fn song_features(&self, song_id: &str) -> Result<Option<SongFeatures>, StoreError> {
        self.mem.song_features(song_id)
    }

    fn shared_record(&self, song_id: &str) -> Option<std::sync::Arc<[u8]>> {
        self.mem.shared_record(song_id)
    }

    fn track_print(&self, song_id: &str) -> Result<Vec<u32>, StoreError> {
        self.mem.track_print(song_id)
    }

    fn index_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.index_files.get(name).cloned())
    }

    fn put_index_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        if self.persistent && KEPT_INDEXES.contains(&name) {
            // Stored as they are: an index file carries its own format and checks.
            self.index_journal.push(Op::Put(format!("index:{name}"), bytes.to_vec()));
            self.index_files.insert(name.to_string(), bytes.to_vec());
        }
        Ok(())
    }

    fn dj_session(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.mem.dj_session(name)
    }

    fn put_dj_session(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.mem.put_dj_session(name, bytes)?;
        // Stored as they are (JSON), not bincode: a session is small and readable.
        self.record(Op::Put(format!("session:{name}"), bytes.to_vec()));
        Ok(())
    }

    fn dj_session_names(&self) -> Result<Vec<String>, StoreError> {
        self.mem.dj_session_names()
    }

    fn user_metadata(&self, song_id: &str) -> Result<Option<UserMetadata>, StoreError> {
        self.mem.user_metadata(song_id)
    }

    fn all_user_metadata(&self) -> Result<Vec<(String, UserMetadata)>, StoreError> {
        self.mem.all_user_metadata()
    }

    fn put_user_metadata(&mut self, items: &[(String, UserMetadata)]) -> Result<(), StoreError> {
        self.mem.put_user_metadata(items)?;
        for (song_id, meta) in items {
            // JSON like a session: small and readable.
            let json = serde_json::to_vec(meta).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            self.record(Op::Put(format!("usermeta:{song_id}"), json));
        }
        Ok(())
    }

    fn song_versions(&self) -> Result<Vec<SongVersion>, StoreError> {
        self.mem.song_versions()
    }

    fn put_song_features(&mut self, features: &SongFeatures, updated_at_ms: i64) -> Result<(), StoreError> {
        self.mem.put_song_features(features, updated_at_ms)?;
        self.put_song(&features.song_id)?;
        // Beside the record, which keeps its encoding of before the whole-track print existed.
        match features.chromaprint.as_ref().filter(|c| !c.track.is_empty()) {
            Some(c) => self.put(format!("print:{}", features.song_id), &c.track),
            None => Ok(()),
        }
    }

    fn put_embedding(&mut self, song_id: &str, e: &TrackEmbedding, updated_at_ms: i64) -> Result<(), StoreError> {
        self.mem.put_embedding(song_id, e, updated_at_ms)?;
        self.put_song(song_id)
    }

    fn path_entries(&self) -> Result<Vec<PathEntry>, StoreError> {
        self.mem.path_entries()
    }

    fn put_path_entry(&mut self, entry: &PathEntry, seen_ms: i64) -> Result<(), StoreError> {
        self.mem.put_path_entry(entry, seen_ms)?;
        self.put(format!("path:{}", entry.path_key), &(entry.clone(), seen_ms))
    }

    fn touch_path_entries(&mut self, path_keys: &[String], seen_ms: i64) -> Result<(), StoreError> {
        self.mem.touch_path_entries(path_keys, seen_ms)?;
        for k in path_keys {
            self.put_path(k)?;
        }
        Ok(())
    }

    fn newest_path_seen_ms(&self) -> Result<Option<i64>, StoreError> {
        self.mem.newest_path_seen_ms()
    }

    fn remove_path_entries(&mut self, path_keys: &[String]) -> Result<usize, StoreError> {
        let removed = self.mem.remove_path_entries(path_keys)?;
        for k in path_keys {
            self.record(Op::Delete(format!("path:{k}")));
        }
        Ok(removed)
    }

    fn gc_path_entries(&mut self, now_ms: i64, ttl_ms: i64, capacity: usize) -> Result<usize, StoreError> {
        let before: Vec<String> = self.mem.path_entries()?.into_iter().map(|e| e.path_key).collect();
        let removed = self.mem.gc_path_entries(now_ms, ttl_ms, capacity)?;
        for k in before {
            if self.mem.path_seen_ms(&k).is_none() {
                self.record(Op::Delete(format!("path:{k}")));
            }
        }
        Ok(removed)
    }
}

impl TasteStore for BrowserStore {
    fn labels(&self) -> Result<HashMap<String, Label>, StoreError> {
        self.mem.labels()
    }

    fn sample_change_count(&self) -> Result<u64, StoreError> {
        self.mem.sample_change_count()
    }

    fn write_labels(&mut self, changes: &[(String, Label)], count_delta: u64, now_ms: i64) -> Result<u64, StoreError> {
        let count = self.mem.write_labels(changes, count_delta, now_ms)?;
        for (id, label) in changes {
            match label {
                Label::Neutral => self.record(Op::Delete(format!("label:{id}"))),
                l => self.put(format!("label:{id}"), l)?,
            }
        }
        self.put(COUNT_KEY.to_string(), &count)?;
        Ok(count)
    }

    fn set_sample_change_count(&mut self, count: u64) -> Result<(), StoreError> {
        self.mem.set_sample_change_count(count)?;
        self.put(COUNT_KEY.to_string(), &count)
    }

    fn clear_labels(&mut self) -> Result<(), StoreError> {
        self.mem.clear_labels()?;
        self.record(Op::DeleteRange("label:".into(), "label;".into()));
        self.put(COUNT_KEY.to_string(), &0u64)
    }

    fn selection_model(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.mem.selection_model()
    }

    fn selection_manifest(&self) -> Result<Option<SelectionManifest>, StoreError> {
        self.mem.selection_manifest()
    }

    fn put_selection_model(&mut self, model: &[u8], manifest: &SelectionManifest) -> Result<(), StoreError> {
        self.mem.put_selection_model(model, manifest)?;
        // Raw bytes: the model file is already a sealed container.
        self.record(Op::Put(MODEL_KEY.into(), model.to_vec()));
        self.put(MANIFEST_KEY.to_string(), manifest)
    }

    fn clear_selection_model(&mut self) -> Result<(), StoreError> {
        self.mem.clear_selection_model()?;
        self.record(Op::Delete(MODEL_KEY.into()));
        self.record(Op::Delete(MANIFEST_KEY.into()));
        Ok(())
    }

    fn cached_scores(&self, revision: u64, song_ids: &[String]) -> Result<HashMap<String, f32>, StoreError> {
        self.mem.cached_scores(revision, song_ids)
    }

    fn put_cached_scores(&mut self, revision: u64, rows: &[CachedScore], now_ms: i64) -> Result<(), StoreError> {
        self.mem.put_cached_scores(revision, rows, now_ms)?;
        for r in rows {
            self.put(cache_key(revision, &r.song_id), &(r.song_id.clone(), r.file_hash.clone(), r.score))?;
        }
        Ok(())
    }

    fn purge_cache_except(&mut self, revision: u64) -> Result<usize, StoreError> {
        let n = self.mem.purge_cache_except(revision)?;
        // Everything below this revision's keys, and everything above them.
        self.record(Op::DeleteRange("cache:".into(), format!("cache:{revision:020}:")));
        self.record(Op::DeleteRange(format!("cache:{revision:020};"), "cache;".into()));
        Ok(n)
    }

    fn purge_cache_for_song(&mut self, song_id: &str) -> Result<usize, StoreError> {
        let revisions: Vec<u64> =
            self.mem.cached_rows().filter(|(id, ..)| *id == song_id).map(|(_, rev, ..)| rev).collect();
        let n = self.mem.purge_cache_for_song(song_id)?;
        for rev in revisions {
            self.record(Op::Delete(cache_key(rev, song_id)));
        }
        Ok(n)
    }

    fn clear_cache(&mut self) -> Result<(), StoreError> {
        self.mem.clear_cache()?;
        self.record(Op::DeleteRange("cache:".into(), "cache;".into()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use selecta_core::Engine;
    use selecta_core::embed::SamplingProfile;
    use selecta_core::engine::SimilarOptions;
    use selecta_core::engine::audio_search::PRINT_INDEX_FILE;
    use selecta_core::testkit::synth_library::SyntheticLibrary;

    use super::*;

    /// What IndexedDB would hold after `ops` of `store`.
    fn apply(db: &mut BTreeMap<String, Vec<u8>>, store: &BrowserStore, ops: Vec<Op>) {
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    db.insert(k, v);
                }
                Op::PutEncodedLater(k) => {
                    if let Some(v) = store.encode_later(&k).expect("encodes") {
                        db.insert(k, v);
                    }
                }
                Op::Delete(k) => {
                    db.remove(&k);
                }
                Op::DeleteRange(from, to) => {
                    db.retain(|k, _| !(k.as_str() >= from.as_str() && k.as_str() < to.as_str()))
                }
            }
        }
    }

    /// A store read back from `db` as the page's open does: in key order, a few keys at a time.
    fn reopen(db: &BTreeMap<String, Vec<u8>>) -> BrowserStore {
        let mut loader = StoreLoader::default();
        let entries: Vec<(String, Vec<u8>)> = db.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for chunk in entries.chunks(7) {
            loader.add(chunk.to_vec()).expect("decodes");
        }
        loader.finish().expect("finishes")
    }

    /// An engine that uses the approximate index from 100 tracks on, as a library of 60 000 tracks or more.
    fn engine(store: BrowserStore) -> Engine<BrowserStore> {
        let mut engine = Engine::open(store, SamplingProfile::Full, 0).expect("open");
        engine.set_approximate_from_tracks(100);
        engine
    }

    fn similar(engine: &mut Engine<BrowserStore>, id: &str) -> Vec<(String, f32)> {
        let outcome = engine.similar_tracks(id, &SimilarOptions { k: Some(10), ..SimilarOptions::default() });
        let outcome = outcome.expect("search");
        assert!(outcome.approximate, "the approximate index must answer");
        outcome.items.into_iter().map(|i| (i.id, i.score)).collect()
    }

    #[test]
    fn the_similar_track_graph_is_kept_and_read_back_instead_of_built_on_every_open() {
        let mut db = BTreeMap::new();
        let mut store = StoreLoader::default().finish().expect("empty");
        let ids = SyntheticLibrary::new(6, 5).store_into(&mut store, 160).expect("store");
        let journal = store.take_journal();
        apply(&mut db, &store, journal);
        let mut first = engine(store);
        let before = similar(&mut first, &ids[3]);
        let written = first.store_mut().take_index_journal();
        assert!(
            matches!(written.as_slice(), [Op::Put(key, bytes)] if key == "index:similar" && !bytes.is_empty()),
            "the graph is written once, apart from the journal: {:?}",
            written.iter().map(|op| format!("{op:?}").chars().take(40).collect::<String>()).collect::<Vec<_>>()
        );
        assert!(first.store_mut().take_journal().is_empty(), "a search writes nothing else");
        apply(&mut db, first.store(), written);

        let mut second = engine(reopen(&db));
        assert!(second.store().index_file(ANN_FILE).expect("read").is_some(), "the kept graph is loaded");
        assert_eq!(similar(&mut second, &ids[3]), before, "the kept graph answers as the built one did");
        assert!(
            second.store_mut().take_index_journal().is_empty(),
            "a graph read back unchanged is neither built nor written again"
        );
    }

    #[test]
    fn the_fingerprint_index_is_not_kept() {
        let mut store = StoreLoader::default().finish().expect("empty");
        store.put_index_file(PRINT_INDEX_FILE, b"a large file").expect("ignored");
        assert!(store.take_index_journal().is_empty());
        assert!(store.index_file(PRINT_INDEX_FILE).expect("read").is_none());
        store.put_index_file(ANN_FILE, b"a small file").expect("kept");
        assert_eq!(store.take_index_journal().len(), 1);
    }

    #[test]
    fn a_library_kept_only_in_memory_keeps_no_index_file() {
        let mut store = BrowserStore::in_memory();
        let ids = SyntheticLibrary::new(6, 5).store_into(&mut store, 160).expect("store");
        let mut engine = engine(store);
        similar(&mut engine, &ids[0]);
        assert!(engine.store_mut().take_index_journal().is_empty());
        assert!(engine.store().index_file(ANN_FILE).expect("read").is_none());
    }
}
