//! `selecta next`, `selecta session` and `selecta plan` through the real binary on a library
//! of synthetic records (with DJ features): the rules hold in the JSON, a session persists
//! between processes and feeds the history, a plan writes an M3U8 playlist whose entries are the
//! planned tracks, and bad arguments fail with exit codes.

mod support;

use std::path::PathBuf;

use support::{library, run_json, selecta};

#[test]
fn next_session_and_plan_through_the_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = library(dir.path(), 300);
    let lib: Vec<PathBuf> = vec!["--library".into(), dir.path().to_path_buf()];
    let query = &files[7];
    let next = run_json(&["next", "--json", "--goal", "up", "-k", "10", "--explain"], std::slice::from_ref(query));
    let current_energy = next["currentEnergy"].as_f64().expect("energy");
    let items = next["items"].as_array().expect("items");
    assert!(!items.is_empty(), "{next}");
    for item in items {
        assert!(item["energy"].as_f64().expect("energy") > current_energy, "goal up: {item}");
        assert!(item["parts"]["similarity"].is_number() && item["parts"]["lowEnd"].is_number(), "{item}");
    }
    let current = next["current"].as_str().expect("current").to_string();
    assert!(next["filtered"].as_array().expect("filtered").iter().any(|f| f["rule"] == "energy"), "{next}");

    // A session, one process per call: the played tracks are left out of the next call.
    let name = "Friday – main room";
    run_json(&["session", "new", name, "--json"], &lib);
    run_json(&["session", "played", name, "--id", &current, "--json"], &lib);
    let pick = items[0]["id"].as_str().expect("id").to_string();
    run_json(&["session", "played", name, "--id", &pick, "--json"], &lib);
    let shown = run_json(&["session", "show", name, "--json"], &lib);
    assert_eq!(shown["current"], pick.as_str(), "{shown}");
    let after = run_json(&["next", "--json", "-k", "300", "--session", name], &lib);
    assert_eq!(after["current"], pick.as_str());
    assert!(
        after["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["id"] != current.as_str() && i["id"] != pick.as_str())
    );
    let undone = run_json(&["session", "undo", name, "--json"], &lib);
    assert_eq!(undone["id"], pick.as_str());
    assert!(dir.path().join("sessions").join(format!("{name}.json")).is_file());

    // A plan as JSON and as M3U8 beside the tracks (relative paths).
    let m3u = dir.path().join("set.m3u8");
    let mut args = lib.clone();
    args.push("--m3u".into());
    args.push(m3u.clone());
    let plan = run_json(&["plan", "--id", &current, "--length", "8", "--arc", "warmup", "--json"], &args);
    let planned: Vec<&str> =
        plan["items"].as_array().expect("items").iter().map(|i| i["path"].as_str().expect("path")).collect();
    assert_eq!(planned.len(), 8, "{plan}");
    let text = std::fs::read_to_string(&m3u).expect("playlist written");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#EXTM3U");
    let locations: Vec<&str> = lines.iter().copied().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(locations, planned, "the playlist lists the plan in order, relative to its folder");
    assert!(lines.iter().filter(|l| l.starts_with("#EXTINF:")).count() == 8);

    // Bad input: an unknown goal and arc are argument errors (2); an unknown session fails (1).
    let bad_goal = selecta().args(["next", "--goal", "sideways", "--id", &current]).args(&lib).output().expect("run");
    assert_eq!(bad_goal.status.code(), Some(2));
    let bad_arc = selecta().args(["plan", "--id", &current, "--arc", "4,11"]).args(&lib).output().expect("run");
    assert_eq!(bad_arc.status.code(), Some(2));
    let no_session = selecta().args(["session", "show", "nobody"]).args(&lib).output().expect("run");
    assert_eq!(no_session.status.code(), Some(1), "{}", String::from_utf8_lossy(&no_session.stderr));
}
