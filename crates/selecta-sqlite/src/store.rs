//! [`SqliteStore`]: the [`Store`] trait on the two SQLite files of a library directory.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use selecta_core::audio::Tags;
use selecta_core::embed::{SamplingProfile, TrackEmbedding, Window};
use selecta_core::features::{Fingerprint, Key};
use selecta_core::record::UserMetadata;
use selecta_core::{PathEntry, SongFeatures, SongVersion, Store, StoreError};

use crate::blob::{blob_to_f32, blob_to_u32, f32_to_blob, u32_to_blob};
use crate::claims::{self, Owner};
use crate::migrate::{FEATURES_STEPS, LABELS_STEPS, PATH_INDEX_STEPS, migrate};

/// File name of the features database inside a library directory.
pub const FEATURES_DB: &str = "features.db";
/// File name of the path index inside a library directory.
pub const PATH_INDEX_DB: &str = "selection_path_index.db";
/// File name of the labels database inside a library directory.
pub const LABELS_DB: &str = "selection_labels.db";
/// Folder of the derived indexes inside a library directory (rebuilt when missing or damaged).
pub const INDEX_DIR: &str = "indexes";
/// Folder of the library's DJ sessions (one JSON file each).
pub const SESSION_DIR: &str = "sessions";

/// How long a statement waits for another connection's write lock before it gives up with
/// [`StoreError::Busy`]: writes are one short transaction each, so a longer wait means a
/// process is stuck, and the caller hears it instead of waiting forever.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Another connection holds the lock the statement needs.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// The same error naming the database file.
fn in_file(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Busy(m) => StoreError::Busy(format!("{}: {m}", path.display())),
        StoreError::Backend(m) => StoreError::Backend(format!("{}: {m}", path.display())),
        other => other,
    }
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    if is_busy(&e) {
        StoreError::Busy(format!(
            "another process held the library's database write lock for over {} s ({e})",
            BUSY_TIMEOUT.as_secs()
        ))
    } else {
        StoreError::Backend(e.to_string())
    }
}

/// The library store of one directory.
#[derive(Debug)]
pub struct SqliteStore {
    root: PathBuf,
    features: Connection,
    paths: Connection,
    labels: Connection,
    /// Who this store is in the analysis claims.
    owner: Owner,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // A claim left behind would also be taken over (its owner's lock goes with the
        // process), but only once this process has exited.
        if let Err(e) = claims::release_all(&self.paths, &self.owner) {
            tracing::warn!("cannot give back the analysis claims: {e}");
        }
    }
}

fn open_db(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    // WAL: readers never block the writer, and a killed process loses at most the transaction
    // in flight. synchronous=NORMAL is durable against process crashes in WAL mode. Switching
    // a new file to WAL answers "locked" at once, without the busy wait, while another process
    // switches it too: retried for as long as a write would wait.
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(_) => break,
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(in_file(path, db_err(e))),
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(db_err)?;
    Ok(conn)
}

impl SqliteStore {
    /// Open (creating and migrating as needed) the store of the library at `root`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let mut features = open_db(&root.join(FEATURES_DB))?;
        migrate(&mut features, FEATURES_STEPS).map_err(|e| in_file(&root.join(FEATURES_DB), e))?;
        let mut paths = open_db(&root.join(PATH_INDEX_DB))?;
        migrate(&mut paths, PATH_INDEX_STEPS).map_err(|e| in_file(&root.join(PATH_INDEX_DB), e))?;
        let mut labels = open_db(&root.join(LABELS_DB))?;
        // A label is the user's work: on disk (not only in the WAL's OS buffers) when the call
        // returns, so it survives a power loss too.
        labels.pragma_update(None, "synchronous", "FULL").map_err(db_err)?;
        migrate(&mut labels, LABELS_STEPS).map_err(|e| in_file(&root.join(LABELS_DB), e))?;
        let owner = Owner::register(root)?;
        Ok(Self { root: root.to_path_buf(), features, paths, labels, owner })
    }

    /// Where a derived index is kept: `indexes/<name>.bin` in the library folder.
    fn index_path(&self, name: &str) -> PathBuf {
        self.root.join(INDEX_DIR).join(format!("{name}.bin"))
    }

    pub(crate) fn features_db(&self) -> &Connection {
        &self.features
    }

    pub(crate) fn features_db_mut(&mut self) -> &mut Connection {
        &mut self.features
    }

    pub(crate) fn labels_db(&self) -> &Connection {
        &self.labels
    }

    pub(crate) fn labels_db_mut(&mut self) -> &mut Connection {
        &mut self.labels
    }

    /// The library directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Number of stored tracks.
    pub fn song_count(&self) -> Result<u64, StoreError> {
        self.features
            .query_row("SELECT COUNT(*) FROM song_features", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    /// `PRAGMA integrity_check` on the three databases; `Ok(())` when all answer "ok".
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        for (name, conn) in [(FEATURES_DB, &self.features), (PATH_INDEX_DB, &self.paths), (LABELS_DB, &self.labels)] {
            let r: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(db_err)?;
            if r != "ok" {
                return Err(StoreError::Corrupt(format!("{name}: {r}")));
            }
        }
        Ok(())
    }
}

