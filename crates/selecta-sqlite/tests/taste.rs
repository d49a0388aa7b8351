//! The taste model on the SQLite library: labels survive reopening, the model and manifest
//! files, a damaged model file on disk, the states a killed training can leave, and reset.

use std::path::Path;

use selecta_core::Store;
use selecta_core::taste::{
    self, BoostParams, ErrorCode, Label, MODEL_FILE, NoControl, PredictStatus, TasteStore, TrainStatus,
};
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_sqlite::{LABELS_DB, MANIFEST_FILE, MODEL_DIR, SqliteStore};

fn params() -> BoostParams {
    BoostParams { trees: 30, ..BoostParams::default() }
}

/// A library of 200 synthetic tracks; returns (liked, disliked, all) ids with 20/80 labelled.
fn seeded(dir: &Path) -> (Vec<String>, Vec<String>, Vec<String>) {
    let lib = SyntheticLibrary::new(4, 11);
    let mut store = SqliteStore::open(dir).expect("open");
    let ids = lib.store_into(&mut store, 200).expect("stored");
    let pos: Vec<String> = ids.iter().step_by(4).take(20).cloned().collect();
    let neg: Vec<String> =
        ids.iter().enumerate().filter(|(i, _)| i % 4 != 0).take(80).map(|(_, s)| s.clone()).collect();
    taste::set_selection_labels(&mut store, &pos, Label::Liked, 1).expect("label");
    taste::set_selection_labels(&mut store, &neg, Label::Disliked, 1).expect("label");
    (pos, neg, ids)
}

fn train(store: &mut SqliteStore) -> taste::TrainOutcome {
    let snap = taste::get_selection_label_snapshot(store).expect("snapshot");
    taste::train_selection_gbdt_with(store, &snap.positive_ids, &snap.negative_ids, &params(), 5, &mut NoControl)
}

#[test]
fn labels_and_counter_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pos, neg, _) = seeded(dir.path());
    let store = SqliteStore::open(dir.path()).expect("reopen");
    let snap = taste::get_selection_label_snapshot(&store).expect("snapshot");
    assert_eq!((snap.positive_ids.len(), snap.negative_ids.len(), snap.sample_change_count), (20, 80, 100));
    let mut expected = pos.clone();
    expected.sort();
    assert_eq!(snap.positive_ids, expected);
    assert!(dir.path().join(LABELS_DB).is_file());
    assert_eq!(store.labels().expect("labels").get(&neg[0]), Some(&Label::Disliked));
    store.integrity_check().expect("integrity");
}

#[test]
fn model_files_revisions_and_a_damaged_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, _, ids) = seeded(dir.path());
    let mut store = SqliteStore::open(dir.path()).expect("open");
    let t = train(&mut store);
    assert_eq!((t.status, t.model_revision), (TrainStatus::Trained, Some(1)));
    let model_dir = dir.path().join(MODEL_DIR);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model_dir.join(MANIFEST_FILE)).expect("manifest")).expect("json");
    assert_eq!(manifest["modelRevision"], 1);
    assert_eq!(manifest["modelFile"], MODEL_FILE);
    assert_eq!(manifest["positives"], 20);
    let p = taste::predict_selection_candidates(&mut store, &ids, 10, 6, &mut NoControl);
    assert_eq!((p.status, p.items.len()), (PredictStatus::Ok, 10));

    // Damage the file on disk: prediction reports model_load_failed, training recovers.
    let path = model_dir.join(MODEL_FILE);
    let mut bytes = std::fs::read(&path).expect("model");
    let n = bytes.len();
    bytes[n - 10] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    let mut reopened = SqliteStore::open(dir.path()).expect("reopen");
    let p = taste::predict_selection_candidates(&mut reopened, &ids, 10, 7, &mut NoControl);
    assert_eq!((p.status, p.error_code), (PredictStatus::Failed, Some(ErrorCode::ModelLoadFailed)));
    let t = train(&mut reopened);
    assert_eq!(t.model_revision, Some(2));
    let p = taste::predict_selection_candidates(&mut reopened, &ids, 10, 8, &mut NoControl);
    assert_eq!((p.status, p.model_revision), (PredictStatus::Ok, Some(2)));
}

