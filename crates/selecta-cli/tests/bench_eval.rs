//! `selecta bench` and `selecta eval`: the numbers they print are the ones their inputs
//! determine (the fixtures' lengths, the synthesised tempos, shares counted by hand), a bad
//! file is counted as failed and the run goes on.

mod support;

use std::path::Path;

use serde_json::Value;
use support::run_json;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/audio").join(name)
}

fn copy_fixtures(dir: &Path, names: &[&str]) {
    for name in names {
        std::fs::copy(fixture(name), dir.join(name)).expect("copy fixture");
    }
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn eval_tempo_scores_each_row_against_its_truth() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_fixtures(dir.path(), &["groove.wav", "long.flac", "groove.mp3"]);
    // The fixtures are synthesised at 124 and 128 BPM; the MP3's row claims half its tempo (an
    // octave error: Acc2 but not Acc1), and one row names a file that is not there.
    let manifest = dir.path().join("manifest.csv");
    std::fs::write(&manifest, "path,bpm_gt\ngroove.wav,124\nlong.flac,128\ngroove.mp3,62\nmissing.wav,100\n")
        .expect("manifest");
    let report = run_json(&["eval", "tempo", "--json", "--jobs", "1"], &[manifest]);
    assert_eq!(report["tracks"], 4);
    assert_eq!(num(&report, "acc1"), 0.5, "{report}");
    assert_eq!(num(&report, "acc2"), 0.75, "{report}");
    let rows = report["results"].as_array().expect("results");
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("{name} in {report}"))
    };
    for (name, truth) in [("groove.wav", 124.0), ("long.flac", 128.0)] {
        let bpm = num(row(name), "bpm");
        assert!((bpm / truth - 1.0).abs() < 0.01, "{name}: {bpm} BPM");
        assert_eq!(row(name)["acc1"], true, "{name}");
    }
    let octave = row("groove.mp3");
    assert_eq!((octave["acc1"].as_bool(), octave["acc2"].as_bool()), (Some(false), Some(true)), "{octave}");
    // The second-best octave is the half tempo the row claims.
    assert_eq!(octave["acc1WithAlternative"], true, "{octave}");
    let missing = row("missing.wav");
    assert!(missing["error"].as_str().is_some_and(|e| e.contains("No such file")), "{missing}");
    assert!(missing["bpm"].is_null());
}

#[test]
fn bench_measures_each_format_and_counts_a_bad_file_as_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_fixtures(dir.path(), &["groove.wav", "long.flac", "groove4-alac.m4a"]);
    std::fs::write(dir.path().join("broken.mp3"), [0x5a; 5000]).expect("bad file");
    let report = run_json(&["bench", "--json"], &[dir.path().to_path_buf()]);
    // Lengths from the fixtures themselves (ffprobe: 10, 24 and 4 s).
    for (format, seconds) in [("wav", 10.0), ("flac", 24.0), ("m4a", 4.0)] {
        let row = &report[format];
        assert_eq!((row["files"].as_u64(), row["failed"].as_u64()), (Some(1), Some(0)), "{format}: {row}");
        assert!((num(row, "audioSec") - seconds).abs() < 0.01, "{format}: {row}");
        // The ratios are what they say: audio seconds over the seconds spent.
        let (decode, analysis) = (num(row, "decodeSec"), num(row, "analysisSec"));
        assert!(decode > 0.0 && analysis >= decode, "{format}: analysis includes decoding: {row}");
        assert!((num(row, "decodeXRealtime") * decode / seconds - 1.0).abs() < 0.01, "{format}: {row}");
        assert!((num(row, "analysisOverDecode") * decode / analysis - 1.0).abs() < 0.01, "{format}: {row}");
    }
    assert_eq!((report["mp3"]["files"].as_u64(), report["mp3"]["failed"].as_u64()), (Some(0), Some(1)), "{report}");
}

#[test]
fn bench_taste_and_search_report_their_sizes_and_quality() {
    let taste = run_json(&["bench", "--taste", "--candidates", "2000", "--liked", "50", "--json"], &[]);
    assert_eq!((taste["candidates"].as_u64(), taste["liked"].as_u64()), (Some(2000), Some(50)), "{taste}");
    // The candidates hold the liked style; the model trained on it ranks that style first.
    assert!(num(&taste, "top100FromLikedStyle") >= 90.0, "{taste}");
    assert!(num(&taste, "predictCachedSeconds") <= num(&taste, "predictColdSeconds"), "{taste}");

    let search = run_json(&["bench", "--search", "--tracks", "300", "--queries", "20", "--json"], &[]);
    let sizes = search["search"].as_array().expect("one entry per size");
    assert_eq!(sizes.len(), 1, "{search}");
    for beam in sizes[0]["approximate"]["beams"].as_array().expect("beams") {
        // 300 tracks: the approximate index finds the exact top 10.
        assert!(num(beam, "recallAt10") >= 0.95, "{beam}");
    }
}

/// `path,label` rows for the library's files, liked where `liked(i)`, plus a missing file.
fn labels_csv(dir: &Path, files: &[std::path::PathBuf], liked: impl Fn(usize) -> bool) -> std::path::PathBuf {
    let mut csv = String::from("path,label\n");
    for (i, f) in files.iter().enumerate() {
        let rel = f.strip_prefix(dir).expect("inside").to_string_lossy().replace('\\', "/");
        csv.push_str(&format!("{rel},{}\n", if liked(i) { "liked" } else { "disliked" }));
    }
    csv.push_str("tracks/missing.mp3,liked\n");
    let path = dir.join("labels.csv");
    std::fs::write(&path, csv).expect("labels");
    path
}

#[test]
fn eval_taste_cross_validates_labels_of_a_library() {
    // 400 synthetic tracks in 4 styles. Style 0 liked, the rest disliked: the styles are far
    // apart, so every fold ranks the 100 liked tracks first, and recall@k is k / 100.
    let dir = tempfile::tempdir().expect("tempdir");
    let files = support::library(dir.path(), 400);
    let labels = labels_csv(dir.path(), &files, |i| i % 4 == 0);
    let report = run_json(&["eval", "taste", "--json", "--folds", "3", "--labels"], &[labels]);
    assert_eq!((report["samples"].as_u64(), report["positives"].as_u64()), (Some(400), Some(100)), "{report}");
    let skipped = report["skipped"].as_array().expect("skipped");
    assert!(skipped.len() == 1 && skipped[0].as_str().is_some_and(|s| s.contains("missing.mp3")), "{report}");
    for model in ["gbdt", "knn"] {
        assert!(num(&report[model], "rocAuc") >= 0.99, "{model}: {report}");
        for at in report[model]["atK"].as_array().expect("atK") {
            let k = num(at, "k");
            assert!((num(at, "recall") - k / 100.0).abs() < 1e-9, "{model}: {at}");
        }
    }

    // Labels that are noise (a hash of the index): nothing to learn, and a held-out fold must
    // not look learnable either (a leak between folds would).
    let noise = |i: usize| (i.wrapping_mul(2_654_435_761) >> 7).is_multiple_of(4);
    let labels = labels_csv(dir.path(), &files, noise);
    let report = run_json(&["eval", "taste", "--json", "--folds", "3", "--labels"], &[labels]);
    for model in ["gbdt", "knn"] {
        let auc = num(&report[model], "rocAuc");
        assert!((0.35..=0.65).contains(&auc), "{model}: ROC-AUC {auc} on noise labels");
    }
}
