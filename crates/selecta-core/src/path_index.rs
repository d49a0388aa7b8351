//! The path index seen from the ingest: given what the store knows, does a file need decoding?
//! A file is unchanged when its path, size and mtime match the index and its features are
//! current; a file whose bytes are already known (a rename or a move) reuses its song without
//! decoding. Reading files is the caller's job. Also the index's clean-up policy: entries not
//! seen for [`PATH_INDEX_TTL_MS`] or beyond [`PATH_INDEX_CAPACITY`] are dropped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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

/// A path-index entry as the index keeps it: each distinct string (a song id, a file hash, a
/// path) is held once and shared by every map that names it. At 50 000 files that is 26 MiB
/// instead of 77 (five maps of owned strings), which a browser tab holding the library feels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedPath {
    /// Normalised relative path ([`path_key`]).
    pub path_key: Arc<str>,
    /// Path relative to the library root, as found.
    pub file_path: Arc<str>,
    /// File size in bytes.
    pub size: u64,
    /// Modification time.
    pub mtime_ms: i64,
    /// The song.
    pub song_id: Arc<str>,
    /// The file's bytes' hash.
    pub file_hash: Arc<str>,
}

/// One copy of each string while an index is loaded.
#[derive(Debug, Default)]
struct Interner(HashSet<Arc<str>>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        match self.0.get(s) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared: Arc<str> = Arc::from(s);
                self.0.insert(Arc::clone(&shared));
                shared
            }
        }
    }
}

/// Snapshot of the store's path index and track versions, loaded once per ingest run.
#[derive(Debug, Default)]
pub struct PathIndex {
    by_path: HashMap<Arc<str>, IndexedPath>,
    /// Each song's file paths, sorted: search results name a song's first path, and a scan of
    /// every entry per answer cost more than the search at 50 000 files.
    paths_by_song: HashMap<Arc<str>, Vec<Arc<str>>>,
    current_by_file_hash: HashMap<Arc<str>, Arc<str>>,
    current_songs: HashMap<Arc<str>, Arc<str>>,
    /// Songs whose stored embedding matches the wanted model version and profile.
    embedded: HashSet<Arc<str>>,
    wanted_embedding: Option<(String, SamplingProfile)>,
}

impl PathIndex {
    /// Load the path index and the version summary of every track. `wanted_embedding` is the
    /// (model version, profile) the run will produce, when a model is available.
    pub fn load(store: &dyn Store, wanted_embedding: Option<(String, SamplingProfile)>) -> Result<Self, StoreError> {
        let mut index = Self { wanted_embedding, ..Self::default() };
        let mut strings = Interner::default();
        for v in store.song_versions()? {
            let song_id = strings.get(&v.song_id);
            if let (Some((model, profile)), Some(have), Some(have_profile)) =
                (&index.wanted_embedding, &v.model_version, v.embedding_profile)
                && model == have
                && *profile == have_profile
            {
                index.embedded.insert(Arc::clone(&song_id));
            }
            if v.analysis_version == ANALYSIS_VERSION {
                let file_hash = strings.get(&v.file_hash);
                index.current_by_file_hash.insert(Arc::clone(&file_hash), Arc::clone(&song_id));
                index.current_songs.insert(song_id, file_hash);
            }
        }
        for e in store.path_entries()? {
            let entry = IndexedPath {
                path_key: strings.get(&e.path_key),
                file_path: strings.get(&e.file_path),
                size: e.size,
                mtime_ms: e.mtime_ms,
                song_id: strings.get(&e.song_id),
                file_hash: strings.get(&e.file_hash),
            };
            index.add_path(&entry);
            index.by_path.insert(Arc::clone(&entry.path_key), entry);
        }
        // Every library file of a current song is known bytes, whichever file its features
        // were computed from.
        for e in index.by_path.values() {
            if index.current_songs.contains_key(&e.song_id) {
                index.current_by_file_hash.entry(Arc::clone(&e.file_hash)).or_insert_with(|| Arc::clone(&e.song_id));
            }
        }
        for paths in index.paths_by_song.values_mut() {
            paths.shrink_to_fit();
        }
        Ok(index)
    }

    /// The song of an unchanged file: same path key, size and mtime, with current features.
    pub fn unchanged(&self, path_key: &str, size: u64, mtime_ms: i64) -> Option<&IndexedPath> {
        self.by_path
            .get(path_key)
            .filter(|e| e.size == size && e.mtime_ms == mtime_ms && self.current_songs.contains_key(&e.song_id))
    }

    /// The song whose current features were computed from a file with these bytes.
    pub fn song_for_file_hash(&self, file_hash: &str) -> Option<&str> {
        self.current_by_file_hash.get(file_hash).map(|s| &**s)
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
    pub fn entry(&self, path_key: &str) -> Option<&IndexedPath> {
        self.by_path.get(path_key)
    }

    /// The first file path (in path order) of a song.
    pub fn first_path(&self, song_id: &str) -> Option<&str> {
        self.paths_by_song.get(song_id).and_then(|paths| paths.first()).map(|p| &**p)
    }

    fn add_path(&mut self, entry: &IndexedPath) {
        let paths = self.paths_by_song.entry(Arc::clone(&entry.song_id)).or_default();
        if let Err(at) = paths.binary_search(&entry.file_path) {
            paths.insert(at, Arc::clone(&entry.file_path));
        }
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &IndexedPath> {
        self.by_path.values()
    }

    /// A string the index already holds, or a new one.
    fn shared(&self, song_id: &str) -> Arc<str> {
        self.current_songs.get_key_value(song_id).map_or_else(|| Arc::from(song_id), |(k, _)| Arc::clone(k))
    }

    /// Record a newly stored track so later files in the same run see it.
    pub fn note_song(&mut self, song_id: &str, file_hash: &str) {
        let (song_id, file_hash): (Arc<str>, Arc<str>) = (self.shared(song_id), Arc::from(file_hash));
        self.current_by_file_hash.insert(Arc::clone(&file_hash), Arc::clone(&song_id));
        self.current_songs.insert(song_id, file_hash);
    }

    /// Record a committed file: its path entry, its song's current features and, when the
    /// stored `embedding` (model version, profile) is the wanted one, that the song has it.
    pub fn note_file(&mut self, entry: &PathEntry, embedding: Option<(&str, SamplingProfile)>) {
        self.note_song(&entry.song_id, &entry.file_hash);
        let song_id = self.shared(&entry.song_id);
        if let (Some((model, profile)), Some((have, have_profile))) = (&self.wanted_embedding, embedding)
            && model == have
            && *profile == have_profile
        {
            self.embedded.insert(Arc::clone(&song_id));
        }
        let path_key: Arc<str> = Arc::from(entry.path_key.as_str());
        let file_path =
            if entry.file_path == entry.path_key { Arc::clone(&path_key) } else { Arc::from(entry.file_path.as_str()) };
        let indexed = IndexedPath {
            path_key: Arc::clone(&path_key),
            file_path,
            size: entry.size,
            mtime_ms: entry.mtime_ms,
            song_id,
            file_hash: Arc::from(entry.file_hash.as_str()),
        };
        if let Some(old) = self.by_path.insert(path_key, indexed.clone())
            && let Some(paths) = self.paths_by_song.get_mut(&old.song_id)
        {
            paths.retain(|p| *p != old.file_path);
            if paths.is_empty() {
                self.paths_by_song.remove(&old.song_id);
            }
        }
        self.add_path(&indexed);
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
            let by_scan = index.entries().filter(|e| &*e.song_id == song).map(|e| &*e.file_path).min();
            assert_eq!(index.first_path(song), by_scan, "{song}");
        }
    }
}
