//! `exportLibrary` / `importLibrary`: a whole library as one file, so it moves between the
//! browser store and the native one in either direction. The bundle (a [`crate::sealed`]
//! container) holds every track's features, the path index, the labels with the change counter,
//! the trained taste model with its manifest, the DJ sessions (so a set started in the CLI
//! goes on in the page) and the metadata a person brought in (Bandcamp genres and tags). The prediction cache is not carried: it is
//! derived data keyed by a model revision that means nothing in the other store.
//!
//! Import merges features and paths (features are never deleted) and replaces the labels, the
//! counter and the model with the bundle's; a session of the bundle replaces the target's session
//! of that name, other sessions stay; brought-in metadata replaces the target's for the same
//! song; the target's prediction cache is cleared.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::audio::Tags;
use crate::dj::session::{Session, check_session_name};
use crate::embed::{SamplingProfile, TrackEmbedding, Window};
use crate::error::{Coded, ErrorCode, StoreError, into_engine_error};
use crate::features::{DjFeatures, Fingerprint, Key};
use crate::record::{PathEntry, SongFeatures, UserMetadata};
use crate::sealed::{SealError, open, seal};
use crate::taste::{Label, SelectionManifest, TasteStore};

mod streamed;

pub use streamed::{BundleSource, import_library_from};

/// The first 8 bytes of a bundle.
pub const MAGIC: &[u8; 8] = b"SELLIB01";
const WHAT: &str = "Selecta library";
/// Version of the bundle layout: 2 added the whole-track prints after the rest, so a format-1
/// bundle still imports (its tracks are identified once analysed again); 3 added the DJ features
/// and the intro/outro embeddings to each track, so formats 1 and 2 are read with the older
/// track layout ([`SongV2`]) and their tracks get those when analysed again; 4 added the DJ
/// sessions after the rest; 5 added the tempo's octave alternatives and the damage record to each
/// track (formats 3 and 4 are read with [`SongV4`]); 6 added the metadata a person brought in
/// (Bandcamp genres and tags) after the rest.
pub const BUNDLE_FORMAT: u32 = 6;

