//! Several real `selecta` processes on one library folder at once, as when the desktop app
//! keeps a library open while the DJ runs `selecta analyze` or `selecta watch` in a terminal:
//! every process exits 0, each file is read and stored exactly once (counted from the engine's
//! debug events of every process), the databases pass `PRAGMA integrity_check`, a process
//! killed with SIGKILL mid-run leaves nothing half-done for the rerun, and label counting is
//! exact when processes label at the same time.
//!
//! `SELECTA_CONCURRENCY_ROUNDS` sets the rounds of the four-process test (default 2).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use serde_json::Value;
use support::{selecta, stored_rows};

const PROCESSES: usize = 4;

fn synth_wav(path: &Path, i: usize) {
    let tonic = (i % 12) as u8;
    let mut spec = SynthSpec::new(
        84.0 + (i % 24) as f32 * 4.0,
        Key { tonic, mode: if i.is_multiple_of(2) { Mode::Major } else { Mode::Minor } },
    );
    spec.seconds = 8.0;
    spec.sample_rate = 22_050;
    spec.seed = i as u64 + 1;
    std::fs::write(path, wav_bytes(&render(&spec), spec.sample_rate, 1)).expect("write wav");
}

/// Spawn `selecta analyze --json` on `lib` with the engine's debug events on stderr.
fn spawn_analyze(lib: &Path) -> Child {
    selecta()
        .args(["analyze", "--json", "--jobs", "1"])
        .arg(lib)
        .env("SELECTA_LOG", "selecta_core::engine=debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn selecta")
}

