//! `selecta bench --export [--tracks 50000]`: the DJ-software formats at library scale, on a
//! SQLite library of synthetic records (features, DJ features, path entries) in a temporary
//! folder, on one thread: the rekordbox XML export of every track (plain, and with a
//! "Similar to" playlist, a planned set and a session), its size, reading it back as an import
//! that matches every track by location, and an M3U8 of 1 000 tracks.

use std::time::Instant;

use anyhow::{Context, Result};
use selecta_core::control::NoControl;
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::interop::{M3uOptions, RekordboxExportOptions, RekordboxImportOptions};
use selecta_core::path_index::path_key;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{Engine, PathEntry, Store};
use selecta_sqlite::SqliteStore;
use serde_json::{Value, json};

fn seconds_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn bench_size(n: usize) -> Result<Value> {
    let dir = tempfile::tempdir().context("temporary folder")?;
    let root = dir.path().to_string_lossy().into_owned();
    let lib = SyntheticLibrary::new(16, 7);
    let started = Instant::now();
    let mut store = SqliteStore::open(dir.path())?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let f = lib.track(i);
        store.put_song_features(&f, 0)?;
        let rel = format!("Artist {:03}/Album {:02}/{i:05} – track & mix.flac", i % 997, i % 13);
        let entry = PathEntry {
            path_key: path_key(&rel),
            file_path: rel,
            size: 30_000_000 + i as u64,
            mtime_ms: 1_700_000_000_000 + i as i64 * 60_000,
            song_id: f.song_id.clone(),
            file_hash: f.file_hash.clone(),
        };
        store.put_path_entry(&entry, 0)?;
        ids.push(f.song_id);
    }
    let fill_s = seconds_since(started);
    let mut engine = Engine::open(store, SamplingProfile::Full, 0)?;
    engine.session_played("bench", &ids[0], 1)?;
    engine.session_played("bench", &ids[1], 2)?;

    let plain_options = RekordboxExportOptions { library_root: root.clone(), ..Default::default() };
    let t = Instant::now();
    let plain = engine.export_rekordbox_xml(&plain_options, 0, &mut NoControl)?;
    let plain_s = seconds_since(t);
    let t = Instant::now();
    let again = engine.export_rekordbox_xml(&plain_options, 0, &mut NoControl)?;
    let again_s = seconds_since(t);
    let lists_options = RekordboxExportOptions {
        similar_to: vec![ids[n / 2].clone()],
        plans: vec![ids[n / 3].clone()],
        sessions: vec!["bench".into()],
        ..plain_options.clone()
    };
    let t = Instant::now();
    let lists = engine.export_rekordbox_xml(&lists_options, 0, &mut NoControl)?;
    let lists_s = seconds_since(t);

    let import_options = RekordboxImportOptions { library_root: root.clone(), ..Default::default() };
    let t = Instant::now();
    let imported =
        engine.import_rekordbox_xml(plain.xml.as_bytes(), &import_options, &mut |_| None, 0, &mut NoControl)?;
    let import_s = seconds_since(t);

    let some: Vec<String> = ids.iter().take(1000).cloned().collect();
    let t = Instant::now();
    let m3u = engine.export_m3u(&some, &M3uOptions { library_root: root, playlist_dir: None })?;
    let m3u_s = seconds_since(t);
    Ok(json!({
        "tracks": n,
        "fillSeconds": fill_s,
        "rekordbox": {
            "exportSeconds": plain_s,
            "secondExportSeconds": again_s,
            "identical": plain.xml == again.xml,
            "megabytes": plain.xml.len() as f64 / 1e6,
            "withPlaylistsSeconds": lists_s,
            "playlists": lists.playlists,
            "importSeconds": import_s,
            "importMatched": imported.matched.len(),
        },
        "m3u1000Seconds": m3u_s,
        "m3uLines": m3u.lines().count(),
    }))
}

pub fn run(sizes: &[usize], json_out: bool) -> Result<()> {
    let mut results = Vec::new();
    for &n in sizes {
        let r = bench_size(n)?;
        if !json_out {
            let rb = &r["rekordbox"];
            println!(
                "{n:>6} tracks: rekordbox XML {:.2} s ({:.1} MB, second run identical: {}), with playlists {:.2} s; \
                 import {:.2} s ({} matched); M3U8 of 1000 {:.3} s",
                rb["exportSeconds"].as_f64().unwrap_or(0.0),
                rb["megabytes"].as_f64().unwrap_or(0.0),
                rb["identical"],
                rb["withPlaylistsSeconds"].as_f64().unwrap_or(0.0),
                rb["importSeconds"].as_f64().unwrap_or(0.0),
                rb["importMatched"],
                r["m3u1000Seconds"].as_f64().unwrap_or(0.0),
            );
        }
        results.push(r);
    }
    if json_out {
        println!("{}", Value::Array(results));
    }
    Ok(())
}
