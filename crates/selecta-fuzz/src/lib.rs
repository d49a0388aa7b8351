//! Fuzz targets: every reader of bytes a user or another program hands Selecta (audio
//! containers, the library bundle, the taste model file, rekordbox XML, Bandcamp CSV, requests
//! to the HTTP service). Each
//! target must return — an error is a fine answer — without panicking, hanging or allocating
//! without bound. The same functions run under libFuzzer (`fuzz/`, `cargo fuzz run <target>`)
//! and, for a bounded time, in the test suite (`tests/bounded.rs`), so a crash found once stays
//! a regression test.
//!
//! The sealed formats (bundle, model) carry a SHA-256 of their payload; random bytes never get
//! past it, so those targets also seal the input as a payload and open that: the fuzzer then
//! reaches the decoder behind the checksum.

mod http;

use std::path::Path;

use selecta_core::audio::{DecodeLimits, decode};
use selecta_core::interop::{bandcamp, rekordbox};
use selecta_core::taste::model::{self, SelectionModel};
use selecta_core::testkit::synth::{id3v23_text_tag, push_riff_chunk, wav_bytes};
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{Label, MemoryStore, TasteStore, bundle, taste};
use sha2::{Digest, Sha256};

/// One fuzz target: a name (`cargo fuzz run <name>`), the seeds' file extensions and the function.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// File extensions of the committed fixtures that seed it (empty: seeds are built in code).
    pub seed_extensions: &'static [&'static str],
    /// Run one input.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target { name: "decode_mp3", seed_extensions: &["mp3"], run: decode_mp3 },
    Target { name: "decode_flac", seed_extensions: &["flac"], run: decode_flac },
    Target { name: "decode_ogg", seed_extensions: &["ogg", "opus"], run: decode_ogg },
    Target { name: "decode_wav", seed_extensions: &["wav"], run: decode_wav },
    Target { name: "decode_mp4", seed_extensions: &["m4a"], run: decode_mp4 },
    Target { name: "decode_webm", seed_extensions: &["webm"], run: decode_webm },
    Target { name: "decode_aiff", seed_extensions: &["aiff"], run: decode_aiff },
    Target { name: "bundle_import", seed_extensions: &[], run: bundle_import },
    Target { name: "taste_model", seed_extensions: &[], run: taste_model },
    Target { name: "rekordbox_xml", seed_extensions: &[], run: rekordbox_xml },
    Target { name: "bandcamp_csv", seed_extensions: &[], run: bandcamp_csv },
    Target { name: "http_request", seed_extensions: &[], run: http_request },
];

pub use http::http_request;

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Decode with a file name as the format hint (the extension), as a library scan does. A decode
/// that succeeds must say the same thing twice: the song id is a hash of the PCM.
fn decode_as(data: &[u8], name: &str) {
    let limits = DecodeLimits::default();
    let run = || {
        let mut samples = 0usize;
        decode(data.to_vec(), Some(name), &limits, |block, _| samples += block.len()).map(|s| (s, samples))
    };
    if let Ok((first, first_samples)) = run() {
        let again = run().map(|(s, n)| (s.song_id, n));
        assert_eq!(
            again.ok(),
            Some((first.song_id, first_samples)),
            "{name}: a second decode of the same bytes differs"
        );
    }
}

/// MP3 (and what symphonia probes behind an `.mp3` name).
pub fn decode_mp3(data: &[u8]) {
    decode_as(data, "fuzz.mp3");
}

/// FLAC, including the frame scan that skips damaged frames.
pub fn decode_flac(data: &[u8]) {
    decode_as(data, "fuzz.flac");
}

/// Ogg Vorbis and Ogg Opus, including the page resynchronisation.
pub fn decode_ogg(data: &[u8]) {
    decode_as(data, "fuzz.ogg");
}

/// WAV (RIFF PCM).
pub fn decode_wav(data: &[u8]) {
    decode_as(data, "fuzz.wav");
}

/// MP4/M4A (AAC, ALAC).
pub fn decode_mp4(data: &[u8]) {
    decode_as(data, "fuzz.m4a");
}

/// WebM/Matroska (Opus, Vorbis), including the repair of broken elements and cut files.
pub fn decode_webm(data: &[u8]) {
    decode_as(data, "fuzz.webm");
}

/// AIFF (big-endian PCM in IFF chunks).
pub fn decode_aiff(data: &[u8]) {
    decode_as(data, "fuzz.aiff");
}

/// `magic`, the SHA-256 of `payload`, then `payload`: how a sealed file is laid out.
fn sealed(magic: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 40);
    out.extend_from_slice(magic);
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

/// A library bundle: as given, and as the payload of a correctly sealed bundle. An import that
/// succeeds must leave a library that exports and imports again.
pub fn bundle_import(data: &[u8]) {
    for bytes in [data.to_vec(), sealed(bundle::MAGIC, data)] {
        let mut store = MemoryStore::default();
        if bundle::import_library(&mut store, &bytes, 0).is_ok() {
            let exported = bundle::export_library(&store).expect("an imported library exports");
            let mut again = MemoryStore::default();
            bundle::import_library(&mut again, &exported, 0).expect("an exported library imports");
        }
    }
}

/// The taste model file: as given, and as a correctly sealed payload.
pub fn taste_model(data: &[u8]) {
    let _ = SelectionModel::from_bytes(data);
    let _ = SelectionModel::from_bytes(&sealed(model::MAGIC, data));
}

/// A rekordbox XML collection.
pub fn rekordbox_xml(data: &[u8]) {
    let _ = rekordbox::read(data);
}

/// A Bandcamp purchase CSV, with the default columns and with a mapping.
pub fn bandcamp_csv(data: &[u8]) {
    let _ = bandcamp::read(data, &[]);
    if let Some(field) = bandcamp::Field::parse("genre") {
        let _ = bandcamp::read(data, &[("style".to_string(), field)]);
    }
}

