//! Analysis of one file through the engine, in the steps every front end needs:
//! [`Engine::begin_file`] decides from the path, size and mtime alone whether the file must be
//! read (an unchanged file is answered without a byte read); a [`PendingFile`] turns the bytes
//! into a [`ProcessedFile`] — in one call, or step by step through a [`FileJob`] so that a
//! front end can report progress, yield to its event loop and stop part-way — without touching
//! the store, so many files can be processed at once on other threads; [`Engine::commit_file`]
//! stores the result. [`Engine::analyze_file`] runs the whole sequence for a caller that holds
//! the bytes and may block. [`ScanReport`] counts a folder scan's outcome.

use std::sync::{Arc, RwLock};

use serde::Serialize;
use serde_json::Value;

use super::{Engine, ModelState};
use crate::analyze::{AnalysisProgress, AnalyzeOptions, ReusableSong};
use crate::control::JobControl;
use crate::embed::Embedder;
use crate::error::{EngineError, ErrorCode};
use crate::ingest::{self, Outcome, Plan, ProcessJob, Processed};
use crate::path_index::{PathIndex, path_key};
use crate::store::{PathClaim, TasteStore};

/// What a file needs, decided without reading it ([`Engine::begin_file`]).
#[derive(Debug)]
pub enum Begun {
    /// Same path, size and mtime as stored, with current features: nothing to read.
    Unchanged {
        /// The normalised path key.
        key: String,
        /// Its song.
        song_id: String,
    },
    /// The file must be read and processed.
    Pending(PendingFile),
}

/// The answer to [`Engine::claim_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Read and process the file, then commit it.
    Granted,
    /// Another call or process is analysing the file now; it will store it.
    Busy,
    /// Another process stored the file since it was planned: nothing to read.
    Unchanged {
        /// The normalised path key.
        key: String,
        /// Its song.
        song_id: String,
    },
}

/// A file to read and process. It owns what processing needs (a handle on the path index, the
/// model, the options), so it can move to another thread while the engine commits other files.
#[derive(Debug)]
pub struct PendingFile {
    path: String,
    key: String,
    size: u64,
    mtime_ms: i64,
    embed_only: bool,
    /// The song stored for this path, which new bytes there may hold ([`ingest::reusable_song`]).
    reusable: Option<ReusableSong>,
    options: AnalyzeOptions,
    index: Arc<RwLock<PathIndex>>,
    embedder: Option<Arc<Embedder>>,
}

/// A file being processed step by step ([`PendingFile::start`]).
#[derive(Debug)]
pub struct FileJob<'a> {
    file: &'a PendingFile,
    job: ProcessJob<'a>,
}

/// A processed file, ready to commit.
#[derive(Debug)]
pub struct ProcessedFile {
    path: String,
    key: String,
    size: u64,
    mtime_ms: i64,
    processed: Processed,
}

/// What committing a file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The path as the caller gave it.
    pub path: String,
    /// The normalised path key.
    pub key: String,
    /// The file's song.
    pub song_id: String,
    /// New features (or a new embedding) were stored.
    pub analyzed: bool,
    /// A new embedding was stored.
    pub embedded: bool,
    /// Inference failed while every other feature was stored.
    pub embedding_error: Option<String>,
    /// The file is damaged: what was skipped (the rest was analysed and stored).
    pub warning: Option<String>,
}

/// `analyzed` or `unchanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Features or an embedding were computed and stored.
    Analyzed,
    /// Nothing new was computed (unchanged, renamed or moved).
    Unchanged,
}