fn path_from_row(r: &Row<'_>) -> rusqlite::Result<PathEntry> {
    Ok(PathEntry {
        path_key: r.get(0)?,
        file_path: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        mtime_ms: r.get(3)?,
        song_id: r.get(4)?,
        file_hash: r.get(5)?,
    })
}

const SONG_COLUMNS: &str = "songId, fileHash, analysisVersion, durationSec, sampleRate, channels, bitrateKbps, \
     bpm, bpmConfidence, key, keyStrength, rmsMean, loudnessLufs, hpcp, chromaprintFingerprint, \
     chromaprintRaw, chromaprintSimhash, metadataJson, modelVersion, embedding, tagProbs, embeddingProfile, \
     embeddingWindows, timbre, chromaprintTrackRaw, djJson, introEmbedding, outroEmbedding, bpmAlternativesJson, \
     damageJson";

/// [`SONG_COLUMNS`] with the fields the taste model does not read replaced by empty values (same
/// positions, so [`song_from_row`] reads both).
const TASTE_COLUMNS: &str = "songId, fileHash, analysisVersion, durationSec, sampleRate, channels, bitrateKbps, \
     bpm, bpmConfidence, key, keyStrength, rmsMean, loudnessLufs, hpcp, \
     CASE WHEN chromaprintFingerprint IS NULL THEN NULL ELSE '' END, \
     CASE WHEN chromaprintRaw IS NULL THEN NULL ELSE X'' END, chromaprintSimhash, metadataJson, modelVersion, \
     embedding, tagProbs, embeddingProfile, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL";

