//! Damaged files are decoded the way a player plays them: flipped bytes in Ogg pages, FLAC
//! frames and MP3 frame headers, zeroed stretches and cut tails are skipped, the rest is decoded
//! with the timeline kept, and what was lost is reported. Too little left fails, with a reason
//! that never calls a supported container unsupported.

use selecta_core::audio::{Damage, DecodeLimits, DecodeSummary, decode};
use selecta_core::error::AnalysisError;

/// The long fixtures are 24 s.
const LENGTH_SEC: f64 = 24.0;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../tests/fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn flip(bytes: &mut [u8], at: usize, n: usize) {
    for b in &mut bytes[at..at + n] {
        *b ^= 0x5a;
    }
}

fn decode_damaged(file: &str, damage: impl Fn(&mut Vec<u8>)) -> Result<DecodeSummary, AnalysisError> {
    let mut bytes = fixture(file);
    damage(&mut bytes);
    decode(bytes, Some(file), &DecodeLimits::default(), |_, _| {})
}

/// Where in the track a share of its bytes lies (near enough for these steady files).
fn sec_at(fraction: f64) -> f64 {
    fraction * LENGTH_SEC
}

fn damage_of(what: &str, result: Result<DecodeSummary, AnalysisError>) -> (DecodeSummary, Damage) {
    let summary = result.unwrap_or_else(|e| panic!("{what}: {e}"));
    let damage = summary.damage.unwrap_or_else(|| panic!("{what}: no damage reported"));
    (summary, damage)
}

#[test]
fn intact_files_report_no_damage() {
    for file in [
        "groove.wav",
        "groove.flac",
        "groove.mp3",
        "groove.ogg",
        "groove.m4a",
        "long.flac",
        "long.mp3",
        "long.ogg",
        "groove-opus.webm",
        "groove-vorbis.webm",
        "long-vorbis.webm",
    ] {
        let summary = decode(fixture(file), Some(file), &DecodeLimits::default(), |_, _| {}).expect(file);
        assert_eq!(summary.damage, None, "{file}");
    }
}

/// Break the layout of the Ogg page that starts after `fraction` of the bytes (its segment
/// count and first lacing value change, so it no longer ends where the next page starts; two
/// damaged bytes, more than its checksum can put back).
fn break_page_after(bytes: &mut [u8], fraction: f64) {
    let from = (bytes.len() as f64 * fraction) as usize;
    let at = from + bytes[from..].windows(4).position(|w| w == b"OggS").expect("a page after it");
    bytes[at + 26] ^= 0x07;
    bytes[at + 27] ^= 0x30;
}

#[test]
fn flipped_bytes_in_ogg_pages_are_decoded_around_and_the_damage_located() {
    // One page in the middle, three pages, and the first audio page (the reader once refused
    // the whole file for that one: "malformed stream: ogg: crc mismatch"). The pages' layout is
    // whole, so they are kept and their packets decoded or rejected one by one.
    for (what, fractions) in
        [("one page", &[0.4][..]), ("three pages", &[0.3, 0.5, 0.7]), ("first audio page", &[0.08])]
    {
        let (summary, damage) = damage_of(
            what,
            decode_damaged("long.ogg", |b| {
                for f in fractions {
                    let at = (b.len() as f64 * f) as usize;
                    flip(b, at, 8);
                }
            }),
        );
        assert!(damage.skipped_sec < 0.5 * fractions.len() as f64, "{what}: {damage:?}");
        assert!(!damage.ends_early, "{what}: {damage:?}");
        let first = sec_at(fractions[0]);
        assert!((damage.first_at_sec - first).abs() < 2.0, "{what}: first damage at {damage:?}, bytes at {first:.1} s");
        assert!((summary.duration_sec() - LENGTH_SEC).abs() < 0.05, "{what}: {:.2} s", summary.duration_sec());
    }
}

#[test]
fn ogg_pages_with_a_broken_layout_are_dropped_and_their_hole_filled() {
    for (what, fractions) in [("one page", &[0.4][..]), ("first audio page", &[0.05])] {
        let (summary, damage) = damage_of(
            what,
            decode_damaged("long.ogg", |b| {
                for &f in fractions {
                    break_page_after(b, f);
                }
            }),
        );
        // A Vorbis page here holds about a second.
        assert!((0.2..2.0).contains(&damage.skipped_sec), "{what}: {damage:?}");
        assert!((damage.first_at_sec - sec_at(fractions[0])).abs() < 2.0, "{what}: {damage:?}");
        // Holes are filled: the track keeps its length and every later position.
        assert!((summary.duration_sec() - LENGTH_SEC).abs() < 0.05, "{what}: {:.2} s", summary.duration_sec());
    }
}

