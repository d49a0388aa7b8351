//! Search by audio through the engine: "which of my tracks is this recording?" (snippet
//! identification against the fingerprint index) and "what in my library sounds like it?".
//!
//! The audio is analysed by an [`AudioAnalyzer`], which holds no borrow of the engine and can
//! run on any thread while the engine answers other calls; the engine then answers the
//! analysed [`AudioQuery`] from its indexes, which are built on first use and dropped whenever
//! stored features change.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Engine;
use super::similar::{SimilarItem, SimilarOptions};
use crate::analyze::{AnalyzeOptions, analyze_bytes, decode_mono};
use crate::embed::Embedder;
use crate::error::{EngineError, ErrorCode};
use crate::features::fingerprint::{SUB_FINGERPRINT_SECONDS, raw_print};
use crate::record::SongFeatures;
use crate::retrieval::identify::{SPEEDS, library_stamp};
use crate::retrieval::{PrintIndex, PrintMatch, QueryPrint, track_view};
use crate::store::TasteStore;

/// The store's name of the kept fingerprint index.
pub const PRINT_INDEX_FILE: &str = "fingerprints";

/// Candidates an identification returns besides the best.
pub const IDENTIFY_CANDIDATES: usize = 5;

/// Where the fingerprint index of an `index` call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexSource {
    /// Already in memory.
    Memory,
    /// Read back from the kept file.
    KeptFile,
    /// Built from the stored prints (and kept).
    Built,
}

/// `index stats` / `index rebuild`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintIndexStats {
    /// Tracks with a whole-track print.
    pub tracks: usize,
    /// Postings (indexed positions).
    pub postings: usize,
    /// Bytes the index holds in memory.
    pub memory_bytes: usize,
    /// Where it came from.
    pub source: IndexSource,
}

/// Analyses query audio away from the engine ([`Engine::audio_analyzer`]).
#[derive(Debug, Clone)]
pub struct AudioAnalyzer {
    options: AnalyzeOptions,
    embedder: Option<Arc<Embedder>>,
}

/// Query audio, analysed.
#[derive(Debug, Clone)]
pub struct AudioQuery {
    /// The fingerprint at every assumed playback speed.
    prints: Vec<QueryPrint>,
    /// Every feature (and the embedding when a model is loaded); `None` for identification
    /// alone.
    features: Option<Box<SongFeatures>>,
}

impl AudioQuery {
    /// The query's features, when they were computed.
    pub fn features(&self) -> Option<&SongFeatures> {
        self.features.as_deref()
    }

    /// The fingerprint at every assumed playback speed.
    pub fn prints(&self) -> &[QueryPrint] {
        &self.prints
    }
}

impl AudioAnalyzer {
    /// Fingerprint `bytes` at every assumed speed; with `everything`, also compute every
    /// feature and the embedding (what a similar-track search needs). `file_name` is a format
    /// hint only; errors name it.
    pub fn analyze(
        &self,
        bytes: Vec<u8>,
        file_name: Option<&str>,
        everything: bool,
    ) -> Result<AudioQuery, EngineError> {
        let name = file_name.unwrap_or("the audio");
        let features = if everything {
            let analysis = analyze_bytes(bytes.clone(), file_name, &self.options, self.embedder.as_deref())
                .map_err(|e| EngineError::from(e).context(name))?;
            Some(Box::new(analysis.features))
        } else {
            None
        };
        let (_, mono, rate) =
            decode_mono(bytes, file_name, &self.options).map_err(|e| EngineError::from(e).context(name))?;
        let prints = SPEEDS
            .iter()
            .map(|&speed| QueryPrint { speed, print: raw_print(&mono, (rate as f32 / speed).round() as u32) })
            .collect();
        Ok(AudioQuery { prints, features })
    }

    /// Every feature and the embedding of `bytes`, without the query fingerprints (what an
    /// upload to be described or stored needs; one decode).
    pub fn features(&self, bytes: Vec<u8>, file_name: Option<&str>) -> Result<SongFeatures, EngineError> {
        analyze_bytes(bytes, file_name, &self.options, self.embedder.as_deref())
            .map(|a| a.features)
            .map_err(|e| EngineError::from(e).context(file_name.unwrap_or("the audio")))
    }
}

/// `searchByAudio` / `identify` options: the file name (a format hint) and, for a search, the
/// similar-track options (`{name, k, bpm, halfDouble, keyCompatible, exclude, duration}`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AudioSearchOptions {
    /// The audio's file name, a format hint.
    pub name: Option<String>,
    /// How many similar tracks and which.
    #[serde(flatten)]
    pub similar: SimilarOptions,
}

