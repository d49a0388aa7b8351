//! One file through the incremental ingest (the engine drives it for every front end): [`plan`]
//! decides from the path index whether the file needs reading, [`start`] and
//! [`ProcessJob::step`] turn its bytes into an [`Outcome`] in bounded steps without touching
//! the store (a file whose bytes are known reuses its song; a song missing the wanted embedding
//! is only embedded; new bytes at a known path that decode to the stored song's audio reuse its
//! features), and [`commit`] writes the outcome and the path entry.

use crate::analyze::{
    AnalysisJob, AnalysisPhase, AnalysisProgress, AnalyzeOptions, JobOutput, ReusableSong, SameAudio, Want,
    bitrate_kbps,
};
use crate::embed::{EmbedError, Embedder, SamplingProfile, TrackEmbedding};
use crate::error::{AnalysisError, StoreError};
use crate::hash::sha256_hex;
use crate::path_index::PathIndex;
use crate::record::{PathEntry, SongFeatures};
use crate::store::{Store, TasteStore};
use crate::taste::{upsert_embedding, upsert_song_features};

/// What a file needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Same path, size and mtime, current features and embedding: nothing to read.
    Unchanged {
        /// Its song.
        song_id: String,
    },
    /// Unchanged, but its embedding is missing or from another model or profile.
    EmbedOnly,
    /// New or changed: read, hash, analyse.
    Analyse,
}

/// Decide from the index alone (no reading).
pub fn plan(index: &PathIndex, path_key: &str, size: u64, mtime_ms: i64) -> Plan {
    match index.unchanged(path_key, size, mtime_ms) {
        Some(entry) if index.needs_embedding(&entry.song_id) => Plan::EmbedOnly,
        Some(entry) => Plan::Unchanged { song_id: entry.song_id.to_string() },
        None => Plan::Analyse,
    }
}

/// What processing a file produced.
#[derive(Debug)]
pub enum Outcome {
    /// New features.
    Analyzed(Box<SongFeatures>),
    /// Known bytes; only the embedding was computed (or is unavailable: silent audio).
    Embedded {
        /// Its song.
        song_id: String,
        /// The new embedding.
        embedding: Option<Box<TrackEmbedding>>,
    },
    /// Known bytes with current features: nothing new.
    Known {
        /// Its song.
        song_id: String,
    },
    /// New bytes holding the audio of a song with current features (a tag edit): its stored
    /// features take the file's tags, hash and size.
    SameAudio(Box<SameAudio>),
}

/// The song stored for `path_key` whose features and embedding are current, as the hint that
/// lets new bytes there (most often a tag edit) reuse them ([`AnalysisJob::reusing_features_of`]).
pub fn reusable_song<S: Store + ?Sized>(
    index: &PathIndex,
    store: &S,
    path_key: &str,
) -> Result<Option<ReusableSong>, StoreError> {
    let Some(song_id) =
        index.entry(path_key).map(|e| &e.song_id).filter(|&s| index.is_current(s) && !index.needs_embedding(s))
    else {
        return Ok(None);
    };
    let stored = store.song_features(song_id)?;
    Ok(stored.filter(|f| f.analysis_version == crate::ANALYSIS_VERSION).map(|f| ReusableSong::of(&f)))
}

/// A processed file.
#[derive(Debug)]
pub struct Processed {
    /// SHA-256 of the bytes.
    pub file_hash: String,
    /// The result.
    pub outcome: Outcome,
    /// Inference failed while the other features were computed.
    pub embedding_error: Option<EmbedError>,
}

impl Processed {
    /// Model version and profile of the embedding a commit will store, if any.
    pub fn new_embedding(&self) -> Option<(&str, SamplingProfile)> {
        let embedding = match &self.outcome {
            Outcome::Analyzed(features) => features.embedding.as_ref(),
            Outcome::Embedded { embedding, .. } => embedding.as_deref(),
            Outcome::Known { .. } | Outcome::SameAudio(_) => None,
        }?;
        Some((embedding.model_version.as_str(), embedding.profile))
    }
}

/// Hash a file's bytes and prepare what it needs — nothing (known bytes with current features),
/// only the embedding, or the whole analysis — as a job run in bounded steps
/// ([`ProcessJob::step`]) so that callers can report progress and stop a file part-way.
/// `embed_only` comes from [`Plan::EmbedOnly`]; `reusable` is the song stored for the file's
/// path when new bytes there may hold its audio ([`reusable_song`]). No store access: safe to
/// run on many threads with a shared index.
pub fn start<'e>(
    index: &PathIndex,
    reusable: Option<ReusableSong>,
    bytes: Vec<u8>,
    file_name: Option<&str>,
    embed_only: bool,
    options: &AnalyzeOptions,
    embedder: Option<&'e Embedder>,
) -> Result<ProcessJob<'e>, AnalysisError> {
    options.limits.check_size(bytes.len() as u64)?;
    let file_hash = sha256_hex(&bytes);
    let work = match index.song_for_file_hash(&file_hash).map(str::to_string) {
        Some(song_id) => match embedder.filter(|_| embed_only || index.needs_embedding(&song_id)) {
            None => Work::Known(song_id),
            Some(model) => Work::Embed {
                song_id,
                job: AnalysisJob::with_file_hash(
                    bytes,
                    file_hash.clone(),
                    file_name,
                    options,
                    Some(model),
                    Want::EmbeddingOnly,
                )?,
            },
        },
        None => {
            let job =
                AnalysisJob::with_file_hash(bytes, file_hash.clone(), file_name, options, embedder, Want::Everything)?;
            match reusable {
                Some(song) => Work::Analyse(job.reusing_features_of(song)),
                None => Work::Analyse(job),
            }
        }
    };
    Ok(ProcessJob { file_hash, work: Some(work) })
}