#[test]
fn a_zeroed_stretch_in_flac_is_skipped_and_flipped_frames_decoded() {
    let (summary, damage) = damage_of(
        "zeroed",
        decode_damaged("long.flac", |b| {
            let at = b.len() / 2;
            b[at..at + 30_000].fill(0);
        }),
    );
    // 30 000 of the file's ≈19 800 bytes per second.
    assert!((1.0..2.5).contains(&damage.skipped_sec), "{damage:?}");
    assert!((damage.first_at_sec - 12.0).abs() < 1.0, "{damage:?}");
    assert!((summary.duration_sec() - LENGTH_SEC).abs() < 0.05, "{:.2} s", summary.duration_sec());

    let (_, damage) = damage_of(
        "flipped",
        decode_damaged("long.flac", |b| {
            let at = b.len() / 3;
            flip(b, at, 8);
        }),
    );
    // The frame's layout is whole, so it is decoded (a glitch where the bits flipped) rather
    // than dropped: at most its own length is lost.
    assert!(damage.skipped_sec < 0.2, "one frame: {damage:?}");
    assert!((damage.first_at_sec - 8.0).abs() < 1.0, "{damage:?}");

    // 20 flipped bits over the file (200 in a 5 MB file): the frames stay, the length with them.
    let (summary, damage) = damage_of(
        "20 flips",
        decode_damaged("long.flac", |b| {
            for i in 0..20u64 {
                let at = 4096 + (i * 2_654_435_761 % (b.len() as u64 - 4096)) as usize;
                b[at] ^= 1 << (i % 8);
            }
        }),
    );
    assert!(damage.skipped_sec < 0.1 * LENGTH_SEC, "{damage:?}");
    assert!((summary.duration_sec() - LENGTH_SEC).abs() < 0.05, "{:.2} s", summary.duration_sec());
}

#[test]
fn mp3_frames_with_broken_headers_and_a_zeroed_stretch_are_skipped() {
    // Ten frame headers in a row in the middle lose their sync word.
    let summary = decode_damaged("long.mp3", |b| {
        let mut at = b.len() / 2;
        let mut broken = 0;
        while broken < 10 && at + 1 < b.len() {
            if b[at] == 0xff && b[at + 1] & 0xe0 == 0xe0 {
                b[at] = 0x00;
                b[at + 1] = 0x00;
                broken += 1;
                at += 100;
            } else {
                at += 1;
            }
        }
    })
    .expect("broken headers");
    assert!(summary.duration_sec() > 0.8 * LENGTH_SEC, "{:.2} s", summary.duration_sec());

    // The MP3 reader numbers frames by counting them, so a lost stretch shows as a shorter
    // stream, reported where decoding ends.
    let (summary, damage) = damage_of(
        "zeroed",
        decode_damaged("long.mp3", |b| {
            let at = b.len() / 2;
            b[at..at + 10_000].fill(0);
        }),
    );
    assert!((1.0..2.5).contains(&damage.skipped_sec), "{damage:?}");
    assert!(summary.duration_sec() > 21.0, "{:.2} s", summary.duration_sec());
}

#[test]
fn a_cut_tail_is_analysed_when_enough_is_left() {
    for file in ["long.flac", "long.mp3", "long.ogg"] {
        let (summary, damage) = damage_of(file, decode_damaged(file, |b| b.truncate(b.len() * 9 / 10)));
        assert!(damage.ends_early, "{file}: {damage:?}");
        assert!((damage.first_at_sec - summary.duration_sec()).abs() < 0.01, "{file}: {damage:?}");
        assert!(summary.duration_sec() > 20.0, "{file}: {:.2} s", summary.duration_sec());
    }
}