/// `analyzeFile`'s result: `{status, songId, features, embeddingError?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileResult {
    /// What happened.
    pub status: FileStatus,
    /// The file's song.
    pub song_id: String,
    /// The song's features in the public JSON shape.
    pub features: Option<Value>,
    /// Why the embedding is missing, when inference failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_error: Option<String>,
    /// What was skipped in a damaged file (the rest was analysed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl<S: TasteStore> Engine<S> {
    /// Decide what the file at `path` (relative to the library) needs from its size and mtime
    /// alone. A size over the limit is refused before a byte is read.
    pub fn begin_file(&self, path: &str, size: u64, mtime_ms: i64) -> Result<Begun, EngineError> {
        let options = AnalyzeOptions { profile: self.profile, ..AnalyzeOptions::default() };
        options.limits.check_size(size).map_err(|e| EngineError::from(e).context(path))?;
        let key = path_key(path);
        let (plan, reusable) = {
            let index = self.index()?;
            let plan = ingest::plan(&index, &key, size, mtime_ms);
            // New bytes at a known path are most often a tag edit of the song stored there.
            // A stored record that cannot be read only costs the shortcut: the file is analysed
            // in full and its record written again.
            let reusable = match plan {
                Plan::Analyse => ingest::reusable_song(&index, &self.store, &key).unwrap_or_else(|e| {
                    tracing::warn!(key = ?key, "the stored song of a changed file could not be read: {e}");
                    None
                }),
                _ => None,
            };
            (plan, reusable)
        };
        Ok(match plan {
            Plan::Unchanged { song_id } => Begun::Unchanged { key, song_id },
            Plan::EmbedOnly | Plan::Analyse => Begun::Pending(PendingFile {
                path: path.to_string(),
                key,
                size,
                mtime_ms,
                embed_only: plan == Plan::EmbedOnly,
                reusable,
                options,
                index: Arc::clone(&self.index),
                embedder: self.embedder.clone(),
            }),
        })
    }

    /// Answer an unchanged file: mark its path seen and return its stored features.
    pub fn unchanged_file(&mut self, key: &str, song_id: &str, now_ms: i64) -> Result<FileResult, EngineError> {
        self.touch_paths(std::slice::from_ref(&key.to_string()), now_ms)?;
        Ok(FileResult {
            status: FileStatus::Unchanged,
            song_id: song_id.to_string(),
            features: self.song_json(song_id, Some(key))?,
            embedding_error: None,
            warning: None,
        })
    }

    /// Claim a pending file for this engine before reading it, so that a file is decoded once
    /// however many calls and processes analyse the library at the same time:
    /// - `Busy` when another call of this engine or another process is analysing it (that one
    ///   stores it);
    /// - `Unchanged` when another process stored it since this one planned it;
    /// - `Granted` otherwise: process it, then [`Engine::commit_file`] gives the claim back —
    ///   or [`Engine::release_file`] when the processing failed or stopped.
    pub fn claim_file(&mut self, file: &PendingFile, now_ms: i64) -> Result<Claim, EngineError> {
        if self.claimed.contains(&file.key) {
            return Ok(Claim::Busy);
        }
        if self.store.claim_path(&file.key, now_ms).map_err(|e| EngineError::from(e).context(&file.path))?
            == PathClaim::HeldElsewhere
        {
            return Ok(Claim::Busy);
        }
        self.claimed.insert(file.key.clone());
        match self.stored_since(file) {
            Ok(Some(song_id)) => {
                self.release_file(&file.key)?;
                Ok(Claim::Unchanged { key: file.key.clone(), song_id })
            }
            Ok(None) => Ok(Claim::Granted),
            Err(e) => {
                self.release_file(&file.key)?;
                Err(e.context(&file.path))
            }
        }
    }

    /// The file's song when the store now holds it unchanged with current features (another
    /// process committed it after this engine loaded its index); the index learns it.
    fn stored_since(&mut self, file: &PendingFile) -> Result<Option<String>, EngineError> {
        let Some(entry) = self.store.path_entry(&file.key)? else { return Ok(None) };
        if entry.size != file.size || entry.mtime_ms != file.mtime_ms {
            return Ok(None);
        }
        let Some(song) = self.store.song_features(&entry.song_id)? else { return Ok(None) };
        if song.analysis_version != crate::analyze::ANALYSIS_VERSION {
            return Ok(None);
        }
        let mut index = self.index_mut()?;
        index.note_file(&entry, song.embedding.as_ref().map(|e| (e.model_version.as_str(), e.profile)));
        Ok(match ingest::plan(&index, &file.key, file.size, file.mtime_ms) {
            Plan::Unchanged { song_id } => Some(song_id),
            Plan::EmbedOnly | Plan::Analyse => None,
        })
    }

    /// Give back the claim on a path key ([`Engine::claim_file`]) without committing.
    pub fn release_file(&mut self, key: &str) -> Result<(), EngineError> {
        self.claimed.remove(key);
        Ok(self.store.release_path(key)?)
    }

    /// Forget library paths whose files are gone (deleted, or moved away: the new place is
    /// analysed as a file with known bytes). A path names a file or a folder (every file under
    /// it goes). Returns the paths forgotten, sorted; the songs' features and labels stay.
    pub fn forget_paths(&mut self, relative_paths: &[String]) -> Result<Vec<String>, EngineError> {
        let wanted: Vec<String> = relative_paths.iter().map(|p| path_key(p)).filter(|k| !k.is_empty()).collect();
        let mut gone: Vec<(String, String)> = self
            .store
            .path_entries()?
            .into_iter()
            .filter(|e| {
                wanted.iter().any(|w| {
                    e.path_key == *w || e.path_key.strip_prefix(w.as_str()).is_some_and(|r| r.starts_with('/'))
                })
            })
            .map(|e| (e.path_key, e.file_path))
            .collect();
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        gone.sort();
        let keys: Vec<String> = gone.iter().map(|(k, _)| k.clone()).collect();
        self.store.remove_path_entries(&keys)?;
        self.reload_index()?;
        // Search results carry paths.
        self.features_changed();
        Ok(gone.into_iter().map(|(_, path)| path).collect())
    }

    /// Mark path keys as seen now (one transaction), so the clean-up policy keeps them.
    pub fn touch_paths(&mut self, keys: &[String], now_ms: i64) -> Result<(), EngineError> {
        Ok(self.store.touch_path_entries(keys, now_ms)?)
    }

    /// Store a processed file and its path entry (each write atomic); later files see it.
    pub fn commit_file(&mut self, file: ProcessedFile, now_ms: i64) -> Result<Committed, EngineError> {
        let ProcessedFile { path, key, size, mtime_ms, processed } = file;
        let committed = ingest::commit(&mut self.store, &processed, &key, size, mtime_ms, now_ms)
            .map_err(|e| EngineError::from(e).context(&path));
        // Given back whether the commit worked or not: a failed commit leaves the file to the
        // next scan, of this process or another.
        let released = self.release_file(&key);
        let c = committed?;
        released?;
        tracing::debug!(key = ?key, analyzed = c.analyzed, "stored file");
        self.index_mut()?.note_file(&c.entry, processed.new_embedding());
        if c.analyzed {
            self.features_changed();
        }
        let warning = match &processed.outcome {
            Outcome::Analyzed(features) => features.damage.map(|d| d.warning()),
            Outcome::SameAudio(same) => same.damage.map(|d| d.warning()),
            _ => None,
        };
        Ok(Committed {
            path,
            key,
            song_id: c.song_id,
            analyzed: c.analyzed,
            embedded: c.embedded,
            embedding_error: processed.embedding_error.map(|e| e.to_string()),
            warning,
        })
    }

    /// The result of a committed file, with its stored features.
    pub fn file_result(&self, committed: Committed) -> Result<FileResult, EngineError> {
        Ok(FileResult {
            status: if committed.analyzed { FileStatus::Analyzed } else { FileStatus::Unchanged },
            features: self.song_json(&committed.song_id, Some(&committed.key))?,
            song_id: committed.song_id,
            embedding_error: committed.embedding_error,
            warning: committed.warning,
        })
    }

    /// Analyse one file whose bytes are in hand, start to finish: plan, process with progress
    /// and cancellation, commit. `size` defaults to the bytes' length. A cancelled analysis
    /// writes nothing.
    pub fn analyze_file(
        &mut self,
        path: &str,
        bytes: Vec<u8>,
        size: Option<u64>,
        mtime_ms: i64,
        now_ms: i64,
        control: &mut dyn JobControl,
    ) -> Result<FileResult, EngineError> {
        let size = size.unwrap_or(bytes.len() as u64);
        match self.begin_file(path, size, mtime_ms)? {
            Begun::Unchanged { key, song_id } => self.unchanged_file(&key, &song_id, now_ms),
            Begun::Pending(file) => match self.claim_file(&file, now_ms)? {
                Claim::Busy => Err(EngineError::busy(path)),
                Claim::Unchanged { key, song_id } => self.unchanged_file(&key, &song_id, now_ms),
                Claim::Granted => {
                    let processed = file.run(bytes, control).inspect_err(|_| {
                        let _ = self.release_file(file.key());
                    })?;
                    let committed = self.commit_file(processed, now_ms)?;
                    self.file_result(committed)
                }
            },
        }
    }
}

