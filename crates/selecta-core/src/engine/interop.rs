//! The library leaving for DJ software and crates coming back: what goes into a rekordbox XML
//! export (every analysed file as a track, with tempo, key, beat grid and intro/outro cues; the
//! playlists a DJ asked for) and into an M3U8 playlist, and what an imported rekordbox
//! collection teaches the taste model. The formats themselves are [`crate::interop`]'s.
//!
//! Paths: the core knows library paths relative to the library folder; a front end passes the
//! folder as it names it (`libraryRoot`, absolute, `/` or `\` separated; empty where it has
//! none, as in the browser, and then the relative paths are written as they are).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::control::JobControl;
use crate::dj::plan::PlanOptions;
use crate::error::{EngineError, ErrorCode};
use crate::hash::sha256_hex;
use crate::interop::m3u;
use crate::interop::rekordbox::{self, Cue, KeyNotation, PlaylistNode, RekordboxCollection, Track, location};
use crate::path_index::path_key;
use crate::record::{Label, PathEntry, SongFeatures};
use crate::store::TasteStore;
use crate::taste::PredictStatus;

/// Tracks in each "Similar to …" playlist when a call does not say.
pub const DEFAULT_SIMILAR_TRACKS: usize = 25;
/// The folder under `ROOT` that holds every playlist Selecta writes.
pub const PLAYLIST_FOLDER: &str = "Selecta";

/// `exportRekordboxXml`'s options (every field optional in JSON).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RekordboxExportOptions {
    /// The library folder as the front end names it (see the module header).
    pub library_root: String,
    /// A "Selecta picks" playlist of the taste model's best N unlabelled tracks.
    pub picks: Option<usize>,
    /// A "Similar to …" playlist for each of these songs.
    pub similar_to: Vec<String>,
    /// Tracks per "Similar to …" playlist (default [`DEFAULT_SIMILAR_TRACKS`]).
    pub similar_tracks: Option<usize>,
    /// A planned set (default plan options) from each of these songs.
    pub plans: Vec<String>,
    /// A playlist of each of these DJ sessions' played tracks.
    pub sessions: Vec<String>,
    /// `Tonality` as rekordbox writes it (default) or as Camelot codes.
    #[serde(deserialize_with = "notation")]
    pub key_notation: KeyNotation,
}

fn notation<'de, D: serde::Deserializer<'de>>(d: D) -> Result<KeyNotation, D::Error> {
    let name: Option<String> = Option::deserialize(d)?;
    match name {
        None => Ok(KeyNotation::default()),
        Some(name) => KeyNotation::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("keyNotation {name:?} is not classic or camelot"))),
    }
}

impl RekordboxExportOptions {
    /// Options from a JSON value (`null` for the defaults).
    pub fn from_json(value: serde_json::Value) -> Result<Self, EngineError> {
        super::options_from_json(value, "export options")
    }
}

/// [`M3uOptions`] from JSON (`null` for the defaults).
pub fn m3u_options_from_json(value: serde_json::Value) -> Result<M3uOptions, EngineError> {
    super::options_from_json(value, "M3U options")
}

/// [`RekordboxImportOptions`] from JSON (`null` for the defaults).
pub fn import_options_from_json(value: serde_json::Value) -> Result<RekordboxImportOptions, EngineError> {
    super::options_from_json(value, "import options")
}

/// One playlist of an export, as a report lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedPlaylist {
    /// Its name.
    pub name: String,
    /// Its tracks.
    pub tracks: usize,
}

/// `exportRekordboxXml`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RekordboxExport {
    /// The file's text.
    pub xml: String,
    /// Tracks in the collection.
    pub tracks: usize,
    /// The playlists under "Selecta".
    pub playlists: Vec<ExportedPlaylist>,
}

/// `exportM3u`'s options.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct M3uOptions {
    /// The library folder as the front end names it.
    pub library_root: String,
    /// The folder the playlist is written to: when it lies inside the library, locations are
    /// relative to it; otherwise absolute (the root joined with the library path).
    pub playlist_dir: Option<String>,
}

/// `importRekordboxXml`'s options.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RekordboxImportOptions {
    /// The library folder as the front end names it (locations are matched under it).
    pub library_root: String,
    /// Playlists whose tracks are labelled liked (a name, or `Folder/Name`).
    pub liked_playlists: Vec<String>,
    /// Playlists whose tracks are labelled disliked.
    pub disliked_playlists: Vec<String>,
    /// Do not retrain after labelling.
    pub no_auto_train: bool,
}

/// How an imported track was found in the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// Its location is a library file.
    Path,
    /// Its file (read through the front end) has the bytes of a library file.
    FileBytes,
}

