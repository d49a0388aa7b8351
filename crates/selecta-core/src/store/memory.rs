//! In-memory [`Store`] and [`TasteStore`]: hash maps, no durability.
//!
//! Records are kept encoded ([`SongFeatures::to_bytes`]), not as structs: a decoded record is a
//! dozen separate allocations and a 0.7 KB struct beside its values, so at 50 000 tracks the
//! encoded form holds the same library in ≈ 80 MiB less, and decoding one costs about what
//! cloning it did (every read hands out an owned copy either way). The browser store writes
//! these same bytes to IndexedDB and reads them back without another encoding.

use std::collections::HashMap;
use std::sync::Arc;

use super::{CachedScore, SelectionManifest, SongVersion, Store, TasteStore};
use crate::embed::{SamplingProfile, TrackEmbedding};
use crate::error::StoreError;
use crate::record::{Label, PathEntry, SongFeatures, UserMetadata};

/// One stored record: its encoding, what [`Store::song_versions`] and the score cache read of
/// it without decoding (the song id is the map's key), and the whole-track print, which the
/// encoding leaves out.
#[derive(Debug, Clone)]
struct StoredSong {
    /// Shared, not copied, with the search index that reads its vectors from it
    /// ([`Store::shared_record`]).
    bytes: Arc<[u8]>,
    file_hash: Arc<str>,
    analysis_version: u32,
    /// One copy for every song of a model ([`MemoryStore::model_versions`]).
    model_version: Option<Arc<str>>,
    embedding_profile: Option<SamplingProfile>,
    has_fingerprint: bool,
    track_print: Box<[u32]>,
}

impl StoredSong {
    fn new(features: &SongFeatures, model_versions: &mut Vec<Arc<str>>) -> Result<Self, StoreError> {
        Self::from_bytes(features, features.to_bytes()?, model_versions)
    }

    /// A song from its record and that record's encoding.
    fn from_bytes(
        features: &SongFeatures,
        bytes: Vec<u8>,
        model_versions: &mut Vec<Arc<str>>,
    ) -> Result<Self, StoreError> {
        let model_version =
            features.embedding.as_ref().map(|e| match model_versions.iter().find(|v| ***v == *e.model_version) {
                Some(known) => Arc::clone(known),
                None => {
                    let new: Arc<str> = Arc::from(e.model_version.as_str());
                    model_versions.push(Arc::clone(&new));
                    new
                }
            });
        Ok(Self {
            bytes: Arc::from(bytes),
            file_hash: features.file_hash.as_str().into(),
            analysis_version: features.analysis_version,
            model_version,
            embedding_profile: features.embedding.as_ref().map(|e| e.profile),
            has_fingerprint: features.chromaprint.is_some(),
            track_print: features.chromaprint.as_ref().map(|c| c.track.clone()).unwrap_or_default().into(),
        })
    }

    fn features(&self) -> Result<SongFeatures, StoreError> {
        let mut features = SongFeatures::from_bytes(&self.bytes)?;
        if let Some(c) = features.chromaprint.as_mut() {
            c.track = self.track_print.to_vec();
        }
        Ok(features)
    }

    fn version(&self, song_id: &str) -> SongVersion {
        SongVersion {
            song_id: song_id.to_string(),
            file_hash: self.file_hash.to_string(),
            analysis_version: self.analysis_version,
            model_version: self.model_version.as_deref().map(str::to_string),
            embedding_profile: self.embedding_profile,
        }
    }
}

/// A path entry as the store keeps it (the path key is the map's key): the song id and file
/// hash are the stored song's own copies where it has them, and a file path equal to its key
/// is not held twice. At 50 000 files, 10 MiB instead of 26.
#[derive(Debug, Clone)]
struct StoredPath {
    /// `None`: the same as the path key.
    file_path: Option<Box<str>>,
    size: u64,
    mtime_ms: i64,
    song_id: Arc<str>,
    file_hash: Arc<str>,
    /// When the file was last seen.
    seen_ms: i64,
}

impl StoredPath {
    fn entry(&self, path_key: &str) -> PathEntry {
        PathEntry {
            path_key: path_key.to_string(),
            file_path: self.file_path.as_deref().unwrap_or(path_key).to_string(),
            size: self.size,
            mtime_ms: self.mtime_ms,
            song_id: self.song_id.to_string(),
            file_hash: self.file_hash.to_string(),
        }
    }
}

