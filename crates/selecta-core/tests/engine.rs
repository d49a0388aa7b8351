//! The engine facade on the in-memory store: the analysis workflow (unchanged files answered
//! without their bytes, renames reusing their song, size limits before reading, cancellation
//! without writes, step-wise jobs equal to one call), the path-index clean-up at open, label
//! parsing and automatic retraining, import refreshing the path index, and similar-track search
//! (results from the query's style cluster, filters never violated, a fresh index after changes).

use selecta_core::control::NoControl;
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::{Begun, FileStatus, SimilarOptions, SongPage, parse_label};
use selecta_core::features::{Key, Mode};
use selecta_core::path_index::PATH_INDEX_TTL_MS;
use selecta_core::retrieval::{FilterRule, SearchFilters};
use selecta_core::testkit::Recorder;
use selecta_core::testkit::synth::{SynthSpec, id3v23_text_tag, push_riff_chunk, render, wav_bytes};
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{AnalysisPhase, Engine, ErrorCode, Label, MemoryStore, PathEntry, Store, TasteStore};

const DAY_MS: i64 = 24 * 3600 * 1000;

fn track(bpm: f32, tonic: u8, seed: u64) -> Vec<u8> {
    track_of(6.0, bpm, tonic, seed)
}

fn track_of(seconds: f32, bpm: f32, tonic: u8, seed: u64) -> Vec<u8> {
    let mut spec = SynthSpec::new(bpm, Key { tonic, mode: Mode::Minor });
    spec.seconds = seconds;
    spec.seed = seed;
    wav_bytes(&render(&spec), spec.sample_rate, 1)
}

fn engine() -> Engine<MemoryStore> {
    Engine::open(MemoryStore::new(), SamplingProfile::Fast, 1_000).expect("opens")
}

#[test]
fn an_unchanged_file_is_answered_without_its_bytes_and_a_renamed_one_reuses_its_song() {
    let mut e = engine();
    let bytes = track(124.0, 9, 1);
    let size = bytes.len() as u64;
    let first = e.analyze_file("crate/a.wav", bytes.clone(), None, 5, 10, &mut NoControl).expect("analysed");
    assert_eq!(first.status, FileStatus::Analyzed);
    let features = first.features.expect("features");
    assert_eq!(features["songId"], first.song_id.as_str());
    assert_eq!(features["path"], "crate/a.wav");

    // Same path, size and mtime: the plan answers from the index, so bytes that are not audio
    // at all cannot matter.
    let again =
        e.analyze_file("crate/a.wav", b"not audio".to_vec(), Some(size), 5, 20, &mut NoControl).expect("unchanged");
    assert_eq!((again.status, again.song_id.as_str()), (FileStatus::Unchanged, first.song_id.as_str()));

    // The same bytes under another path (a move): hashed, not decoded; the same song.
    let moved = e.analyze_file("other\\b.wav", bytes, None, 7, 30, &mut NoControl).expect("moved");
    assert_eq!((moved.status, moved.song_id.as_str()), (FileStatus::Unchanged, first.song_id.as_str()));
    let rows = e.list_songs().expect("list");
    let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["crate/a.wav", "other/b.wav"], "path keys are normalised and sorted");
    // Pages of the same listing.
    let page = |offset, limit| -> Vec<String> {
        e.list_songs_page(SongPage::new(offset, limit)).expect("page").into_iter().map(|r| r.path).collect()
    };
    assert_eq!(page(1, None), ["other/b.wav"]);
    assert_eq!(page(0, Some(1)), ["crate/a.wav"]);
    assert_eq!(page(1, Some(5)), ["other/b.wav"]);
    assert!(page(2, Some(1)).is_empty() && page(0, Some(0)).is_empty());
    let bad = SongPage::from_json(serde_json::json!({"offset": -1})).expect_err("a negative offset");
    assert_eq!(bad.code, ErrorCode::InvalidInput);
    assert!(SongPage::from_json(serde_json::json!({"ofset": 1})).is_err(), "an unknown option");
    assert_eq!(e.song_for_path("./other/b.wav").expect("lookup"), Some(first.song_id.clone()));
}