/// An imported track that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedTrack {
    /// `TrackID` in the collection.
    pub track_id: String,
    /// The library song.
    pub song_id: String,
    /// Its library path.
    pub path: String,
    /// How.
    pub matched_by: MatchedBy,
}

/// An imported track that did not match, named for a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnmatchedTrack {
    /// `TrackID` in the collection.
    pub track_id: String,
    /// `Artist - Name`.
    pub name: String,
    /// The location as written.
    pub location: String,
    /// Why: `no_location`, `not_a_file_url`, `outside_library`, `not_analysed`, `file_missing`.
    pub reason: &'static str,
}

/// `importRekordboxXml`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RekordboxImport {
    /// Tracks in the collection.
    pub tracks: usize,
    /// Those found in the library.
    pub matched: Vec<MatchedTrack>,
    /// Those not found, with the reason.
    pub unmatched: Vec<UnmatchedTrack>,
    /// Every playlist of the file (`Folder/Name`), for a person choosing which to import.
    pub playlists: Vec<String>,
    /// Songs labelled liked.
    pub liked: usize,
    /// Songs labelled disliked.
    pub disliked: usize,
    /// Songs in both a liked and a disliked playlist: left unlabelled.
    pub conflicting: Vec<String>,
    /// What labelling did (`None` when no playlist was named).
    pub labels: Option<super::LabelOutcome>,
}

/// Reads a file outside the library for the import's content match (`None` when it cannot).
pub type ReadFile<'a> = dyn FnMut(&str) -> Option<Vec<u8>> + 'a;

/// `root` joined with a library-relative path, with the root's separator style.
pub fn join_root(root: &str, relative: &str) -> String {
    if root.is_empty() {
        return relative.to_string();
    }
    let windows = root.contains('\\') && !root.contains('/');
    let separator = if windows { '\\' } else { '/' };
    let relative = if windows { relative.replace('/', "\\") } else { relative.to_string() };
    let trimmed = root.trim_end_matches(['/', '\\']);
    format!("{trimmed}{separator}{relative}")
}

/// `path` relative to `root` when it lies under it (both absolute; `/` or `\` separated).
fn under_root(root: &str, path: &str) -> Option<String> {
    let root = path_key(root);
    let path = path_key(path);
    if root.is_empty() {
        return None;
    }
    let rest = path.strip_prefix(&root)?;
    let rest = rest.strip_prefix('/')?;
    (!rest.is_empty()).then(|| rest.to_string())
}

/// The `yyyy-mm-dd` of a time in ms since the Unix epoch (UTC).
fn date_of(ms: i64) -> String {
    // Howard Hinnant's civil-from-days.
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// rekordbox's `Kind` from the file extension (`MP3 File`).
fn kind_of(path: &str) -> String {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() => format!("{} File", ext.to_ascii_uppercase()),
        _ => "Audio File".into(),
    }
}