/// Without terminal colour codes.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How often each path key appears in an engine event (`reading file` / `stored file`).
fn count_events(stderr: &str, event: &str, counts: &mut BTreeMap<String, usize>) {
    for line in plain(stderr).lines().filter(|l| l.contains(event)) {
        // The key is written quoted (`key="a 00.wav"`): file names have spaces.
        let key = line
            .split_once("key=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(key, _)| key)
            .unwrap_or_else(|| panic!("no key in the event line {line:?}"));
        *counts.entry(key.to_string()).or_default() += 1;
    }
}

fn report(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn integrity_ok(lib: &Path) {
    for db in ["features.db", "selection_path_index.db", "selection_labels.db"] {
        let conn = rusqlite::Connection::open(lib.join(db)).expect("open db");
        let r: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
        assert_eq!(r, "ok", "{db}");
    }
}

fn stored_paths(lib: &Path) -> usize {
    let conn = rusqlite::Connection::open(lib.join("selection_path_index.db")).expect("open");
    conn.query_row("SELECT COUNT(*) FROM path_index", [], |r| r.get::<_, i64>(0)).expect("count") as usize
}

fn claims_left(lib: &Path) -> usize {
    let conn = rusqlite::Connection::open(lib.join("selection_path_index.db")).expect("open");
    conn.query_row("SELECT COUNT(*) FROM analysis_claims", [], |r| r.get::<_, i64>(0)).expect("count") as usize
}

/// Run four analyses of `lib` at once; check the counts and return the files each event named.
fn four_at_once(lib: &Path, files: usize, new: usize) {
    let children: Vec<Child> = (0..PROCESSES).map(|_| spawn_analyze(lib)).collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();
    let (mut read, mut stored) = (BTreeMap::new(), BTreeMap::new());
    let mut analysed = 0;
    for out in &outputs {
        let r = report(out);
        assert_eq!(r["failed"], serde_json::json!([]), "{r}");
        let (a, u, e) = (r["analyzed"].as_u64(), r["unchanged"].as_u64(), r["analyzingElsewhere"].as_u64());
        let (Some(a), Some(u), Some(e)) = (a, u, e) else { panic!("counts missing: {r}") };
        assert_eq!((a + u + e) as usize, files, "every file is accounted for: {r}");
        analysed += a as usize;
        let stderr = String::from_utf8_lossy(&out.stderr);
        count_events(&stderr, "reading file", &mut read);
        count_events(&stderr, "stored file", &mut stored);
    }
    assert_eq!(analysed, new, "the new files are analysed once between the processes");
    assert_eq!(read.len(), new, "files read: {read:?}");
    assert!(read.values().all(|&n| n == 1), "a file was read twice: {read:?}");
    assert_eq!(stored.len(), new, "files stored: {stored:?}");
    assert!(stored.values().all(|&n| n == 1), "a file was stored twice: {stored:?}");
    assert_eq!(stored_paths(lib), files);
    assert_eq!(claims_left(lib), 0, "claims are given back");
    integrity_ok(lib);
}

#[test]
fn four_processes_on_one_folder_read_and_store_each_file_once() {
    let rounds: usize = std::env::var("SELECTA_CONCURRENCY_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    for round in 0..rounds {
        // A folder with no library yet: the four processes create and migrate it together.
        let dir = tempfile::tempdir().expect("tempdir");
        let lib = dir.path();
        for i in 0..12 {
            synth_wav(&lib.join(format!("a {i:02}.wav")), round * 100 + i);
        }
        four_at_once(lib, 12, 12);
        // The library exists now; twelve files arrive.
        for i in 12..24 {
            synth_wav(&lib.join(format!("b {i:02}.wav")), round * 100 + i);
        }
        four_at_once(lib, 24, 12);
    }
}

#[test]
fn a_process_killed_mid_run_leaves_its_files_to_the_others_and_the_rerun() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path();
    let total = 32;
    for i in 0..total {
        synth_wav(&lib.join(format!("t{i:02}.wav")), i);
    }
    let mut victim = spawn_analyze(lib);
    // Killed once it has stored something and is in the middle of the folder.
    let started = Instant::now();
    while stored_rows(lib) < 2 {
        assert!(started.elapsed() < Duration::from_secs(120), "nothing was stored within 120 s");
        assert!(victim.try_wait().expect("try_wait").is_none(), "the process ended before it could be killed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let others: Vec<Child> = (1..PROCESSES).map(|_| spawn_analyze(lib)).collect();
    victim.kill().expect("SIGKILL");
    let victim = victim.wait_with_output().expect("reap");
    assert!(!victim.status.success(), "the process was killed before it finished");
    let outputs: Vec<Output> = others.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();
    let rerun = spawn_analyze(lib).wait_with_output().expect("rerun");

    let (mut read, mut stored) = (BTreeMap::new(), BTreeMap::new());
    for out in outputs.iter().chain([&victim, &rerun]) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        count_events(&stderr, "reading file", &mut read);
        count_events(&stderr, "stored file", &mut stored);
    }
    for out in outputs.iter().chain([&rerun]) {
        assert_eq!(report(out)["failed"], serde_json::json!([]));
    }
    let rerun = report(&rerun);
    assert_eq!(rerun["analyzingElsewhere"], 0, "nobody else runs now: {rerun}");
    assert_eq!(stored.len(), total, "every file stored: {stored:?}");
    assert!(stored.values().all(|&n| n == 1), "a file was stored twice: {stored:?}");
    // Only the file the killed process was reading (one worker) may have been read again.
    let reread: Vec<_> = read.iter().filter(|(_, n)| **n > 1).collect();
    assert!(reread.len() <= 1 && reread.iter().all(|(_, n)| **n == 2), "read again: {reread:?}");
    assert_eq!(stored_paths(lib), total);
    assert_eq!(claims_left(lib), 0, "the killed process's claim was taken over and given back");
    let locks: Vec<PathBuf> =
        std::fs::read_dir(lib.join("locks")).expect("locks").map(|e| e.expect("e").path()).collect();
    assert!(locks.is_empty(), "owner files left: {locks:?}");
    integrity_ok(lib);
}

fn sample_change_count(lib: &Path) -> u64 {
    let conn = rusqlite::Connection::open(lib.join("selection_labels.db")).expect("open");
    let v: String = conn
        .query_row("SELECT value FROM schema_meta WHERE key = 'sampleChangeCount'", [], |r| r.get(0))
        .expect("counter");
    v.parse().expect("a number")
}

#[test]
fn processes_labelling_at_once_count_each_change_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path();
    let files = support::library(lib, 120);
    // Overlapping sets: process p likes tracks 20p .. 20p+40, so most tracks are liked by two
    // processes at the same time; 100 distinct tracks change.
    let children: Vec<Child> = (0..PROCESSES)
        .map(|p| {
            selecta()
                .args(["label", "liked", "--no-auto-train", "--json", "--library"])
                .arg(lib)
                .args(&files[20 * p..20 * p + 40])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut changed = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        changed += report(&out)["changed"].as_u64().expect("changed");
    }
    assert_eq!(changed, 100, "each real change is reported by one process");
    assert_eq!(sample_change_count(lib), 100);
    integrity_ok(lib);
}
