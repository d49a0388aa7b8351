//! A Bandcamp CSV brought into the library: each row is matched to library songs by artist and
//! title (or, for an album row, artist and album), both normalised ([`crate::interop::names`]);
//! a row that fits several different songs is reported as ambiguous and never guessed. The
//! genre, subgenre and tags of matched rows are kept as the songs' brought-in metadata (beside
//! the files' own tags, which stay untouched), and the songs can be labelled liked.
//!
//! A song's artist and title come from its tags; a file without them is read by its name,
//! `Artist - Title.ext`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{Engine, LabelOutcome};
use crate::control::JobControl;
use crate::error::EngineError;
use crate::interop::bandcamp::{self, BandcampRow, Field};
use crate::interop::names::{artist_key, fold, title_key};
use crate::record::{Label, UserMetadata};
use crate::store::TasteStore;

/// Where brought-in metadata from a Bandcamp CSV says it came from.
pub const SOURCE: &str = "bandcamp";

/// `importBandcampCsv`'s options (every field optional in JSON).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BandcampImportOptions {
    /// Column header → field (`artist`, `title`, `album`, `tags`, `genre`, `subgenre`,
    /// `item_type`), over the usual header names.
    pub map: BTreeMap<String, String>,
    /// Label the matched songs liked.
    pub like: bool,
    /// Do not retrain after labelling.
    pub no_auto_train: bool,
}

impl BandcampImportOptions {
    /// Options from a JSON value (`null` for the defaults).
    pub fn from_json(value: serde_json::Value) -> Result<Self, EngineError> {
        super::options_from_json(value, "Bandcamp import options")
    }

    fn mapping(&self) -> Result<Vec<(String, Field)>, EngineError> {
        self.map
            .iter()
            .map(|(column, field)| {
                let f = Field::parse(field).ok_or_else(|| {
                    EngineError::invalid_input(format!(
                        "--map {column}={field}: {field:?} is not artist, title, album, tags, genre, subgenre or item_type"
                    ))
                })?;
                Ok((column.clone(), f))
            })
            .collect()
    }
}

/// A row of the file, as a report names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowRef {
    /// Line of the file.
    pub line: u64,
    /// Artist as written.
    pub artist: String,
    /// Title as written (`None` for an album row).
    pub title: Option<String>,
    /// Album as written.
    pub album: Option<String>,
}

/// A matched row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedRow {
    /// The row.
    #[serde(flatten)]
    pub row: RowRef,
    /// Its songs (one for a track, the album's tracks for an album).
    pub song_ids: Vec<String>,
}

/// A row that fits several songs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmbiguousRow {
    /// The row.
    #[serde(flatten)]
    pub row: RowRef,
    /// The library paths it could be.
    pub candidates: Vec<String>,
}

/// `importBandcampCsv`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BandcampImport {
    /// Rows read.
    pub rows: usize,
    /// Rows matched to songs.
    pub matched: Vec<MatchedRow>,
    /// Rows that fit no song.
    pub unmatched: Vec<RowRef>,
    /// Rows that fit several songs: left alone.
    pub ambiguous: Vec<AmbiguousRow>,
    /// Songs whose brought-in metadata was written.
    pub songs_updated: usize,
    /// What labelling did (`like` only).
    pub labels: Option<LabelOutcome>,
}

/// The library's songs by normalised artist + title and artist + album.
#[derive(Default)]
struct SongKeys {
    by_title: HashMap<(String, String), BTreeSet<String>>,
    by_album: HashMap<(String, String), BTreeSet<String>>,
}

/// `Artist - Title` read from a file name without tags.
fn from_file_name(path: &str) -> (Option<String>, Option<String>) {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    match stem.split_once(" - ") {
        Some((artist, title)) => (Some(artist.to_string()), Some(title.to_string())),
        None => (None, Some(stem.to_string())),
    }
}

fn row_ref(row: &BandcampRow) -> RowRef {
    RowRef { line: row.line, artist: row.artist.clone(), title: row.title.clone(), album: row.album.clone() }
}

