//! [`TasteStore`] for [`SqliteStore`]: labels and the change counter in `selection_labels.db`
//! (synchronous=FULL, so a label is on disk when the call returns), the model and its manifest
//! as files under `models/selection/` (each written to a temporary file, synced and renamed),
//! and the prediction cache in `features.db`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use selecta_core::Label;
use selecta_core::StoreError;
use selecta_core::store::{CachedScore, SelectionManifest, TasteStore, TrainingGuard};
use selecta_core::taste::MODEL_FILE;

use crate::store::{SqliteStore, db_err};

/// Folder of the model inside a library directory.
pub const MODEL_DIR: &str = "models/selection";
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
const COUNT_KEY: &str = "sampleChangeCount";

pub(crate) fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("{}: {e}", path.display()))
}

/// Replace `path` with `bytes` so that a crash leaves the old file or the new one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().ok_or_else(|| StoreError::Backend(format!("{}: no parent folder", path.display())))?;
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| io_err(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    // The rename itself is durable only once the folder is synced.
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err(dir, e))
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(path, e)),
        _ => Ok(()),
    }
}

/// An exclusive lock on training in one library, across processes; released on drop.
#[derive(Debug)]
pub struct TrainingLock {
    _file: File,
}

impl SqliteStore {
    fn model_dir(&self) -> PathBuf {
        self.root().join(MODEL_DIR)
    }

    /// Path of the saved model file.
    pub fn model_path(&self) -> PathBuf {
        self.model_dir().join(MODEL_FILE)
    }

    /// Wait until no other process trains in this library, then hold the lock: one training at
    /// a time per library, so two trainings never race to write the model and its revision.
    /// Waits at most [`TRAINING_LOCK_WAIT`], then answers [`StoreError::Busy`].
    pub fn lock_training(&self) -> Result<TrainingLock, StoreError> {
        let dir = self.model_dir();
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let path = dir.join(".training.lock");
        let file =
            File::options().create(true).truncate(false).write(true).open(&path).map_err(|e| io_err(&path, e))?;
        let started = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(TrainingLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < TRAINING_LOCK_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Busy(format!(
                        "another process has been training in this library for over {} s",
                        TRAINING_LOCK_WAIT.as_secs()
                    )));
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_err(&path, e)),
            }
        }
    }
}

/// The longest wait for another process's training (a training of a large library takes seconds).
pub const TRAINING_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

impl TasteStore for SqliteStore {
    fn training_lock(&self) -> Result<TrainingGuard, StoreError> {
        Ok(Box::new(self.lock_training()?))
    }

    fn labels(&self) -> Result<HashMap<String, Label>, StoreError> {
        let mut stmt = self.labels_db().prepare_cached("SELECT songId, label FROM selection_labels").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        rows.into_iter()
            .map(|(id, l)| match Label::parse(&l) {
                Some(label @ (Label::Liked | Label::Disliked)) => Ok((id, label)),
                _ => Err(StoreError::Corrupt(format!("label {l:?} of {id}"))),
            })
            .collect()
    }

    fn sample_change_count(&self) -> Result<u64, StoreError> {
        count_in(self.labels_db())
    }

    fn write_labels(&mut self, changes: &[(String, Label)], count_delta: u64, now_ms: i64) -> Result<u64, StoreError> {
        // The counter is read inside the write transaction: another process's changes between
        // the read and the write are never lost.
        let tx = self.labels_db_mut().transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let count = count_in(&tx)? + count_delta;
        for (id, label) in changes {
            put_label(&tx, id, *label, now_ms)?;
        }
        set_count(&tx, count)?;
        tx.commit().map_err(db_err)?;
        Ok(count)
    }

    fn apply_label(&mut self, ids: &[String], label: Label, now_ms: i64) -> Result<(Vec<String>, u64), StoreError> {
        // Which labels change is decided inside the write transaction, so two processes setting
        // the same label count one change.
        let tx = self.labels_db_mut().transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let mut changed = Vec::new();
        {
            let mut current =
                tx.prepare_cached("SELECT label FROM selection_labels WHERE songId = ?1").map_err(db_err)?;
            for id in ids {
                let stored: Option<String> = current.query_row([id], |r| r.get(0)).optional().map_err(db_err)?;
                let stored = stored.as_deref().and_then(Label::parse).unwrap_or(Label::Neutral);
                if stored != label {
                    put_label(&tx, id, label, now_ms)?;
                    changed.push(id.clone());
                }
            }
        }
        let count = count_in(&tx)? + changed.len() as u64;
        if !changed.is_empty() {
            set_count(&tx, count)?;
        }
        tx.commit().map_err(db_err)?;
        Ok((changed, count))
    }