/// A JSON column's value.
fn from_json<T: serde::de::DeserializeOwned>(json: String) -> Result<T, StoreError> {
    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn song_from_row(r: &Row<'_>) -> Result<SongFeatures, StoreError> {
    let get_err = |e: rusqlite::Error| StoreError::Corrupt(e.to_string());
    let hpcp: Option<Vec<u8>> = r.get(13).map_err(get_err)?;
    let fp_text: Option<String> = r.get(14).map_err(get_err)?;
    let fp_raw: Option<Vec<u8>> = r.get(15).map_err(get_err)?;
    let simhash: Option<i64> = r.get(16).map_err(get_err)?;
    let metadata: Option<String> = r.get(17).map_err(get_err)?;
    let key: Option<String> = r.get(9).map_err(get_err)?;
    let model_version: Option<String> = r.get(18).map_err(get_err)?;
    let vector: Option<Vec<u8>> = r.get(19).map_err(get_err)?;
    let tags: Option<Vec<u8>> = r.get(20).map_err(get_err)?;
    let profile: Option<String> = r.get(21).map_err(get_err)?;
    let windows: Option<String> = r.get(22).map_err(get_err)?;
    let timbre: Option<Vec<u8>> = r.get(23).map_err(get_err)?;
    let track_print: Option<Vec<u8>> = r.get(24).map_err(get_err)?;
    let dj: Option<String> = r.get(25).map_err(get_err)?;
    let intro: Option<Vec<u8>> = r.get(26).map_err(get_err)?;
    let outro: Option<Vec<u8>> = r.get(27).map_err(get_err)?;
    let alternatives: Option<String> = r.get(28).map_err(get_err)?;
    let damage: Option<String> = r.get(29).map_err(get_err)?;
    let embedding = match (model_version, vector) {
        (Some(model_version), Some(vector)) => Some(TrackEmbedding {
            model_version,
            profile: profile.as_deref().and_then(SamplingProfile::parse).unwrap_or_default(),
            vector: blob_to_f32(&vector)?,
            tags: tags.map(|b| blob_to_f32(&b)).transpose()?.unwrap_or_default(),
            windows: match windows {
                Some(json) => {
                    serde_json::from_str::<Vec<Window>>(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?
                }
                None => Vec::new(),
            },
            intro: intro.map(|b| blob_to_f32(&b)).transpose()?,
            outro: outro.map(|b| blob_to_f32(&b)).transpose()?,
        }),
        _ => None,
    };
    let chromaprint = match (fp_text, fp_raw, simhash) {
        (Some(encoded), Some(raw), Some(simhash)) => {
            let track = track_print.map(|b| blob_to_u32(&b)).transpose()?.unwrap_or_default();
            Some(Fingerprint { raw: blob_to_u32(&raw)?, encoded, simhash: simhash as u64, track })
        }
        _ => None,
    };
    Ok(SongFeatures {
        song_id: r.get(0).map_err(get_err)?,
        file_hash: r.get(1).map_err(get_err)?,
        analysis_version: r.get::<_, i64>(2).map_err(get_err)? as u32,
        duration_sec: r.get::<_, Option<f64>>(3).map_err(get_err)?.unwrap_or(0.0),
        sample_rate: r.get::<_, Option<i64>>(4).map_err(get_err)?.unwrap_or(0) as u32,
        channels: r.get::<_, Option<i64>>(5).map_err(get_err)?.unwrap_or(0) as u16,
        bitrate_kbps: r.get::<_, Option<f64>>(6).map_err(get_err)?.unwrap_or(0.0),
        bpm: r.get::<_, Option<f64>>(7).map_err(get_err)?.map(|v| v as f32),
        bpm_confidence: r.get::<_, Option<f64>>(8).map_err(get_err)?.map(|v| v as f32),
        bpm_alternatives: alternatives.map(from_json).transpose()?.unwrap_or_default(),
        key: key.as_deref().and_then(Key::parse),
        key_strength: r.get::<_, Option<f64>>(10).map_err(get_err)?.map(|v| v as f32),
        rms_mean: r.get::<_, Option<f64>>(11).map_err(get_err)?.unwrap_or(0.0) as f32,
        loudness_lufs: r.get(12).map_err(get_err)?,
        hpcp: hpcp.map(|b| blob_to_f32(&b)).transpose()?,
        chromaprint,
        metadata: match metadata {
            Some(json) => serde_json::from_str::<Tags>(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            None => Tags::default(),
        },
        timbre: timbre.map(|b| blob_to_f32(&b)).transpose()?,
        embedding,
        dj: dj.map(from_json).transpose()?,
        damage: damage.map(from_json).transpose()?,
    })
}

impl SqliteStore {
    fn song_with_columns(&self, columns: &str, song_id: &str) -> Result<Option<SongFeatures>, StoreError> {
        let mut stmt = self
            .features
            .prepare_cached(&format!("SELECT {columns} FROM song_features WHERE songId = ?1"))
            .map_err(db_err)?;
        let mut rows = stmt.query([song_id]).map_err(db_err)?;
        match rows.next().map_err(db_err)? {
            Some(row) => song_from_row(row).map(Some),
            None => Ok(None),
        }
    }
}

impl Store for SqliteStore {
    fn song_features(&self, song_id: &str) -> Result<Option<SongFeatures>, StoreError> {
        self.song_with_columns(SONG_COLUMNS, song_id)
    }

    fn taste_features(&self, song_id: &str) -> Result<Option<SongFeatures>, StoreError> {
        self.song_with_columns(TASTE_COLUMNS, song_id)
    }

    fn index_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.index_path(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(crate::taste::io_err(&path, e)),
        }
    }

    fn put_index_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        crate::taste::write_atomically(&self.index_path(name), bytes)
    }

    // The core checks session names (no separators, no leading dot) before they get here.
    fn dj_session(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.root.join(SESSION_DIR).join(format!("{name}.json"));
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(crate::taste::io_err(&path, e)),
        }
    }

    fn put_dj_session(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        crate::taste::write_atomically(&self.root.join(SESSION_DIR).join(format!("{name}.json")), bytes)
    }

    fn dj_session_names(&self) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join(SESSION_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(crate::taste::io_err(&dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    fn user_metadata(&self, song_id: &str) -> Result<Option<UserMetadata>, StoreError> {
        let mut stmt =
            self.features.prepare_cached("SELECT metadataJson FROM user_metadata WHERE songId = ?1").map_err(db_err)?;
        let json: Option<String> = stmt.query_row([song_id], |r| r.get(0)).optional().map_err(db_err)?;
        json.map(from_json).transpose()
    }

    fn all_user_metadata(&self) -> Result<Vec<(String, UserMetadata)>, StoreError> {
        let mut stmt =
            self.features.prepare("SELECT songId, metadataJson FROM user_metadata ORDER BY songId").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        rows.into_iter().map(|(id, json)| Ok((id, from_json(json)?))).collect()
    }

    fn put_user_metadata(&mut self, items: &[(String, UserMetadata)]) -> Result<(), StoreError> {
        let tx = self.features.transaction().map_err(db_err)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO user_metadata (songId, metadataJson, updatedAt) \
                     VALUES (?1, ?2, datetime('now'))",
                )
                .map_err(db_err)?;
            for (song_id, meta) in items {
                let json = serde_json::to_string(meta).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                stmt.execute(rusqlite::params![song_id, json]).map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    fn track_print(&self, song_id: &str) -> Result<Vec<u32>, StoreError> {
        let mut stmt = self
            .features
            .prepare_cached("SELECT chromaprintTrackRaw FROM song_features WHERE songId = ?1")
            .map_err(db_err)?;
        let blob: Option<Option<Vec<u8>>> = stmt.query_row([song_id], |r| r.get(0)).optional().map_err(db_err)?;
        blob.flatten().map_or(Ok(Vec::new()), |b| blob_to_u32(&b))
    }

    fn song_versions(&self) -> Result<Vec<SongVersion>, StoreError> {
        let mut stmt = self
            .features
            .prepare("SELECT songId, fileHash, analysisVersion, modelVersion, embeddingProfile FROM song_features")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SongVersion {
                    song_id: r.get(0)?,
                    file_hash: r.get(1)?,
                    analysis_version: r.get::<_, i64>(2)? as u32,
                    model_version: r.get(3)?,
                    embedding_profile: r.get::<_, Option<String>>(4)?.as_deref().and_then(SamplingProfile::parse),
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn put_song_features(&mut self, f: &SongFeatures, updated_at_ms: i64) -> Result<(), StoreError> {
        let metadata = serde_json::to_string(&f.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let e = f.embedding.as_ref();
        let windows =
            e.map(|e| serde_json::to_string(&e.windows)).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let to_json = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let dj = f.dj.as_ref().map(serde_json::to_string).transpose().map_err(to_json)?;
        let alternatives = (!f.bpm_alternatives.is_empty())
            .then(|| serde_json::to_string(&f.bpm_alternatives))
            .transpose()
            .map_err(to_json)?;
        let damage = f.damage.as_ref().map(serde_json::to_string).transpose().map_err(to_json)?;
        let tx = self.features.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "INSERT INTO song_features ({SONG_COLUMNS}, updatedAt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                     ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25,
                     ?26, ?27, ?28, ?29, ?30, strftime('%Y-%m-%dT%H:%M:%fZ', ?31 / 1000.0, 'unixepoch'))
                     ON CONFLICT(songId) DO UPDATE SET
                       fileHash = excluded.fileHash, analysisVersion = excluded.analysisVersion,
                       durationSec = excluded.durationSec, sampleRate = excluded.sampleRate,
                       channels = excluded.channels, bitrateKbps = excluded.bitrateKbps, bpm = excluded.bpm,
                       bpmConfidence = excluded.bpmConfidence, key = excluded.key,
                       keyStrength = excluded.keyStrength, rmsMean = excluded.rmsMean,
                       loudnessLufs = excluded.loudnessLufs, hpcp = excluded.hpcp,
                       chromaprintFingerprint = excluded.chromaprintFingerprint,
                       chromaprintRaw = excluded.chromaprintRaw, chromaprintSimhash = excluded.chromaprintSimhash,
                       chromaprintTrackRaw = excluded.chromaprintTrackRaw,
                       metadataJson = excluded.metadataJson, timbre = excluded.timbre,
                       djJson = excluded.djJson, bpmAlternativesJson = excluded.bpmAlternativesJson,
                       damageJson = excluded.damageJson,
                       introEmbedding = CASE WHEN excluded.embedding IS NULL THEN introEmbedding
                                        ELSE excluded.introEmbedding END,
                       outroEmbedding = CASE WHEN excluded.embedding IS NULL THEN outroEmbedding
                                        ELSE excluded.outroEmbedding END,
                       -- Same songId means the same PCM: a stored embedding stays valid.
                       modelVersion = COALESCE(excluded.modelVersion, modelVersion),
                       embedding = COALESCE(excluded.embedding, embedding),
                       tagProbs = CASE WHEN excluded.embedding IS NULL THEN tagProbs ELSE excluded.tagProbs END,
                       embeddingProfile = COALESCE(excluded.embeddingProfile, embeddingProfile),
                       embeddingWindows = COALESCE(excluded.embeddingWindows, embeddingWindows),
                       updatedAt = excluded.updatedAt"
                ))
                .map_err(db_err)?;
            stmt.execute(params![
                f.song_id,
                f.file_hash,
                i64::from(f.analysis_version),
                f.duration_sec,
                i64::from(f.sample_rate),
                i64::from(f.channels),
                f.bitrate_kbps,
                f.bpm.map(f64::from),
                f.bpm_confidence.map(f64::from),
                f.key.map(|k| k.name()),
                f.key_strength.map(f64::from),
                f64::from(f.rms_mean),
                f.loudness_lufs,
                f.hpcp.as_deref().map(f32_to_blob),
                f.chromaprint.as_ref().map(|c| c.encoded.clone()),
                f.chromaprint.as_ref().map(|c| u32_to_blob(&c.raw)),
                f.chromaprint.as_ref().map(|c| c.simhash as i64),
                metadata,
                e.map(|e| e.model_version.clone()),
                e.map(|e| f32_to_blob(&e.vector)),
                e.filter(|e| !e.tags.is_empty()).map(|e| f32_to_blob(&e.tags)),
                e.map(|e| e.profile.name()),
                windows,
                f.timbre.as_deref().map(f32_to_blob),
                f.chromaprint.as_ref().filter(|c| !c.track.is_empty()).map(|c| u32_to_blob(&c.track)),
                dj,
                e.and_then(|e| e.intro.as_deref()).map(f32_to_blob),
                e.and_then(|e| e.outro.as_deref()).map(f32_to_blob),
                alternatives,
                damage,
                updated_at_ms,
            ])
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    fn put_embedding(&mut self, song_id: &str, e: &TrackEmbedding, updated_at_ms: i64) -> Result<(), StoreError> {
        let windows = serde_json::to_string(&e.windows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let changed = self
            .features
            .execute(
                "UPDATE song_features SET modelVersion = ?2, embedding = ?3, tagProbs = ?4, embeddingProfile = ?5,
                   embeddingWindows = ?6, updatedAt = strftime('%Y-%m-%dT%H:%M:%fZ', ?7 / 1000.0, 'unixepoch'),
                   introEmbedding = ?8, outroEmbedding = ?9
                 WHERE songId = ?1",
                params![
                    song_id,
                    e.model_version,
                    f32_to_blob(&e.vector),
                    (!e.tags.is_empty()).then(|| f32_to_blob(&e.tags)),
                    e.profile.name(),
                    windows,
                    updated_at_ms,
                    e.intro.as_deref().map(f32_to_blob),
                    e.outro.as_deref().map(f32_to_blob)
                ],
            )
            .map_err(db_err)?;
        if changed == 0 {
            return Err(StoreError::Backend(format!("no stored track {song_id}")));
        }
        Ok(())
    }

    fn path_entries(&self) -> Result<Vec<PathEntry>, StoreError> {
        let mut stmt = self
            .paths
            .prepare("SELECT pathKey, filePath, size, mtimeMs, songId, fileHash FROM path_index")
            .map_err(db_err)?;
        let rows = stmt.query_map([], path_from_row).map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn path_entry(&self, path_key: &str) -> Result<Option<PathEntry>, StoreError> {
        self.paths
            .query_row(
                "SELECT pathKey, filePath, size, mtimeMs, songId, fileHash FROM path_index WHERE pathKey = ?1",
                [path_key],
                path_from_row,
            )
            .optional()
            .map_err(db_err)
    }

    fn claim_path(&mut self, path_key: &str, now_ms: i64) -> Result<selecta_core::store::PathClaim, StoreError> {
        claims::claim(&mut self.paths, &self.root, &self.owner, path_key, now_ms)
    }

    fn release_path(&mut self, path_key: &str) -> Result<(), StoreError> {
        claims::release(&self.paths, &self.owner, path_key)
    }

    fn put_path_entry(&mut self, e: &PathEntry, seen_ms: i64) -> Result<(), StoreError> {
        self.paths
            .prepare_cached(
                "INSERT INTO path_index (pathKey, filePath, size, mtimeMs, songId, fileHash, lastSeenMs)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(pathKey) DO UPDATE SET filePath = excluded.filePath, size = excluded.size,
                   mtimeMs = excluded.mtimeMs, songId = excluded.songId, fileHash = excluded.fileHash,
                   lastSeenMs = excluded.lastSeenMs",
            )
            .and_then(|mut s| {
                s.execute(params![e.path_key, e.file_path, e.size as i64, e.mtime_ms, e.song_id, e.file_hash, seen_ms])
            })
            .map(|_| ())
            .map_err(db_err)
    }

    fn touch_path_entries(&mut self, path_keys: &[String], seen_ms: i64) -> Result<(), StoreError> {
        let tx = self.paths.transaction().map_err(db_err)?;
        {
            let mut stmt =
                tx.prepare_cached("UPDATE path_index SET lastSeenMs = ?2 WHERE pathKey = ?1").map_err(db_err)?;
            for k in path_keys {
                stmt.execute(params![k, seen_ms]).map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    fn remove_path_entries(&mut self, path_keys: &[String]) -> Result<usize, StoreError> {
        let tx = self.paths.transaction().map_err(db_err)?;
        let mut removed = 0;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM path_index WHERE pathKey = ?1").map_err(db_err)?;
            for k in path_keys {
                removed += stmt.execute([k]).map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(removed)
    }

    fn newest_path_seen_ms(&self) -> Result<Option<i64>, StoreError> {
        self.paths.query_row("SELECT MAX(lastSeenMs) FROM path_index", [], |r| r.get(0)).map_err(db_err)
    }

    fn gc_path_entries(&mut self, now_ms: i64, ttl_ms: i64, capacity: usize) -> Result<usize, StoreError> {
        let tx = self.paths.transaction().map_err(db_err)?;
        let mut removed =
            tx.execute("DELETE FROM path_index WHERE lastSeenMs < ?1", [now_ms - ttl_ms]).map_err(db_err)?;
        removed += tx
            .execute(
                "DELETE FROM path_index WHERE pathKey IN (SELECT pathKey FROM path_index
                 ORDER BY lastSeenMs DESC LIMIT -1 OFFSET ?1)",
                [capacity as i64],
            )
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(removed)
    }
}
