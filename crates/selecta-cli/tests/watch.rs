//! `selecta watch` through the real binary on a real folder: a new file is analysed; a burst of
//! a thousand copies (and one file rewritten over and over) all get their path and none is
//! analysed again (the copies are known bytes); a changed file is analysed again; a move keeps
//! the song under its new path; a deleted folder is forgotten; SIGINT stops the watcher with
//! exit code 0. Runs without the embedding model (a missing model folder), so it stays fast.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use selecta_core::Store;
use selecta_sqlite::SqliteStore;
use serde_json::Value;
use support::selecta;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/audio").join(name)
}

/// The watcher's JSON lines, summed.
#[derive(Debug, Default)]
struct Seen {
    scans: usize,
    analyzed: u64,
    failed: Vec<Value>,
    removed: BTreeSet<String>,
    /// The lines that analysed something (for failure messages).
    analysing: Vec<Value>,
}

struct Watcher {
    child: Child,
    lines: mpsc::Receiver<Value>,
    seen: Seen,
}

impl Watcher {
    fn start(dir: &Path) -> Watcher {
        let mut child = selecta()
            .args(["watch", "--json", "--debounce-ms", "300", "--jobs", "2", "--profile", "fast"])
            .arg(dir)
            .env("SELECTA_MODEL_DIR", dir.join("no model here"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the watcher");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Watcher { child, lines, seen: Seen::default() }
    }

    /// Read events until `done` holds for what was seen and the library (polled), or fail.
    fn until(&mut self, dir: &Path, what: &str, done: impl Fn(&Seen, &BTreeSet<String>) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.scans += 1;
                self.seen.analyzed += line["analyzed"].as_u64().expect("analyzed");
                if line["analyzed"].as_u64() != Some(0) {
                    self.seen.analysing.push(line.clone());
                }
                self.seen.failed.extend(line["failed"].as_array().expect("failed").iter().cloned());
                for r in line["removed"].as_array().into_iter().flatten() {
                    self.seen.removed.insert(r.as_str().expect("path").to_string());
                }
            }
            if done(&self.seen, &paths(dir)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: still waiting; seen {:?}, {} paths",
                self.seen,
                paths(dir).len()
            );
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The library's paths now (read beside the running watcher).
fn paths(dir: &Path) -> BTreeSet<String> {
    match SqliteStore::open(dir) {
        Ok(store) => store.path_entries().map(|e| e.into_iter().map(|p| p.file_path).collect()).unwrap_or_default(),
        Err(_) => BTreeSet::new(),
    }
}

#[test]
fn a_watched_folder_follows_new_changed_moved_and_deleted_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let mut w = Watcher::start(&dir);
    w.until(&dir, "first scan", |s, _| s.scans >= 1);

    // A new file in a folder with an odd name.
    std::fs::create_dir_all(dir.join("Ünï & co")).expect("mkdir");
    std::fs::copy(fixture("groove.ogg"), dir.join("Ünï & co/a.ogg")).expect("copy");
    w.until(&dir, "new file", |s, p| s.analyzed == 1 && p.contains("Ünï & co/a.ogg"));

    // A burst: a thousand copies, and one of them rewritten twenty times with the same bytes.
    // The smallest fixture (110 KB): a thousand copies of the WAV would put 1.8 GB on the disk.
    std::fs::create_dir_all(dir.join("burst")).expect("mkdir");
    for i in 0..1000 {
        std::fs::copy(fixture("groove.ogg"), dir.join(format!("burst/c{i:04}.ogg"))).expect("copy");
    }
    for _ in 0..20 {
        std::fs::copy(fixture("groove.ogg"), dir.join("burst/c0000.ogg")).expect("rewrite");
    }
    w.until(&dir, "burst", |_, p| p.iter().filter(|x| x.starts_with("burst/")).count() == 1000);
    assert_eq!(w.seen.analyzed, 1, "a copy of known bytes was analysed again: {:#?}", w.seen.analysing);
    assert!(w.seen.failed.is_empty(), "{:?}", w.seen.failed);

    // A changed file (other audio under the same name) is analysed again.
    std::fs::copy(fixture("groove.opus"), dir.join("burst/c0001.ogg")).expect("overwrite");
    w.until(&dir, "changed file", |s, _| s.analyzed == 2 || !s.failed.is_empty());
    assert!(w.seen.failed.is_empty(), "{:?}", w.seen.failed);

    // A move: the old path is forgotten, the new one holds the same song.
    std::fs::create_dir_all(dir.join("moved")).expect("mkdir");
    std::fs::rename(dir.join("Ünï & co/a.ogg"), dir.join("moved/b.ogg")).expect("move");
    w.until(&dir, "move", |s, p| s.removed.contains("Ünï & co/a.ogg") && p.contains("moved/b.ogg"));
    assert!(!paths(&dir).contains("Ünï & co/a.ogg"));

    // A deleted folder.
    std::fs::remove_dir_all(dir.join("burst")).expect("rm");
    w.until(&dir, "deleted folder", |_, p| p.iter().all(|x| !x.starts_with("burst/")));
    assert_eq!(paths(&dir).into_iter().collect::<Vec<_>>(), ["moved/b.ogg"]);
    assert_eq!(w.seen.analyzed, 2, "something was analysed twice: {:#?}", w.seen.analysing);

    // SIGINT: a clean stop.
    let pid = w.child.id().to_string();
    let status = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = w.child.try_wait().expect("wait") {
            break status.code();
        }
        assert!(Instant::now() < deadline, "the watcher did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
}
