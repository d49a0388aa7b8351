//! The native [`Store`] of a library directory, on SQLite:
//! `features.db` (`song_features`, `song_prediction_cache`, `schema_meta`),
//! `selection_path_index.db` (with the analysis claims of the processes sharing the library),
//! `selection_labels.db`, `models/selection/` (the taste model) and `locks/` (one file per open
//! store, locked while it is open: how a claim's owner is known to be alive). WAL journal, one
//! transaction per track, versioned migrations that each run in one transaction. Everything
//! lives inside the library folder so it can move.

mod blob;
mod claims;
mod migrate;
mod store;
mod taste;

pub use store::{FEATURES_DB, INDEX_DIR, LABELS_DB, PATH_INDEX_DB, SqliteStore};
pub use taste::{MANIFEST_FILE, MODEL_DIR, TrainingLock};

/// Schema version of `features.db` this build writes.
pub const FEATURES_SCHEMA_VERSION: i64 = 7;
/// Schema version of `selection_path_index.db` this build writes.
pub const PATH_INDEX_SCHEMA_VERSION: i64 = 2;
/// Schema version of `selection_labels.db` this build writes.
pub const LABELS_SCHEMA_VERSION: i64 = 1;