#[test]
fn a_training_killed_between_the_two_writes_leaves_a_usable_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, _, ids) = seeded(dir.path());
    let mut store = SqliteStore::open(dir.path()).expect("open");
    train(&mut store);
    let model_dir = dir.path().join(MODEL_DIR);
    let old_manifest = std::fs::read(model_dir.join(MANIFEST_FILE)).expect("manifest");
    let old_model = std::fs::read(model_dir.join(MODEL_FILE)).expect("model");
    let before = taste::predict_selection_candidates(&mut store, &ids, 0, 6, &mut NoControl);

    // Killed while writing the new model: a half-written temporary file beside the old one.
    std::fs::write(model_dir.join("selection_gbdt_v1.tmp"), &old_model[..old_model.len() / 3]).expect("tmp");
    let mut store = SqliteStore::open(dir.path()).expect("reopen");
    let after = taste::predict_selection_candidates(&mut store, &ids, 0, 7, &mut NoControl);
    assert_eq!(after.items, before.items, "the previous model scores as before");

    // Killed after the new model's rename but before the manifest's: revision 2 in the file,
    // 1 in the manifest. The model still loads, and the next training moves past both.
    train(&mut store);
    std::fs::write(model_dir.join(MANIFEST_FILE), &old_manifest).expect("old manifest");
    let mut store = SqliteStore::open(dir.path()).expect("reopen");
    let p = taste::predict_selection_candidates(&mut store, &ids, 0, 8, &mut NoControl);
    assert_eq!((p.status, p.model_revision), (PredictStatus::Ok, Some(2)));
    assert_eq!(train(&mut store).model_revision, Some(3));
}

#[test]
fn cache_rows_live_in_features_db_and_reset_clears_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, _, ids) = seeded(dir.path());
    let mut store = SqliteStore::open(dir.path()).expect("open");
    train(&mut store);
    taste::predict_selection_candidates(&mut store, &ids, 0, 6, &mut NoControl);
    let conn = rusqlite::Connection::open(dir.path().join(selecta_sqlite::FEATURES_DB)).expect("db");
    let rows = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT COUNT(*) FROM song_prediction_cache", [], |r| r.get(0)).expect("count")
    };
    assert_eq!(rows(&conn), 200);
    train(&mut store);
    assert_eq!(rows(&conn), 0, "revision-1 rows purged after retraining");
    taste::predict_selection_candidates(&mut store, &ids[..50], 0, 7, &mut NoControl);
    assert_eq!(rows(&conn), 50);

    assert!(taste::reset_selection_labels(&mut store).expect("reset"));
    assert_eq!(rows(&conn), 0);
    assert!(!dir.path().join(MODEL_DIR).join(MODEL_FILE).exists());
    assert!(!dir.path().join(MODEL_DIR).join(MANIFEST_FILE).exists());
    let store = SqliteStore::open(dir.path()).expect("reopen");
    let snap = taste::get_selection_label_snapshot(&store).expect("snapshot");
    assert!(snap.positive_ids.is_empty() && snap.negative_ids.is_empty() && snap.sample_change_count == 0);
    assert_eq!(store.song_count().expect("count"), 200, "features are kept");
}

#[test]
fn a_cached_score_of_another_file_version_is_not_returned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, _, ids) = seeded(dir.path());
    let mut store = SqliteStore::open(dir.path()).expect("open");
    train(&mut store);
    taste::predict_selection_candidates(&mut store, &ids[..3], 0, 6, &mut NoControl);
    assert_eq!(store.cached_scores(1, &ids[..3]).expect("cache").len(), 3);
    // The file changed (new fileHash) behind the taste API's back: the old row must not count.
    let mut f = store.song_features(&ids[0]).expect("read").expect("stored");
    f.file_hash = "0".repeat(64);
    store.put_song_features(&f, 7).expect("put");
    let cached = store.cached_scores(1, &ids[..3]).expect("cache");
    assert!(!cached.contains_key(&ids[0]) && cached.len() == 2);
}