impl AudioSearchOptions {
    /// Options from a JSON value (`null` for the defaults).
    pub fn from_json(value: serde_json::Value) -> Result<Self, EngineError> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value).map_err(|e| EngineError::invalid_input(format!("search-by-audio options: {e}")))
    }
}

/// Why a track was identified: the fingerprint's bit agreement and, when both have one, the
/// embedding's similarity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IdentifyParts {
    /// Share of equal fingerprint bits at the best alignment (0.5 for unrelated audio).
    pub fingerprint: f32,
    /// The embedding part of the similarity (standard deviations closer than a typical pair).
    pub embedding: Option<f32>,
}

/// A library track the audio may be.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifiedTrack {
    /// The song.
    pub id: String,
    /// A path of it in the library, if it has one.
    pub path: Option<String>,
    /// Where the audio starts in the song, in seconds.
    pub offset_sec: f64,
    /// The playback speed relative to the song (pitch and tempo together; 1.04: 4 % fast).
    pub speed: f32,
    /// The tempo stretch with the pitch kept, on top of the speed.
    pub stretch: f32,
    /// Whether the fingerprint agreement makes it the same recording.
    pub matched: bool,
    /// The evidence.
    pub parts: IdentifyParts,
}

/// `identify`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifyOutcome {
    /// Seconds of audio the query's fingerprint covers.
    pub query_seconds: f64,
    /// The track the audio is, when one matches.
    pub identified: Option<IdentifiedTrack>,
    /// The best verified candidates (the identified track first), matched or not.
    pub candidates: Vec<IdentifiedTrack>,
}

/// `searchByAudio`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioSearchOutcome {
    /// The track the audio is, when one matches (it is not repeated among the items).
    pub identified: Option<IdentifiedTrack>,
    /// The tracks most like the audio, best first.
    pub items: Vec<SimilarItem>,
}

impl<S: TasteStore> Engine<S> {
    /// An analyser of query audio with this engine's options and model, to run on any thread.
    pub fn audio_analyzer(&self) -> AudioAnalyzer {
        AudioAnalyzer {
            options: AnalyzeOptions { profile: self.profile, ..AnalyzeOptions::default() },
            embedder: self.embedder.clone(),
        }
    }

    /// `index stats`: the fingerprint index's size, and whether this call read it from the
    /// kept file (`false`: it was built, or already in memory).
    pub fn print_index_stats(&mut self) -> Result<PrintIndexStats, EngineError> {
        let loaded_before = self.prints.is_some();
        let from_file = self.load_or_build_print_index(false)?;
        let index = self.print_index()?;
        Ok(PrintIndexStats {
            tracks: index.len(),
            postings: index.postings(),
            memory_bytes: index.memory_bytes(),
            source: if loaded_before {
                IndexSource::Memory
            } else if from_file {
                IndexSource::KeptFile
            } else {
                IndexSource::Built
            },
        })
    }

    /// `index rebuild`: build the fingerprint index from the stored prints and keep it,
    /// whatever the kept file says.
    pub fn rebuild_print_index(&mut self) -> Result<PrintIndexStats, EngineError> {
        self.prints = None;
        self.load_or_build_print_index(true)?;
        let mut stats = self.print_index_stats()?;
        stats.source = IndexSource::Built;
        Ok(stats)
    }

    /// The fingerprint index: loaded on first use from the store's kept copy when that was
    /// built from the library as it is now, else built from the stored prints and kept. A
    /// damaged or stale copy is never trusted, only replaced.
    pub fn print_index(&mut self) -> Result<&PrintIndex, EngineError> {
        self.load_or_build_print_index(false)?;
        self.prints.as_ref().ok_or_else(|| EngineError::new(ErrorCode::InternalError, "fingerprint index missing"))
    }

    /// Make sure the fingerprint index is in memory (read from the kept file unless
    /// `ignore_kept`, else built and kept); whether it was read from the kept file.
    fn load_or_build_print_index(&mut self, ignore_kept: bool) -> Result<bool, EngineError> {
        if self.prints.is_some() {
            return Ok(false);
        }
        {
            let versions = self.store.song_versions()?;
            let stamp = library_stamp(&versions);
            let kept = match self.store.index_file(PRINT_INDEX_FILE)?.filter(|_| !ignore_kept) {
                Some(bytes) => PrintIndex::from_file(&bytes, &stamp).unwrap_or_else(|e| {
                    tracing::warn!("the kept fingerprint index is damaged ({e}); rebuilding it");
                    None
                }),
                None => None,
            };
            let from_file = kept.is_some();
            let index = match kept {
                Some(index) => index,
                None => {
                    let mut ids: Vec<String> = versions.into_iter().map(|v| v.song_id).collect();
                    ids.sort();
                    let store = &self.store;
                    let index = PrintIndex::build(ids, |id| store.track_print(id))?;
                    // Keeping it only saves the next process the build: a failure is not one.
                    match index.to_file(&stamp) {
                        Ok(bytes) => {
                            if let Err(e) = self.store.put_index_file(PRINT_INDEX_FILE, &bytes) {
                                tracing::warn!("cannot keep the fingerprint index: {e}");
                            }
                        }
                        Err(e) => tracing::warn!("cannot keep the fingerprint index: {e}"),
                    }
                    index
                }
            };
            self.prints = Some(index);
            Ok(from_file)
        }
    }

