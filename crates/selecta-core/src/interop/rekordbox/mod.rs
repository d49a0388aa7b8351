//! rekordbox's XML collection (`DJ_PLAYLISTS Version="1.0.0"`), the file rekordbox imports
//! through "Imported Library" and exports with "Export Collection in xml format": a
//! `COLLECTION` of `TRACK` elements (attributes for the tags and analysis, a `TEMPO` beat grid,
//! `POSITION_MARK` cues) and a `PLAYLISTS` tree of folder (`Type="0"`) and playlist
//! (`Type="1"`) `NODE`s whose `TRACK Key` refers to a TrackID (`KeyType="0"`) or a Location
//! (`KeyType="1"`).
//!
//! [`write`] renders a collection byte-for-byte the same for the same input; [`read`] takes
//! what a DJ exported; [`location`] converts between file paths and rekordbox's
//! `file://localhost/` URLs.

pub mod location;
mod read;
mod write;

pub use read::{ImportedPlaylist, ImportedTrack, RekordboxCollection, read};
pub use write::{Cue, PlaylistNode, Track, write};

use crate::features::{Key, Mode};

/// How `Tonality` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyNotation {
    /// rekordbox's own ("Classic"): `Am`, `Fm`, `Db`, `F#m`.
    #[default]
    Classic,
    /// The Camelot wheel: `8A`, `4A`, `3B`.
    Camelot,
}

impl KeyNotation {
    /// `classic` or `camelot`.
    pub fn parse(name: &str) -> Option<KeyNotation> {
        match name.trim().to_ascii_lowercase().as_str() {
            "classic" | "rekordbox" => Some(KeyNotation::Classic),
            "camelot" => Some(KeyNotation::Camelot),
            _ => None,
        }
    }
}

/// rekordbox's tonic names: flats, except F♯ (as rekordbox lists the keys of the Camelot wheel).
const CLASSIC_TONICS: [&str; 12] = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];

/// A key in the chosen notation.
pub fn tonality(key: Key, notation: KeyNotation) -> String {
    match notation {
        KeyNotation::Camelot => key.camelot(),
        KeyNotation::Classic => {
            let tonic = CLASSIC_TONICS[usize::from(key.tonic % 12)];
            match key.mode {
                Mode::Major => tonic.to_string(),
                Mode::Minor => format!("{tonic}m"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_as_rekordbox_lists_them() {
        let minor = |tonic| Key { tonic, mode: Mode::Minor };
        let major = |tonic| Key { tonic, mode: Mode::Major };
        assert_eq!(tonality(minor(5), KeyNotation::Classic), "Fm");
        assert_eq!(tonality(minor(1), KeyNotation::Classic), "Dbm");
        assert_eq!(tonality(minor(6), KeyNotation::Classic), "F#m");
        assert_eq!(tonality(major(8), KeyNotation::Classic), "Ab");
        assert_eq!(tonality(minor(9), KeyNotation::Camelot), "8A");
        assert_eq!(tonality(major(0), KeyNotation::Camelot), "8B");
    }
}