#[test]
fn too_little_left_fails_with_the_reason() {
    let reason = |file: &str, damage: &dyn Fn(&mut Vec<u8>)| match decode_damaged(file, damage) {
        Ok(s) => panic!("{file}: analysed with {:?}", s.damage),
        Err(e) => e.to_string(),
    };
    // Half the file. (An Ogg stream cut short announces no length, only the last granule
    // position left, so half of one is analysed when 10 s remain.)
    for file in ["long.flac", "long.mp3"] {
        let r = reason(file, &|b: &mut Vec<u8>| b.truncate(b.len() / 2));
        assert!(r.contains("truncated"), "{file}: {r}");
    }
    // The layout of one Ogg page in three broken: under 80 % decodes.
    let r = reason("long.ogg", &|b: &mut Vec<u8>| {
        for i in 1..9 {
            break_page_after(b, f64::from(i) / 9.0);
        }
    });
    assert!(r.contains("too little to analyse") && !r.contains("not a supported"), "{r}");
    // A short file with damage is under the 10 s a damaged file needs.
    let r = reason("groove.flac", &|b: &mut Vec<u8>| {
        let at = b.len() / 2;
        b[at..at + 20_000].fill(0);
    });
    assert!(r.contains("too little to analyse"), "{r}");
    // The Vorbis headers themselves damaged: nothing can be decoded, and the reason says so.
    let r = reason("long.ogg", &|b: &mut Vec<u8>| flip(b, 40, 4));
    assert!(r.contains("damaged") && !r.contains("not a supported"), "{r}");
}

/// Through the engine: the damaged file is analysed and stored, its record and the result say
/// what was skipped, and beats after the hole keep their time (the tempo of the whole file holds).
#[test]
fn the_engine_analyses_a_damaged_file_and_warns() {
    use selecta_core::control::NoControl;
    use selecta_core::embed::SamplingProfile;
    use selecta_core::engine::FileStatus;
    use selecta_core::{Engine, MemoryStore};

    let mut engine = Engine::open(MemoryStore::new(), SamplingProfile::Fast, 1).expect("opens");
    let mut bytes = fixture("long.ogg");
    let at = bytes.len() / 2;
    flip(&mut bytes, at, 8);
    let result = engine.analyze_file("crate/long (damaged).ogg", bytes, None, 1, 2, &mut NoControl).expect("analysed");
    assert_eq!(result.status, FileStatus::Analyzed);
    let warning = result.warning.expect("a warning");
    assert!(warning.contains("damaged audio"), "{warning}");
    let features = result.features.expect("features");
    let damage = &features["damage"];
    assert!(damage["skippedSec"].as_f64().is_some_and(|s| s < 1.0), "{damage}");
    assert!(damage["firstAtSec"].as_f64().is_some_and(|s| (s - 12.0).abs() < 2.0), "{damage}");
    let bpm = features["bpm"].as_f64().expect("a tempo");
    assert!((bpm / 128.0 - 1.0).abs() < 0.02, "tempo {bpm}");
    assert!((features["durationSec"].as_f64().expect("duration") - LENGTH_SEC).abs() < 0.05);
}

/// Sample rate of the Ogg fixture, the unit of its granule positions.
const RATE: u64 = 22_050;

/// Start offsets of the Ogg pages of `bytes`, in order.
fn ogg_pages(bytes: &[u8]) -> Vec<usize> {
    let mut pages = Vec::new();
    let mut at = 0;
    while bytes[at..].starts_with(b"OggS") {
        pages.push(at);
        let segments = usize::from(bytes[at + 26]);
        at += 27 + segments + bytes[at + 27..at + 27 + segments].iter().map(|&s| usize::from(s)).sum::<usize>();
    }
    pages
}

/// Add `ticks` to the granule position of the page at `at` (its checksum goes stale, as damage
/// leaves it).
fn shift_granule(bytes: &mut [u8], at: usize, ticks: u64) {
    let granule = u64::from_le_bytes(bytes[at + 6..at + 14].try_into().expect("8 bytes"));
    bytes[at + 6..at + 14].copy_from_slice(&(granule + ticks).to_le_bytes());
}

