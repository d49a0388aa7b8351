//! Stores opened on one library folder at the same time, as several processes do: schema
//! creation and migration, label counting and analysis claims stay correct. (Each thread opens
//! its own connections and owner lock, which is what a second process does; the CLI tests run
//! real processes.)

use std::path::Path;
use std::sync::{Arc, Barrier};

use selecta_core::store::PathClaim;
use selecta_core::{Label, Store, TasteStore};
use selecta_sqlite::{FEATURES_SCHEMA_VERSION, LABELS_SCHEMA_VERSION, PATH_INDEX_SCHEMA_VERSION, SqliteStore};

fn version(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open");
    let v: String =
        conn.query_row("SELECT value FROM schema_meta WHERE key = 'schemaVersion'", [], |r| r.get(0)).expect("version");
    v.parse().expect("number")
}

#[test]
fn eight_stores_opening_a_new_folder_at_once_all_succeed_and_migrate_once() {
    for _round in 0..10 {
        let dir = tempfile::tempdir().expect("tempdir");
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (root, barrier) = (dir.path().to_path_buf(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteStore::open(&root).map(|s| s.song_count())
                })
            })
            .collect();
        for h in handles {
            let opened = h.join().expect("thread");
            assert!(matches!(opened, Ok(Ok(0))), "{opened:?}");
        }
        assert_eq!(version(&dir.path().join("features.db")), FEATURES_SCHEMA_VERSION);
        assert_eq!(version(&dir.path().join("selection_path_index.db")), PATH_INDEX_SCHEMA_VERSION);
        assert_eq!(version(&dir.path().join("selection_labels.db")), LABELS_SCHEMA_VERSION);
    }
}

#[test]
fn the_same_label_set_by_four_stores_at_once_counts_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    SqliteStore::open(dir.path()).expect("create");
    let ids: Vec<String> = (0..50).map(|i| format!("song-{i:02}")).collect();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (root, barrier, ids) = (dir.path().to_path_buf(), Arc::clone(&barrier), ids.clone());
            std::thread::spawn(move || {
                let mut store = SqliteStore::open(&root).expect("open");
                barrier.wait();
                // One id at a time, so the four interleave.
                ids.iter()
                    .map(|id| store.apply_label(std::slice::from_ref(id), Label::Liked, 1).expect("label").0.len())
                    .sum::<usize>()
            })
        })
        .collect();
    let changed: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    let store = SqliteStore::open(dir.path()).expect("open");
    assert_eq!(changed, 50, "each change is reported by one store");
    assert_eq!(store.sample_change_count().expect("count"), 50);
    assert_eq!(store.labels().expect("labels").len(), 50);
}

#[test]
fn a_training_takes_off_only_the_changes_it_saw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = SqliteStore::open(dir.path()).expect("open");
    let mut b = SqliteStore::open(dir.path()).expect("open");
    a.apply_label(&["x".to_string(), "y".to_string()], Label::Liked, 1).expect("label");
    let seen = a.sample_change_count().expect("count");
    // Another process labels while the training runs.
    b.apply_label(&["z".to_string()], Label::Disliked, 2).expect("label");
    assert_eq!(a.consume_sample_changes(seen).expect("consume"), 1);
    assert_eq!(b.sample_change_count().expect("count"), 1);
}

#[test]
fn a_claim_is_held_against_other_stores_until_given_back_or_its_owner_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = SqliteStore::open(dir.path()).expect("open");
    let mut b = SqliteStore::open(dir.path()).expect("open");
    assert_eq!(a.claim_path("x.mp3", 1).expect("claim"), PathClaim::Granted);
    assert_eq!(b.claim_path("x.mp3", 2).expect("claim"), PathClaim::HeldElsewhere);
    assert_eq!(b.claim_path("y.mp3", 2).expect("claim"), PathClaim::Granted);
    a.release_path("x.mp3").expect("release");
    assert_eq!(b.claim_path("x.mp3", 3).expect("claim"), PathClaim::Granted);
    assert_eq!(a.claim_path("x.mp3", 4).expect("claim"), PathClaim::HeldElsewhere);
    // A store that closes gives its claims back.
    assert_eq!(a.claim_path("z.mp3", 5).expect("claim"), PathClaim::Granted);
    drop(a);
    assert_eq!(b.claim_path("z.mp3", 6).expect("claim"), PathClaim::Granted);
}

#[test]
fn a_claim_whose_owner_died_is_taken_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = SqliteStore::open(dir.path()).expect("open");
    // What a process killed with SIGKILL leaves: its claim row, and an owner file nobody locks.
    let conn = rusqlite::Connection::open(dir.path().join("selection_path_index.db")).expect("open");
    conn.execute("INSERT INTO analysis_claims (pathKey, owner, claimedAtMs) VALUES ('x.mp3', '999999-0-1', 0)", [])
        .expect("insert");
    std::fs::write(dir.path().join("locks/999999-0-1.lock"), b"").expect("owner file");
    assert_eq!(b.claim_path("x.mp3", 1).expect("claim"), PathClaim::Granted);
    // A live owner in another process is told apart by its lock, which this one cannot take.
    let live = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join("locks/424242-0-1.lock"))
        .expect("file");
    live.lock().expect("lock");
    conn.execute("INSERT INTO analysis_claims (pathKey, owner, claimedAtMs) VALUES ('y.mp3', '424242-0-1', 0)", [])
        .expect("insert");
    assert_eq!(b.claim_path("y.mp3", 2).expect("claim"), PathClaim::HeldElsewhere);
    drop(live);
    assert_eq!(b.claim_path("y.mp3", 3).expect("claim"), PathClaim::Granted);
}