/// The file name without folders and extension: the name of a track without a title tag.
fn stem(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

fn song_title(features: &SongFeatures, path: &str) -> String {
    features.metadata.title.clone().unwrap_or_else(|| stem(path).to_string())
}

fn rekordbox_track(
    track_id: u32,
    entry: &PathEntry,
    features: &SongFeatures,
    root: &str,
    notation: KeyNotation,
) -> Track {
    let tags = &features.metadata;
    let bpm = features.bpm.map(f64::from);
    let dj = features.dj.as_ref();
    let grid = match (bpm, dj.and_then(|d| d.first_downbeat_sec)) {
        (Some(bpm), Some(first)) => Some((f64::from(first), bpm)),
        _ => None,
    };
    let mut cues = Vec::new();
    if let Some(intro) = dj.and_then(|d| d.intro.as_ref()) {
        cues.push(Cue { name: "Intro".into(), start_sec: f64::from(intro.start_sec) });
    }
    if let Some(outro) = dj.and_then(|d| d.outro.as_ref()) {
        cues.push(Cue { name: "Outro".into(), start_sec: f64::from(outro.start_sec) });
    }
    Track {
        track_id,
        name: song_title(features, &entry.file_path),
        artist: tags.artist.clone().unwrap_or_default(),
        album: tags.album.clone().unwrap_or_default(),
        genre: tags.genre.clone().unwrap_or_default(),
        kind: kind_of(&entry.file_path),
        size: entry.size,
        total_time: features.duration_sec.max(0.0).floor() as u64,
        year: tags.year.unwrap_or(0),
        date_added: date_of(entry.mtime_ms),
        bit_rate: features.bitrate_kbps.max(0.0).round() as u32,
        sample_rate: features.sample_rate,
        average_bpm: bpm.unwrap_or(0.0),
        tonality: features.key.map(|k| rekordbox::tonality(k, notation)).unwrap_or_default(),
        location: location::to_url(&join_root(root, &entry.file_path)),
        grid,
        cues,
    }
}

impl<S: TasteStore> Engine<S> {
    /// Every analysed library file as a rekordbox track, in path order (a song with two files
    /// appears twice, as rekordbox keeps files, not songs), with each file's song. A song's
    /// record is read once and only its track fields are kept, so a large library is never
    /// held in memory whole.
    fn rekordbox_tracks(&self, options: &RekordboxExportOptions) -> Result<Vec<(Track, String)>, EngineError> {
        let mut entries = self.store.path_entries()?;
        entries.sort_by(|a, b| a.path_key.cmp(&b.path_key));
        // Per song: its track fields and whether it has a title tag.
        let mut by_song: HashMap<String, Option<(Track, bool)>> = HashMap::new();
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let template = match by_song.get(&e.song_id) {
                Some(t) => t.clone(),
                None => {
                    let t = self.store.song_features(&e.song_id)?.map(|f| {
                        let track = rekordbox_track(0, &e, &f, &options.library_root, options.key_notation);
                        (track, f.metadata.title.is_some())
                    });
                    by_song.insert(e.song_id.clone(), t.clone());
                    t
                }
            };
            let Some((mut track, titled)) = template else { continue };
            // The file's own fields; the name falls back to this file's name.
            let track_id = u32::try_from(out.len() + 1).map_err(|_| EngineError::invalid_input("too many tracks"))?;
            track.track_id = track_id;
            track.kind = kind_of(&e.file_path);
            track.size = e.size;
            track.date_added = date_of(e.mtime_ms);
            track.location = location::to_url(&join_root(&options.library_root, &e.file_path));
            if !titled {
                track.name = stem(&e.file_path).to_string();
            }
            out.push((track, e.song_id));
        }
        Ok(out)
    }

    fn display_name(&self, song_id: &str) -> Result<String, EngineError> {
        let features = self.store.song_features(song_id)?.ok_or_else(|| not_found(song_id))?;
        let path = self.path_of(song_id)?.unwrap_or_else(|| song_id.to_string());
        let title = song_title(&features, &path);
        Ok(match &features.metadata.artist {
            Some(artist) => format!("{artist} - {title}"),
            None => title,
        })
    }

    /// `exportRekordboxXml`: the library as a rekordbox collection, with the playlists asked
    /// for under a "Selecta" folder. The same library and options give the same bytes.
    pub fn export_rekordbox_xml(
        &mut self,
        options: &RekordboxExportOptions,
        now_ms: i64,
        control: &mut dyn JobControl,
    ) -> Result<RekordboxExport, EngineError> {
        let files = self.rekordbox_tracks(options)?;
        let mut first_track_of_song: HashMap<&str, u32> = HashMap::new();
        for (track, song) in &files {
            first_track_of_song.entry(song.as_str()).or_insert(track.track_id);
        }
        let ids_of = |songs: &mut dyn Iterator<Item = &str>| -> Vec<u32> {
            songs.filter_map(|s| first_track_of_song.get(s).copied()).collect()
        };
        let mut lists: Vec<PlaylistNode> = Vec::new();
        if let Some(n) = options.picks {
            let candidates = self.unlabelled_songs()?;
            let outcome = self.predict_selection_candidates(&candidates, n, now_ms, control);
            if outcome.status != PredictStatus::Ok {
                let why = outcome.error.unwrap_or_else(|| format!("{:?}", outcome.status));
                return Err(EngineError::new(
                    outcome.error_code.unwrap_or(ErrorCode::InvalidInput),
                    format!("no picks: the taste model cannot score ({why}); train it first"),
                ));
            }
            let track_ids = ids_of(&mut outcome.items.iter().map(|i| i.id.as_str()));
            lists.push(PlaylistNode::Playlist { name: "Selecta picks".into(), track_ids });
        }
        for song in &options.similar_to {
            let k = options.similar_tracks.unwrap_or(DEFAULT_SIMILAR_TRACKS);
            let found = self.similar_tracks(song, &super::SimilarOptions { k: Some(k), ..Default::default() })?;
            let mut songs = vec![song.as_str()];
            songs.extend(found.items.iter().map(|i| i.id.as_str()));
            let track_ids = ids_of(&mut songs.into_iter());
            lists.push(PlaylistNode::Playlist { name: format!("Similar to {}", self.display_name(song)?), track_ids });
        }
        for start in &options.plans {
            let plan = self.plan_set(start, &PlanOptions { length: Some(12), ..PlanOptions::default() })?;
            let track_ids = ids_of(&mut plan.items.iter().map(|i| i.id.as_str()));
            lists.push(PlaylistNode::Playlist { name: format!("Set from {}", self.display_name(start)?), track_ids });
        }
        for name in &options.sessions {
            let session = self.session_show(name)?;
            let track_ids = ids_of(&mut session.played.iter().map(|p| p.id.as_str()));
            lists.push(PlaylistNode::Playlist { name: format!("Session {name}"), track_ids });
        }
        let playlists = lists
            .iter()
            .map(|l| match l {
                PlaylistNode::Playlist { name, track_ids } => {
                    ExportedPlaylist { name: name.clone(), tracks: track_ids.len() }
                }
                PlaylistNode::Folder { name, children } => {
                    ExportedPlaylist { name: name.clone(), tracks: children.len() }
                }
            })
            .collect();
        let folder = PlaylistNode::Folder { name: PLAYLIST_FOLDER.into(), children: lists };
        let tracks: Vec<Track> = files.into_iter().map(|(t, _)| t).collect();
        let xml = rekordbox::write(env!("CARGO_PKG_VERSION"), &tracks, &[folder]);
        Ok(RekordboxExport { xml, tracks: tracks.len(), playlists })
    }

    /// `exportM3u`: an M3U8 playlist of songs (any list Selecta produced), in order; songs
    /// without a library path are left out.
    pub fn export_m3u(&self, song_ids: &[String], options: &M3uOptions) -> Result<String, EngineError> {
        let paths = self.song_paths()?;
        let inside = options.playlist_dir.as_deref().and_then(|dir| {
            if path_key(dir) == path_key(&options.library_root) {
                Some(String::new())
            } else {
                under_root(&options.library_root, dir)
            }
        });
        let mut entries = Vec::with_capacity(song_ids.len());
        for id in song_ids {
            let Some(path) = paths.get(id) else { continue };
            let features = self.store.song_features(id)?.ok_or_else(|| not_found(id))?;
            let location = match &inside {
                Some(dir) => relative_to(dir, &path_key(path)),
                None => join_root(&options.library_root, path),
            };
            entries.push(m3u::Entry {
                location,
                seconds: features.duration_sec,
                artist: features.metadata.artist.clone(),
                title: features.metadata.title.clone(),
                fallback: path.clone(),
            });
        }
        Ok(m3u::playlist(&entries))
    }

    /// `importRekordboxXml`: match a rekordbox collection's tracks to library songs (by location
    /// under the library root, then by the bytes of the file at the location, which `read_file`
    /// supplies) and label the tracks of the named playlists. Nothing is written unless the
    /// whole file reads and every named playlist exists.
    pub fn import_rekordbox_xml(
        &mut self,
        bytes: &[u8],
        options: &RekordboxImportOptions,
        read_file: &mut ReadFile<'_>,
        now_ms: i64,
        control: &mut dyn JobControl,
    ) -> Result<RekordboxImport, EngineError> {
        let collection =
            rekordbox::read(bytes).map_err(|e| EngineError::invalid_input(format!("rekordbox XML: {e}")))?;
        let RekordboxCollection { tracks, playlists } = collection;
        let entries = self.store.path_entries()?;
        let by_key: HashMap<&str, &PathEntry> = entries.iter().map(|e| (e.path_key.as_str(), e)).collect();
        let mut by_hash: BTreeMap<&str, &PathEntry> = BTreeMap::new();
        for e in &entries {
            by_hash.entry(e.file_hash.as_str()).or_insert(e);
        }
        let mut matched = Vec::new();
        let mut unmatched = Vec::new();
        let mut song_of_track: HashMap<&str, String> = HashMap::new();
        let mut song_of_location: HashMap<&str, String> = HashMap::new();
        for t in &tracks {
            let unmatched_because = |reason| UnmatchedTrack {
                track_id: t.track_id.clone(),
                name: t.display_name(),
                location: t.location.clone(),
                reason,
            };
            let Some(path) = &t.path else {
                let reason = if t.location.trim().is_empty() { "no_location" } else { "not_a_file_url" };
                unmatched.push(unmatched_because(reason));
                continue;
            };
            let found = under_root(&options.library_root, path)
                .and_then(|relative| by_key.get(path_key(&relative).as_str()).copied())
                .map(|e| (e, MatchedBy::Path));
            let found = match found {
                Some(f) => Some(f),
                None => match read_file(path) {
                    Some(file) => by_hash.get(sha256_hex(&file).as_str()).map(|e| (*e, MatchedBy::FileBytes)),
                    None => {
                        let inside = under_root(&options.library_root, path).is_some();
                        unmatched.push(unmatched_because(if inside { "file_missing" } else { "outside_library" }));
                        continue;
                    }
                },
            };
            match found {
                Some((entry, matched_by)) if self.store.song_features(&entry.song_id)?.is_some() => {
                    song_of_track.insert(t.track_id.as_str(), entry.song_id.clone());
                    song_of_location.insert(t.location.as_str(), entry.song_id.clone());
                    matched.push(MatchedTrack {
                        track_id: t.track_id.clone(),
                        song_id: entry.song_id.clone(),
                        path: entry.file_path.clone(),
                        matched_by,
                    });
                }
                Some(_) => unmatched.push(unmatched_because("not_analysed")),
                None => {
                    let inside = under_root(&options.library_root, path).is_some();
                    unmatched.push(unmatched_because(if inside { "not_analysed" } else { "outside_library" }));
                }
            }
        }
        let songs_of = |wanted: &[String]| -> Result<Vec<String>, EngineError> {
            let mut songs = Vec::new();
            for name in wanted {
                let list = playlists
                    .iter()
                    .find(|p| p.full_name() == *name)
                    .or_else(|| playlists.iter().find(|p| p.name == *name))
                    .ok_or_else(|| {
                        EngineError::new(ErrorCode::NotFound, format!("the collection has no playlist named {name:?}"))
                    })?;
                for key in &list.keys {
                    let song = if list.keyed_by_location {
                        song_of_location.get(key.as_str())
                    } else {
                        song_of_track.get(key.as_str())
                    };
                    songs.extend(song.cloned());
                }
            }
            Ok(songs)
        };
        let liked: HashSet<String> = songs_of(&options.liked_playlists)?.into_iter().collect();
        let disliked: HashSet<String> = songs_of(&options.disliked_playlists)?.into_iter().collect();
        let mut conflicting: Vec<String> = liked.intersection(&disliked).cloned().collect();
        conflicting.sort();
        let mut liked: Vec<String> = liked.into_iter().filter(|s| !conflicting.contains(s)).collect();
        let mut disliked: Vec<String> = disliked.into_iter().filter(|s| !conflicting.contains(s)).collect();
        liked.sort();
        disliked.sort();
        let named = !options.liked_playlists.is_empty() || !options.disliked_playlists.is_empty();
        let labels = if named {
            let groups = [(Label::Liked, liked.clone()), (Label::Disliked, disliked.clone())];
            Some(self.label_songs(&groups, !options.no_auto_train, now_ms, control)?)
        } else {
            None
        };
        Ok(RekordboxImport {
            tracks: tracks.len(),
            matched,
            unmatched,
            playlists: playlists.iter().map(rekordbox::ImportedPlaylist::full_name).collect(),
            liked: liked.len(),
            disliked: disliked.len(),
            conflicting,
            labels,
        })
    }
}