#[test]
fn a_timestamp_that_jumps_hours_ahead_is_damage_not_hours_of_silence() {
    // From 40 % of the file on, every page but the last claims to lie two hours later: a jump
    // of that size is a damaged timestamp (the audio is all there), not lost audio.
    let (summary, damage) = damage_of(
        "two hours ahead",
        decode_damaged("long.ogg", |b| {
            let pages = ogg_pages(b);
            let from = pages.iter().position(|&p| p as f64 > 0.4 * b.len() as f64).expect("a middle page");
            for &at in &pages[from..pages.len() - 1] {
                shift_granule(b, at, 2 * 3600 * RATE);
            }
        }),
    );
    // The audio is decoded without silence put in (the reader trims about half a second around
    // the page where the timestamps jump back at the end).
    let duration = summary.duration_sec();
    assert!((LENGTH_SEC - 1.0..LENGTH_SEC + 0.05).contains(&duration), "{duration:.2} s");
    assert!(damage.skipped_sec < 1.0, "{damage:?}");
    assert!((damage.first_at_sec - sec_at(0.4)).abs() < 2.0, "{damage:?}");
}

#[test]
fn holes_far_longer_than_the_audio_stop_the_decoder_early_with_a_reason() {
    // From 10 % on, each page claims to start 50 s after the one before it: holes under the
    // one-minute bound, but many more seconds lost than decoded. The silence is never built.
    let result = decode_damaged("long.ogg", |b| {
        let pages = ogg_pages(b);
        let from = pages.iter().position(|&p| p as f64 > 0.1 * b.len() as f64).expect("a page");
        for (i, &at) in pages[from..].iter().enumerate() {
            shift_granule(b, at, (i as u64 + 1) * 50 * RATE);
        }
    });
    let reason = result.expect_err("mostly holes").to_string();
    assert!(reason.contains("of the stream are lost against"), "{reason}");
}

/// One flipped bit in a page, or one byte that took another value (a burst of up to eight bits,
/// as a bad sector or a bad copy leaves it), is found by the page's checksum and put back: the
/// decoded audio is the clean file's, sample for sample (the same song id), and nothing is
/// skipped. That holds for the codec's setup header too, whose damaged codebooks no decoder can
/// read.
#[test]
fn one_flipped_bit_or_damaged_byte_per_ogg_page_is_put_back_even_in_the_codec_setup() {
    let clean = decode(fixture("long.ogg"), Some("long.ogg"), &DecodeLimits::default(), |_, _| {}).expect("clean");
    // (what, the setup header's mask 200 bytes into the packet, the mask of the `i`th page)
    type MaskOfPage = fn(usize) -> u8;
    let cases: [(&str, u8, MaskOfPage); 2] = [
        ("one bit per page", 0x08, |i| 1 << (i % 8)),
        ("one byte per page", 0xb7, |i| [0xff, 0x5a, 0x3c, 0xc3, 0x0f][i % 5]),
    ];
    for (what, setup_mask, page_mask) in cases {
        let damage_pages = |b: &mut Vec<u8>| {
            let pages = ogg_pages(b);
            let setup = b.windows(7).position(|w| w == b"\x05vorbis").expect("a setup header");
            b[setup + 200] ^= setup_mask;
            // And every third page after the headers, the first audio page among them.
            for (i, &page) in pages.iter().enumerate().skip(2).step_by(3) {
                let end = pages.get(i + 1).copied().unwrap_or(b.len());
                b[page + (end - page) * 2 / 3] ^= page_mask(i);
            }
        };
        let (summary, damage) = damage_of(what, decode_damaged("long.ogg", damage_pages));
        assert_eq!(summary.song_id, clean.song_id, "{what}: the audio is not the clean file's");
        assert_eq!(damage.skipped_sec, 0.0, "{what}: {damage:?}");
        assert!((summary.duration_sec() - LENGTH_SEC).abs() < 0.05, "{what}: {:.2} s", summary.duration_sec());
    }
}

