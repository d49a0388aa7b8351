//! The stored records: one track's features ([`SongFeatures`]) with their public JSON shape
//! (the same keys in the CLI, the wasm module and the N-API addon), a path-index entry
//! ([`PathEntry`]) and a user's label of a track ([`Label`]).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::audio::Damage;
use crate::audio::Tags;
use crate::embed::TrackEmbedding;
use crate::error::StoreError;
use crate::features::{BpmAlternative, DjFeatures, Fingerprint, Key};

/// Everything Selecta knows about one track, keyed by `songId`. Its serde form (field names as
/// in Rust) is the internal record format of the library bundle and the browser store; the
/// public JSON shape is [`SongFeatures::to_json`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SongFeatures {
    /// SHA-256 of the decoded PCM.
    pub song_id: String,
    /// SHA-256 of the file bytes.
    pub file_hash: String,
    /// [`crate::ANALYSIS_VERSION`] that produced the record.
    pub analysis_version: u32,
    /// Decoded duration.
    pub duration_sec: f64,
    /// Sample rate of the file.
    pub sample_rate: u32,
    /// Channels of the file.
    pub channels: u16,
    /// Average bitrate (file size over duration).
    pub bitrate_kbps: f64,
    /// Tempo, if the track has a pulse.
    pub bpm: Option<f32>,
    /// Tempo confidence 0–1.
    pub bpm_confidence: Option<f32>,
    /// The other octave levels of the tempo (half, double), most plausible first.
    pub bpm_alternatives: Vec<BpmAlternative>,
    /// Musical key, if the track has tonal content.
    pub key: Option<Key>,
    /// Key strength 0–1.
    pub key_strength: Option<f32>,
    /// Mean RMS over 50 ms windows (linear).
    pub rms_mean: f32,
    /// Integrated loudness, EBU R128.
    pub loudness_lufs: Option<f64>,
    /// 12-bin HPCP, index 0 = C.
    pub hpcp: Option<Vec<f32>>,
    /// Chromaprint fingerprint.
    pub chromaprint: Option<Fingerprint>,
    /// File tags.
    pub metadata: Tags,
    /// MFCC mean and covariance ([`crate::features::timbre`]).
    pub timbre: Option<Vec<f32>>,
    /// Track embedding with its tags and windows, when the model was available.
    pub embedding: Option<TrackEmbedding>,
    /// Energy, low end, intro and outro ([`crate::features::dj`]).
    pub dj: Option<DjFeatures>,
    /// What could not be decoded, when the file is damaged.
    pub damage: Option<Damage>,
}

/// The most bytes a record's decoding may claim: a damaged length prefix is refused instead of
/// allocated (a real record is a few kilobytes; a whole-track print is not part of it).
pub(crate) const RECORD_DECODE_LIMIT: usize = 16 << 20;

impl SongFeatures {
    /// The record's internal encoding (its serde form in bincode's standard configuration): what
    /// the browser store keeps in IndexedDB and the in-memory store holds. The whole-track print
    /// is not part of it.
    pub fn to_bytes(&self) -> Result<Vec<u8>, StoreError> {
        bincode::serde::encode_to_vec(self, bincode::config::standard()).map_err(|e| StoreError::Backend(e.to_string()))
    }