/// `target` (a library path key) as seen from the library folder `dir` (a path key, "" for the
/// root): `../` up to the common folder, then down.
fn relative_to(dir: &str, target: &str) -> String {
    let from: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let to: Vec<&str> = target.split('/').collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

fn not_found(song_id: &str) -> EngineError {
    EngineError::new(ErrorCode::NotFound, format!("no song {song_id:?} in the library"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_paths_and_kinds() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(1_764_892_800_000), "2025-12-05");
        assert_eq!(date_of(951_782_400_000), "2000-02-29");
        assert_eq!(join_root("/music/", "a/b.mp3"), "/music/a/b.mp3");
        assert_eq!(join_root(r"C:\Music", "a/b.mp3"), r"C:\Music\a\b.mp3");
        assert_eq!(join_root("", "a/b.mp3"), "a/b.mp3");
        assert_eq!(under_root("/music", "/music/a/b.mp3").as_deref(), Some("a/b.mp3"));
        assert_eq!(under_root("/music", "/musicx/b.mp3"), None);
        assert_eq!(under_root(r"C:\Music", "C:/Music/x.flac").as_deref(), Some("x.flac"));
        assert_eq!(relative_to("sets", "a/b.mp3"), "../a/b.mp3");
        assert_eq!(relative_to("", "a/b.mp3"), "a/b.mp3");
        assert_eq!(relative_to("a", "a/b.mp3"), "b.mp3");
        assert_eq!(kind_of("x/Y.flac"), "FLAC File");
        assert_eq!(kind_of("noext"), "Audio File");
    }
}