/// Two flipped bits in the codec setup header: the checksum alone cannot always place them (in a
/// page of 3 340 bytes about one pair in twelve shares its checksum with another pair), and
/// without the setup header nothing decodes. The one correction that leaves a header the decoder
/// accepts (a flipped codeword length leaves a Huffman tree over- or underspecified) is put back.
#[test]
fn two_flipped_bits_in_the_codec_setup_are_put_back_where_the_decoder_tells_the_pairs_apart() {
    let clean = decode(fixture("long.ogg"), Some("long.ogg"), &DecodeLimits::default(), |_, _| {}).expect("clean");
    let bytes = fixture("long.ogg");
    let pages = ogg_pages(&bytes);
    let setup = bytes.windows(7).position(|w| w == b"\x05vorbis").expect("a setup header") + 7;
    let setup_end = pages[2];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut bit_in_setup = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let bit = (state >> 33) as usize % ((setup_end - setup) * 8);
        (setup + bit / 8, 1u8 << (bit % 8))
    };
    let mut failures = Vec::new();
    for _ in 0..60 {
        let ((a, bit_a), (b, bit_b)) = (bit_in_setup(), bit_in_setup());
        if (a, bit_a) == (b, bit_b) {
            continue;
        }
        let result = decode_damaged("long.ogg", |d| {
            d[a] ^= bit_a;
            d[b] ^= bit_b;
        });
        match result {
            Ok(s) if s.song_id == clean.song_id => {}
            Ok(_) => failures.push(format!("{a}:{bit_a:#04x} + {b}:{bit_b:#04x}: other audio")),
            Err(e) => failures.push(format!("{a}:{bit_a:#04x} + {b}:{bit_b:#04x}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} pairs not put back: {failures:#?}", failures.len());
}

/// Where the `n`-th Matroska cluster of `bytes` starts (its id, 1F 43 B6 75).
fn webm_cluster(bytes: &[u8], n: usize) -> usize {
    bytes.windows(4).enumerate().filter(|(_, w)| *w == [0x1F, 0x43, 0xB6, 0x75]).nth(n).expect("a cluster").0
}

/// Damaged WebM is decoded like a player plays it: a cluster whose header took a flipped bit is
/// put back from its children (the same audio as the clean file), a zeroed stretch becomes a
/// hole of silence with the length kept, a cut file is analysed up to its cut against the
/// length its Info announces, and too little left is refused with the lengths, never as an
/// unsupported file. (symphonia's reader alone stopped at the first broken element, and would
/// not open a cut file at all: "no decoder recognises this container".)
#[test]
fn damaged_webm_is_decoded_around_its_damage() {
    let name = "long-vorbis.webm";
    let clean = decode(fixture(name), Some(name), &DecodeLimits::default(), |_, _| {}).expect("clean");
    assert!((clean.duration_sec() - LENGTH_SEC).abs() < 0.05, "{:.3} s", clean.duration_sec());
    // One flipped bit in the id of the second cluster, and in the size of the third.
    for (what, cluster, offset, bit) in [("a cluster's id", 1, 0, 0x01), ("a cluster's size", 2, 5, 0x40)] {
        let summary = decode_damaged(name, |b| {
            let at = webm_cluster(b, cluster) + offset;
            b[at] ^= bit;
        })
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(summary.song_id, clean.song_id, "{what}: the audio is not the clean file's");
        assert_eq!(summary.frames, clean.frames, "{what}");
        // Nothing lost, but the file is damaged: reported where that cluster starts (about 5 s
        // a cluster).
        let damage = summary.damage.unwrap_or_else(|| panic!("{what}: no damage reported"));
        assert_eq!(damage.skipped_sec, 0.0, "{what}: {damage:?}");
        assert!((damage.first_at_sec - 5.0 * cluster as f64).abs() < 1.5, "{what}: {damage:?}");
    }
    let (summary, damage) = damage_of(
        "zeroed stretch",
        decode_damaged(name, |b| {
            let at = b.len() / 2;
            b[at..at + 8_000].fill(0);
        }),
    );
    assert!((1.0..4.0).contains(&damage.skipped_sec), "{damage:?}");
    assert!((damage.first_at_sec - sec_at(0.5)).abs() < 2.0, "{damage:?}");
    assert!((summary.duration_sec() - LENGTH_SEC).abs() < 0.05, "{:.2} s", summary.duration_sec());
    let (summary, damage) = damage_of("cut to 85 %", decode_damaged(name, |b| b.truncate(b.len() * 85 / 100)));
    assert!(damage.ends_early && damage.skipped_sec > 2.0, "{damage:?}");
    assert!(summary.duration_sec() > 0.8 * LENGTH_SEC, "{:.2} s", summary.duration_sec());
    let half = decode_damaged("groove-opus.webm", |b| b.truncate(b.len() / 2)).expect_err("half is refused");
    assert!(half.to_string().contains("truncated") && !half.to_string().contains("not a supported"), "{half}");
}
