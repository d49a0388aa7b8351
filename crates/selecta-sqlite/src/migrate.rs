//! Versioned, atomic schema migrations: each step runs in its own transaction together with the
//! `schemaVersion` bump, so a crash leaves the database at the old or the new version, never in
//! between. A database newer than this build is refused rather than damaged.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use selecta_core::StoreError;

use crate::store::db_err;

/// One migration: the version it produces and its SQL.
pub struct Step {
    pub version: i64,
    pub sql: &'static str,
}

pub const FEATURES_STEPS: &[Step] = &[
    Step {
        version: 1,
        sql: "
        CREATE TABLE IF NOT EXISTS song_features (
            songId TEXT PRIMARY KEY,
            fileHash TEXT NOT NULL,
            modelVersion TEXT,
            embedding BLOB,
            chromaprintFingerprint TEXT,
            rmsMean REAL,
            hpcp BLOB,
            bpm REAL,
            key TEXT,
            durationSec REAL,
            bitrateKbps REAL,
            updatedAt TEXT
        );
        CREATE TABLE IF NOT EXISTS song_prediction_cache (
            songId TEXT NOT NULL,
            modelRevision INTEGER NOT NULL,
            fileHash TEXT NOT NULL,
            score REAL NOT NULL,
            updatedAt TEXT,
            PRIMARY KEY (songId, modelRevision, fileHash)
        );
        CREATE INDEX IF NOT EXISTS idx_song_features_fileHash ON song_features(fileHash);
        CREATE INDEX IF NOT EXISTS idx_song_features_modelVersion ON song_features(modelVersion);
        CREATE INDEX IF NOT EXISTS idx_song_features_updatedAt ON song_features(updatedAt);
        ",
    },
    Step {
        version: 2,
        sql: "
        ALTER TABLE song_features ADD COLUMN analysisVersion INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE song_features ADD COLUMN sampleRate INTEGER;
        ALTER TABLE song_features ADD COLUMN channels INTEGER;
        ALTER TABLE song_features ADD COLUMN bpmConfidence REAL;
        ALTER TABLE song_features ADD COLUMN keyStrength REAL;
        ALTER TABLE song_features ADD COLUMN loudnessLufs REAL;
        ALTER TABLE song_features ADD COLUMN chromaprintRaw BLOB;
        ALTER TABLE song_features ADD COLUMN chromaprintSimhash INTEGER;
        ALTER TABLE song_features ADD COLUMN metadataJson TEXT;
        ",
    },
    Step {
        version: 3,
        sql: "
        ALTER TABLE song_features ADD COLUMN tagProbs BLOB;
        ALTER TABLE song_features ADD COLUMN embeddingProfile TEXT;
        ALTER TABLE song_features ADD COLUMN embeddingWindows TEXT;
        ALTER TABLE song_features ADD COLUMN timbre BLOB;
        ",
    },
    Step {
        version: 4,
        sql: "
        ALTER TABLE song_features ADD COLUMN chromaprintTrackRaw BLOB;
        ",
    },
    Step {
        version: 5,
        sql: "
        ALTER TABLE song_features ADD COLUMN djJson TEXT;
        ALTER TABLE song_features ADD COLUMN introEmbedding BLOB;
        ALTER TABLE song_features ADD COLUMN outroEmbedding BLOB;
        ",
    },
    Step {
        version: 6,
        sql: "
        ALTER TABLE song_features ADD COLUMN bpmAlternativesJson TEXT;
        ALTER TABLE song_features ADD COLUMN damageJson TEXT;
        ",
    },
    Step {
        version: 7,
        sql: "
        CREATE TABLE IF NOT EXISTS user_metadata (
            songId TEXT PRIMARY KEY,
            metadataJson TEXT NOT NULL,
            updatedAt TEXT
        );
        ",
    },
];

pub const PATH_INDEX_STEPS: &[Step] = &[
    Step {
        version: 1,
        sql: "
    CREATE TABLE IF NOT EXISTS path_index (
        pathKey TEXT PRIMARY KEY,
        filePath TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtimeMs INTEGER NOT NULL,
        songId TEXT NOT NULL,
        fileHash TEXT NOT NULL,
        lastSeenMs INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idx_path_index_songId ON path_index(songId);
    CREATE INDEX IF NOT EXISTS idx_path_index_fileHash ON path_index(fileHash);
    CREATE INDEX IF NOT EXISTS idx_path_index_lastSeenMs ON path_index(lastSeenMs);
    ",
    },
    Step {
        version: 2,
        sql: "
    CREATE TABLE IF NOT EXISTS analysis_claims (
        pathKey TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        claimedAtMs INTEGER NOT NULL
    );
    ",
    },
];

pub const LABELS_STEPS: &[Step] = &[Step {
    version: 1,
    sql: "
    CREATE TABLE IF NOT EXISTS selection_labels (
        songId TEXT PRIMARY KEY,
        label TEXT NOT NULL CHECK (label IN ('liked', 'disliked')),
        updatedAt INTEGER NOT NULL
    );
    ",
}];

/// Current `schemaVersion` (0 for a new database, or one without its `schema_meta` table yet).
pub fn schema_version(conn: &Connection) -> Result<i64, StoreError> {
    let has_meta: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_meta')",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if !has_meta {
        return Ok(0);
    }
    let v: Option<String> = conn
        .query_row("SELECT value FROM schema_meta WHERE key = 'schemaVersion'", [], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    match v {
        None => Ok(0),
        Some(s) => s.trim().parse().map_err(|_| StoreError::Corrupt(format!("schemaVersion is not a number: {s:?}"))),
    }
}

/// Bring `conn` to the last step's version. Each step reads the version and applies itself in
/// one write transaction (`BEGIN IMMEDIATE`): when several processes open a new or old library
/// at once, the first migrates and the others, waiting on the lock, then find the new version
/// and apply nothing twice.
pub fn migrate(conn: &mut Connection, steps: &[Step]) -> Result<(), StoreError> {
    let supported = steps.last().map_or(0, |s| s.version);
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let found = schema_version(&tx)?;
        if found > supported {
            return Err(StoreError::SchemaTooNew { found, supported });
        }
        let Some(step) = steps.iter().find(|s| s.version > found) else {
            return Ok(());
        };
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_meta (key TEXT PRIMARY KEY, value TEXT);")
            .map_err(db_err)?;
        tx.execute_batch(step.sql).map_err(db_err)?;
        tx.execute(
            "INSERT INTO schema_meta(key, value) VALUES('schemaVersion', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [step.version.to_string()],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(version = step.version, "schema migrated");
    }
}