/// Why a bundle cannot be exported or imported.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Damaged, cut short or not a bundle.
    #[error(transparent)]
    File(#[from] SealError),
    /// Written by another version of Selecta.
    #[error("library bundle format {found} is not {expected}")]
    Version {
        /// Found.
        found: u32,
        /// Supported.
        expected: u32,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A DJ session in the bundle has a name no library may hold, or cannot be read.
    #[error("DJ session in the bundle: {0}")]
    Session(String),
}

impl Coded for BundleError {
    fn code(&self) -> ErrorCode {
        match self {
            BundleError::Store(_) => ErrorCode::DbError,
            BundleError::File(_) | BundleError::Version { .. } | BundleError::Session(_) => ErrorCode::InvalidInput,
        }
    }
}

into_engine_error!(BundleError);

#[derive(Debug, Serialize, Deserialize)]
struct Bundle {
    format: u32,
    songs: Vec<SongFeatures>,
    paths: Vec<PathEntry>,
    labels: Vec<(String, Label)>,
    sample_change_count: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
    /// Whole-track prints by song (kept out of the records' encoding).
    prints: Vec<(String, Vec<u32>)>,
    /// DJ sessions by name, as the store keeps them.
    sessions: Vec<(String, Vec<u8>)>,
    /// Brought-in metadata by song.
    user_metadata: Vec<(String, UserMetadata)>,
}

/// The format-5 layout: [`Bundle`] without the brought-in metadata.
#[derive(Debug, Serialize, Deserialize)]
struct BundleV5 {
    format: u32,
    songs: Vec<SongFeatures>,
    paths: Vec<PathEntry>,
    labels: Vec<(String, Label)>,
    sample_change_count: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
    prints: Vec<(String, Vec<u32>)>,
    sessions: Vec<(String, Vec<u8>)>,
}

/// The format-4 layout: [`Bundle`] with the older track layout.
#[derive(Debug, Serialize, Deserialize)]
struct BundleV4 {
    format: u32,
    songs: Vec<SongV4>,
    paths: Vec<PathEntry>,
    labels: Vec<(String, Label)>,
    sample_change_count: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
    prints: Vec<(String, Vec<u32>)>,
    sessions: Vec<(String, Vec<u8>)>,
}

/// The format-3 layout: [`BundleV4`] without the sessions.
#[derive(Debug, Serialize, Deserialize)]
struct BundleV3 {
    format: u32,
    songs: Vec<SongV4>,
    paths: Vec<PathEntry>,
    labels: Vec<(String, Label)>,
    sample_change_count: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
    prints: Vec<(String, Vec<u32>)>,
}

/// A track as formats 3 and 4 hold it (before the tempo alternatives and the damage record).
#[derive(Debug, Serialize, Deserialize)]
struct SongV4 {
    song_id: String,
    file_hash: String,
    analysis_version: u32,
    duration_sec: f64,
    sample_rate: u32,
    channels: u16,
    bitrate_kbps: f64,
    bpm: Option<f32>,
    bpm_confidence: Option<f32>,
    key: Option<Key>,
    key_strength: Option<f32>,
    rms_mean: f32,
    loudness_lufs: Option<f64>,
    hpcp: Option<Vec<f32>>,
    chromaprint: Option<Fingerprint>,
    metadata: Tags,
    timbre: Option<Vec<f32>>,
    embedding: Option<TrackEmbedding>,
    dj: Option<DjFeatures>,
}

impl From<SongV4> for SongFeatures {
    fn from(s: SongV4) -> Self {
        SongFeatures {
            song_id: s.song_id,
            file_hash: s.file_hash,
            analysis_version: s.analysis_version,
            duration_sec: s.duration_sec,
            sample_rate: s.sample_rate,
            channels: s.channels,
            bitrate_kbps: s.bitrate_kbps,
            bpm: s.bpm,
            bpm_confidence: s.bpm_confidence,
            bpm_alternatives: Vec::new(),
            key: s.key,
            key_strength: s.key_strength,
            rms_mean: s.rms_mean,
            loudness_lufs: s.loudness_lufs,
            hpcp: s.hpcp,
            chromaprint: s.chromaprint,
            metadata: s.metadata,
            timbre: s.timbre,
            embedding: s.embedding,
            dj: s.dj,
            damage: None,
        }
    }
}

#[cfg(test)]
impl From<SongFeatures> for SongV4 {
    fn from(f: SongFeatures) -> Self {
        SongV4 {
            song_id: f.song_id,
            file_hash: f.file_hash,
            analysis_version: f.analysis_version,
            duration_sec: f.duration_sec,
            sample_rate: f.sample_rate,
            channels: f.channels,
            bitrate_kbps: f.bitrate_kbps,
            bpm: f.bpm,
            bpm_confidence: f.bpm_confidence,
            key: f.key,
            key_strength: f.key_strength,
            rms_mean: f.rms_mean,
            loudness_lufs: f.loudness_lufs,
            hpcp: f.hpcp,
            chromaprint: f.chromaprint,
            metadata: f.metadata,
            timbre: f.timbre,
            embedding: f.embedding,
            dj: f.dj,
        }
    }
}

/// A track's embedding as formats 1 and 2 hold it (before the intro and outro embeddings).
#[derive(Debug, Serialize, Deserialize)]
struct EmbeddingV2 {
    model_version: String,
    profile: SamplingProfile,
    vector: Vec<f32>,
    tags: Vec<f32>,
    windows: Vec<Window>,
}

/// A track as formats 1 and 2 hold it (before the DJ features).
#[derive(Debug, Serialize, Deserialize)]
struct SongV2 {
    song_id: String,
    file_hash: String,
    analysis_version: u32,
    duration_sec: f64,
    sample_rate: u32,
    channels: u16,
    bitrate_kbps: f64,
    bpm: Option<f32>,
    bpm_confidence: Option<f32>,
    key: Option<Key>,
    key_strength: Option<f32>,
    rms_mean: f32,
    loudness_lufs: Option<f64>,
    hpcp: Option<Vec<f32>>,
    chromaprint: Option<Fingerprint>,
    metadata: Tags,
    timbre: Option<Vec<f32>>,
    embedding: Option<EmbeddingV2>,
}

impl From<SongV2> for SongFeatures {
    fn from(s: SongV2) -> Self {
        SongFeatures {
            song_id: s.song_id,
            file_hash: s.file_hash,
            analysis_version: s.analysis_version,
            duration_sec: s.duration_sec,
            sample_rate: s.sample_rate,
            channels: s.channels,
            bitrate_kbps: s.bitrate_kbps,
            bpm: s.bpm,
            bpm_confidence: s.bpm_confidence,
            bpm_alternatives: Vec::new(),
            key: s.key,
            key_strength: s.key_strength,
            rms_mean: s.rms_mean,
            loudness_lufs: s.loudness_lufs,
            hpcp: s.hpcp,
            chromaprint: s.chromaprint,
            metadata: s.metadata,
            timbre: s.timbre,
            embedding: s.embedding.map(|e| TrackEmbedding {
                model_version: e.model_version,
                profile: e.profile,
                vector: e.vector,
                tags: e.tags,
                windows: e.windows,
                intro: None,
                outro: None,
            }),
            dj: None,
            damage: None,
        }
    }
}

/// The format-2 layout: [`Bundle`] with the older track layout.
#[derive(Debug, Serialize, Deserialize)]
struct BundleV2 {
    format: u32,
    songs: Vec<SongV2>,
    paths: Vec<PathEntry>,
    labels: Vec<(String, Label)>,
    sample_change_count: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
    prints: Vec<(String, Vec<u32>)>,
}

impl From<SongFeatures> for SongV2 {
    fn from(f: SongFeatures) -> Self {
        SongV2 {
            song_id: f.song_id,
            file_hash: f.file_hash,
            analysis_version: f.analysis_version,
            duration_sec: f.duration_sec,
            sample_rate: f.sample_rate,
            channels: f.channels,
            bitrate_kbps: f.bitrate_kbps,
            bpm: f.bpm,
            bpm_confidence: f.bpm_confidence,
            key: f.key,
            key_strength: f.key_strength,
            rms_mean: f.rms_mean,
            loudness_lufs: f.loudness_lufs,
            hpcp: f.hpcp,
            chromaprint: f.chromaprint,
            metadata: f.metadata,
            timbre: f.timbre,
            embedding: f.embedding.map(|e| EmbeddingV2 {
                model_version: e.model_version,
                profile: e.profile,
                vector: e.vector,
                tags: e.tags,
                windows: e.windows,
            }),
        }
    }
}

/// A bundle in the format-1 layout (records as such files hold them, no prints, no labels, no
/// model), as an earlier build wrote it: for tests that older files still import.
#[cfg(any(test, feature = "testkit"))]
pub fn format_1_bundle(songs: Vec<SongFeatures>, paths: Vec<PathEntry>) -> Result<Vec<u8>, BundleError> {
    let v1 = BundleV1 {
        format: 1,
        songs: songs.into_iter().map(SongV2::from).collect(),
        paths,
        labels: Vec::new(),
        sample_change_count: 0,
        model: None,
    };
    Ok(seal(MAGIC, WHAT, &v1)?)
}

/// The format-1 layout: [`BundleV2`] without the prints.
#[derive(Debug, Serialize, Deserialize)]
struct BundleV1 {
    format: u32,
    songs: Vec<SongV2>,
    paths: Vec<PathEntry>,
    labels: Vec<(String, Label)>,
    sample_change_count: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
}

/// What an import brought in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// Tracks (features) written.
    pub songs: usize,
    /// Path-index entries written.
    pub paths: usize,
    /// Labels now in the store.
    pub labels: usize,
    /// Whether a trained model came with it.
    pub model: bool,
    /// DJ sessions written.
    pub sessions: usize,
    /// Songs with brought-in metadata written.
    pub user_metadata: usize,
}

