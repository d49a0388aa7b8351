//! The SQLite store: round trips, migrations, refusal of newer schemas, path-index GC.

use rusqlite::Connection;
use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{AnalyzeOptions, PathEntry, Store, StoreError, analyze_bytes};
use selecta_sqlite::{FEATURES_DB, FEATURES_SCHEMA_VERSION, SqliteStore};

fn sample_features() -> selecta_core::SongFeatures {
    let mut spec = SynthSpec::new(128.0, Key { tonic: 2, mode: Mode::Minor });
    spec.seconds = 6.0;
    spec.sample_rate = 22_050;
    analyze_bytes(wav_bytes(&render(&spec), spec.sample_rate, 1), Some("a.wav"), &AnalyzeOptions::default(), None)
        .map(|a| a.features)
        .expect("analysis")
}

#[test]
fn features_round_trip_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = sample_features();
    assert!(!f.bpm_alternatives.is_empty(), "the sample has a tempo alternative");
    // A damaged file's record keeps what was skipped.
    f.damage = Some(selecta_core::audio::Damage { skipped_sec: 1.25, first_at_sec: 3.5, ends_early: false });
    // Every vector column: embedding, tags, windows, intro and outro (a profile other than the
    // default, so a column read back as the default is seen).
    let mut embedding = SyntheticLibrary::new(2, 9).track(0).embedding.expect("synthetic tracks have an embedding");
    embedding.profile = selecta_core::embed::SamplingProfile::ClubHifi150s;
    embedding.windows.push(selecta_core::embed::Window { start: 30.25, end: 33.5 });
    embedding.intro = Some(embedding.vector.iter().map(|x| x * 0.5).collect());
    embedding.outro = Some(embedding.vector.iter().map(|x| -x).collect());
    assert!(!embedding.tags.is_empty() && !embedding.vector.is_empty());
    f.embedding = Some(embedding);
    {
        let mut store = SqliteStore::open(dir.path()).expect("open");
        store.put_song_features(&f, 1_700_000_000_000).expect("put");
    }
    let store = SqliteStore::open(dir.path()).expect("reopen");
    let back = store.song_features(&f.song_id).expect("get").expect("present");
    assert_eq!(back, f);
    assert_eq!(store.song_count().expect("count"), 1);
    store.integrity_check().expect("integrity");
}

/// Create `features.db` in `dir` at `schemaVersion = version`, then run `extra_sql`.
fn seed_features_db(dir: &std::path::Path, version: &str, extra_sql: &str) {
    let conn = Connection::open(dir.join(FEATURES_DB)).expect("db");
    conn.execute_batch(&format!(
        "CREATE TABLE schema_meta (key TEXT PRIMARY KEY, value TEXT);
         INSERT INTO schema_meta VALUES ('schemaVersion', '{version}');
         {extra_sql}"
    ))
    .expect("seed schema");
}

/// The `schemaVersion` stored in `features.db` of `dir`.
fn stored_schema_version(dir: &std::path::Path) -> String {
    let conn = Connection::open(dir.join(FEATURES_DB)).expect("db");
    conn.query_row("SELECT value FROM schema_meta WHERE key='schemaVersion'", [], |r| r.get(0)).expect("v")
}

#[test]
fn version_1_database_is_migrated_to_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_features_db(
        dir.path(),
        "1",
        "CREATE TABLE song_features (songId TEXT PRIMARY KEY, fileHash TEXT NOT NULL, modelVersion TEXT,
               embedding BLOB, chromaprintFingerprint TEXT, rmsMean REAL, hpcp BLOB, bpm REAL, key TEXT,
               durationSec REAL, bitrateKbps REAL, updatedAt TEXT);
             CREATE TABLE song_prediction_cache (songId TEXT NOT NULL, modelRevision INTEGER NOT NULL,
               fileHash TEXT NOT NULL, score REAL NOT NULL, updatedAt TEXT,
               PRIMARY KEY (songId, modelRevision, fileHash));
             INSERT INTO song_features (songId, fileHash, bpm, key) VALUES ('old', 'h', 120.0, 'A minor');",
    );
    let store = SqliteStore::open(dir.path()).expect("open migrates");
    let old = store.song_features("old").expect("get").expect("kept");
    assert_eq!(old.bpm, Some(120.0));
    assert_eq!(old.analysis_version, 0, "old rows are marked for re-analysis");
    assert_eq!(stored_schema_version(dir.path()), FEATURES_SCHEMA_VERSION.to_string());
}

#[test]
fn newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_features_db(dir.path(), "99", "");
    match SqliteStore::open(dir.path()) {
        Err(StoreError::SchemaTooNew { found: 99, supported }) => assert_eq!(supported, FEATURES_SCHEMA_VERSION),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert_eq!(stored_schema_version(dir.path()), "99");
}

#[test]
fn path_index_gc_by_ttl_and_capacity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(dir.path()).expect("open");
    for i in 0..10i64 {
        let e = PathEntry {
            path_key: format!("f{i}.mp3"),
            file_path: format!("f{i}.mp3"),
            size: 1,
            mtime_ms: 1,
            song_id: format!("s{i}"),
            file_hash: format!("h{i}"),
        };
        store.put_path_entry(&e, i * 1000).expect("put");
    }
    // TTL: entries last seen before 3000 go.
    assert_eq!(store.gc_path_entries(10_000, 7_000, 100).expect("gc"), 3);
    // Capacity: keep the 4 most recently seen.
    assert_eq!(store.gc_path_entries(10_000, 100_000, 4).expect("gc"), 3);
    let mut keys: Vec<String> = store.path_entries().expect("entries").into_iter().map(|e| e.path_key).collect();
    keys.sort();
    assert_eq!(keys, ["f6.mp3", "f7.mp3", "f8.mp3", "f9.mp3"]);
}

#[test]
fn taste_features_leave_out_only_what_the_taste_model_does_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = sample_features();
    let mut store = SqliteStore::open(dir.path()).expect("open");
    store.put_song_features(&f, 1).expect("put");
    let light = store.taste_features(&f.song_id).expect("get").expect("present");
    let mut expected = f.clone();
    expected.timbre = None;
    expected.dj = None;
    assert!(f.dj.is_some(), "the sample has DJ features, so leaving them out is seen");
    expected.bpm_alternatives.clear();
    assert!(!f.bpm_alternatives.is_empty(), "the sample has a tempo alternative, so leaving it out is seen");
    if let Some(c) = expected.chromaprint.as_mut() {
        c.raw.clear();
        c.encoded.clear();
        c.track.clear();
    }
    if let Some(e) = expected.embedding.as_mut() {
        e.windows.clear();
        e.intro = None;
        e.outro = None;
    }
    assert!(
        f.chromaprint.as_ref().is_some_and(|c| !c.raw.is_empty() && !c.track.is_empty()),
        "the sample has a fingerprint and a whole-track print"
    );
    assert_eq!(
        store.track_print(&f.song_id).expect("print"),
        f.chromaprint.as_ref().map(|c| c.track.clone()).unwrap_or_default()
    );
    assert_eq!(light, expected);
}
