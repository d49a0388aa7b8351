//! Helpers shared by the CLI test binaries: the `selecta` binary, running it for its JSON, and
//! a library of synthetic feature records with placeholder files, so that commands that need
//! no audio (labels, training, search) are tested at a realistic size.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use selecta_core::path_index::path_key;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{PathEntry, Store};
use selecta_sqlite::SqliteStore;
use serde_json::Value;

pub fn selecta() -> Command {
    Command::new(env!("CARGO_BIN_EXE_selecta"))
}

pub fn run_json(args: &[&str], extra: &[PathBuf]) -> Value {
    let out = selecta().args(args).args(extra).output().expect("run selecta");
    assert!(out.status.success(), "{args:?}: exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A library of `n` synthetic tracks in 4 styles; file `tracks/tNNNN.mp3` is track NNNN and
/// belongs to style NNNN % 4.
pub fn library(dir: &Path, n: usize) -> Vec<PathBuf> {
    let lib = SyntheticLibrary::new(4, 5);
    let mut store = SqliteStore::open(dir).expect("open");
    std::fs::create_dir_all(dir.join("tracks")).expect("mkdir");
    (0..n)
        .map(|i| {
            let f = lib.track(i);
            store.put_song_features(&f, 0).expect("put");
            let rel = format!("tracks/t{i:04}.mp3");
            std::fs::write(dir.join(&rel), b"placeholder").expect("file");
            let entry = PathEntry {
                path_key: path_key(&rel),
                file_path: rel.clone(),
                size: 11,
                mtime_ms: 0,
                song_id: f.song_id,
                file_hash: f.file_hash,
            };
            store.put_path_entry(&entry, 0).expect("path");
            dir.join(rel)
        })
        .collect()
}

/// Tracks stored in the library at `lib` (0 before its `features.db` exists), read by a
/// connection of its own while another process may be writing.
pub fn stored_rows(lib: &Path) -> usize {
    rusqlite::Connection::open_with_flags(lib.join("features.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM song_features", [], |r| r.get::<_, i64>(0)))
        .map_or(0, |n| n as usize)
}
