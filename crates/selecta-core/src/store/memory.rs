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
use crate::embed::TrackEmbedding;
use crate::error::StoreError;
use crate::record::{Label, PathEntry, SongFeatures, UserMetadata};

/// One stored record: its encoding, what [`Store::song_versions`] and the score cache read of
/// it without decoding, and the whole-track print, which the encoding leaves out.
#[derive(Debug, Clone)]
struct StoredSong {
    /// Shared, not copied, with the search index that reads its vectors from it
    /// ([`Store::shared_record`]).
    bytes: Arc<[u8]>,
    version: SongVersion,
    has_fingerprint: bool,
    track_print: Vec<u32>,
}

impl StoredSong {
    fn new(features: &SongFeatures) -> Result<Self, StoreError> {
        let track_print = features.chromaprint.as_ref().map(|c| c.track.clone()).unwrap_or_default();
        Ok(Self {
            bytes: Arc::from(features.to_bytes()?),
            version: version_of(features),
            has_fingerprint: features.chromaprint.is_some(),
            track_print,
        })
    }

    fn features(&self) -> Result<SongFeatures, StoreError> {
        let mut features = SongFeatures::from_bytes(&self.bytes)?;
        if let Some(c) = features.chromaprint.as_mut() {
            c.track.clone_from(&self.track_print);
        }
        Ok(features)
    }
}

fn version_of(s: &SongFeatures) -> SongVersion {
    SongVersion {
        song_id: s.song_id.clone(),
        file_hash: s.file_hash.clone(),
        analysis_version: s.analysis_version,
        model_version: s.embedding.as_ref().map(|e| e.model_version.clone()),
        embedding_profile: s.embedding.as_ref().map(|e| e.profile),
    }
}

/// A [`Store`] that lives in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    songs: HashMap<String, StoredSong>,
    paths: HashMap<String, (PathEntry, i64)>,
    labels: HashMap<String, Label>,
    sample_changes: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
    /// (songId, revision, fileHash) → score.
    cache: HashMap<(String, u64, String), f32>,
    /// Derived indexes by name.
    index_files: HashMap<String, Vec<u8>>,
    /// DJ sessions by name.
    sessions: std::collections::BTreeMap<String, Vec<u8>>,
    /// Brought-in metadata by song.
    user_metadata: std::collections::BTreeMap<String, UserMetadata>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every cached score as (songId, revision, fileHash, score): what a write-through store
    /// (the browser's) needs to mirror purges.
    pub fn cached_rows(&self) -> impl Iterator<Item = (&str, u64, &str, f32)> {
        self.cache.iter().map(|((id, rev, hash), s)| (id.as_str(), *rev, hash.as_str(), *s))
    }

    /// Attach a whole-track print to a stored song's fingerprint (a store that keeps prints
    /// beside the records, loading them); nothing for a song without a fingerprint.
    pub fn set_track_print(&mut self, song_id: &str, print: Vec<u32>) {
        if let Some(song) = self.songs.get_mut(song_id).filter(|s| s.has_fingerprint) {
            song.track_print = print;
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
        let song = StoredSong {
            bytes: Arc::from(bytes),
            version: version_of(&features),
            has_fingerprint: features.chromaprint.is_some(),
            track_print: Vec::new(),
        };
        self.songs.insert(features.song_id, song);
        Ok(())
    }

    /// When a path entry was last seen.
    pub fn path_seen_ms(&self, path_key: &str) -> Option<i64> {
        self.paths.get(path_key).map(|(_, seen)| *seen)
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
        Ok(self.songs.get(song_id).map(|s| s.track_print.clone()).unwrap_or_default())
    }

    fn song_versions(&self) -> Result<Vec<SongVersion>, StoreError> {
        Ok(self.songs.values().map(|s| s.version.clone()).collect())
    }

    fn put_song_features(&mut self, features: &SongFeatures, _updated_at_ms: i64) -> Result<(), StoreError> {
        let song = match self.songs.get(&features.song_id) {
            Some(old) if features.embedding.is_none() => {
                let mut new = features.clone();
                new.embedding = old.features()?.embedding;
                StoredSong::new(&new)?
            }
            _ => StoredSong::new(features)?,
        };
        self.songs.insert(features.song_id.clone(), song);
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
                *song = StoredSong::new(&features)?;
                Ok(())
            }
            None => Err(StoreError::Backend(format!("no stored track {song_id}"))),
        }
    }

    fn path_entries(&self) -> Result<Vec<PathEntry>, StoreError> {
        Ok(self.paths.values().map(|(e, _)| e.clone()).collect())
    }

    // One lookup, not the trait's scan of every entry (a touch of a whole library is one call
    // per path).
    fn path_entry(&self, path_key: &str) -> Result<Option<PathEntry>, StoreError> {
        Ok(self.paths.get(path_key).map(|(e, _)| e.clone()))
    }

    fn put_path_entry(&mut self, entry: &PathEntry, seen_ms: i64) -> Result<(), StoreError> {
        self.paths.insert(entry.path_key.clone(), (entry.clone(), seen_ms));
        Ok(())
    }

    fn touch_path_entries(&mut self, path_keys: &[String], seen_ms: i64) -> Result<(), StoreError> {
        for k in path_keys {
            if let Some((_, seen)) = self.paths.get_mut(k) {
                *seen = seen_ms;
            }
        }
        Ok(())
    }

    fn newest_path_seen_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.paths.values().map(|(_, seen)| *seen).max())
    }

    fn remove_path_entries(&mut self, path_keys: &[String]) -> Result<usize, StoreError> {
        Ok(path_keys.iter().filter(|k| self.paths.remove(k.as_str()).is_some()).count())
    }

    fn gc_path_entries(&mut self, now_ms: i64, ttl_ms: i64, capacity: usize) -> Result<usize, StoreError> {
        let before = self.paths.len();
        self.paths.retain(|_, (_, seen)| *seen >= now_ms - ttl_ms);
        if self.paths.len() > capacity {
            let mut by_age: Vec<(String, i64)> = self.paths.iter().map(|(k, (_, s))| (k.clone(), *s)).collect();
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
                let hash = &self.songs.get(id)?.version.file_hash;
                self.cache.get(&(id.clone(), revision, hash.clone())).map(|s| (id.clone(), *s))
            })
            .collect())
    }

    fn put_cached_scores(&mut self, revision: u64, rows: &[CachedScore], _now_ms: i64) -> Result<(), StoreError> {
        for r in rows {
            self.cache.insert((r.song_id.clone(), revision, r.file_hash.clone()), r.score);
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
        self.cache.retain(|(id, _, _), _| id != song_id);
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
        assert_eq!(store.song_versions().expect("versions"), vec![version_of(&features)]);
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
