//! The path index seen from the ingest: given what the store knows, does a file need decoding?
//! A file is unchanged when its path, size and mtime match the index and its features are
//! current; a file whose bytes are already known (a rename or a move) reuses its song without
//! decoding. Reading files is the caller's job. Also the index's clean-up policy: entries not
//! seen for [`PATH_INDEX_TTL_MS`] or beyond [`PATH_INDEX_CAPACITY`] are dropped.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::analyze::ANALYSIS_VERSION;
use crate::embed::SamplingProfile;
use crate::error::StoreError;
use crate::record::PathEntry;
use crate::store::Store;

/// Path-index entries not seen for this long are dropped: they only cost a re-hash of a file
/// that still exists, while entries of deleted files would otherwise pile up forever.
pub const PATH_INDEX_TTL_MS: i64 = 90 * 24 * 3600 * 1000;
/// Upper bound of the path index (ten times a large DJ library).
pub const PATH_INDEX_CAPACITY: usize = 500_000;

/// Snapshot of the store's path index and track versions, loaded once per ingest run.
#[derive(Debug, Default)]
pub struct PathIndex {
    by_path: HashMap<String, PathEntry>,
    /// Each song's file paths, in path order: search results name a song's first path, and a
    /// scan of every entry per answer cost more than the search at 50 000 files.
    paths_by_song: HashMap<String, BTreeSet<String>>,
    current_by_file_hash: HashMap<String, String>,
    current_songs: HashMap<String, String>,
    /// Songs whose stored embedding matches the wanted model version and profile.
    embedded: HashSet<String>,
    wanted_embedding: Option<(String, SamplingProfile)>,
}

impl PathIndex {
    /// Load the path index and the version summary of every track. `wanted_embedding` is the
    /// (model version, profile) the run will produce, when a model is available.
    pub fn load(store: &dyn Store, wanted_embedding: Option<(String, SamplingProfile)>) -> Result<Self, StoreError> {
        let mut index = Self { wanted_embedding, ..Self::default() };
        for e in store.path_entries()? {
            index.add_path(&e);
            index.by_path.insert(e.path_key.clone(), e);
        }
        for v in store.song_versions()? {
            if let (Some((model, profile)), Some(have), Some(have_profile)) =
                (&index.wanted_embedding, &v.model_version, v.embedding_profile)
                && model == have
                && *profile == have_profile
            {
                index.embedded.insert(v.song_id.clone());
            }
            if v.analysis_version == ANALYSIS_VERSION {
                index.current_by_file_hash.insert(v.file_hash.clone(), v.song_id.clone());
                index.current_songs.insert(v.song_id, v.file_hash);
            }
        }
        // The bytes of every library file are known, not only the last file a song's features
        // came from: a song in two formats (a WAV and its FLAC share a song) keeps both, so
        // either file moved or copied is recognised without decoding.
        for e in index.by_path.values() {
            if index.current_songs.contains_key(&e.song_id) {
                index.current_by_file_hash.entry(e.file_hash.clone()).or_insert_with(|| e.song_id.clone());
            }
        }
        Ok(index)
    }

    /// The song of an unchanged file: same path key, size and mtime, with current features.
    pub fn unchanged(&self, path_key: &str, size: u64, mtime_ms: i64) -> Option<&PathEntry> {
        self.by_path
            .get(path_key)
            .filter(|e| e.size == size && e.mtime_ms == mtime_ms && self.current_songs.contains_key(&e.song_id))
    }

    /// The song whose current features were computed from a file with these bytes.
    pub fn song_for_file_hash(&self, file_hash: &str) -> Option<&str> {
        self.current_by_file_hash.get(file_hash).map(String::as_str)
    }

    /// Whether the song's stored features come from this build's analysis.
    pub fn is_current(&self, song_id: &str) -> bool {
        self.current_songs.contains_key(song_id)
    }

    /// Whether the song lacks the wanted embedding (always false without a model).
    pub fn needs_embedding(&self, song_id: &str) -> bool {
        self.wanted_embedding.is_some() && !self.embedded.contains(song_id)
    }

    /// The entry stored for a path key.
    pub fn entry(&self, path_key: &str) -> Option<&PathEntry> {
        self.by_path.get(path_key)
    }

    /// The first file path (in path order) of a song.
    pub fn first_path(&self, song_id: &str) -> Option<&str> {
        self.paths_by_song.get(song_id).and_then(|paths| paths.first()).map(String::as_str)
    }