#[test]
fn a_changed_file_is_analysed_again() {
    let mut e = engine();
    let a = e.analyze_file("a.wav", track(124.0, 9, 1), None, 5, 10, &mut NoControl).expect("first");
    let b = e.analyze_file("a.wav", track(98.0, 2, 2), None, 6, 20, &mut NoControl).expect("edited");
    assert_eq!(b.status, FileStatus::Analyzed);
    assert_ne!(a.song_id, b.song_id, "other audio, other song");
    assert_eq!(e.song_for_path("a.wav").expect("lookup"), Some(b.song_id));
}

/// A tag edit changes a file's bytes, not its audio: the stored features take the new tags,
/// hash and size, with nothing computed from the audio again, and equal what a full analysis of
/// the edited file gives.
#[test]
fn a_tag_edit_keeps_the_features_computed_from_the_audio_and_takes_the_new_tags() {
    let original = track_of(12.0, 124.0, 9, 5);
    let mut edited = original.clone();
    push_riff_chunk(&mut edited, b"id3 ", &id3v23_text_tag(&[(b"TIT2", "Edited Title"), (b"TPE1", "Edited Artist")]));
    let mut e = engine();
    let first = e.analyze_file("crate/a.wav", original.clone(), None, 5, 10, &mut NoControl).expect("analysed");
    e.set_selection_labels(std::slice::from_ref(&first.song_id), "liked", 11).expect("label");
    let changes = e.store().sample_change_count().expect("count");

    let mut progress = Recorder::cancelling_after(usize::MAX);
    let retagged = e.analyze_file("crate/a.wav", edited.clone(), None, 6, 20, &mut progress).expect("retagged");
    assert_eq!((retagged.status, retagged.song_id.as_str()), (FileStatus::Analyzed, first.song_id.as_str()));
    let phases: Vec<AnalysisPhase> = progress.seen.iter().map(|p| p.phase).collect();
    assert!(phases.iter().all(|&p| p == AnalysisPhase::Decode), "decoded only: {phases:?}");
    let features = retagged.features.expect("features");
    assert_eq!(features["metadata"]["title"], "Edited Title");
    assert_ne!(features["fileHash"], first.features.as_ref().expect("features")["fileHash"]);
    assert_eq!(e.store().sample_change_count().expect("count"), changes + 1, "a tag edit of a labelled track");

    let mut fresh = engine();
    let full = fresh.analyze_file("crate/a.wav", edited, None, 6, 20, &mut NoControl).expect("full analysis");
    let without_time = |mut v: serde_json::Value| {
        v.as_object_mut().map(|o| o.remove("updatedAt"));
        v
    };
    assert_eq!(without_time(features), without_time(full.features.expect("features")));

    // The same samples under a header declaring another rate (a sped-up copy made by relabelling)
    // have the same songId, but not the same audio: analysed in full.
    let mut relabelled = original;
    let rate = u32::from_le_bytes([relabelled[24], relabelled[25], relabelled[26], relabelled[27]]);
    relabelled[24..28].copy_from_slice(&(rate * 2).to_le_bytes());
    relabelled[28..32].copy_from_slice(&(rate * 4).to_le_bytes());
    let mut progress = Recorder::cancelling_after(usize::MAX);
    let sped = e.analyze_file("crate/a.wav", relabelled, None, 7, 30, &mut progress).expect("relabelled");
    assert_eq!(sped.song_id, first.song_id, "the samples are the same");
    assert!(progress.seen.iter().any(|p| p.phase == AnalysisPhase::Features), "analysed in full");
    assert_eq!(sped.features.expect("features")["sampleRate"], rate * 2);
}

#[test]
fn a_file_over_the_limit_is_refused_before_reading_and_bad_audio_names_the_file() {
    let e = engine();
    let err = e.begin_file("big/mix.flac", 3 * 1024 * 1024 * 1024, 0).expect_err("too large");
    assert_eq!(err.code, ErrorCode::TooLarge);
    assert!(err.message.starts_with("big/mix.flac: "), "{}", err.message);
    let mut e = e;
    for (bytes, code) in
        [(Vec::new(), ErrorCode::EmptyFile), (b"plain text, no audio".repeat(40), ErrorCode::UnsupportedFormat)]
    {
        let err = e.analyze_file("x.mp3", bytes, None, 0, 1, &mut NoControl).expect_err("refused");
        assert_eq!(err.code, code, "{}", err.message);
        assert!(err.message.starts_with("x.mp3: "), "{}", err.message);
    }
    assert!(e.list_songs().expect("list").is_empty(), "nothing was written");
}

