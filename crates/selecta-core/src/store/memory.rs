//! In-memory [`Store`]: hash maps, no durability.

use std::collections::HashMap;

use super::{SongVersion, Store};
use crate::embed::TrackEmbedding;
use crate::error::StoreError;
use crate::record::{PathEntry, SongFeatures};

/// A [`Store`] that lives in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    songs: HashMap<String, SongFeatures>,
    paths: HashMap<String, (PathEntry, i64)>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn song_features(&self, song_id: &str) -> Result<Option<SongFeatures>, StoreError> {
        Ok(self.songs.get(song_id).cloned())
    }

    fn song_versions(&self) -> Result<Vec<SongVersion>, StoreError> {
        Ok(self
            .songs
            .values()
            .map(|s| SongVersion {
                song_id: s.song_id.clone(),
                file_hash: s.file_hash.clone(),
                analysis_version: s.analysis_version,
                model_version: s.embedding.as_ref().map(|e| e.model_version.clone()),
                embedding_profile: s.embedding.as_ref().map(|e| e.profile),
            })
            .collect())
    }

    fn put_song_features(&mut self, features: &SongFeatures, _updated_at_ms: i64) -> Result<(), StoreError> {
        let mut new = features.clone();
        if new.embedding.is_none() {
            new.embedding = self.songs.get(&features.song_id).and_then(|old| old.embedding.clone());
        }
        self.songs.insert(features.song_id.clone(), new);
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
                song.embedding = Some(embedding.clone());
                Ok(())
            }
            None => Err(StoreError::Backend(format!("no stored track {song_id}"))),
        }
    }

    fn path_entries(&self) -> Result<Vec<PathEntry>, StoreError> {
        Ok(self.paths.values().map(|(e, _)| e.clone()).collect())
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