    fn add_path(&mut self, entry: &PathEntry) {
        self.paths_by_song.entry(entry.song_id.clone()).or_default().insert(entry.file_path.clone());
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &PathEntry> {
        self.by_path.values()
    }

    /// Record a newly stored track so later files in the same run see it.
    pub fn note_song(&mut self, song_id: &str, file_hash: &str) {
        self.current_by_file_hash.insert(file_hash.to_string(), song_id.to_string());
        self.current_songs.insert(song_id.to_string(), file_hash.to_string());
    }

    /// Record a committed file: its path entry, its song's current features and, when the
    /// stored `embedding` (model version, profile) is the wanted one, that the song has it.
    pub fn note_file(&mut self, entry: &PathEntry, embedding: Option<(&str, SamplingProfile)>) {
        self.note_song(&entry.song_id, &entry.file_hash);
        if let (Some((model, profile)), Some((have, have_profile))) = (&self.wanted_embedding, embedding)
            && model == have
            && *profile == have_profile
        {
            self.embedded.insert(entry.song_id.clone());
        }
        if let Some(old) = self.by_path.insert(entry.path_key.clone(), entry.clone())
            && let Some(paths) = self.paths_by_song.get_mut(&old.song_id)
        {
            paths.remove(&old.file_path);
            if paths.is_empty() {
                self.paths_by_song.remove(&old.song_id);
            }
        }
        self.add_path(entry);
    }
}

/// Normalise a relative path into an index key: `/` separators, no `./`, no trailing slash.
/// Keys are relative to the library root so that the library folder can move.
pub fn path_key(relative: &str) -> String {
    relative.replace('\\', "/").split('/').filter(|part| !part.is_empty() && *part != ".").collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn keys_are_normalised() {
        assert_eq!(path_key("./a//b\\c.mp3"), "a/b/c.mp3");
    }

    #[test]
    fn unchanged_requires_size_mtime_and_current_features() {
        let mut store = MemoryStore::new();
        let entry = PathEntry {
            path_key: "a.wav".into(),
            file_path: "a.wav".into(),
            size: 10,
            mtime_ms: 5,
            song_id: "s".into(),
            file_hash: "h".into(),
        };
        store.put_path_entry(&entry, 0).expect("put");
        let index = PathIndex::load(&store, None).expect("load");
        // Path entry without features is not enough.
        assert!(index.unchanged("a.wav", 10, 5).is_none());
        let mut index = index;
        index.note_song("s", "h");
        assert!(index.unchanged("a.wav", 10, 5).is_some());
        assert!(index.unchanged("a.wav", 11, 5).is_none());
        assert!(index.unchanged("a.wav", 10, 6).is_none());
        assert_eq!(index.song_for_file_hash("h"), Some("s"));
    }

    #[test]
    fn every_library_file_of_a_current_song_is_known_bytes() {
        let mut store = MemoryStore::new();
        let features = crate::record::SongFeatures {
            file_hash: "flac-bytes".into(),
            analysis_version: crate::ANALYSIS_VERSION,
            ..crate::testkit::synth_library::SyntheticLibrary::new(2, 1).track(0)
        };
        store.put_song_features(&features, 0).expect("put");
        for (path, hash) in [("a.wav", "wav-bytes"), ("a.flac", "flac-bytes")] {
            let entry = PathEntry {
                path_key: path.into(),
                file_path: path.into(),
                size: 10,
                mtime_ms: 5,
                song_id: features.song_id.clone(),
                file_hash: hash.into(),
            };
            store.put_path_entry(&entry, 0).expect("put");
        }
        let index = PathIndex::load(&store, None).expect("load");
        assert_eq!(index.song_for_file_hash("wav-bytes"), Some(features.song_id.as_str()), "the WAV moved elsewhere");
        assert_eq!(index.song_for_file_hash("flac-bytes"), Some(features.song_id.as_str()));
        assert_eq!(index.song_for_file_hash("other"), None);
    }

    #[test]
    fn a_song_is_named_by_its_first_path_as_files_come_and_change() {
        let entry = |path: &str, song: &str| PathEntry {
            path_key: path_key(path),
            file_path: path.into(),
            size: 10,
            mtime_ms: 5,
            song_id: song.into(),
            file_hash: format!("{path}-bytes"),
        };
        let mut store = MemoryStore::new();
        for (path, song) in [("b/track.wav", "s"), ("a/track.flac", "s"), ("c.mp3", "t")] {
            store.put_path_entry(&entry(path, song), 0).expect("put");
        }
        let mut index = PathIndex::load(&store, None).expect("load");
        assert_eq!(index.first_path("s"), Some("a/track.flac"), "the first in path order");
        assert_eq!(index.first_path("t"), Some("c.mp3"));
        assert_eq!(index.first_path("unknown"), None);
        // The FLAC is replaced by other audio: it names song t now, and s keeps its WAV.
        index.note_file(&entry("a/track.flac", "t"), None);
        assert_eq!(index.first_path("s"), Some("b/track.wav"));
        assert_eq!(index.first_path("t"), Some("a/track.flac"));
        // The WAV too: s has no file left.
        index.note_file(&entry("b/track.wav", "t"), None);
        assert_eq!(index.first_path("s"), None);
        // What every entry says agrees with the lookup.
        for song in ["s", "t"] {
            let by_scan = index.entries().filter(|e| e.song_id == song).map(|e| e.file_path.as_str()).min();
            assert_eq!(index.first_path(song), by_scan, "{song}");
        }
    }
}