    /// `identify(audio)`: the library track the audio is, with where in it it starts, and the
    /// best other candidates. With the query's features (from [`AudioAnalyzer::analyze`] with
    /// `everything`), each candidate also carries its embedding similarity.
    pub fn identify(&mut self, query: &AudioQuery) -> Result<IdentifyOutcome, EngineError> {
        self.print_index()?;
        let (store, prints) = (&self.store, self.prints.as_ref());
        let matches: Vec<PrintMatch> = match prints {
            Some(index) => index.identify(&query.prints, IDENTIFY_CANDIDATES, |id| store.track_print(id))?,
            None => Vec::new(),
        };
        let searcher = self.searcher()?;
        let embedding_parts: Vec<Option<f32>> = match query.features() {
            Some(features) => {
                let view = searcher.index().prepare(&track_view(features));
                let part = |id: &str| searcher.index().score_of(&view, id).and_then(|(_, parts)| parts.embedding);
                matches.iter().map(|m| part(&m.id)).collect()
            }
            None => vec![None; matches.len()],
        };
        let paths = searcher.paths_of(matches.iter().map(|m| m.id.as_str()))?;
        let candidates: Vec<IdentifiedTrack> = matches
            .into_iter()
            .zip(embedding_parts)
            .map(|(m, embedding)| IdentifiedTrack {
                path: paths.get(&m.id).cloned(),
                offset_sec: m.offset_sec,
                speed: m.speed,
                stretch: m.stretch,
                matched: m.matched,
                parts: IdentifyParts { fingerprint: m.agreement, embedding },
                id: m.id,
            })
            .collect();
        let identified = candidates.first().filter(|c| c.matched).cloned();
        let query_seconds = query.prints.first().map_or(0.0, |q| q.print.len() as f64 * SUB_FINGERPRINT_SECONDS);
        Ok(IdentifyOutcome { query_seconds, identified, candidates })
    }

    /// `searchByAudio(audio, options)`: the track the audio is, if any, and the `k` tracks most
    /// like it that pass the filters. The query needs its features ([`AudioAnalyzer::analyze`]
    /// with `everything`).
    pub fn search_by_audio(
        &mut self,
        query: &AudioQuery,
        options: &SimilarOptions,
    ) -> Result<AudioSearchOutcome, EngineError> {
        let identified = self.identify(query)?.identified;
        let items = self.similar_to_audio(query, identified.as_ref().map(|i| i.id.as_str()), options)?;
        Ok(AudioSearchOutcome { identified, items })
    }

    /// `identify(bytes, {name})` in one call, for a front end that analyses where it answers.
    pub fn identify_bytes(
        &mut self,
        bytes: Vec<u8>,
        options: &AudioSearchOptions,
    ) -> Result<IdentifyOutcome, EngineError> {
        let query = self.audio_analyzer().analyze(bytes, options.name.as_deref(), false)?;
        self.identify(&query)
    }

    /// `searchByAudio(bytes, options)` in one call, for a front end that analyses where it
    /// answers.
    pub fn search_by_audio_bytes(
        &mut self,
        bytes: Vec<u8>,
        options: &AudioSearchOptions,
    ) -> Result<AudioSearchOutcome, EngineError> {
        let query = self.audio_analyzer().analyze(bytes, options.name.as_deref(), true)?;
        self.search_by_audio(&query, &options.similar)
    }

    /// The `k` tracks most like the audio that pass the filters, best first, leaving out
    /// `exclude` (the identified track); similarity alone, no fingerprint.
    pub fn similar_to_audio(
        &mut self,
        query: &AudioQuery,
        exclude: Option<&str>,
        options: &SimilarOptions,
    ) -> Result<Vec<SimilarItem>, EngineError> {
        let features = query
            .features()
            .ok_or_else(|| EngineError::invalid_input("a search by audio needs the audio's features"))?;
        self.searcher()?.similar_to_features(features, exclude, options)
    }
}