/// The whole library as one file.
pub fn export_library<S: TasteStore + ?Sized>(store: &S) -> Result<Vec<u8>, BundleError> {
    let mut ids: Vec<String> = store.song_versions()?.into_iter().map(|v| v.song_id).collect();
    ids.sort();
    let mut songs = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(f) = store.song_features(id)? {
            songs.push(f);
        }
    }
    let mut paths = store.path_entries()?;
    paths.sort_by(|a, b| a.path_key.cmp(&b.path_key));
    let mut labels: Vec<(String, Label)> = store.labels()?.into_iter().collect();
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    let model = match (store.selection_model()?, store.selection_manifest()?) {
        (Some(bytes), Some(manifest)) => Some((bytes, manifest)),
        _ => None,
    };
    let prints = songs
        .iter()
        .filter_map(|f| {
            f.chromaprint.as_ref().filter(|c| !c.track.is_empty()).map(|c| (f.song_id.clone(), c.track.clone()))
        })
        .collect();
    let mut names = store.dj_session_names()?;
    names.sort();
    let mut sessions = Vec::with_capacity(names.len());
    for name in names {
        if let Some(bytes) = store.dj_session(&name)? {
            sessions.push((name, bytes));
        }
    }
    let bundle = Bundle {
        format: BUNDLE_FORMAT,
        songs,
        paths,
        labels,
        sample_change_count: store.sample_change_count()?,
        model,
        prints,
        sessions,
        user_metadata: store.all_user_metadata()?,
    };
    Ok(seal(MAGIC, WHAT, &bundle)?)
}

