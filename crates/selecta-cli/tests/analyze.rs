//! End-to-end tests of `selecta analyze` / `selecta show` through the real binary: incremental
//! runs, renames and moves, edits, bad input, and a `kill -9` in the middle of a run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use serde_json::Value;
use support::{selecta, stored_rows};

mod support;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/audio").join(name)
}

fn synth_wav(path: &Path, bpm: f32, tonic: u8, seconds: f32) {
    let mut spec =
        SynthSpec::new(bpm, Key { tonic, mode: if tonic.is_multiple_of(2) { Mode::Major } else { Mode::Minor } });
    spec.seconds = seconds;
    spec.sample_rate = 22_050;
    spec.seed = u64::from(tonic) + 1;
    std::fs::write(path, wav_bytes(&render(&spec), spec.sample_rate, 1)).expect("write wav");
}

fn analyze(dir: &Path) -> Value {
    let out = selecta().args(["analyze", "--json", "--jobs", "2"]).arg(dir).output().expect("run selecta");
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON object")
}

fn show(file: &Path) -> Value {
    let out = selecta().args(["show", "--json"]).arg(file).output().expect("run selecta");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn incremental_runs_renames_moves_and_edits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path();
    std::fs::create_dir(lib.join("sub")).expect("mkdir");
    synth_wav(&lib.join("a.wav"), 120.0, 0, 6.0);
    synth_wav(&lib.join("b.wav"), 128.0, 3, 6.0);
    std::fs::copy(fixture("groove.flac"), lib.join("sub/groove.flac")).expect("copy");

    let first = analyze(lib);
    assert_eq!(first["scanned"], 3);
    assert_eq!(first["analyzed"], 3);
    assert_eq!(first["unchanged"], 0);
    assert_eq!(first["failed"].as_array().map(Vec::len), Some(0));

    let second = analyze(lib);
    assert_eq!(second["analyzed"], 0, "an unchanged library decodes nothing");
    assert_eq!(second["unchanged"], 3);

    // Rename and move: same songId, nothing decoded.
    let before = show(&lib.join("sub/groove.flac"));
    std::fs::rename(lib.join("sub/groove.flac"), lib.join("moved.flac")).expect("move");
    std::fs::rename(lib.join("a.wav"), lib.join("sub/renamed.wav")).expect("rename");
    let third = analyze(lib);
    assert_eq!(third["analyzed"], 0, "moves and renames are not decoded again: {third}");
    assert_eq!(third["unchanged"], 3);
    let after = show(&lib.join("moved.flac"));
    assert_eq!(after["songId"], before["songId"]);
    assert_eq!(after["bpm"], before["bpm"]);

    // A changed file is analysed alone.
    synth_wav(&lib.join("b.wav"), 100.0, 5, 6.0);
    let fourth = analyze(lib);
    assert_eq!(fourth["analyzed"], 1);
    assert_eq!(fourth["unchanged"], 2);
    let b = show(&lib.join("b.wav"));
    let bpm = b["bpm"].as_f64().expect("bpm");
    assert!((bpm / 100.0 - 1.0).abs() < 0.02, "{bpm}");
}

#[test]
fn show_json_has_every_documented_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixture("groove.mp3"), dir.path().join("groove.mp3")).expect("copy");
    analyze(dir.path());
    let v = show(&dir.path().join("groove.mp3"));
    for key in [
        "songId",
        "fileHash",
        "path",
        "durationSec",
        "sampleRate",
        "channels",
        "bitrateKbps",
        "bpm",
        "bpmConfidence",
        "key",
        "camelot",
        "openKey",
        "keyStrength",
        "rmsMean",
        "loudnessLufs",
        "hpcp",
        "chromaprintFingerprint",
        "chromaprintSimhash",
        "metadata",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["key"], "A minor");
    assert_eq!(v["camelot"], "8A");
    assert_eq!(v["openKey"], "1m");
    assert_eq!(v["hpcp"].as_array().map(Vec::len), Some(12));
    assert_eq!(v["metadata"]["title"], "Fixture Groove");
    assert_eq!(v["chromaprintSimhash"].as_str().map(str::len), Some(16));
    // Values against the fixture as made (10 s, 44.1 kHz stereo, 124 BPM, 128 kb/s) and as
    // ffmpeg measures it (ebur128: −17.9 LUFS for this MP3; its file hash is `sha256sum`'s).
    let num = |key: &str| v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"));
    assert!((num("durationSec") - 10.0).abs() < 0.08, "{v}");
    assert_eq!((v["sampleRate"].as_u64(), v["channels"].as_u64()), (Some(44_100), Some(2)));
    assert!((num("bitrateKbps") - 128.0).abs() < 20.0, "{v}");
    assert!((num("bpm") / 124.0 - 1.0).abs() < 0.01, "{v}");
    assert!((0.0..=1.0).contains(&num("bpmConfidence")) && (0.0..=1.0).contains(&num("keyStrength")), "{v}");
    assert!((num("loudnessLufs") + 17.9).abs() <= 0.15, "{v}");
    assert!(num("rmsMean") > 0.0 && num("rmsMean") < 1.0, "{v}");
    use sha2::Digest;
    let sha = sha2::Sha256::digest(std::fs::read(fixture("groove.mp3")).expect("fixture"));
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["fileHash"].as_str(), Some(hex.as_str()));
}