/// A file being processed ([`start`]).
#[derive(Debug)]
pub struct ProcessJob<'e> {
    file_hash: String,
    /// `None` once finished.
    work: Option<Work<'e>>,
}

#[derive(Debug)]
enum Work<'e> {
    /// Known bytes with current features.
    Known(String),
    /// Known bytes of a song missing the wanted embedding.
    Embed { song_id: String, job: AnalysisJob<'e> },
    /// New bytes.
    Analyse(AnalysisJob<'e>),
}

impl ProcessJob<'_> {
    /// Where the job stands.
    pub fn progress(&self) -> AnalysisProgress {
        match &self.work {
            Some(Work::Embed { job, .. } | Work::Analyse(job)) => job.progress(),
            Some(Work::Known(_)) => AnalysisProgress { phase: AnalysisPhase::Decode, percent: 0 },
            None => AnalysisProgress { phase: AnalysisPhase::Decode, percent: 100 },
        }
    }

    /// Do one bounded piece of work; the result once the last piece is done.
    pub fn step(&mut self) -> Result<Option<Processed>, AnalysisError> {
        let (outcome, embedding_error) = match self.work.take() {
            None => return Err(AnalysisError::Feature("the file was already processed".into())),
            Some(Work::Known(song_id)) => (Outcome::Known { song_id }, None),
            Some(Work::Embed { song_id, mut job }) => match job.step()? {
                None => {
                    self.work = Some(Work::Embed { song_id, job });
                    return Ok(None);
                }
                Some(JobOutput::Embedding { embedding, .. }) => {
                    (Outcome::Embedded { song_id, embedding: embedding.map(Box::new) }, None)
                }
                Some(JobOutput::Analysis(a)) => {
                    (Outcome::Embedded { song_id, embedding: a.features.embedding.map(Box::new) }, None)
                }
                Some(_) => return Err(AnalysisError::Feature("the embedding job produced no embedding".into())),
            },
            Some(Work::Analyse(mut job)) => match job.step()? {
                None => {
                    self.work = Some(Work::Analyse(job));
                    return Ok(None);
                }
                Some(JobOutput::Analysis(a)) => (Outcome::Analyzed(Box::new(a.features)), a.embedding_error),
                Some(JobOutput::SameAudio(same)) => (Outcome::SameAudio(same), None),
                Some(_) => return Err(AnalysisError::Feature("the analysis produced no features".into())),
            },
        };
        Ok(Some(Processed { file_hash: self.file_hash.clone(), outcome, embedding_error }))
    }

    /// Run every remaining step.
    pub fn run(mut self) -> Result<Processed, AnalysisError> {
        loop {
            if let Some(processed) = self.step()? {
                return Ok(processed);
            }
        }
    }
}

/// What a commit wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The file's song.
    pub song_id: String,
    /// New features were stored.
    pub analyzed: bool,
    /// A new embedding was stored.
    pub embedded: bool,
    /// The path entry written.
    pub entry: PathEntry,
}

/// Store a processed file (through the taste API, so caches and counters stay right) and its
/// path entry `path_key` (size, mtime), each write atomic.
pub fn commit<S: TasteStore + ?Sized>(
    store: &mut S,
    processed: &Processed,
    path_key: &str,
    size: u64,
    mtime_ms: i64,
    now_ms: i64,
) -> Result<Committed, StoreError> {
    let (song_id, analyzed, embedded) = match &processed.outcome {
        Outcome::Analyzed(features) => {
            upsert_song_features(store, features, now_ms)?;
            (features.song_id.clone(), true, features.embedding.is_some())
        }
        Outcome::Embedded { song_id, embedding } => {
            if let Some(e) = embedding {
                upsert_embedding(store, song_id, e, now_ms)?;
            }
            (song_id.clone(), true, embedding.is_some())
        }
        Outcome::Known { song_id } => (song_id.clone(), false, false),
        Outcome::SameAudio(same) => {
            let mut features = store.song_features(&same.song_id)?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the stored features of song {} went missing during the scan",
                    same.song_id
                ))
            })?;
            features.file_hash.clone_from(&processed.file_hash);
            features.metadata = same.metadata.clone();
            features.damage = same.damage;
            features.bitrate_kbps = bitrate_kbps(same.file_size, features.duration_sec);
            upsert_song_features(store, &features, now_ms)?;
            (same.song_id.clone(), true, false)
        }
    };
    let entry = PathEntry {
        path_key: path_key.to_string(),
        file_path: path_key.to_string(),
        size,
        mtime_ms,
        song_id: song_id.clone(),
        file_hash: processed.file_hash.clone(),
    };
    store.put_path_entry(&entry, now_ms)?;
    Ok(Committed { song_id, analyzed, embedded, entry })
}
