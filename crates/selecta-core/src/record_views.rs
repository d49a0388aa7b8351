//! What the search index reads of an encoded record ([`crate::record::SongFeatures::to_bytes`]) when it
//! prepares a track's rows from the store's bytes: the timbre statistics and the embedding's
//! vector, tags, intro and outro. The encoding is read in its own layout, field by field as
//! [`crate::record::SongFeatures`] lays it out up to its embedding, but strings are borrowed from the bytes
//! and the fields the search does not read are walked over without being kept: a full decode
//! is two dozen allocations, and a search at 50 000 tracks decodes a few hundred records.
//! A test checks the layout against the full decode on records with every field filled.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use crate::embed::{SamplingProfile, Window};
use crate::error::StoreError;
use crate::features::{BpmAlternative, Key};
use crate::record::RECORD_DECODE_LIMIT;
#[cfg(test)]
use crate::record::SongFeatures;

/// The search's views of a record, raw (as stored).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct RecordViews {
    pub(crate) timbre: Option<Vec<f32>>,
    /// The track embedding, its tag probabilities, intro and outro, when it has one.
    pub(crate) embedding: Option<EmbeddingViews>,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub(crate) struct EmbeddingViews {
    pub(crate) vector: Vec<f32>,
    pub(crate) tags: Vec<f32>,
    pub(crate) intro: Option<Vec<f32>>,
    pub(crate) outro: Option<Vec<f32>>,
}

impl RecordViews {
    /// The views of an encoded record.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        Self::read::<Option<Vec<f32>>>(bytes, |kept| kept)
    }

    /// [`RecordViews::from_bytes`] without the intro and outro, which a similar-track search
    /// does not read (a fifth of a record's decoding).
    pub(crate) fn without_transitions(bytes: &[u8]) -> Result<Self, StoreError> {
        Self::read::<Option<Skipped<f32>>>(bytes, |_| None)
    }

    /// The views, the intro and outro read as `T` and kept as `keep` says.
    fn read<'a, T: Deserialize<'a>>(bytes: &'a [u8], keep: impl Fn(T) -> Option<Vec<f32>>) -> Result<Self, StoreError> {
        let layout: Layout<'_, T> = decode(bytes)?;
        Ok(Self {
            timbre: layout.timbre,
            embedding: layout.embedding.map(|e| EmbeddingViews {
                vector: e.vector,
                tags: e.tags,
                intro: keep(e.intro),
                outro: keep(e.outro),
            }),
        })
    }

    /// The same views of a decoded record.
    #[cfg(test)]
    pub(crate) fn of(features: &SongFeatures) -> Self {
        Self {
            timbre: features.timbre.clone(),
            embedding: features.embedding.as_ref().map(|e| EmbeddingViews {
                vector: e.vector.clone(),
                tags: e.tags.clone(),
                intro: e.intro.clone(),
                outro: e.outro.clone(),
            }),
        }
    }
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, StoreError> {
    let config = bincode::config::standard().with_limit::<RECORD_DECODE_LIMIT>();
    bincode::serde::borrow_decode_from_slice(bytes, config)
        .map(|(layout, _)| layout)
        .map_err(|e| StoreError::Corrupt(format!("track record: {e}")))
}

/// [`crate::record::SongFeatures`]' encoding up to its embedding, its intro and outro read as `T`.
#[derive(Deserialize)]
#[allow(dead_code)] // Fields walked over to reach the next, never read.
struct Layout<'a, T> {
    song_id: &'a str,
    file_hash: &'a str,
    analysis_version: u32,
    duration_sec: f64,
    sample_rate: u32,
    channels: u16,
    bitrate_kbps: f64,
    bpm: Option<f32>,
    bpm_confidence: Option<f32>,
    bpm_alternatives: Skipped<BpmAlternative>,
    key: Option<Key>,
    key_strength: Option<f32>,
    rms_mean: f32,
    loudness_lufs: Option<f64>,
    hpcp: Option<Skipped<f32>>,
    #[serde(borrow)]
    chromaprint: Option<PrintLayout<'a>>,
    #[serde(borrow)]
    metadata: TagsLayout<'a>,
    timbre: Option<Vec<f32>>,
    #[serde(borrow)]
    embedding: Option<EmbeddingLayout<'a, T>>,
}

