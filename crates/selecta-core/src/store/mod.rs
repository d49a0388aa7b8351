//! Persistence seen from the core: the [`Store`] trait (features and the path index), the
//! [`TasteStore`] trait (labels, the taste model's files, the prediction cache), and
//! [`MemoryStore`], their in-memory implementation (tests, and the working set of the browser
//! store). Stores only read and write; the rules about what to write live above them.
//!
//! The trait is synchronous on purpose: a backend whose writes are asynchronous (IndexedDB)
//! keeps an in-memory working set, answers reads from it and writes through; the binding awaits
//! the pending writes before it resolves its Promise. Every method that writes one track's
//! features must do so atomically (one transaction), so a crash never leaves half a track.

mod memory;
mod selection;

pub use memory::MemoryStore;
pub use selection::{CachedScore, SelectionManifest, TasteStore, TrainingGuard};

use crate::embed::{SamplingProfile, TrackEmbedding};
use crate::error::StoreError;
use crate::record::{PathEntry, SongFeatures, UserMetadata};

/// Summary of a stored track, enough to decide whether a file must be analysed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SongVersion {
    /// `songId`.
    pub song_id: String,
    /// `fileHash` of the last file the features were computed from.
    pub file_hash: String,
    /// Analysis version of the stored features.
    pub analysis_version: u32,
    /// Model version of the stored embedding, if any.
    pub model_version: Option<String>,
    /// Sampling profile of the stored embedding, if any.
    pub embedding_profile: Option<SamplingProfile>,
}

/// The answer to [`Store::claim_path`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathClaim {
    /// This process may analyse the file.
    Granted,
    /// Another live process is analysing it.
    HeldElsewhere,
}

/// A library's persistent state.
pub trait Store {
    /// Features of one track.
    fn song_features(&self, song_id: &str) -> Result<Option<SongFeatures>, StoreError>;
    /// A song's record as [`SongFeatures::to_bytes`] encodes it, shared rather than copied, from
    /// a store that keeps its records in memory (`None` from one that reads them from disk). The
    /// search index then prepares a track's vectors from these bytes whenever a search needs
    /// them, instead of keeping copies beside the store's: the memory a browser tab holding a
    /// 50 000-track library can spare does not fit both.
    fn shared_record(&self, _song_id: &str) -> Option<std::sync::Arc<[u8]>> {
        None
    }
    /// Features of one track for the taste model, which reads neither the raw fingerprints, the
    /// timbre statistics nor the embedding windows: a store may leave those empty (the raw and
    /// whole-track fingerprints empty with the SimHash kept) to read tens of thousands of tracks
    /// quickly.
    fn taste_features(&self, song_id: &str) -> Result<Option<SongFeatures>, StoreError> {
        self.song_features(song_id)
    }
    /// The whole-track chromaprint sub-fingerprints of one track (empty when it has none), for
    /// snippet identification; a store may read just that instead of the whole record.
    fn track_print(&self, song_id: &str) -> Result<Vec<u32>, StoreError> {
        Ok(self.song_features(song_id)?.and_then(|f| f.chromaprint).map(|c| c.track).unwrap_or_default())
    }
    /// A derived index kept with the library, by name (e.g. snippet identification's): `None`
    /// when none is kept. It can always be rebuilt from the records, so a store may keep none.
    fn index_file(&self, _name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
    /// Keep a derived index, replacing any earlier one of that name (a store that keeps none
    /// ignores it).
    fn put_index_file(&mut self, _name: &str, _bytes: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
    /// A DJ session kept in the library, by name (its stored bytes); `None` when there is none.
    /// Unlike an index, a session is the user's own record: a store must keep it.
    fn dj_session(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Keep a DJ session, replacing any earlier one of that name, atomically.
    fn put_dj_session(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// The names of the kept DJ sessions, sorted.
    fn dj_session_names(&self) -> Result<Vec<String>, StoreError>;
    /// The metadata a person brought in for a song (kept beside the file's tags); `None` when
    /// there is none. Like a session, it is the user's own record: a store must keep it.
    fn user_metadata(&self, song_id: &str) -> Result<Option<UserMetadata>, StoreError>;
    /// Every song's brought-in metadata, sorted by song.
    fn all_user_metadata(&self) -> Result<Vec<(String, UserMetadata)>, StoreError>;
    /// Keep brought-in metadata for songs, replacing what they had, in one transaction.
    fn put_user_metadata(&mut self, items: &[(String, UserMetadata)]) -> Result<(), StoreError>;
    /// Version summary of every stored track (loaded once per ingest run).
    fn song_versions(&self) -> Result<Vec<SongVersion>, StoreError>;
    /// Insert or replace one track's features in one transaction. `updated_at_ms` is supplied
    /// by the caller because the core has no clock.
    /// A stored embedding is kept when `features.embedding` is `None` (same `songId`, same PCM).
    fn put_song_features(&mut self, features: &SongFeatures, updated_at_ms: i64) -> Result<(), StoreError>;
    /// Replace only the embedding of a stored track (new model version or profile).
    fn put_embedding(
        &mut self,
        song_id: &str,
        embedding: &TrackEmbedding,
        updated_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Every path-index entry.
    fn path_entries(&self) -> Result<Vec<PathEntry>, StoreError>;
    /// The path-index entry of one path key, as stored now (another process may have written it
    /// since this one loaded the index).
    fn path_entry(&self, path_key: &str) -> Result<Option<PathEntry>, StoreError> {
        Ok(self.path_entries()?.into_iter().find(|e| e.path_key == path_key))
    }
    /// Claim a path for analysis before its file is read, so that processes sharing the library
    /// decode each file once. `HeldElsewhere` while another live process holds it; a claim of a
    /// process that died is taken over. A store that only one process opens grants every claim.
    fn claim_path(&mut self, path_key: &str, now_ms: i64) -> Result<PathClaim, StoreError> {
        let _ = (path_key, now_ms);
        Ok(PathClaim::Granted)
    }
    /// Give a claim back (after its commit, or when the analysis failed or stopped).
    fn release_path(&mut self, path_key: &str) -> Result<(), StoreError> {
        let _ = path_key;
        Ok(())
    }
    /// Insert or replace a path-index entry, marking it seen at `seen_ms`.
    fn put_path_entry(&mut self, entry: &PathEntry, seen_ms: i64) -> Result<(), StoreError>;
    /// Mark entries as seen now (one transaction), so that garbage collection keeps them.
    fn touch_path_entries(&mut self, path_keys: &[String], seen_ms: i64) -> Result<(), StoreError>;
    /// Forget the entries of files that are gone (deleted or moved away), in one transaction;
    /// returns how many there were. The songs' features stay.
    fn remove_path_entries(&mut self, path_keys: &[String]) -> Result<usize, StoreError>;
    /// When the most recently seen path entry was seen (`None` for an empty index).
    fn newest_path_seen_ms(&self) -> Result<Option<i64>, StoreError>;
    /// Drop path entries not seen since `now_ms - ttl_ms`, then the oldest beyond `capacity`.
    /// Returns how many were removed. Features are never removed: they are training samples.
    fn gc_path_entries(&mut self, now_ms: i64, ttl_ms: i64, capacity: usize) -> Result<usize, StoreError>;
}