/// A [`Store`] that lives in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// By song id; the ids and file hashes are shared with the score cache's keys.
    songs: HashMap<Arc<str>, StoredSong>,
    /// By path key.
    paths: HashMap<Box<str>, StoredPath>,
    labels: HashMap<String, Label>,
    sample_changes: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
    /// (songId, revision, fileHash) → score.
    cache: HashMap<(Arc<str>, u64, Arc<str>), f32>,
    /// Derived indexes by name.
    index_files: HashMap<String, Vec<u8>>,
    /// DJ sessions by name.
    sessions: std::collections::BTreeMap<String, Vec<u8>>,
    /// Brought-in metadata by song.
    user_metadata: std::collections::BTreeMap<String, UserMetadata>,
    /// The model versions of the stored embeddings, each once.
    model_versions: Vec<Arc<str>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every cached score as (songId, revision, fileHash, score): what a write-through store
    /// (the browser's) needs to mirror purges.
    pub fn cached_rows(&self) -> impl Iterator<Item = (&str, u64, &str, f32)> {
        self.cache.iter().map(|((id, rev, hash), s)| (&**id, *rev, &**hash, *s))
    }

    /// Attach a whole-track print to a stored song's fingerprint (a store that keeps prints
    /// beside the records, loading them); nothing for a song without a fingerprint.
    pub fn set_track_print(&mut self, song_id: &str, print: Vec<u32>) {
        if let Some(song) = self.songs.get_mut(song_id).filter(|s| s.has_fingerprint) {
            song.track_print = print.into();
        }
    }

    /// A stored record's encoding ([`SongFeatures::to_bytes`]), without its whole-track print.
    pub fn song_bytes(&self, song_id: &str) -> Option<&[u8]> {
        self.songs.get(song_id).map(|s| &s.bytes[..])
    }

    /// Store a record from its encoding (a store loading what it kept); the bytes are decoded
    /// once to check them.
    pub fn put_song_bytes(&mut self, bytes: Vec<u8>) -> Result<(), StoreError> {
        let features = SongFeatures::from_bytes(&bytes)?;
        let song = StoredSong::from_bytes(&features, bytes, &mut self.model_versions)?;
        self.songs.insert(Arc::from(features.song_id), song);
        Ok(())
    }

    /// When a path entry was last seen.
    pub fn path_seen_ms(&self, path_key: &str) -> Option<i64> {
        self.paths.get(path_key).map(|p| p.seen_ms)
    }
}

impl Store for MemoryStore {
    fn song_features(&self, song_id: &str) -> Result<Option<SongFeatures>, StoreError> {
        self.songs.get(song_id).map(StoredSong::features).transpose()
    }

    fn shared_record(&self, song_id: &str) -> Option<Arc<[u8]>> {
        self.songs.get(song_id).map(|s| Arc::clone(&s.bytes))
    }