    fn set_sample_change_count(&mut self, count: u64) -> Result<(), StoreError> {
        set_count(self.labels_db(), count)
    }

    fn consume_sample_changes(&mut self, counted: u64) -> Result<u64, StoreError> {
        let tx = self.labels_db_mut().transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let count = count_in(&tx)?.saturating_sub(counted);
        set_count(&tx, count)?;
        tx.commit().map_err(db_err)?;
        Ok(count)
    }

    fn clear_labels(&mut self) -> Result<(), StoreError> {
        let tx = self.labels_db_mut().transaction().map_err(db_err)?;
        tx.execute("DELETE FROM selection_labels", []).map_err(db_err)?;
        set_count(&tx, 0)?;
        tx.commit().map_err(db_err)
    }

    fn selection_model(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.model_path();
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    fn selection_manifest(&self) -> Result<Option<SelectionManifest>, StoreError> {
        let path = self.model_dir().join(MANIFEST_FILE);
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    fn put_selection_model(&mut self, model: &[u8], manifest: &SelectionManifest) -> Result<(), StoreError> {
        write_atomically(&self.model_path(), model)?;
        let json = serde_json::to_vec_pretty(manifest).map_err(|e| StoreError::Backend(e.to_string()))?;
        write_atomically(&self.model_dir().join(MANIFEST_FILE), &json)
    }

    fn clear_selection_model(&mut self) -> Result<(), StoreError> {
        // Manifest first: without it the revision reads 0 even if the model removal fails.
        remove_if_present(&self.model_dir().join(MANIFEST_FILE))?;
        remove_if_present(&self.model_path())
    }

    fn cached_scores(&self, revision: u64, song_ids: &[String]) -> Result<HashMap<String, f32>, StoreError> {
        let mut stmt = self
            .features_db()
            .prepare_cached(
                "SELECT c.score FROM song_prediction_cache c
                 JOIN song_features f ON f.songId = c.songId AND f.fileHash = c.fileHash
                 WHERE c.songId = ?1 AND c.modelRevision = ?2",
            )
            .map_err(db_err)?;
        let mut out = HashMap::new();
        for id in song_ids {
            let score: Option<f64> =
                stmt.query_row(params![id, revision as i64], |r| r.get(0)).optional().map_err(db_err)?;
            if let Some(s) = score {
                out.insert(id.clone(), s as f32);
            }
        }
        Ok(out)
    }

    fn put_cached_scores(&mut self, revision: u64, rows: &[CachedScore], now_ms: i64) -> Result<(), StoreError> {
        let tx = self.features_db_mut().transaction().map_err(db_err)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO song_prediction_cache(songId, modelRevision, fileHash, score, updatedAt)
                     VALUES(?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db_err)?;
            for r in rows {
                stmt.execute(params![r.song_id, revision as i64, r.file_hash, f64::from(r.score), now_ms.to_string()])
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    fn purge_cache_except(&mut self, revision: u64) -> Result<usize, StoreError> {
        self.features_db()
            .execute("DELETE FROM song_prediction_cache WHERE modelRevision != ?1", [revision as i64])
            .map_err(db_err)
    }

    fn purge_cache_for_song(&mut self, song_id: &str) -> Result<usize, StoreError> {
        self.features_db().execute("DELETE FROM song_prediction_cache WHERE songId = ?1", [song_id]).map_err(db_err)
    }

    fn clear_cache(&mut self) -> Result<(), StoreError> {
        self.features_db().execute("DELETE FROM song_prediction_cache", []).map(|_| ()).map_err(db_err)
    }
}

fn count_in(conn: &rusqlite::Connection) -> Result<u64, StoreError> {
    let v: Option<String> = conn
        .query_row("SELECT value FROM schema_meta WHERE key = ?1", [COUNT_KEY], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    v.map_or(Ok(0), |s| s.parse().map_err(|_| StoreError::Corrupt(format!("{COUNT_KEY} is {s:?}"))))
}

fn put_label(conn: &rusqlite::Connection, id: &str, label: Label, now_ms: i64) -> Result<(), StoreError> {
    let write = || match label {
        Label::Neutral => conn.prepare_cached("DELETE FROM selection_labels WHERE songId = ?1")?.execute([id]),
        l => conn
            .prepare_cached(
                "INSERT INTO selection_labels(songId, label, updatedAt) VALUES(?1, ?2, ?3)
                 ON CONFLICT(songId) DO UPDATE SET label = excluded.label, updatedAt = excluded.updatedAt",
            )?
            .execute(params![id, l.as_str(), now_ms]),
    };
    write().map(|_| ()).map_err(db_err)
}

fn set_count(conn: &rusqlite::Connection, count: u64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO schema_meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![COUNT_KEY, count.to_string()],
    )
    .map(|_| ())
    .map_err(db_err)
}