/// [`crate::features::Fingerprint`]'s encoding (its whole-track print is not in it).
#[derive(Deserialize)]
#[allow(dead_code)]
struct PrintLayout<'a> {
    raw: Skipped<u32>,
    encoded: &'a str,
    simhash: u64,
}

/// [`crate::audio::Tags`]' encoding.
#[derive(Deserialize)]
#[allow(dead_code)]
struct TagsLayout<'a> {
    title: Option<&'a str>,
    artist: Option<&'a str>,
    album: Option<&'a str>,
    genre: Option<&'a str>,
    year: Option<i32>,
    comment: Option<&'a str>,
}

/// [`crate::embed::TrackEmbedding`]'s encoding.
#[derive(Deserialize)]
#[allow(dead_code)]
struct EmbeddingLayout<'a, T> {
    model_version: &'a str,
    profile: SamplingProfile,
    vector: Vec<f32>,
    tags: Vec<f32>,
    windows: Skipped<Window>,
    intro: T,
    outro: T,
}

/// A sequence walked over, nothing kept.
struct Skipped<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Skipped<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Walk<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Walk<T> {
            type Value = Skipped<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skipped<T>, A::Error> {
                while seq.next_element::<T>()?.is_some() {}
                Ok(Skipped(PhantomData))
            }
        }
        deserializer.deserialize_seq(Walk(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{Damage, Tags};
    use crate::features::Fingerprint;
    use crate::testkit::synth_library::SyntheticLibrary;

    /// Every field the layout walks over filled, so that a field added to the record before
    /// the embedding, or a changed type, shifts what the layout reads and fails here.
    #[test]
    fn the_layout_reads_what_the_full_decode_does() {
        let lib = SyntheticLibrary::new(3, 9);
        for i in 0..12 {
            let mut f = lib.track(i);
            f.chromaprint = Some(Fingerprint {
                raw: (0..300).map(|k| k * 7 + i as u32).collect(),
                encoded: "AQAAb0mUaEkSRZEGAAAAAAAAAA".into(),
                simhash: 0xdead_beef,
                track: (0..50).collect(),
            });
            f.metadata = Tags {
                title: Some("Fête & <Co> 🎛".into()),
                artist: Some("A".into()),
                album: None,
                genre: Some("House".into()),
                year: Some(1999),
                comment: Some("x".repeat(i * 40)),
            };
            f.damage = Some(Damage { skipped_sec: 1.5, first_at_sec: 3.0, ends_early: false });
            if i % 3 == 1 {
                f.timbre = None;
                f.hpcp = None;
                f.bpm_alternatives.clear();
            }
            if i % 4 == 2 {
                f.embedding = None;
            } else if let Some(e) = f.embedding.as_mut() {
                e.windows = (0..i).map(|w| Window { start: w as f32, end: w as f32 + 3.0 }).collect();
                if i % 5 == 0 {
                    e.intro = None;
                }
            }
            let bytes = f.to_bytes().expect("encode");
            let views = RecordViews::from_bytes(&bytes).expect("views");
            assert_eq!(views, RecordViews::of(&SongFeatures::from_bytes(&bytes).expect("decode")), "record {i}");
            assert_eq!(views, RecordViews::of(&f), "record {i}");
            let searched = RecordViews::without_transitions(&bytes).expect("views");
            assert_eq!(searched.timbre, views.timbre);
            assert_eq!(searched.embedding.map(|e| (e.vector, e.tags)), views.embedding.map(|e| (e.vector, e.tags)));
        }
        assert!(RecordViews::from_bytes(&[1, 2, 3]).is_err());
    }
}