    fn index_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.index_files.get(name).cloned())
    }

    fn dj_session(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.sessions.get(name).cloned())
    }

    fn put_dj_session(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.sessions.insert(name.to_string(), bytes.to_vec());
        Ok(())
    }

    fn dj_session_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.sessions.keys().cloned().collect())
    }

    fn user_metadata(&self, song_id: &str) -> Result<Option<UserMetadata>, StoreError> {
        Ok(self.user_metadata.get(song_id).cloned())
    }

    fn all_user_metadata(&self) -> Result<Vec<(String, UserMetadata)>, StoreError> {
        Ok(self.user_metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn put_user_metadata(&mut self, items: &[(String, UserMetadata)]) -> Result<(), StoreError> {
        for (song_id, meta) in items {
            self.user_metadata.insert(song_id.clone(), meta.clone());
        }
        Ok(())
    }

    fn put_index_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.index_files.insert(name.to_string(), bytes.to_vec());
        Ok(())
    }

    fn track_print(&self, song_id: &str) -> Result<Vec<u32>, StoreError> {
        Ok(self.songs.get(song_id).map(|s| s.track_print.to_vec()).unwrap_or_default())
    }

    fn song_versions(&self) -> Result<Vec<SongVersion>, StoreError> {
        Ok(self.songs.iter().map(|(id, s)| s.version(id)).collect())
    }

    fn put_song_features(&mut self, features: &SongFeatures, _updated_at_ms: i64) -> Result<(), StoreError> {
        let song = match self.songs.get(features.song_id.as_str()) {
            Some(old) if features.embedding.is_none() => {
                let mut new = features.clone();
                new.embedding = old.features()?.embedding;
                StoredSong::new(&new, &mut self.model_versions)?
            }
            _ => StoredSong::new(features, &mut self.model_versions)?,
        };
        self.songs.insert(Arc::from(features.song_id.as_str()), song);
        Ok(())
    }

    fn put_embedding(
        &mut self,
        song_id: &str,
        embedding: &TrackEmbedding,
        _updated_at_ms: i64,
    ) -> Result<(), StoreError> {
        match self.songs.get_mut(song_id) {
            Some(song) => {
                let mut features = song.features()?;
                features.embedding = Some(embedding.clone());
                *song = StoredSong::new(&features, &mut self.model_versions)?;
                Ok(())
            }
            None => Err(StoreError::Backend(format!("no stored track {song_id}"))),
        }
    }

    fn path_entries(&self) -> Result<Vec<PathEntry>, StoreError> {
        Ok(self.paths.iter().map(|(k, p)| p.entry(k)).collect())
    }

    // One lookup, not the trait's scan of every entry (a touch of a whole library is one call
    // per path).
    fn path_entry(&self, path_key: &str) -> Result<Option<PathEntry>, StoreError> {
        Ok(self.paths.get(path_key).map(|p| p.entry(path_key)))
    }

    fn put_path_entry(&mut self, entry: &PathEntry, seen_ms: i64) -> Result<(), StoreError> {
        let song = self.songs.get_key_value(entry.song_id.as_str());
        let song_id = song.map_or_else(|| Arc::from(entry.song_id.as_str()), |(key, _)| Arc::clone(key));
        let file_hash = match song {
            Some((_, s)) if *s.file_hash == *entry.file_hash => Arc::clone(&s.file_hash),
            _ => Arc::from(entry.file_hash.as_str()),
        };
        let stored = StoredPath {
            file_path: (entry.file_path != entry.path_key).then(|| entry.file_path.as_str().into()),
            size: entry.size,
            mtime_ms: entry.mtime_ms,
            song_id,
            file_hash,
            seen_ms,
        };
        self.paths.insert(entry.path_key.as_str().into(), stored);
        Ok(())
    }

    fn touch_path_entries(&mut self, path_keys: &[String], seen_ms: i64) -> Result<(), StoreError> {
        for k in path_keys {
            if let Some(p) = self.paths.get_mut(k.as_str()) {
                p.seen_ms = seen_ms;
            }
        }
        Ok(())
    }

    fn newest_path_seen_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.paths.values().map(|p| p.seen_ms).max())
    }

    fn remove_path_entries(&mut self, path_keys: &[String]) -> Result<usize, StoreError> {
        Ok(path_keys.iter().filter(|k| self.paths.remove(k.as_str()).is_some()).count())
    }

    fn gc_path_entries(&mut self, now_ms: i64, ttl_ms: i64, capacity: usize) -> Result<usize, StoreError> {
        let before = self.paths.len();
        self.paths.retain(|_, p| p.seen_ms >= now_ms - ttl_ms);
        if self.paths.len() > capacity {
            let mut by_age: Vec<(Box<str>, i64)> = self.paths.iter().map(|(k, p)| (k.clone(), p.seen_ms)).collect();
            by_age.sort_by_key(|(_, s)| *s);
            let excess = self.paths.len() - capacity;
            for (k, _) in by_age.into_iter().take(excess) {
                self.paths.remove(&k);
            }
        }
        Ok(before - self.paths.len())
    }
}

impl TasteStore for MemoryStore {
    fn labels(&self) -> Result<HashMap<String, Label>, StoreError> {
        Ok(self.labels.clone())
    }

    fn sample_change_count(&self) -> Result<u64, StoreError> {
        Ok(self.sample_changes)
    }

    fn write_labels(&mut self, changes: &[(String, Label)], count_delta: u64, _now_ms: i64) -> Result<u64, StoreError> {
        for (id, label) in changes {
            match label {
                Label::Neutral => self.labels.remove(id),
                l => self.labels.insert(id.clone(), *l),
            };
        }
        self.sample_changes += count_delta;
        Ok(self.sample_changes)
    }

    fn set_sample_change_count(&mut self, count: u64) -> Result<(), StoreError> {
        self.sample_changes = count;
        Ok(())
    }

    fn clear_labels(&mut self) -> Result<(), StoreError> {
        self.labels.clear();
        self.sample_changes = 0;
        Ok(())
    }