impl PendingFile {
    /// The path as the caller gave it.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The normalised path key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The file's size in bytes when it was listed.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn failed(&self, e: impl Into<EngineError>) -> EngineError {
        e.into().context(&self.path)
    }

    /// Hash the bytes and prepare the work they need, run by [`FileJob::step`].
    pub fn start(&self, bytes: Vec<u8>) -> Result<FileJob<'_>, EngineError> {
        let index = self
            .index
            .read()
            .map_err(|_| EngineError::new(ErrorCode::InternalError, "the path index lock is poisoned"))?;
        // Events a person (or a test) can count: each file is read once per library however
        // many processes share it (`SELECTA_LOG=selecta_core::engine=debug`).
        tracing::debug!(key = ?self.key, "reading file");
        let name = self.path.rsplit(['/', '\\']).next();
        let job = ingest::start(
            &index,
            self.reusable.clone(),
            bytes,
            name,
            self.embed_only,
            &self.options,
            self.embedder.as_deref(),
        )
        .map_err(|e| self.failed(e))?;
        Ok(FileJob { file: self, job })
    }

    /// Process the bytes to the end, reporting progress and stopping (with `cancelled`, nothing
    /// written) when `control` asks between two steps.
    ///
    /// A panic while processing becomes this file's `invalid_input` error where panics unwind
    /// (native builds; see [`catch_panic`]).
    pub fn run(&self, bytes: Vec<u8>, control: &mut dyn JobControl) -> Result<ProcessedFile, EngineError> {
        catch_panic(|| {
            let mut job = self.start(bytes)?;
            loop {
                if let Some(done) = job.run_until(control, &mut || false)? {
                    return Ok(done);
                }
            }
        })
        .unwrap_or_else(|what| {
            Err(self.failed(EngineError::new(
                ErrorCode::InvalidInput,
                format!("the decoder failed on this file's damaged data ({what})"),
            )))
        })
    }
}