/// Bring a bundle into `store` (see the module notes for what is merged and what replaced).
/// The bundle is fully verified before anything is written.
pub fn import_library<S: TasteStore + ?Sized>(
    store: &mut S,
    bytes: &[u8],
    now_ms: i64,
) -> Result<ImportSummary, BundleError> {
    import_library_from(store, &bytes, now_ms)
}

/// [`import_library`] of a bundle of an earlier format, decoded whole.
fn import_decoded<S: TasteStore + ?Sized>(
    store: &mut S,
    bytes: &[u8],
    now_ms: i64,
) -> Result<ImportSummary, BundleError> {
    let bundle: Bundle = match open::<Bundle>(MAGIC, WHAT, bytes) {
        Ok(b) => b,
        // A format-5 bundle ends where the brought-in metadata would start.
        Err(e) => match open::<BundleV5>(MAGIC, WHAT, bytes) {
            Ok(v5) if v5.format == 5 => Bundle {
                format: BUNDLE_FORMAT,
                songs: v5.songs,
                paths: v5.paths,
                labels: v5.labels,
                sample_change_count: v5.sample_change_count,
                model: v5.model,
                prints: v5.prints,
                sessions: v5.sessions,
                user_metadata: Vec::new(),
            },
            _ => match open::<BundleV4>(MAGIC, WHAT, bytes) {
                Ok(v4) if v4.format == 4 => Bundle {
                    format: BUNDLE_FORMAT,
                    songs: v4.songs.into_iter().map(SongFeatures::from).collect(),
                    paths: v4.paths,
                    labels: v4.labels,
                    sample_change_count: v4.sample_change_count,
                    model: v4.model,
                    prints: v4.prints,
                    sessions: v4.sessions,
                    user_metadata: Vec::new(),
                },
                // A format-3 bundle ends where the sessions would start.
                _ => match open::<BundleV3>(MAGIC, WHAT, bytes) {
                    Ok(v3) if v3.format == 3 => Bundle {
                        format: BUNDLE_FORMAT,
                        songs: v3.songs.into_iter().map(SongFeatures::from).collect(),
                        paths: v3.paths,
                        labels: v3.labels,
                        sample_change_count: v3.sample_change_count,
                        model: v3.model,
                        prints: v3.prints,
                        sessions: Vec::new(),
                        user_metadata: Vec::new(),
                    },
                    _ => match open::<BundleV2>(MAGIC, WHAT, bytes) {
                        Ok(v2) if v2.format == 2 => Bundle {
                            format: BUNDLE_FORMAT,
                            songs: v2.songs.into_iter().map(SongFeatures::from).collect(),
                            paths: v2.paths,
                            labels: v2.labels,
                            sample_change_count: v2.sample_change_count,
                            model: v2.model,
                            prints: v2.prints,
                            sessions: Vec::new(),
                            user_metadata: Vec::new(),
                        },
                        // A format-1 bundle ends where the prints would start.
                        _ => match open::<BundleV1>(MAGIC, WHAT, bytes) {
                            Ok(v1) if v1.format == 1 => Bundle {
                                format: BUNDLE_FORMAT,
                                songs: v1.songs.into_iter().map(SongFeatures::from).collect(),
                                paths: v1.paths,
                                labels: v1.labels,
                                sample_change_count: v1.sample_change_count,
                                model: v1.model,
                                prints: Vec::new(),
                                sessions: Vec::new(),
                                user_metadata: Vec::new(),
                            },
                            _ => return Err(e.into()),
                        },
                    },
                },
            },
        },
    };
    if bundle.format != BUNDLE_FORMAT {
        return Err(BundleError::Version { found: bundle.format, expected: BUNDLE_FORMAT });
    }
    let (songs, prints, rest) = bundle.split();
    rest.check()?;
    let mut prints: std::collections::HashMap<String, Vec<u32>> = prints.into_iter().collect();
    let count = songs.len();
    // Each record is dropped once stored, so that a large library is not held twice (the
    // bundle's copy and the store's) while it is imported.
    for mut song in songs {
        if let (Some(c), Some(print)) = (song.chromaprint.as_mut(), prints.remove(&song.song_id)) {
            c.track = print;
        }
        // Same songId, same PCM: a target embedding is kept when the bundle's track has none.
        store.put_song_features(&song, now_ms)?;
    }
    rest.write(store, count, now_ms)
}

