//! [`TrackProfile`]: the part of a track's stored features that the taste model compares,
//! normalised once (lower-cased names, split genres, text tokens). The liked-set snapshot saved
//! with a model is a list of these, so a model keeps scoring the same way even if the liked
//! tracks' files are deleted or re-analysed later.

use serde::{Deserialize, Serialize};

use crate::features::Key;
use crate::record::SongFeatures;

/// What the taste model uses of one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackProfile {
    /// `songId`.
    pub song_id: String,
    /// `fileHash` of the features (prediction-cache key).
    pub file_hash: String,
    /// L2-normalised track embedding.
    pub embedding: Option<Vec<f32>>,
    /// Model version of the embedding (vectors of different models are not compared).
    pub model_version: Option<String>,
    /// The model's tag probabilities.
    pub tags: Option<Vec<f32>>,
    /// 64-bit SimHash of the Chromaprint fingerprint.
    pub simhash: Option<u64>,
    /// 12-bin HPCP.
    pub hpcp: Option<Vec<f32>>,
    /// Tempo.
    pub bpm: Option<f32>,
    /// Key.
    pub key: Option<Key>,
    /// Duration in seconds.
    pub duration_sec: Option<f32>,
    /// Average bitrate.
    pub bitrate_kbps: Option<f32>,
    /// Mean RMS.
    pub rms_mean: Option<f32>,
    /// Integrated loudness.
    pub loudness_lufs: Option<f32>,
    /// Artist, normalised.
    pub artist: Option<String>,
    /// Album, normalised.
    pub album: Option<String>,
    /// Genres, normalised, sorted, distinct.
    pub genres: Vec<String>,
    /// Year.
    pub year: Option<i32>,
    /// Words of the title, album, genre and comment, normalised (with repeats: term counts).
    pub words: Vec<String>,
}

impl TrackProfile {
    /// Profile of stored features.
    pub fn from_features(f: &SongFeatures) -> Self {
        let tags = &f.metadata;
        let mut genres: Vec<String> = tags
            .genre
            .as_deref()
            .map(|g| g.split([';', ',', '/', '|']).filter_map(normalise_name).collect())
            .unwrap_or_default();
        genres.sort();
        genres.dedup();
        let words = [&tags.title, &tags.album, &tags.genre, &tags.comment]
            .into_iter()
            .flatten()
            .flat_map(|t| words(t))
            .collect();
        let positive = |v: f64| (v.is_finite() && v > 0.0).then_some(v as f32);
        Self {
            song_id: f.song_id.clone(),
            file_hash: f.file_hash.clone(),
            embedding: f.embedding.as_ref().filter(|e| !e.vector.is_empty()).map(|e| e.vector.clone()),
            model_version: f.embedding.as_ref().map(|e| e.model_version.clone()),
            tags: f.embedding.as_ref().filter(|e| !e.tags.is_empty()).map(|e| e.tags.clone()),
            simhash: f.chromaprint.as_ref().map(|c| c.simhash),
            hpcp: f.hpcp.clone().filter(|h| h.len() == 12),
            bpm: f.bpm.filter(|b| b.is_finite() && *b > 0.0),
            key: f.key,
            duration_sec: positive(f.duration_sec),
            bitrate_kbps: positive(f.bitrate_kbps),
            rms_mean: Some(f.rms_mean).filter(|r| r.is_finite()),
            loudness_lufs: f.loudness_lufs.filter(|l| l.is_finite()).map(|l| l as f32),
            artist: tags.artist.as_deref().and_then(normalise_name),
            album: tags.album.as_deref().and_then(normalise_name),
            genres,
            year: tags.year.filter(|y| (1000..=3000).contains(y)),
            words,
        }
    }
}

/// Lower-case, trim and collapse inner whitespace; `None` for an empty result.
pub fn normalise_name(s: &str) -> Option<String> {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    (!joined.is_empty()).then_some(joined)
}

/// Lower-cased words of at least two characters (letters or digits).
pub fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 2).map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_words_are_normalised() {
        assert_eq!(normalise_name("  Daft   PUNK "), Some("daft punk".into()));
        assert_eq!(normalise_name("   "), None);
        let w: Vec<String> = words("Around the World (Radio Edit) - 1997 a").collect();
        assert_eq!(w, ["around", "the", "world", "radio", "edit", "1997"]);
    }
}
