//! `selecta similar` through the real binary on a library of synthetic records in 4 styles:
//! results come from the query's style, filters hold, `--id` and FILE agree, and bad
//! arguments or unknown songs fail with the documented exit codes.

mod support;

use std::path::PathBuf;

use support::{library, run_json, selecta};

#[test]
fn similar_by_file_and_by_id_returns_the_query_s_style_and_respects_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = library(dir.path(), 120);
    let query = &files[5];
    let by_file = run_json(&["similar", "--json", "-k", "8"], std::slice::from_ref(query));
    let items = by_file["items"].as_array().expect("items");
    assert_eq!(items.len(), 8, "{by_file}");
    for item in items {
        let path = item["path"].as_str().expect("path");
        let n: usize = path.trim_start_matches("tracks/t").trim_end_matches(".mp3").parse().expect("track number");
        assert_eq!(n % 4, 5 % 4, "{path} is from another style");
        assert_ne!(n, 5, "the query is not its own result");
        assert!(item["parts"]["embedding"].is_number(), "{item}");
    }
    let lib: Vec<PathBuf> = vec!["--library".into(), dir.path().to_path_buf()];
    let first_id = items[0]["id"].as_str().expect("id").to_string();
    let query_id = run_json(&["similar", "--json", "-k", "1", "--id", &first_id], &lib)["items"][0]["id"].clone();
    assert!(query_id.is_string());

    // Filters: a tempo window with half/double time, key compatibility, an exclusion; with
    // --explain every other track is either a result or removed by a named rule.
    let filtered = run_json(
        &[
            "similar",
            "--json",
            "-k",
            "200",
            "--bpm",
            "85-110",
            "--half-double",
            "--key-compatible",
            "--explain",
            "--exclude",
            &first_id,
        ],
        std::slice::from_ref(query),
    );
    let kept = filtered["items"].as_array().expect("items");
    let removed = filtered["filtered"].as_array().expect("filtered");
    assert_eq!(kept.len() + removed.len(), files.len() - 1, "{filtered}");
    assert!(kept.iter().all(|i| i["id"] != first_id.as_str()));
    assert!(removed.iter().any(|r| r["id"] == first_id.as_str() && r["rule"] == "excluded"));
    for rule in removed.iter().map(|r| r["rule"].as_str().expect("rule")) {
        assert!(["excluded", "bpm", "key", "duration"].contains(&rule), "{rule}");
    }
}

#[test]
fn bad_ranges_and_unknown_songs_fail_with_documented_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = library(dir.path(), 20);
    for bad in ["fast", "130-120", "120"] {
        let out = selecta().args(["similar", "--bpm", bad]).arg(&files[0]).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "--bpm {bad}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = selecta().args(["similar", "--id", "nope", "--library"]).arg(dir.path()).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the library"));
}