/// A song's whole-track print, as a bundle carries it beside the records.
type TrackPrint = (String, Vec<u32>);

/// What a bundle holds besides its tracks and their whole-track prints.
#[derive(Debug, Default)]
struct BundleRest {
    paths: Vec<PathEntry>,
    labels: Vec<(String, Label)>,
    sample_change_count: u64,
    model: Option<(Vec<u8>, SelectionManifest)>,
    sessions: Vec<(String, Vec<u8>)>,
    user_metadata: Vec<(String, UserMetadata)>,
}

impl Bundle {
    fn split(self) -> (Vec<SongFeatures>, Vec<TrackPrint>, BundleRest) {
        let rest = BundleRest {
            paths: self.paths,
            labels: self.labels,
            sample_change_count: self.sample_change_count,
            model: self.model,
            sessions: self.sessions,
            user_metadata: self.user_metadata,
        };
        (self.songs, self.prints, rest)
    }
}

impl BundleRest {
    /// A session names a file in the library folder: a name from elsewhere is checked before
    /// anything is written.
    fn check(&self) -> Result<(), BundleError> {
        for (name, session) in &self.sessions {
            check_session_name(name)
                .and_then(|()| Session::from_bytes(name, session).map(drop))
                .map_err(|e| BundleError::Session(e.message))?;
        }
        Ok(())
    }