    /// A record from [`SongFeatures::to_bytes`]'s encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let config = bincode::config::standard().with_limit::<RECORD_DECODE_LIMIT>();
        bincode::serde::decode_from_slice(bytes, config)
            .map(|(features, _)| features)
            .map_err(|e| StoreError::Corrupt(format!("track record: {e}")))
    }

    /// The public JSON shape (`selecta show --json`, `getSongFeatures`). Keys are camelCase;
    /// the SimHash is a 16-digit hex string because JSON numbers lose 64-bit precision in JS.
    /// `tag_names` are the model's tag names (from its manifest) for `topTags`.
    pub fn to_json(&self, path: Option<&str>, tag_names: &[String]) -> Value {
        json!({
            "songId": self.song_id,
            "fileHash": self.file_hash,
            "path": path,
            "durationSec": self.duration_sec,
            "sampleRate": self.sample_rate,
            "channels": self.channels,
            "bitrateKbps": round_to(self.bitrate_kbps, 1),
            "bpm": self.bpm.map(|b| round_to(f64::from(b), 2)),
            "bpmConfidence": self.bpm_confidence.map(|c| round_to(f64::from(c), 3)),
            "bpmAlternatives": self.bpm_alternatives.iter().map(|a| json!({
                "bpm": round_to(f64::from(a.bpm), 2),
                "confidence": round_to(f64::from(a.confidence), 3),
            })).collect::<Vec<_>>(),
            "key": self.key.map(|k| k.name()),
            "camelot": self.key.map(|k| k.camelot()),
            "openKey": self.key.map(|k| k.open_key()),
            "keyStrength": self.key_strength.map(|s| round_to(f64::from(s), 3)),
            "rmsMean": self.rms_mean,
            "loudnessLufs": self.loudness_lufs.map(|l| round_to(l, 2)),
            "hpcp": self.hpcp,
            "chromaprintFingerprint": self.chromaprint.as_ref().map(|c| c.encoded.clone()),
            "chromaprintSimhash": self.chromaprint.as_ref().map(|c| format!("{:016x}", c.simhash)),
            "metadata": self.metadata,
            "analysisVersion": self.analysis_version,
            "embedding": self.embedding.as_ref().map(|e| &e.vector),
            "modelVersion": self.embedding.as_ref().map(|e| &e.model_version),
            "profile": self.embedding.as_ref().map(|e| e.profile.name()),
            "windows": self.embedding.as_ref().map(|e| &e.windows),
            "topTags": self.top_tags(tag_names, 10),
            "dj": self.dj.as_ref().map(dj_json),
            "introEmbedding": self.embedding.as_ref().and_then(|e| e.intro.as_ref()),
            "outroEmbedding": self.embedding.as_ref().and_then(|e| e.outro.as_ref()),
            "damage": self.damage.map(|d| json!({
                "skippedSec": round_to(d.skipped_sec, 2),
                "firstAtSec": round_to(d.first_at_sec, 2),
                "endsEarly": d.ends_early,
            })),
        })
    }

    /// The `limit` most probable tags, best first, as `[{"name", "p"}]`.
    pub fn top_tags(&self, tag_names: &[String], limit: usize) -> Value {
        let Some(e) = &self.embedding else { return Value::Null };
        if e.tags.is_empty() || tag_names.len() != e.tags.len() {
            return Value::Null;
        }
        let mut ranked: Vec<(usize, f32)> = e.tags.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Value::Array(
            ranked
                .into_iter()
                .take(limit)
                .map(|(i, p)| json!({"name": tag_names[i], "p": round_to(f64::from(p), 4)}))
                .collect(),
        )
    }
}

/// The DJ features' JSON: rounded the way a person reads them.
fn dj_json(dj: &DjFeatures) -> Value {
    let r = |v: f32, d: i32| round_to(f64::from(v), d);
    let section = |s: &crate::features::dj::Section| {
        json!({
            "startSec": r(s.start_sec, 3),
            "endSec": r(s.end_sec, 3),
            "bars": s.bars,
            "boundary": s.boundary,
            "mixability": r(s.mixability, 3),
            "lowShare": r(s.low_share, 3),
            "vocalPresence": r(s.vocal_presence, 3),
            "energy": r(s.energy, 2),
        })
    };
    json!({
        "energy": r(dj.energy, 2),
        "lowEnd": {"sub": r(dj.low_end.sub, 4), "bass": r(dj.low_end.bass, 4), "lowMid": r(dj.low_end.low_mid, 4)},
        "onsetDensity": r(dj.onset_density, 3),
        "brightnessHz": r(dj.brightness_hz, 1),
        "vocalPresence": r(dj.vocal_presence, 3),
        "percussiveRatio": r(dj.percussive_ratio, 3),
        "firstDownbeatSec": dj.first_downbeat_sec.map(|s| r(s, 3)),
        "intro": dj.intro.as_ref().map(section),
        "outro": dj.outro.as_ref().map(section),
    })
}

fn round_to(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Metadata a person brought in for a track (e.g. genre and tags from a Bandcamp CSV), kept
/// beside the file's own tags: Selecta never writes the user's files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMetadata {
    /// Genre.
    pub genre: Option<String>,
    /// Subgenre.
    pub subgenre: Option<String>,
    /// Free tags, in order.
    pub tags: Vec<String>,
    /// Where it came from (`bandcamp`).
    pub source: String,
}

/// Path-index entry: a file of the library as last seen (`selection_path_index.db`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathEntry {
    /// Normalised key of the path (relative to the library root, `/`-separated).
    pub path_key: String,
    /// Path relative to the library root, as found.
    pub file_path: String,
    /// File size in bytes.
    pub size: u64,
    /// Modification time, ms since the Unix epoch.
    pub mtime_ms: i64,
    /// Song the file decodes to.
    pub song_id: String,
    /// SHA-256 of the file bytes.
    pub file_hash: String,
}

/// A user's judgement of one track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// A positive sample.
    Liked,
    /// A negative sample (the only source of negatives: neutral tracks are never sampled).
    Disliked,
    /// No judgement: stored as the absence of a row.
    Neutral,
}

impl Label {
    /// Parse `liked`, `disliked` or `neutral` (also `like`, `dislike`, `none`, `clear`). An
    /// empty string is no label at all, not a request to clear one: `None`.
    pub fn parse(s: &str) -> Option<Label> {
        match s.trim().to_ascii_lowercase().as_str() {
            "liked" | "like" | "1" | "+" => Some(Label::Liked),
            "disliked" | "dislike" | "0" | "-" => Some(Label::Disliked),
            "neutral" | "none" | "clear" => Some(Label::Neutral),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Liked => "liked",
            Label::Disliked => "disliked",
            Label::Neutral => "neutral",
        }
    }
}