#[test]
fn bad_input_is_reported_per_file_and_the_rest_is_analysed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path();
    synth_wav(&lib.join("good.wav"), 110.0, 2, 5.0);
    std::fs::copy(fixture("groove.ogg"), lib.join("good.ogg")).expect("copy");
    std::fs::write(lib.join("empty.mp3"), b"").expect("write");
    let mut noise = Vec::with_capacity(200_000);
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push((x >> 24) as u8);
    }
    std::fs::write(lib.join("random.mp3"), &noise).expect("write");
    std::fs::write(lib.join("notes.flac"), "these are my notes, not audio\n".repeat(50)).expect("write");
    let wav = std::fs::read(lib.join("good.wav")).expect("read");
    std::fs::write(lib.join("truncated.wav"), &wav[..wav.len() / 2]).expect("write");
    let mp3 = std::fs::read(fixture("groove.mp3")).expect("read");
    std::fs::write(lib.join("truncated.mp3"), &mp3[..mp3.len() / 2]).expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(lib.join("does-not-exist.flac"), lib.join("dangling.flac")).expect("symlink");
    // A FLAC with a zeroed stretch in the middle: analysed from the rest, with a warning.
    let mut flac = std::fs::read(fixture("long.flac")).expect("read");
    let at = flac.len() / 2;
    flac[at..at + 30_000].fill(0);
    std::fs::write(lib.join("damaged [2009 rip].flac"), &flac).expect("write");

    let out = selecta().args(["analyze", "--json"]).arg(lib).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["analyzed"], 3, "{report}");
    let warnings = report["warnings"].as_array().expect("warnings list");
    assert_eq!(warnings.len(), 1, "{report}");
    assert!(warnings[0]["path"].as_str().is_some_and(|p| p.ends_with("damaged [2009 rip].flac")), "{report}");
    assert!(warnings[0]["warning"].as_str().is_some_and(|w| w.contains("could not be decoded")), "{report}");
    let shown = selecta().args(["show", "--json"]).arg(lib.join("damaged [2009 rip].flac")).output().expect("run");
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("show json");
    assert!(shown["damage"]["skippedSec"].as_f64().is_some_and(|s| s > 1.0), "{shown}");
    let failed = report["failed"].as_array().expect("failed list");
    let reason = |name: &str| -> String {
        failed
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .and_then(|f| f["error"].as_str())
            .unwrap_or_else(|| panic!("{name} not in failed: {report}"))
            .to_string()
    };
    // The path has its own field; the error is the reason alone, as documented.
    assert_eq!(reason("empty.mp3"), "file is empty (0 bytes)");
    assert!(reason("random.mp3").contains("not a supported audio file") || reason("random.mp3").contains("corrupt"));
    assert!(reason("notes.flac").contains("not a supported audio file"));
    assert!(reason("truncated.wav").contains("truncated"), "{}", reason("truncated.wav"));
    assert!(reason("truncated.mp3").contains("truncated"), "{}", reason("truncated.mp3"));
    #[cfg(unix)]
    assert!(reason("dangling.flac").contains("cannot read"));
    // A rerun keeps the good ones and reports the bad ones again.
    let again = analyze(lib);
    assert_eq!(again["unchanged"], 3);
    assert_eq!(again["failed"].as_array().map(Vec::len), Some(failed.len()));
}

#[test]
fn kill_9_mid_run_loses_nothing_committed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path();
    let total = 24;
    for i in 0..total {
        synth_wav(&lib.join(format!("t{i:02}.wav")), 90.0 + i as f32 * 3.0, (i % 12) as u8, 20.0);
    }
    let mut child = selecta()
        .args(["analyze", "--json", "--jobs", "1"])
        .arg(lib)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Killed once three tracks are stored, while it is still running: a run that finished
    // first would test nothing, so that fails the test.
    let started = std::time::Instant::now();
    let mut seen = stored_rows(lib);
    while seen < 3 {
        assert!(started.elapsed() < Duration::from_secs(120), "analysis never committed anything");
        assert!(child.try_wait().expect("try_wait").is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
        seen = stored_rows(lib);
    }
    assert!(child.try_wait().expect("try_wait").is_none(), "the run ended before it could be killed");
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reap");
    assert!(!status.success(), "the run was killed, not finished: {status:?}");
    let after_kill = stored_rows(lib);
    assert!(after_kill >= seen, "rows committed before the kill survive ({after_kill} < {seen})");
    assert!(after_kill < total, "the kill came before the end of the run");
    let conn = rusqlite::Connection::open(lib.join("features.db")).expect("open");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(check, "ok");
    drop(conn);
    let rerun = analyze(lib);
    assert_eq!(rerun["scanned"], total);
    let analyzed = rerun["analyzed"].as_i64().expect("n");
    let unchanged = rerun["unchanged"].as_i64().expect("n");
    assert_eq!((analyzed + unchanged) as usize, total);
    assert_eq!(unchanged, after_kill as i64, "committed tracks are not analysed again");
    assert_eq!(analyzed, (total - after_kill) as i64, "the rest is analysed once");
    assert_eq!(stored_rows(lib), total);
}

