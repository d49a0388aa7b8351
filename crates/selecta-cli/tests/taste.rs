//! End-to-end tests of `selecta label`, `train` and `predict` through the real binary, on a
//! library whose features are synthetic records (the taste model needs no audio to be tested;
//! the files exist so that paths resolve), and a `kill -9` during training.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use selecta_sqlite::{MANIFEST_FILE, MODEL_DIR};
use serde_json::Value;
use support::{library, run_json, selecta};

fn lib_arg(dir: &Path) -> Vec<PathBuf> {
    vec!["--library".into(), dir.to_path_buf()]
}

#[test]
fn label_train_predict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = library(dir.path(), 160);
    let liked: Vec<PathBuf> = files.iter().step_by(4).cloned().collect();
    let disliked: Vec<PathBuf> = files.iter().enumerate().filter(|(i, _)| i % 4 != 0).map(|(_, f)| f.clone()).collect();

    // 19 liked: not enough; no scores at all.
    let r = run_json(&["label", "liked", "--json"], &liked[..19]);
    assert_eq!(
        (r["total"].as_u64(), r["changed"].as_u64(), r["sampleChangeCount"].as_u64()),
        (Some(19), Some(19), Some(19))
    );
    let t = run_json(&["train", "--json"], &lib_arg(dir.path()));
    assert_eq!(t["status"], "insufficient_samples");
    let p = run_json(&["predict", "--json"], &lib_arg(dir.path()));
    assert_eq!(p["status"], "insufficient_samples");
    assert_eq!(p["items"].as_array().map(Vec::len), Some(0));

    // One more liked and 80 disliked from a CSV: the counter passes 20 and the threshold holds,
    // so the label call retrains by itself.
    let mut csv = String::from("path,label\n");
    csv.push_str(&format!("{},liked\n", liked[19].display()));
    for f in &disliked[..80] {
        csv.push_str(&format!("{},disliked\n", f.strip_prefix(dir.path()).expect("inside").display()));
    }
    csv.push_str("tracks/missing.mp3,liked\n");
    std::fs::write(dir.path().join("labels.csv"), csv).expect("csv");
    let r = run_json(&["label", "--json", "--csv"], &[dir.path().join("labels.csv")]);
    assert_eq!(r["changed"], 81);
    assert_eq!(r["unknown"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r["autoTrain"]["status"], "trained", "{r}");
    assert_eq!(r["autoTrain"]["modelRevision"], 1);
    assert_eq!(r["sampleChangeCount"], 0);

    // Every unlabelled track, best first, with paths; the liked style on top.
    let p = run_json(&["predict", "--json", "--top-k", "10"], &lib_arg(dir.path()));
    assert_eq!((p["status"].as_str(), p["modelRevision"].as_u64()), (Some("ok"), Some(1)));
    let items = p["items"].as_array().expect("items");
    assert_eq!(items.len(), 10);
    let labelled: Vec<String> = liked[..20]
        .iter()
        .chain(&disliked[..80])
        .map(|f| f.file_name().expect("name").to_string_lossy().into())
        .collect();
    for it in items {
        let path = it["path"].as_str().expect("path");
        assert!(!labelled.iter().any(|l| path.ends_with(l.as_str())), "{path} is labelled");
        let n: usize = path.trim_start_matches("tracks/t").trim_end_matches(".mp3").parse().expect("number");
        assert_eq!(n % 4, 0, "{path} is not of the liked style");
        assert!(it["score"].as_u64().is_some_and(|s| s <= 100));
    }
    // Named files only.
    let p = run_json(&["predict", "--json"], &[files[150].clone(), files[151].clone()]);
    assert_eq!(p["items"].as_array().map(Vec::len), Some(2));

    // Retraining by hand gives revision 2; the manifest says so.
    let t = run_json(&["train", "--json"], &lib_arg(dir.path()));
    assert_eq!((t["status"].as_str(), t["modelRevision"].as_u64()), (Some("trained"), Some(2)));
    // The liked style is one of four clearly apart: the trees separate the training rows.
    let auc = t["metrics"]["trainAuc"].as_f64().expect("trainAuc");
    assert!((0.95..=1.0).contains(&auc), "training AUC {auc}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(MODEL_DIR).join(MANIFEST_FILE)).expect("read"))
            .expect("json");
    assert_eq!(manifest["modelRevision"], 2);

    // Bad arguments exit 2; an unknown label is refused.
    let out = selecta().args(["label", "maybe"]).arg(&files[0]).output().expect("run");
    assert!(!out.status.success());
    let out = selecta().args(["label"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn kill_9_during_training_keeps_the_previous_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = library(dir.path(), 1500);
    let liked: Vec<PathBuf> = files.iter().step_by(4).take(250).cloned().collect();
    let disliked: Vec<PathBuf> = files.iter().enumerate().filter(|(i, _)| i % 4 != 0).map(|(_, f)| f.clone()).collect();
    run_json(&["label", "liked", "--json", "--no-auto-train"], &liked);
    run_json(&["label", "disliked", "--json", "--no-auto-train"], &disliked[..1000]);
    let t = run_json(&["train", "--json"], &lib_arg(dir.path()));
    assert_eq!(t["modelRevision"], 1);
    let model_path = dir.path().join(MODEL_DIR).join(selecta_core::taste::MODEL_FILE);
    let model_before = std::fs::read(&model_path).expect("model");
    let before = run_json(&["predict", "--json", "--top-k", "0"], &lib_arg(dir.path()));

    // Killed once the training has started (the engine's debug event), while it still runs: a
    // training that ended first would test nothing, so that fails the test.
    let mut child = selecta()
        .args(["train", "--json", "--library"])
        .arg(dir.path())
        .env("SELECTA_LOG", "selecta_core::taste=debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if line.contains("training started") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(120)).expect("the training started within 120 s");
    assert!(child.try_wait().expect("status").is_none(), "the training ended before it could be killed");
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reap");
    assert!(!status.success(), "the training was killed, not finished: {status:?}");
    assert_eq!(std::fs::read(&model_path).expect("model"), model_before, "the old model is untouched");
    let after = run_json(&["predict", "--json", "--top-k", "0"], &lib_arg(dir.path()));
    assert_eq!(after["status"], "ok");
    assert_eq!(after["items"], before["items"], "scores of the previous model");
    let t = run_json(&["train", "--json"], &lib_arg(dir.path()));
    assert_eq!((t["status"].as_str(), t["modelRevision"].as_u64()), (Some("trained"), Some(2)));
}
