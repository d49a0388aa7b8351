//! `exportLibrary` / `importLibrary` between the SQLite store and the in-memory store (the
//! browser store's working set) in both directions: every label, feature, path, DJ session and
//! the trained model survive, and the moved model scores exactly as the original.

use selecta_core::bundle::{BundleError, export_library, import_library};
use selecta_core::dj::session::Session;
use selecta_core::taste::{self, BoostParams, Label, NoControl, PredictStatus, TasteStore};
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{MemoryStore, PathEntry, Store};
use selecta_sqlite::SqliteStore;

fn sorted_labels(store: &dyn TasteStore) -> Vec<(String, Label)> {
    let mut l: Vec<(String, Label)> = store.labels().expect("labels").into_iter().collect();
    l.sort_by(|a, b| a.0.cmp(&b.0));
    l
}

#[test]
fn a_library_moves_both_ways_without_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = SyntheticLibrary::new(4, 21);
    let mut native = SqliteStore::open(dir.path()).expect("open");
    let mut ids = Vec::new();
    for i in 0..160 {
        let f = lib.track(i);
        native.put_song_features(&f, 1).expect("put");
        let entry = PathEntry {
            path_key: format!("crate/t{i}.flac"),
            file_path: format!("crate/t{i}.flac"),
            size: 1000 + i as u64,
            mtime_ms: 5,
            song_id: f.song_id.clone(),
            file_hash: f.file_hash.clone(),
        };
        native.put_path_entry(&entry, 1).expect("path");
        ids.push(f.song_id);
    }
    let pos: Vec<String> = ids.iter().step_by(4).take(20).cloned().collect();
    let neg: Vec<String> =
        ids.iter().enumerate().filter(|(i, _)| i % 4 != 0).take(80).map(|(_, s)| s.clone()).collect();
    taste::set_selection_labels(&mut native, &pos, Label::Liked, 2).expect("label");
    taste::set_selection_labels(&mut native, &neg, Label::Disliked, 2).expect("label");
    let params = BoostParams { trees: 30, ..BoostParams::default() };
    let t = taste::train_selection_gbdt_with(&mut native, &pos, &neg, &params, 3, &mut NoControl);
    assert_eq!(t.model_revision, Some(1));
    taste::set_selection_labels(&mut native, &ids[1..4], Label::Liked, 4).expect("label after training");
    let scores = taste::predict_selection_candidates(&mut native, &ids, 0, 5, &mut NoControl);
    assert_eq!(scores.status, PredictStatus::Ok);
    let mut set = Session::new("Friday · Rooftop", 10).expect("session");
    for id in &ids[5..9] {
        set.add_played(id, 11).expect("played");
    }
    native.put_dj_session(&set.name, &set.to_bytes()).expect("session stored");

    // Native → browser working set.
    let bytes = export_library(&native).expect("export");
    let mut browser = MemoryStore::new();
    let summary = import_library(&mut browser, &bytes, 6).expect("import");
    assert_eq!(
        (summary.songs, summary.paths, summary.labels, summary.model, summary.sessions),
        (160, 160, 100, true, 1)
    );
    let moved_set = browser.dj_session(&set.name).expect("reads").expect("the session came along");
    assert_eq!(Session::from_bytes(&set.name, &moved_set).expect("readable"), set);
    for id in &ids {
        assert_eq!(browser.song_features(id).expect("get"), native.song_features(id).expect("get"), "{id}");
    }
    assert_eq!(sorted_labels(&browser), sorted_labels(&native));
    assert_eq!(browser.sample_change_count().expect("n"), native.sample_change_count().expect("n"));
    assert_eq!(browser.selection_manifest().expect("m"), native.selection_manifest().expect("m"));
    let moved = taste::predict_selection_candidates(&mut browser, &ids, 0, 7, &mut NoControl);
    assert_eq!((moved.model_revision, &moved.items), (Some(1), &scores.items), "the model scores the same");

    // Browser → a fresh native library.
    let back_dir = tempfile::tempdir().expect("tempdir");
    let mut back = SqliteStore::open(back_dir.path()).expect("open");
    import_library(&mut back, &export_library(&browser).expect("export"), 8).expect("import");
    let mut paths = back.path_entries().expect("paths");
    paths.sort_by(|a, b| a.path_key.cmp(&b.path_key));
    let mut original = native.path_entries().expect("paths");
    original.sort_by(|a, b| a.path_key.cmp(&b.path_key));
    assert_eq!(paths, original);
    assert_eq!(sorted_labels(&back), sorted_labels(&native));
    assert_eq!(back.dj_session_names().expect("names"), vec![set.name.clone()]);
    for id in &ids {
        assert_eq!(back.song_features(id).expect("get"), native.song_features(id).expect("get"));
    }
    let round_trip = taste::predict_selection_candidates(&mut back, &ids, 0, 9, &mut NoControl);
    assert_eq!(round_trip.items, scores.items);
    assert_eq!(export_library(&back).expect("export"), bytes, "the bundle is stable");
}

#[test]
fn a_damaged_bundle_changes_nothing() {
    let lib = SyntheticLibrary::new(2, 3);
    let mut source = MemoryStore::new();
    source.put_song_features(&lib.track(0), 1).expect("put");
    taste::set_selection_labels(&mut source, &[lib.track(0).song_id], Label::Liked, 1).expect("label");
    let mut bytes = export_library(&source).expect("export");
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    let mut target = MemoryStore::new();
    target.put_song_features(&lib.track(1), 1).expect("put");
    assert!(matches!(import_library(&mut target, &bytes, 2), Err(BundleError::File(_))));
    assert!(matches!(import_library(&mut target, b"not a bundle", 2), Err(BundleError::File(_))));
    assert!(target.labels().expect("labels").is_empty());
    assert_eq!(target.song_versions().expect("v").len(), 1);
}

/// A session name names a file in the library folder: a bundle made elsewhere with a name that
/// climbs out of it is refused before anything is written.
#[test]
fn a_bundle_with_a_bad_session_name_changes_nothing() {
    let lib = SyntheticLibrary::new(2, 3);
    let mut source = MemoryStore::new();
    source.put_song_features(&lib.track(0), 1).expect("put");
    let set = Session::new("ok", 1).expect("session");
    source.put_dj_session("../../escape", &set.to_bytes()).expect("the memory store holds any name");
    let bytes = export_library(&source).expect("export");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut target = SqliteStore::open(dir.path()).expect("open");
    let err = import_library(&mut target, &bytes, 2).expect_err("refused");
    assert!(matches!(err, BundleError::Session(_)), "{err}");
    assert!(err.to_string().contains("../../escape"), "{err}");
    assert!(target.song_versions().expect("v").is_empty(), "nothing written");
    assert!(target.dj_session_names().expect("names").is_empty());
    assert!(!dir.path().parent().expect("parent").join("escape.json").exists());
}