#[test]
fn a_cancelled_analysis_writes_nothing() {
    let mut e = engine();
    let mut control = Recorder::cancelling_after(1);
    let err = e.analyze_file("c.wav", track(124.0, 9, 3), None, 0, 1, &mut control).expect_err("cancelled");
    assert_eq!(err.code, ErrorCode::Cancelled);
    assert_eq!(control.seen.len(), 1, "stopped at the first check after a step");
    assert!(e.list_songs().expect("list").is_empty());
    assert!(e.store().song_versions().expect("versions").is_empty());
}

#[test]
fn stepping_a_job_by_hand_gives_the_one_call_result() {
    let bytes = track_of(20.0, 131.0, 4, 4);
    let mut whole = engine();
    let expected = whole.analyze_file("s.wav", bytes.clone(), None, 0, 1, &mut NoControl).expect("whole");
    let mut stepped = engine();
    let Begun::Pending(file) = stepped.begin_file("s.wav", bytes.len() as u64, 0).expect("plan") else {
        panic!("a new file must be read")
    };
    let mut job = file.start(bytes).expect("starts");
    let mut steps = 0;
    let processed = loop {
        steps += 1;
        if let Some(done) = job.step().expect("step") {
            break done;
        }
    };
    assert!(steps > 2, "a 20 s file takes several steps ({steps})");
    let committed = stepped.commit_file(processed, 1).expect("commit");
    let result = stepped.file_result(committed).expect("result");
    assert_eq!(result, expected);
}

#[test]
fn opening_collects_path_entries_not_seen_for_the_ttl_of_library_activity() {
    let mut store = MemoryStore::new();
    let entry = |key: &str| PathEntry {
        path_key: key.into(),
        file_path: key.into(),
        size: 1,
        mtime_ms: 1,
        song_id: "s".into(),
        file_hash: "h".into(),
    };
    let now = 1_000 * DAY_MS;
    store.put_path_entry(&entry("old.mp3"), now - PATH_INDEX_TTL_MS - 3 * DAY_MS).expect("put");
    store.put_path_entry(&entry("mid.mp3"), now - 30 * DAY_MS).expect("put");
    store.put_path_entry(&entry("recent.mp3"), now - DAY_MS).expect("put");
    // Opened a year after the last scan: the clock alone would forget everything. Measured from
    // the last sighting, only the entry that scans kept missing for longer than the TTL goes.
    let e = Engine::open(store, SamplingProfile::Fast, now + 365 * DAY_MS).expect("opens");
    let mut keys: Vec<String> = e.store().path_entries().expect("entries").into_iter().map(|p| p.path_key).collect();
    keys.sort();
    assert_eq!(keys, ["mid.mp3", "recent.mp3"]);
}

#[test]
fn labels_parse_strictly_and_twenty_changes_retrain_once_the_threshold_holds() {
    assert_eq!(parse_label("Liked").expect("liked"), Label::Liked);
    for bad in ["", "  ", "maybe"] {
        assert_eq!(parse_label(bad).expect_err(bad).code, ErrorCode::InvalidInput);
    }
    let lib = SyntheticLibrary::new(4, 9);
    let mut store = MemoryStore::new();
    let ids = lib.store_into(&mut store, 130).expect("stored");
    let mut e = Engine::open(store, SamplingProfile::Fast, 0).expect("opens");
    let err = e.set_selection_labels(&ids[..1], "", 1).expect_err("empty label");
    assert_eq!(err.code, ErrorCode::InvalidInput);

    // 19 liked: below the threshold, no training whatever the counter says.
    let liked: Vec<String> = ids[..19].to_vec();
    let disliked: Vec<String> = ids[30..130].to_vec();
    let o =
        e.label_songs(&[(Label::Liked, liked), (Label::Disliked, disliked)], true, 2, &mut NoControl).expect("labels");
    assert_eq!((o.total, o.changed, o.positives, o.negatives), (119, 119, 19, 100));
    assert!(o.auto_train.is_none(), "19 liked tracks are below the threshold");
    // Labelling the same tracks again is no change.
    let same = e.label_songs(&[(Label::Liked, ids[..19].to_vec())], true, 3, &mut NoControl).expect("again");
    assert_eq!((same.changed, same.sample_change_delta), (0, 0));
    // The 20th liked track: the threshold holds and the counter is far past 20.
    let o = e.label_songs(&[(Label::Liked, vec![ids[19].clone()])], true, 4, &mut NoControl).expect("20th");
    let trained = o.auto_train.expect("retrained");
    assert_eq!(trained.status, selecta_core::taste::TrainStatus::Trained);
    assert_eq!(o.sample_change_count, 0, "a successful training resets the counter");
    assert_eq!(e.store().sample_change_count().expect("count"), 0);
    let p = e.predict_selection_candidates(&ids[20..30], 0, 5, &mut NoControl);
    assert_eq!(p.items.len(), 10);
}