/// Run `steps`, or the message of the panic that stopped them, so that a batch goes on and no
/// worker is lost. The decoders are third-party code that has asserted on damaged input before
/// (symphonia on Ogg Vorbis setup headers, now checked before it reads them); wasm32 aborts on a
/// panic instead, so the checks in front of the decoders are what protect it.
fn catch_panic<T>(steps: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(steps)).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    })
}

impl FileJob<'_> {
    /// Where the job stands (`percent` covers the whole file).
    pub fn progress(&self) -> AnalysisProgress {
        self.job.progress()
    }

    /// Run steps, reporting progress, until the file is processed (`Some`) or `pause` asks to
    /// hand control back (`None`: call again later, e.g. after the event loop ran). Stops with
    /// `cancelled` when `control` asks, checked before the first step and after each.
    pub fn run_until(
        &mut self,
        control: &mut dyn JobControl,
        pause: &mut dyn FnMut() -> bool,
    ) -> Result<Option<ProcessedFile>, EngineError> {
        loop {
            if control.is_cancelled() {
                return Err(EngineError::cancelled(&self.file.path));
            }
            if let Some(done) = self.step()? {
                return Ok(Some(done));
            }
            control.progress(self.progress());
            if pause() {
                return Ok(None);
            }
        }
    }

    /// Do one bounded piece of work (a few seconds of audio, or one model patch); the
    /// processed file once the last piece is done.
    pub fn step(&mut self) -> Result<Option<ProcessedFile>, EngineError> {
        let Some(processed) = self.job.step().map_err(|e| self.file.failed(e))? else { return Ok(None) };
        let f = self.file;
        Ok(Some(ProcessedFile {
            path: f.path.clone(),
            key: f.key.clone(),
            size: f.size,
            mtime_ms: f.mtime_ms,
            processed,
        }))
    }
}

/// One file a scan could not analyse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFailure {
    /// The file.
    pub path: String,
    /// Why, in words.
    pub error: String,
}

/// A file analysed in part (`warnings` in a scan report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileWarning {
    /// The file.
    pub path: String,
    /// What was skipped, in words.
    pub warning: String,
}

/// The embedding's part of a scan report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddingReport {
    /// The model's state.
    #[serde(flatten)]
    pub model: ModelState,
    /// Tracks whose embedding was (re)computed in this scan.
    pub embedded: usize,
}

/// What a folder scan did (`selecta analyze --json`): moved and renamed files count as
/// `unchanged`; files whose embedding alone was recomputed count as `analyzed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanReport {
    /// Audio files found.
    pub scanned: usize,
    /// Files whose features or embedding were computed.
    pub analyzed: usize,
    /// Files with nothing new.
    pub unchanged: usize,
    /// Files another process was analysing during this scan (that process stores them).
    #[serde(rename = "analyzingElsewhere")]
    pub elsewhere: usize,
    /// Files that could not be analysed, sorted by path.
    pub failed: Vec<FileFailure>,
    /// Damaged files analysed from what could be decoded, sorted by path.
    pub warnings: Vec<FileWarning>,
    /// The embedding model in this scan.
    pub embedding: EmbeddingReport,
}

