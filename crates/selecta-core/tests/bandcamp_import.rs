//! Bandcamp CSV import through the engine on a table of names that real shops and taggers write
//! differently: accents, other artist separators, featured artists, "(Original Mix)", a remix
//! that must stay apart from its original, the same recording twice in the library (ambiguous,
//! never guessed), a file without tags named `Artist - Title`, an album row, rows that match
//! nothing. A malformed file writes nothing.

use selecta_core::control::NoControl;
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::BandcampImportOptions;
use selecta_core::path_index::path_key;
use selecta_core::store::TasteStore;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{Engine, MemoryStore, PathEntry, Store};

/// (artist, title, album, path) of a library song.
type Song = (Option<&'static str>, Option<&'static str>, Option<&'static str>, &'static str);

const LIBRARY: &[Song] = &[
    (Some("Âme & Dixon"), Some("Rej (Original Mix)"), None, "a/rej.flac"),
    (Some("Bicep"), Some("Glue"), None, "b/glue.mp3"),
    (Some("Bicep"), Some("Glue (Hammer Remix)"), None, "b/glue remix.mp3"),
    (Some("Floating Points"), Some("Silhouettes"), None, "c/silhouettes.mp3"),
    (Some("Floating Points"), Some("Silhouettes"), None, "c/silhouettes (remaster).mp3"),
    (None, None, None, "d/Kerri Chandler - Rain.mp3"),
    (Some("Röyksopp"), Some("Eple"), Some("Melody A.M."), "e/eple.mp3"),
    (Some("Röyksopp"), Some("Poor Leno"), Some("Melody A.M."), "e/poor leno.mp3"),
    (Some("Sade"), Some("Smooth Operator"), None, "f/smooth.mp3"),
];

const CSV: &str = "Band Name,Item Name,Item Type,Tags,Genre\n\
Dixon & Ame,Rej,track,\"deep house, techno\",Electronic\n\
Bicep feat. Clara La San,Glue,track,uk,\n\
Bicep,Glue (Hammer Remix),track,remix,\n\
BICEP,\"Glue (Original Mix)\",track,\"belfast; UK\",Dance\n\
Floating Points,Silhouettes,track,,\n\
Kerri Chandler,Rain,track,garage,House\n\
Royksopp,Melody A.M.,album,norway,Electronic\n\
Sade,Kiss of Life,track,,\n\
,No artist,track,,\n";

fn library() -> (Engine<MemoryStore>, Vec<String>) {
    let synth = SyntheticLibrary::new(4, 3);
    let mut store = MemoryStore::new();
    let mut ids = Vec::new();
    for (i, (artist, title, album, path)) in LIBRARY.iter().enumerate() {
        let mut f = synth.track(i);
        f.metadata.artist = artist.map(str::to_string);
        f.metadata.title = title.map(str::to_string);
        f.metadata.album = album.map(str::to_string);
        store.put_song_features(&f, 0).expect("put");
        let entry = PathEntry {
            path_key: path_key(path),
            file_path: path.to_string(),
            size: 1,
            mtime_ms: 0,
            song_id: f.song_id.clone(),
            file_hash: f.file_hash.clone(),
        };
        store.put_path_entry(&entry, 0).expect("path");
        ids.push(f.song_id);
    }
    (Engine::open(store, SamplingProfile::Fast, 0).expect("opens"), ids)
}

#[test]
fn rows_match_by_normalised_names_and_ambiguous_ones_are_reported() {
    let (mut engine, ids) = library();
    let options = BandcampImportOptions { like: true, no_auto_train: true, ..Default::default() };
    let report = engine.import_bandcamp_csv(CSV.as_bytes(), &options, 1, &mut NoControl).expect("imports");
    assert_eq!(report.rows, 9);
    let matched: Vec<(u64, Vec<String>)> = report.matched.iter().map(|m| (m.row.line, m.song_ids.clone())).collect();
    let mut album = vec![ids[6].clone(), ids[7].clone()];
    album.sort();
    assert_eq!(
        matched,
        [
            (2, vec![ids[0].clone()]),
            (3, vec![ids[1].clone()]),
            (4, vec![ids[2].clone()]),
            (5, vec![ids[1].clone()]),
            (7, vec![ids[5].clone()]),
            (8, album),
        ],
        "{report:#?}"
    );
    assert_eq!(report.ambiguous.len(), 1);
    assert_eq!(report.ambiguous[0].row.line, 6);
    assert_eq!(report.ambiguous[0].candidates, ["c/silhouettes (remaster).mp3", "c/silhouettes.mp3"]);
    let unmatched: Vec<u64> = report.unmatched.iter().map(|u| u.line).collect();
    assert_eq!(unmatched, [9, 10]);

    // Brought-in metadata beside the tags: two rows of one song merge, the file's tags stay.
    let store = engine.store();
    let glue = store.user_metadata(&ids[1]).expect("reads").expect("kept");
    assert_eq!(glue.tags, ["uk", "belfast"]);
    assert_eq!(glue.genre.as_deref(), Some("Dance"));
    let file_genre = SyntheticLibrary::new(4, 3).track(1).metadata.genre;
    assert_eq!(store.song_features(&ids[1]).expect("reads").expect("song").metadata.genre, file_genre);
    let rej = engine.song_json(&ids[0], None).expect("reads").expect("song");
    assert_eq!(rej["userMetadata"]["tags"], serde_json::json!(["deep house", "techno"]));
    assert_eq!(rej["userMetadata"]["source"], "bandcamp");
    assert!(store.user_metadata(&ids[3]).expect("reads").is_none(), "an ambiguous row writes nothing");
    assert!(store.user_metadata(&ids[8]).expect("reads").is_none());
    // `like`: every matched song, once.
    let labels = report.labels.expect("labelled");
    assert_eq!(labels.positives, 6);
    assert_eq!(store.labels().expect("labels").len(), 6);
}

#[test]
fn a_malformed_file_or_mapping_writes_nothing() {
    let (mut engine, ids) = library();
    let broken = CSV.replace("Sade,Kiss of Life,track,,", "Sade,\"Kiss of Life,track,,");
    let options = BandcampImportOptions { like: true, ..Default::default() };
    let err = engine.import_bandcamp_csv(broken.as_bytes(), &options, 1, &mut NoControl).expect_err("refused");
    assert!(err.to_string().contains("line"), "{err}");
    let no_columns = engine.import_bandcamp_csv(b"foo,bar\n1,2\n", &options, 1, &mut NoControl).expect_err("refused");
    assert!(no_columns.to_string().contains("foo, bar"), "{no_columns}");
    let mut bad_map = BandcampImportOptions::default();
    bad_map.map.insert("Genre".into(), "mood".into());
    assert!(engine.import_bandcamp_csv(CSV.as_bytes(), &bad_map, 1, &mut NoControl).is_err());
    let store = engine.store();
    assert!(ids.iter().all(|id| store.user_metadata(id).expect("reads").is_none()));
    assert!(store.labels().expect("labels").is_empty());
}