    /// Write it after the bundle's `songs` tracks.
    fn write<S: TasteStore + ?Sized>(
        self,
        store: &mut S,
        songs: usize,
        now_ms: i64,
    ) -> Result<ImportSummary, BundleError> {
        for entry in &self.paths {
            store.put_path_entry(entry, now_ms)?;
        }
        store.clear_labels()?;
        store.write_labels(&self.labels, self.sample_change_count, now_ms)?;
        store.clear_cache()?;
        match &self.model {
            Some((bytes, manifest)) => store.put_selection_model(bytes, manifest)?,
            None => store.clear_selection_model()?,
        }
        for (name, session) in &self.sessions {
            store.put_dj_session(name, session)?;
        }
        store.put_user_metadata(&self.user_metadata)?;
        Ok(ImportSummary {
            songs,
            paths: self.paths.len(),
            labels: self.labels.len(),
            model: self.model.is_some(),
            sessions: self.sessions.len(),
            user_metadata: self.user_metadata.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, Store};
    use crate::testkit::synth_library::SyntheticLibrary;

    #[test]
    fn a_format_4_bundle_still_imports_with_its_sessions() {
        let original = SyntheticLibrary::new(4, 3).track(3);
        let session = Session::new("friday", 1).expect("a good name").to_bytes();
        let old = BundleV4 {
            format: 4,
            songs: vec![SongV4::from(SongFeatures { analysis_version: 5, ..original.clone() })],
            paths: Vec::new(),
            labels: vec![(original.song_id.clone(), Label::Liked)],
            sample_change_count: 1,
            model: None,
            prints: Vec::new(),
            sessions: vec![("friday".into(), session)],
        };
        let bytes = seal(MAGIC, WHAT, &old).expect("seals");
        let mut store = MemoryStore::new();
        let summary = import_library(&mut store, &bytes, 1).expect("a format-4 bundle imports");
        assert_eq!((summary.songs, summary.labels, summary.sessions), (1, 1, 1));
        let back = store.song_features(&original.song_id).expect("reads").expect("stored");
        assert_eq!(back.dj, original.dj);
        assert_eq!(back.analysis_version, 5, "analysed again for its tempo alternatives");
    }

    #[test]
    fn a_format_5_bundle_still_imports_and_brought_in_metadata_moves() {
        let original = SyntheticLibrary::new(4, 3).track(4);
        let old = BundleV5 {
            format: 5,
            songs: vec![original.clone()],
            paths: Vec::new(),
            labels: Vec::new(),
            sample_change_count: 0,
            model: None,
            prints: Vec::new(),
            sessions: Vec::new(),
        };
        let bytes = seal(MAGIC, WHAT, &old).expect("seals");
        let mut store = MemoryStore::new();
        let summary = import_library(&mut store, &bytes, 1).expect("a format-5 bundle imports");
        assert_eq!((summary.songs, summary.user_metadata), (1, 0));
        let meta = UserMetadata {
            genre: Some("Dub".into()),
            tags: vec!["deep".into()],
            source: "bandcamp".into(),
            ..Default::default()
        };
        store.put_user_metadata(&[(original.song_id.clone(), meta.clone())]).expect("put");
        let moved = export_library(&store).expect("exports");
        let mut other = MemoryStore::new();
        assert_eq!(import_library(&mut other, &moved, 2).expect("imports").user_metadata, 1);
        assert_eq!(other.user_metadata(&original.song_id).expect("reads"), Some(meta));
    }

    #[test]
    fn a_format_3_bundle_still_imports() {
        let original = SyntheticLibrary::new(4, 3).track(2);
        let old = BundleV3 {
            format: 3,
            songs: vec![SongV4::from(original.clone())],
            paths: Vec::new(),
            labels: vec![(original.song_id.clone(), Label::Disliked)],
            sample_change_count: 2,
            model: None,
            prints: Vec::new(),
        };
        let bytes = seal(MAGIC, WHAT, &old).expect("seals");
        let mut store = MemoryStore::new();
        let summary = import_library(&mut store, &bytes, 1).expect("a format-3 bundle imports");
        assert_eq!((summary.songs, summary.labels, summary.sessions), (1, 1, 0));
        assert_eq!(store.song_features(&original.song_id).expect("reads"), Some(original));
    }

    #[test]
    fn a_format_2_bundle_still_imports() {
        let original = SyntheticLibrary::new(4, 3).track(1);
        let e = original.embedding.clone().expect("an embedding");
        let old = BundleV2 {
            format: 2,
            songs: vec![SongV2::from(SongFeatures { analysis_version: 4, ..original.clone() })],
            paths: Vec::new(),
            labels: vec![(original.song_id.clone(), Label::Liked)],
            sample_change_count: 3,
            model: None,
            prints: Vec::new(),
        };
        let bytes = seal(MAGIC, WHAT, &old).expect("seals");
        let mut store = MemoryStore::new();
        let summary = import_library(&mut store, &bytes, 1).expect("a format-2 bundle imports");
        assert_eq!((summary.songs, summary.labels), (1, 1));
        let back = store.song_features(&original.song_id).expect("reads").expect("stored");
        assert_eq!(back.bpm, original.bpm);
        assert_eq!(back.embedding.as_ref().map(|e| &e.vector), Some(&e.vector));
        assert_eq!((back.dj, back.analysis_version), (None, 4), "analysed again for its DJ features");
    }
}