#[test]
fn import_refreshes_the_path_index() {
    let mut source = engine();
    let a = source.analyze_file("x/a.wav", track(120.0, 0, 5), None, 3, 1, &mut NoControl).expect("analysed");
    let bundle = source.export_library().expect("export");
    let mut target = engine();
    target.import_library(&bundle, 2).expect("import");
    assert_eq!(target.song_for_path("x/a.wav").expect("lookup"), Some(a.song_id));
    let err = target.import_library(b"not a bundle", 3).expect_err("junk");
    assert_eq!(err.code, ErrorCode::InvalidInput);
}

/// The `k` best, unfiltered.
fn top(k: usize) -> SimilarOptions {
    SimilarOptions { k: Some(k), ..SimilarOptions::default() }
}

/// An engine over 80 synthetic tracks in 4 style clusters (track `i` is in cluster `i % 4`).
fn clustered() -> (Engine<MemoryStore>, Vec<String>) {
    let mut store = MemoryStore::new();
    let ids = SyntheticLibrary::new(4, 21).store_into(&mut store, 80).expect("stored");
    (Engine::open(store, SamplingProfile::Fast, 0).expect("opens"), ids)
}

#[test]
fn similar_tracks_come_from_the_query_s_style_cluster_with_their_score_parts() {
    let (mut e, ids) = clustered();
    for q in [0, 1, 2, 3, 41] {
        let out = e.similar_tracks(&ids[q], &top(10)).expect("search");
        assert_eq!(out.items.len(), 10);
        assert!(out.filtered.is_none());
        for item in &out.items {
            let i = ids.iter().position(|id| *id == item.id).expect("a library song");
            assert_ne!(i, q, "the query is never its own result");
            assert_eq!(i % 4, q % 4, "query {q}: result {i} is from another cluster");
            assert!(item.parts.embedding.is_some() && item.parts.tags.is_some(), "{item:?}");
        }
        let scores: Vec<f32> = out.items.iter().map(|i| i.score).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first: {scores:?}");
        assert!(scores[0] > 0.0, "closer than a typical pair: {scores:?}");
    }
    let err = e.similar_tracks("no-such-song", &SimilarOptions::default()).expect_err("unknown");
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn a_k_past_the_library_s_size_returns_every_other_track() {
    // An HTTP client can ask for any `k`; the fuzzer's `k` near 2^64 once aborted the process
    // on a heap sized for it.
    let (mut e, ids) = clustered();
    for k in [80, 1_000_000, usize::MAX / 2, usize::MAX] {
        assert_eq!(e.similar_tracks(&ids[5], &top(k)).expect("search").items.len(), 79, "k = {k}");
        let exact = SimilarOptions { exact: true, ..top(k) };
        assert_eq!(e.similar_tracks(&ids[5], &exact).expect("search").items.len(), 79, "exact, k = {k}");
    }
}

#[test]
fn no_filtered_candidate_is_ever_returned_and_explain_names_the_rule() {
    let (mut e, ids) = clustered();
    let query = &ids[0];
    let store = e.store().clone();
    let facts = |id: &str| {
        let f = store.song_features(id).expect("read").expect("stored");
        (f.bpm.expect("bpm"), f.key.expect("key"), f.duration_sec)
    };
    let (q_bpm, q_key, _) = facts(query);
    let filters = SearchFilters {
        bpm: Some((q_bpm - 25.0, q_bpm + 25.0)),
        key_compatible: true,
        exclude: vec![ids[12].clone(), ids[9].clone()],
        duration: Some((150.0, 260.0)),
        ..SearchFilters::default()
    };
    let out = e
        .similar_tracks(
            query,
            &SimilarOptions { k: Some(80), explain: true, filters: filters.clone(), ..SimilarOptions::default() },
        )
        .expect("search");
    let filtered = out.filtered.expect("explained");
    let rules: Vec<FilterRule> = filtered.iter().map(|f| f.rule).collect();
    assert!(!out.items.is_empty() && !filtered.is_empty(), "{} kept, removed: {rules:?}", out.items.len());
    assert_eq!(out.items.len() + filtered.len(), ids.len() - 1, "every other track is either kept or explained");
    for item in &out.items {
        let (bpm, key, duration) = facts(&item.id);
        assert!((q_bpm - 25.0..=q_bpm + 25.0).contains(&bpm), "{bpm}");
        assert!(q_key.is_compatible_with(&key), "{} after {}", key.camelot(), q_key.camelot());
        assert!((150.0..=260.0).contains(&duration), "{duration}");
        assert!(item.id != ids[12] && item.id != ids[9]);
    }
    for f in &filtered {
        let (bpm, key, duration) = facts(&f.id);
        let why = match f.rule {
            FilterRule::Excluded => f.id == ids[12] || f.id == ids[9],
            FilterRule::Bpm => !(q_bpm - 25.0..=q_bpm + 25.0).contains(&bpm),
            FilterRule::Key => !q_key.is_compatible_with(&key),
            FilterRule::Duration => !(150.0..=260.0).contains(&duration),
        };
        assert!(why, "{f:?} was removed without violating its rule");
    }
}

#[test]
fn similar_options_parse_from_json_and_bad_options_are_invalid_input() {
    let o = SimilarOptions::from_json(serde_json::json!({
        "k": 5, "explain": true, "bpm": [120, 130], "halfDouble": true, "keyCompatible": true,
        "exclude": ["a"], "duration": [60, 600]
    }))
    .expect("parses");
    assert_eq!((o.k, o.explain), (Some(5), true));
    assert_eq!(o.filters.bpm, Some((120.0, 130.0)));
    assert!(o.filters.half_double && o.filters.key_compatible);
    assert_eq!(o.filters.exclude, ["a"]);
    assert_eq!(SimilarOptions::from_json(serde_json::Value::Null).expect("defaults"), SimilarOptions::default());
    for bad in [serde_json::json!({"k": -1}), serde_json::json!({"bpm": "fast"}), serde_json::json!([1])] {
        assert_eq!(SimilarOptions::from_json(bad.clone()).expect_err("bad").code, ErrorCode::InvalidInput, "{bad}");
    }
}

#[test]
fn the_search_sees_tracks_that_arrive_after_it_was_built() {
    let mut store = MemoryStore::new();
    let lib = SyntheticLibrary::new(4, 21);
    let all = lib.store_into(&mut store, 80).expect("stored");
    let mut full = Engine::open(store, SamplingProfile::Fast, 0).expect("opens");
    let mut small_store = MemoryStore::new();
    lib.store_into(&mut small_store, 8).expect("stored");
    let mut e = Engine::open(small_store, SamplingProfile::Fast, 0).expect("opens");
    assert_eq!(e.similar_tracks(&all[0], &top(100)).expect("search").items.len(), 7);
    e.import_library(&full.export_library().expect("export"), 1).expect("import");
    assert_eq!(e.similar_tracks(&all[0], &top(100)).expect("search").items.len(), 79);
    let direct = full.similar_tracks(&all[0], &top(10)).expect("search");
    let imported = e.similar_tracks(&all[0], &top(10)).expect("search");
    assert_eq!(direct, imported, "the same library gives the same answer");
}

#[test]
fn a_damaged_vorbis_setup_header_is_one_failed_file_and_the_library_goes_on() {
    // A damaged Ogg Vorbis setup header that made symphonia assert (found by the fuzz targets):
    // checked before symphonia reads it.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/decode_ogg/vorbis-lookup1-assert.ogg");
    let bytes = std::fs::read(&path).expect("the kept input");
    let mut e = engine();
    let err = e.analyze_file("bad.ogg", bytes, None, 1, 1, &mut NoControl).expect_err("refused");
    assert_eq!(err.code, ErrorCode::InvalidInput, "{}", err.message);
    assert!(
        err.message.starts_with("bad.ogg: audio data is corrupt: the Vorbis setup header is damaged: codebook 32"),
        "{}",
        err.message
    );
    // The path is free again and the next file is analysed as usual.
    let ok = e.analyze_file("good.wav", track(120.0, 0, 5), None, 2, 1, &mut NoControl).expect("analysed");
    assert_eq!(ok.status, FileStatus::Analyzed);
}