#[test]
fn usage_and_fatal_errors_have_documented_exit_codes() {
    let out = selecta().args(["analyze", "/definitely/not/here"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/definitely/not/here"));
    let out = selecta().args(["analyze", "--bogus"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

fn model_copy(dir: &Path, version: &str) -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../resources/models/musicnn-msd");
    let dst = dir.join("model");
    std::fs::create_dir_all(&dst).expect("mkdir");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(src.join("manifest.json")).expect("manifest")).expect("json");
    manifest["modelVersion"] = Value::from(version);
    std::fs::write(dst.join("manifest.json"), serde_json::to_vec(&manifest).expect("json")).expect("write");
    std::fs::copy(src.join("model.onnx"), dst.join("model.onnx")).expect("copy");
    dst
}

fn analyze_with_model(lib: &Path, model_dir: &Path) -> Value {
    let out =
        selecta().args(["analyze", "--json", "--model-dir"]).arg(model_dir).arg(lib).output().expect("run selecta");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn missing_or_altered_model_gives_runtime_unavailable_and_keeps_every_other_feature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).expect("mkdir");
    std::fs::copy(fixture("groove.ogg"), lib.join("groove.ogg")).expect("copy");
    let model = model_copy(dir.path(), "musicnn-msd-1");
    // One byte altered.
    let mut bytes = std::fs::read(model.join("model.onnx")).expect("model");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(model.join("model.onnx"), &bytes).expect("write");
    let report = analyze_with_model(&lib, &model);
    assert_eq!(report["embedding"]["status"], "runtime_unavailable", "{report}");
    assert!(report["embedding"]["error"].as_str().is_some_and(|e| e.contains("does not match")));
    assert_eq!(report["analyzed"], 1);
    let shown = show(&lib.join("groove.ogg"));
    assert!(shown["embedding"].is_null());
    assert!((shown["bpm"].as_f64().expect("bpm") / 124.0 - 1.0).abs() < 0.02);
    assert_eq!(shown["key"], "A minor");
    // Model file removed.
    std::fs::remove_file(model.join("model.onnx")).expect("rm");
    let report = analyze_with_model(&lib, &model);
    assert_eq!(report["embedding"]["status"], "runtime_unavailable");
    assert!(report["embedding"]["error"].as_str().is_some_and(|e| e.contains("missing")));
    assert_eq!(report["unchanged"], 1, "nothing to do without a model");
}

#[test]
fn a_new_model_version_recomputes_only_the_embedding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).expect("mkdir");
    std::fs::copy(fixture("groove.flac"), lib.join("groove.flac")).expect("copy");
    let first = analyze(&lib);
    assert_eq!(first["embedding"]["embedded"], 1);
    let before = show(&lib.join("groove.flac"));
    assert_eq!(before["modelVersion"], "musicnn-msd-1");
    assert_eq!(before["topTags"].as_array().map(Vec::len), Some(10));
    let model = model_copy(dir.path(), "musicnn-msd-2");
    let report = analyze_with_model(&lib, &model);
    assert_eq!(report["analyzed"], 1, "{report}");
    assert_eq!(report["embedding"]["embedded"], 1);
    let after = show(&lib.join("groove.flac"));
    assert_eq!(after["modelVersion"], "musicnn-msd-2");
    assert_eq!(after["embedding"], before["embedding"], "same weights, same vector");
    for key in ["songId", "bpm", "key", "loudnessLufs", "hpcp", "chromaprintFingerprint"] {
        assert_eq!(after[key], before[key], "{key} untouched");
    }
    // The same version again: nothing to do.
    let again = analyze_with_model(&lib, &model);
    assert_eq!(again["analyzed"], 0);
    assert_eq!(again["unchanged"], 1);
    // Another profile is another embedding.
    let out = selecta()
        .args(["analyze", "--json", "--profile", "fast", "--model-dir"])
        .arg(&model)
        .arg(&lib)
        .output()
        .expect("run");
    let fast: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(fast["embedding"]["embedded"], 1);
    let shown = show(&lib.join("groove.flac"));
    assert_eq!(shown["profile"], "fast");
    // Both profiles take the whole of a 10 s track (`fast` takes 30 s from the middle), so the
    // file is embedded again under the new profile and the vector comes out the same.
    assert_eq!(shown["embedding"], after["embedding"]);
}