    fn selection_model(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.model.as_ref().map(|(b, _)| b.clone()))
    }

    fn selection_manifest(&self) -> Result<Option<SelectionManifest>, StoreError> {
        Ok(self.model.as_ref().map(|(_, m)| m.clone()))
    }

    fn put_selection_model(&mut self, model: &[u8], manifest: &SelectionManifest) -> Result<(), StoreError> {
        self.model = Some((model.to_vec(), manifest.clone()));
        Ok(())
    }

    fn clear_selection_model(&mut self) -> Result<(), StoreError> {
        self.model = None;
        Ok(())
    }

    fn cached_scores(&self, revision: u64, song_ids: &[String]) -> Result<HashMap<String, f32>, StoreError> {
        Ok(song_ids
            .iter()
            .filter_map(|id| {
                let (key, song) = self.songs.get_key_value(id.as_str())?;
                self.cache.get(&(Arc::clone(key), revision, Arc::clone(&song.file_hash))).map(|s| (id.clone(), *s))
            })
            .collect())
    }

    fn put_cached_scores(&mut self, revision: u64, rows: &[CachedScore], _now_ms: i64) -> Result<(), StoreError> {
        for r in rows {
            // The store's own copies of the id and hash where it has them.
            let song = self.songs.get_key_value(r.song_id.as_str());
            let id = song.map_or_else(|| Arc::from(r.song_id.as_str()), |(key, _)| Arc::clone(key));
            let hash = match song {
                Some((_, s)) if *s.file_hash == *r.file_hash => Arc::clone(&s.file_hash),
                _ => Arc::from(r.file_hash.as_str()),
            };
            self.cache.insert((id, revision, hash), r.score);
        }
        Ok(())
    }

    fn purge_cache_except(&mut self, revision: u64) -> Result<usize, StoreError> {
        let before = self.cache.len();
        self.cache.retain(|(_, r, _), _| *r == revision);
        Ok(before - self.cache.len())
    }

    fn purge_cache_for_song(&mut self, song_id: &str) -> Result<usize, StoreError> {
        let before = self.cache.len();
        self.cache.retain(|(id, _, _), _| &**id != song_id);
        Ok(before - self.cache.len())
    }

    fn clear_cache(&mut self) -> Result<(), StoreError> {
        self.cache.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::synth_library::SyntheticLibrary;

    fn with_print(mut features: SongFeatures, print: &[u32]) -> SongFeatures {
        if let Some(c) = features.chromaprint.as_mut() {
            c.track = print.to_vec();
        }
        features
    }

    #[test]
    fn a_record_comes_back_equal_with_its_whole_track_print_and_version() {
        let library = SyntheticLibrary::new(3, 7);
        let features = with_print(library.track(1), &[1, 2, 3, u32::MAX]);
        let mut store = MemoryStore::new();
        store.put_song_features(&features, 0).expect("put");
        assert_eq!(store.song_features(&features.song_id).expect("read"), Some(features.clone()));
        assert_eq!(store.track_print(&features.song_id).expect("print"), vec![1, 2, 3, u32::MAX]);
        let embedding = features.embedding.as_ref().expect("an embedding");
        let version = SongVersion {
            song_id: features.song_id.clone(),
            file_hash: features.file_hash.clone(),
            analysis_version: features.analysis_version,
            model_version: Some(embedding.model_version.clone()),
            embedding_profile: Some(embedding.profile),
        };
        assert_eq!(store.song_versions().expect("versions"), vec![version]);
        assert_eq!(store.song_bytes(&features.song_id), Some(&features.to_bytes().expect("encode")[..]));
    }

    #[test]
    fn a_record_without_an_embedding_keeps_the_stored_one_and_put_embedding_replaces_it() {
        let library = SyntheticLibrary::new(3, 7);
        let features = library.track(2);
        let mut store = MemoryStore::new();
        store.put_song_features(&features, 0).expect("put");
        let reanalysed = SongFeatures { embedding: None, bpm: Some(99.5), ..features.clone() };
        store.put_song_features(&reanalysed, 0).expect("put again");
        let read = store.song_features(&features.song_id).expect("read").expect("stored");
        assert_eq!(read.bpm, Some(99.5));
        assert_eq!(read.embedding, features.embedding);

        let other = library.track(5).embedding.expect("embedding");
        store.put_embedding(&features.song_id, &other, 0).expect("put embedding");
        let read = store.song_features(&features.song_id).expect("read").expect("stored");
        assert_eq!(read.embedding.as_ref(), Some(&other));
        assert_eq!(store.song_versions().expect("versions")[0].model_version, Some(other.model_version.clone()));
    }

    #[test]
    fn loaded_bytes_are_checked_and_a_damaged_record_is_refused_without_touching_the_others() {
        let library = SyntheticLibrary::new(3, 7);
        let (kept, damaged) = (library.track(0), library.track(1));
        let mut store = MemoryStore::new();
        store.put_song_bytes(kept.to_bytes().expect("encode")).expect("load");
        store.set_track_print(&kept.song_id, vec![9, 8]);
        let mut bytes = damaged.to_bytes().expect("encode");
        bytes.truncate(bytes.len() / 2);
        let error = store.put_song_bytes(bytes).expect_err("a truncated record");
        assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
        // A length prefix claiming gigabytes is refused, not allocated.
        assert!(store.put_song_bytes(vec![0xfd, 0, 0, 0, 0, 0, 1, 0, 0]).is_err());
        assert_eq!(store.song_features(&kept.song_id).expect("read"), Some(with_print(kept, &[9, 8])));
        assert_eq!(store.song_versions().expect("versions").len(), 1);
    }
}