/// Longest audio seed: a prefix of each fixture (the fuzzer's mutations stay fast, and a cut
/// stream is itself a case the decoders must handle).
const AUDIO_SEED_BYTES: usize = 96 * 1024;

/// Seed inputs of a target: prefixes of the committed audio fixtures under `fixtures` for the
/// decoders; files made here, from a synthetic library, for the others (the sealed formats
/// also as bare payloads, which the targets seal themselves).
pub fn seeds(target: &Target, fixtures: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if !target.seed_extensions.is_empty() {
        let mut files: Vec<_> = std::fs::read_dir(fixtures)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for path in files {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if target.seed_extensions.contains(&ext)
                && let Ok(bytes) = std::fs::read(&path)
            {
                // An MP4 keeps its index (`moov`) at the end: a prefix would not open at all. An
                // AIFF prefix is refused at once as cut (its COMM chunk announces the whole
                // length), so mutations of it would never reach the sample reader.
                let whole = ext == "m4a" || ext == "aiff";
                let keep = if whole { bytes.len() } else { bytes.len().min(AUDIO_SEED_BYTES) };
                out.push(bytes[..keep].to_vec());
            }
        }
        if target.name == "decode_wav" {
            out.push(tagged_wav_seed());
        }
        return out;
    }
    match target.name {
        "bundle_import" | "taste_model" => {
            let (bundle, model) = sealed_seeds();
            let file = if target.name == "bundle_import" { bundle } else { model };
            if let Some(payload) = file.get(40..) {
                out.push(payload.to_vec());
                out.push(file);
            }
        }
        "rekordbox_xml" => out.push(REKORDBOX_SEED.as_bytes().to_vec()),
        "bandcamp_csv" => out.push(BANDCAMP_SEED.as_bytes().to_vec()),
        "http_request" => out.extend(http::seeds()),
        _ => {}
    }
    out
}

/// A short WAV whose tags follow the audio, as taggers write them: an ID3 tag in an `id3 `
/// chunk and a `LIST`/`INFO` chunk (the fixtures' prefixes end inside their audio).
fn tagged_wav_seed() -> Vec<u8> {
    let samples: Vec<f32> = (0..8_000).map(|i| (i as f32 * 0.07).sin() * 0.5).collect();
    let mut wav = wav_bytes(&samples, 8_000, 1);
    push_riff_chunk(&mut wav, b"id3 ", &id3v23_text_tag(&[(b"TIT2", "Seed Title"), (b"TPE1", "Seed Artist")]));
    let mut info = b"INFO".to_vec();
    for (id, value) in [(b"IGNR", &b"Techno\0"[..]), (b"IART", &b"Caf\xe9\0"[..])] {
        info.extend_from_slice(id);
        info.extend_from_slice(&(value.len() as u32).to_le_bytes());
        info.extend_from_slice(value);
        // Entries are padded to an even length, as chunks are.
        if value.len() % 2 == 1 {
            info.push(0);
        }
    }
    push_riff_chunk(&mut wav, b"LIST", &info);
    wav
}

/// A library bundle and a taste model file made from a small synthetic, labelled library.
fn sealed_seeds() -> (Vec<u8>, Vec<u8>) {
    let mut store = MemoryStore::default();
    // Enough labels for the training threshold (20 liked, four times as many disliked).
    let ids = SyntheticLibrary::new(4, 7).store_into(&mut store, 110).unwrap_or_default();
    let (liked, disliked) = ids.split_at(ids.len().min(20));
    let mut changes: Vec<(String, Label)> = liked.iter().map(|id| (id.clone(), Label::Liked)).collect();
    changes.extend(disliked.iter().map(|id| (id.clone(), Label::Disliked)));
    let _ = store.write_labels(&changes, changes.len() as u64, 0);
    let _ = taste::api::train_selection_gbdt(&mut store, liked, disliked, 0, &mut selecta_core::control::NoControl);
    let model = store.selection_model().ok().flatten().unwrap_or_default();
    let bundle = bundle::export_library(&store).unwrap_or_default();
    (bundle, model)
}

const REKORDBOX_SEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.8.5" Company="AlphaTheta"/>
  <COLLECTION Entries="2">
    <TRACK TrackID="1" Name="Caf&#233; &amp; &quot;Live&quot;" Artist="A" Album="" Genre="House" Kind="MP3 File" Size="6000000" TotalTime="215" Year="0" AverageBpm="124.00" DateAdded="2024-01-02" BitRate="320" SampleRate="44100" Tonality="Fm" Location="file://localhost/C:/Music/Caf%C3%A9%20%26%20Live.mp3">
      <TEMPO Inizio="0.120" Bpm="124.00" Metro="4/4" Battito="1"/>
      <POSITION_MARK Name="Intro" Type="0" Start="0.120" Num="-1"/>
    </TRACK>
    <TRACK TrackID="2" Name="B" Artist="B" Location="file://localhost/home/dj/b.flac" AverageBpm="170.00" Tonality="8A"/>
  </COLLECTION>
  <PLAYLISTS>
    <NODE Type="0" Name="ROOT" Count="1">
      <NODE Name="Liked" Type="1" KeyType="0" Entries="2">
        <TRACK Key="1"/>
        <TRACK Key="2"/>
      </NODE>
    </NODE>
  </PLAYLISTS>
</DJ_PLAYLISTS>
"#;

const BANDCAMP_SEED: &str = "\u{feff}artist,title,genre,tags,style\n\
Daft Punk,One More Time (Original Mix),House,\"french, filter\",disco\n\
\"Björk feat. X\",\"Army of Me\",,\"\",\n";