impl<S: TasteStore> Engine<S> {
    fn song_keys(&self, paths: &HashMap<String, String>) -> Result<SongKeys, EngineError> {
        let mut keys = SongKeys::default();
        for (song_id, path) in paths {
            let Some(features) = self.store.taste_features(song_id)? else { continue };
            let tags = &features.metadata;
            let (file_artist, file_title) = from_file_name(path);
            let artist = tags.artist.clone().or(file_artist);
            let title = tags.title.clone().or(file_title);
            let Some(artist) = artist.map(|a| artist_key(&a)).filter(|a| !a.is_empty()) else { continue };
            if let Some(title) = title.map(|t| title_key(&t)).filter(|t| !t.is_empty()) {
                keys.by_title.entry((artist.clone(), title)).or_default().insert(song_id.clone());
            }
            if let Some(album) = tags.album.as_deref().map(fold).filter(|a| !a.is_empty()) {
                keys.by_album.entry((artist, album)).or_default().insert(song_id.clone());
            }
        }
        Ok(keys)
    }

    /// `importBandcampCsv`: match a Bandcamp CSV's rows to library songs, keep their genre,
    /// subgenre and tags as brought-in metadata and, with `like`, label them liked. The whole
    /// file is read before anything is written.
    pub fn import_bandcamp_csv(
        &mut self,
        bytes: &[u8],
        options: &BandcampImportOptions,
        now_ms: i64,
        control: &mut dyn JobControl,
    ) -> Result<BandcampImport, EngineError> {
        let rows = bandcamp::read(bytes, &options.mapping()?)
            .map_err(|e| EngineError::invalid_input(format!("Bandcamp CSV: {e}")))?;
        let paths = self.song_paths()?;
        let keys = self.song_keys(&paths)?;
        let (mut matched, mut unmatched, mut ambiguous) = (Vec::new(), Vec::new(), Vec::new());
        let mut metadata: BTreeMap<String, UserMetadata> = BTreeMap::new();
        for row in &rows {
            let artist = artist_key(&row.artist);
            let found = match (&row.title, &row.album) {
                _ if artist.is_empty() => None,
                (Some(title), _) => keys.by_title.get(&(artist, title_key(title))),
                (None, Some(album)) => keys.by_album.get(&(artist, fold(album))),
                (None, None) => None,
            };
            let songs: Vec<String> = found.map(|s| s.iter().cloned().collect()).unwrap_or_default();
            // An album row may hold many songs; a track row that fits several is a guess.
            if songs.is_empty() {
                unmatched.push(row_ref(row));
                continue;
            }
            if row.title.is_some() && songs.len() > 1 {
                let mut candidates: Vec<String> = songs.iter().filter_map(|s| paths.get(s).cloned()).collect();
                candidates.sort();
                ambiguous.push(AmbiguousRow { row: row_ref(row), candidates });
                continue;
            }
            for song in &songs {
                let meta = metadata
                    .entry(song.clone())
                    .or_insert_with(|| UserMetadata { source: SOURCE.into(), ..UserMetadata::default() });
                if row.genre.is_some() {
                    meta.genre.clone_from(&row.genre);
                }
                if row.subgenre.is_some() {
                    meta.subgenre.clone_from(&row.subgenre);
                }
                for tag in &row.tags {
                    if !meta.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                        meta.tags.push(tag.clone());
                    }
                }
            }
            matched.push(MatchedRow { row: row_ref(row), song_ids: songs });
        }
        let with_data: Vec<(String, UserMetadata)> = metadata
            .iter()
            .filter(|(_, m)| m.genre.is_some() || m.subgenre.is_some() || !m.tags.is_empty())
            .map(|(id, m)| (id.clone(), m.clone()))
            .collect();
        self.store.put_user_metadata(&with_data)?;
        let labels = if options.like {
            let liked: Vec<String> = metadata.into_keys().collect();
            Some(self.label_songs(&[(Label::Liked, liked)], !options.no_auto_train, now_ms, control)?)
        } else {
            None
        };
        Ok(BandcampImport { rows: rows.len(), matched, unmatched, ambiguous, songs_updated: with_data.len(), labels })
    }
}