impl ScanReport {
    /// An empty report for `scanned` files.
    pub fn new(scanned: usize, model: ModelState) -> Self {
        Self {
            scanned,
            analyzed: 0,
            unchanged: 0,
            elsewhere: 0,
            failed: Vec::new(),
            warnings: Vec::new(),
            embedding: EmbeddingReport { model, embedded: 0 },
        }
    }

    /// Plan one file of the scan from its path relative to the library and its size and mtime
    /// (or why they could not be read): an unchanged file is counted and its key kept for
    /// [`Engine::touch_paths`], a failure is recorded under `display_path`; a file to read is
    /// returned.
    pub fn begin<S: TasteStore>(
        &mut self,
        engine: &Engine<S>,
        display_path: &str,
        file: Result<(String, u64, i64), String>,
        unchanged_keys: &mut Vec<String>,
    ) -> Option<PendingFile> {
        let begun = file.and_then(|(relative, size, mtime)| {
            engine.begin_file(&relative, size, mtime).map_err(|e| e.reason().to_string())
        });
        match begun {
            Ok(Begun::Unchanged { key, .. }) => {
                unchanged_keys.push(key);
                self.unchanged += 1;
                None
            }
            Ok(Begun::Pending(file)) => Some(file),
            Err(error) => {
                self.add_failure(display_path, error);
                None
            }
        }
    }

    /// Claim a file of the scan for this process ([`Engine::claim_file`]): `true` when it is to
    /// be read; otherwise it is counted (unchanged, or analysed elsewhere) or recorded as failed.
    pub fn claim<S: TasteStore>(
        &mut self,
        engine: &mut Engine<S>,
        display_path: &str,
        file: &PendingFile,
        unchanged_keys: &mut Vec<String>,
        now_ms: i64,
    ) -> bool {
        match engine.claim_file(file, now_ms) {
            Ok(Claim::Granted) => return true,
            Ok(Claim::Busy) => self.elsewhere += 1,
            Ok(Claim::Unchanged { key, .. }) => {
                unchanged_keys.push(key);
                self.unchanged += 1;
            }
            Err(e) => self.add_failure(display_path, e.reason()),
        }
        false
    }

    /// A file that failed.
    pub fn add_failure(&mut self, path: impl Into<String>, error: impl std::fmt::Display) {
        self.failed.push(FileFailure { path: path.into(), error: error.to_string() });
    }

    /// A committed file.
    pub fn add_committed(&mut self, c: &Committed) {
        if c.analyzed {
            self.analyzed += 1;
        } else {
            self.unchanged += 1;
        }
        if c.embedded {
            self.embedding.embedded += 1;
        }
        if let Some(warning) = &c.warning {
            tracing::warn!("{}: {warning}", c.path);
            self.warnings.push(FileWarning { path: c.path.clone(), warning: warning.clone() });
        }
        if let Some(e) = &c.embedding_error {
            tracing::warn!("{}: {e}", c.path);
            self.embedding.model.error.get_or_insert_with(|| e.clone());
        }
    }

    /// Sort the failures by path.
    pub fn finish(mut self) -> Self {
        self.failed.sort_by(|a, b| a.path.cmp(&b.path));
        self.warnings.sort_by(|a, b| a.path.cmp(&b.path));
        self
    }
}

/// The summary a person reads: counts, then one line per failure.
impl std::fmt::Display for ScanReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} files: {} analysed, {} unchanged, {} failed",
            self.scanned,
            self.analyzed,
            self.unchanged,
            self.failed.len()
        )?;
        if self.elsewhere > 0 {
            write!(f, ", {} analysed by another process at the same time", self.elsewhere)?;
        }
        if !self.warnings.is_empty() {
            write!(f, ", {} damaged", self.warnings.len())?;
        }
        for warning in &self.warnings {
            write!(f, "\n  damaged: {}: {}", warning.path, warning.warning)?;
        }
        for failure in &self.failed {
            write!(f, "\n  failed: {}: {}", failure.path, failure.error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_the_steps_is_caught_with_its_message() {
        assert_eq!(catch_panic(|| 7), Ok(7));
        let fixed: Result<(), String> = catch_panic(|| panic!("assertion failed: value.pow(dims) <= entries"));
        assert_eq!(fixed, Err("assertion failed: value.pow(dims) <= entries".to_string()));
        let formatted: Result<(), String> = catch_panic(|| panic!("index {} out of range", 9));
        assert_eq!(formatted, Err("index 9 out of range".to_string()));
    }
}
