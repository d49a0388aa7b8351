//! The committed fixtures (tests/fixtures/audio, made by scripts/make_fixtures.sh from a
//! synthesised 10 s track at 124 BPM in A minor): every format decodes with its tags, the
//! features agree across formats, and the Chromaprint matches `fpcalc -raw`. Its first 4 s as
//! AIFF, ALAC, 48 kHz / 24-bit FLAC and 5.1 WAV check those containers and layouts against
//! ffmpeg's loudness meter and the long-file cap.

use std::path::PathBuf;

use selecta_core::features::fingerprint::bit_agreement;
use selecta_core::features::{Key, Mode};
use selecta_core::{AnalyzeOptions, SongFeatures, analyze_bytes};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/audio").join(name)
}

fn analyse(name: &str) -> SongFeatures {
    let bytes = std::fs::read(fixture(name)).expect("fixture present");
    analyze_bytes(bytes, Some(name), &AnalyzeOptions::default(), None)
        .map(|a| a.features)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_format_decodes_with_tags_and_features() {
    for name in ["groove.wav", "groove.flac", "groove.mp3", "groove.ogg", "groove.m4a"] {
        let f = analyse(name);
        assert_eq!(f.sample_rate, 44_100, "{name}");
        assert_eq!(f.channels, 2, "{name}");
        // Lossy codecs may add encoder delay/padding that the container does not trim.
        let tolerance = if name.ends_with(".wav") || name.ends_with(".flac") { 0.010 } else { 0.080 };
        assert!((f.duration_sec - 10.0).abs() < tolerance, "{name}: duration {}", f.duration_sec);
        let bpm = f.bpm.expect("tempo");
        assert!((bpm / 124.0 - 1.0).abs() < 0.02, "{name}: bpm {bpm}");
        assert_eq!(f.key, Some(Key { tonic: 9, mode: Mode::Minor }), "{name}");
        // The WAV's tags are a RIFF INFO chunk, which symphonia 0.6.1 parses but does not give.
        assert_eq!(f.metadata.title.as_deref(), Some("Fixture Groove"), "{name}");
        assert_eq!(f.metadata.artist.as_deref(), Some("Selecta Synth"), "{name}");
        assert_eq!(f.metadata.album.as_deref(), Some("Test Pressings"), "{name}");
        assert_eq!(f.metadata.genre.as_deref(), Some("Techno"), "{name}");
        assert_eq!(f.metadata.year, Some(2024), "{name}");
        if [".wav", ".flac", ".ogg", ".m4a"].iter().any(|e| name.ends_with(e)) {
            assert_eq!(f.metadata.comment.as_deref(), Some("synthesised for tests"), "{name}");
        }
        // The synthesised track is mastered near -14 LUFS; agreement between the formats is
        // checked against the WAV below.
        let lufs = f.loudness_lufs.expect("loudness");
        assert!((-20.0..-8.0).contains(&lufs), "{name}: {lufs}");
        assert_eq!(f.hpcp.as_ref().map(Vec::len), Some(12));
        let expected_kbps = if name.ends_with(".mp3") || name.ends_with(".m4a") { Some(128.0) } else { None };
        if let Some(k) = expected_kbps {
            assert!((f.bitrate_kbps - k).abs() < 20.0, "{name}: {} kbps", f.bitrate_kbps);
        }
    }
}

/// DJ software and taggers write a WAV file's tags as an ID3 tag in an `id3 ` chunk after the
/// audio; it wins over the `LIST`/`INFO` chunk where both name a field, and the audio's songId
/// stays the same.
#[test]
fn a_wav_file_takes_its_tags_from_an_id3_chunk_after_the_audio() {
    use selecta_core::testkit::synth::{id3v23_text_tag, push_riff_chunk};
    let original = std::fs::read(fixture("groove.wav")).expect("fixture present");
    let mut tagged = original.clone();
    // An odd length, so that the pad byte is exercised too.
    let tag = id3v23_text_tag(&[(b"TIT2", "Ünïcode Títle 🎧"), (b"TPE1", "DJ Ärtist"), (b"TCON", "Deep House")]);
    let tag = if tag.len().is_multiple_of(2) { [tag, vec![0]].concat() } else { tag };
    push_riff_chunk(&mut tagged, b"id3 ", &tag);
    push_riff_chunk(&mut tagged, b"junk", &[0xab; 7]);
    let analysed = |bytes: Vec<u8>| {
        analyze_bytes(bytes, Some("tagged.wav"), &AnalyzeOptions::default(), None)
            .map(|a| a.features)
            .unwrap_or_else(|e| panic!("tagged.wav: {e}"))
    };
    let (plain, f) = (analysed(original), analysed(tagged));
    assert_eq!(f.metadata.title.as_deref(), Some("Ünïcode Títle 🎧"));
    assert_eq!(f.metadata.artist.as_deref(), Some("DJ Ärtist"));
    assert_eq!(f.metadata.genre.as_deref(), Some("Deep House"));
    // Fields the ID3 tag leaves out still come from the INFO chunk.
    assert_eq!(f.metadata.album.as_deref(), Some("Test Pressings"));
    assert_eq!(f.metadata.year, Some(2024));
    assert_eq!(f.song_id, plain.song_id);
    assert!((f.duration_sec - plain.duration_sec).abs() < 1e-9);
}

/// Cosine similarity of two profiles.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b)).max(1e-12)
}

#[test]
fn every_format_agrees_with_the_wav_it_was_encoded_from() {
    let wav = analyse("groove.wav");
    // (format, loudness LU, RMS ratio, HPCP cosine). FLAC is the same PCM. The lossy encoders
    // low-pass the hi-hats, so they measure quieter: −0.72 LU (MP3), −0.24 (Ogg), −0.39 (M4A),
    // RMS ×0.945 / ×1.012 / ×0.991, HPCP cosine ≥ 0.9997. The bounds leave room for a decoder
    // update, and catch a gain, channel or resampling mistake (a 6 dB error, a lost channel).
    for (name, lu, rms, chroma) in [
        ("groove.flac", 0.001, 0.001, 0.9999),
        ("groove.mp3", 1.0, 0.08, 0.999),
        ("groove.ogg", 0.5, 0.03, 0.999),
        ("groove.m4a", 0.6, 0.03, 0.999),
    ] {
        let f = analyse(name);
        let (a, b) = (wav.loudness_lufs.expect("loudness"), f.loudness_lufs.expect("loudness"));
        assert!((a - b).abs() <= lu, "{name}: {b} LUFS against the WAV's {a}");
        assert!((f.rms_mean / wav.rms_mean - 1.0).abs() <= rms, "{name}: RMS {} against {}", f.rms_mean, wav.rms_mean);
        let c = cosine(f.hpcp.as_deref().expect("hpcp"), wav.hpcp.as_deref().expect("hpcp"));
        assert!(c >= chroma, "{name}: HPCP cosine {c}");
        let (x, y) = (f.bpm.expect("tempo"), wav.bpm.expect("tempo"));
        assert!((x / y - 1.0).abs() <= 0.005, "{name}: {x} BPM against {y}");
        eprintln!("{name}: ΔLU {:.4}, RMS ratio {:.4}, HPCP cosine {c:.5}", b - a, f.rms_mean / wav.rms_mean);
    }
}

#[test]
fn lossless_formats_share_the_song_id_but_not_the_file_hash() {
    let wav = analyse("groove.wav");
    let flac = analyse("groove.flac");
    assert_eq!(wav.song_id, flac.song_id);
    assert_ne!(wav.file_hash, flac.file_hash);
    assert_eq!(wav.song_id.len(), 64);
}

/// Replace the fixture's ID3v2.4 tag by a retitled one with `padding` extra bytes, and append
/// an ID3v1 tag: what a tag editor does to an MP3.
fn retag_mp3(original: &[u8], padding: usize) -> Vec<u8> {
    assert_eq!(&original[..3], b"ID3", "the MP3 fixture starts with an ID3v2 tag");
    let syncsafe = |b: &[u8]| b.iter().fold(0usize, |acc, &x| (acc << 7) | usize::from(x & 0x7f));
    let tag_size = syncsafe(&original[6..10]);
    let mut frames = original[10..10 + tag_size].to_vec();
    let title = frames.windows(14).position(|w| w == b"Fixture Groove").expect("title frame");
    frames[title..title + 14].copy_from_slice(b"Edited Title!!");
    frames.extend(std::iter::repeat_n(0u8, padding));
    let size = frames.len();
    let mut out = original[..6].to_vec();
    out.extend([21, 14, 7, 0].map(|shift| ((size >> shift) & 0x7f) as u8));
    out.extend(frames);
    out.extend_from_slice(&original[10 + tag_size..]);
    let mut v1 = b"TAG".to_vec();
    v1.extend(b"Edited Title".iter().chain(std::iter::repeat(&b' ')).take(125));
    out.extend(v1);
    out
}

#[test]
fn tag_edits_keep_the_song_id_of_lossy_files() {
    let original = std::fs::read(fixture("groove.mp3")).expect("fixture");
    let before = analyse("groove.mp3");
    for padding in [0, 300] {
        let edited = retag_mp3(&original, padding);
        let after = analyze_bytes(edited, Some("groove.mp3"), &AnalyzeOptions::default(), None).expect("decodes");
        assert_eq!(after.features.metadata.title.as_deref(), Some("Edited Title!!"));
        assert_ne!(after.features.file_hash, before.file_hash);
        assert_eq!(after.features.song_id, before.song_id, "padding {padding}");
    }
}

#[test]
fn chromaprint_matches_fpcalc_raw() {
    let expected: Vec<u32> = std::fs::read_to_string(fixture("groove.flac.fpcalc-raw.txt"))
        .expect("reference")
        .trim()
        .split(',')
        .map(|v| v.trim().parse().expect("u32"))
        .collect();
    let f = analyse("groove.flac");
    let fp = f.chromaprint.expect("fingerprint");
    assert!(!fp.encoded.is_empty());
    let agreement = bit_agreement(&fp.raw, &expected);
    assert!((fp.raw.len() as i64 - expected.len() as i64).abs() <= 2, "lengths {} vs {}", fp.raw.len(), expected.len());
    eprintln!("chromaprint bit agreement with fpcalc -raw: {agreement:.4}");
    // Measured 1.0000 since the print reads the analysis signal (0.9974 when chromaprint
    // resampled the decoded stream with its own 16-tap filter).
    assert!(agreement >= 0.998, "bit agreement {agreement}");
}

#[test]
fn chromaprint_simhash_separates_different_music() {
    let a = analyse("groove.flac").chromaprint.expect("fp").simhash;
    let b = analyse("groove.mp3").chromaprint.expect("fp").simhash;
    let mut spec = selecta_core::testkit::synth::SynthSpec::new(97.0, Key { tonic: 2, mode: Mode::Major });
    spec.seconds = 10.0;
    let other =
        selecta_core::testkit::synth::wav_bytes(&selecta_core::testkit::synth::render(&spec), spec.sample_rate, 1);
    let c = analyze_bytes(other, Some("o.wav"), &AnalyzeOptions::default(), None)
        .map(|a| a.features)
        .expect("other")
        .chromaprint
        .expect("fp")
        .simhash;
    let same = (a ^ b).count_ones();
    let different = (a ^ c).count_ones();
    assert!(same < different, "re-encode distance {same} should be below other-music distance {different}");
}

/// Ogg Opus (48 kHz, the encoder's pre-skip dropped) gives the same tempo and key as the others.
#[test]
fn opus_decodes_with_tags_and_features() {
    let f = analyse("groove.opus");
    assert_eq!((f.sample_rate, f.channels), (48_000, 2));
    assert!((f.duration_sec - 10.0).abs() < 0.080, "duration {}", f.duration_sec);
    let bpm = f.bpm.expect("tempo");
    assert!((bpm / 124.0 - 1.0).abs() < 0.02, "bpm {bpm}");
    assert_eq!(f.key, Some(Key { tonic: 9, mode: Mode::Minor }));
    assert_eq!(f.metadata.title.as_deref(), Some("Fixture Groove"));
    assert!(f.damage.is_none(), "{:?}", f.damage);
    let flac = analyse("groove.flac");
    let (a, b) = (f.loudness_lufs.expect("loudness"), flac.loudness_lufs.expect("loudness"));
    assert!((a - b).abs() < 1.0, "Opus {a:.2} LUFS against FLAC {b:.2}");
}

#[test]
fn more_containers_and_layouts_agree_with_the_aiff() {
    // The first 4 s of groove.wav as AIFF (big-endian PCM), ALAC, 48 kHz / 24-bit FLAC and a
    // 5.1 WAV (front pair = the stereo track, centre = their mean, LFE silent, surrounds at
    // half level; 22.05 kHz). Integrated loudness from a second implementation, ffmpeg's
    // ebur128 filter (`ffmpeg -i F -af aformat=sample_fmts=dbl,ebur128 -f null -`, printed to
    // 0.1 LU): −17.1, −17.1, −17.2 and −15.4 LUFS — the 5.1 file is louder by the centre and
    // the surrounds, which BS.1770 weights +1.5 dB.
    let aiff = analyse("groove4.aiff");
    for (name, rate, channels, ffmpeg_lufs) in [
        ("groove4.aiff", 44_100, 2, -17.1),
        ("groove4-alac.m4a", 44_100, 2, -17.1),
        ("groove4-48k-24bit.flac", 48_000, 2, -17.2),
        ("groove4-5.1.wav", 22_050, 6, -15.4),
    ] {
        let f = analyse(name);
        assert_eq!((f.sample_rate, f.channels), (rate, channels), "{name}");
        assert!((f.duration_sec - 4.0).abs() < 0.001, "{name}: {} s", f.duration_sec);
        let lufs = f.loudness_lufs.expect("loudness");
        assert!((lufs - ffmpeg_lufs).abs() <= 0.1, "{name}: {lufs:.3} LUFS, ffmpeg says {ffmpeg_lufs}");
        let c = cosine(f.hpcp.as_deref().expect("hpcp"), aiff.hpcp.as_deref().expect("hpcp"));
        assert!(c >= 0.999, "{name}: HPCP cosine {c}");
        assert_eq!(f.key, aiff.key, "{name}");
        // Analysis listens to the mean of the channels: the 5.1 file's is (L + R) / 3 where the
        // stereo file's is (L + R) / 2.
        let rms = if channels == 6 { 2.0 / 3.0 } else { 1.0 };
        assert!(
            (f.rms_mean / aiff.rms_mean / rms - 1.0).abs() < 0.03,
            "{name}: RMS {} against {}",
            f.rms_mean,
            aiff.rms_mean
        );
        if name.ends_with(".m4a") || name.ends_with(".flac") {
            assert_eq!(f.metadata.title.as_deref(), Some("Fixture Groove"), "{name}");
            assert_eq!(f.metadata.year, Some(2024), "{name}");
        }
        eprintln!("{name}: {lufs:.3} LUFS (ffmpeg {ffmpeg_lufs}), HPCP cosine {c:.5}");
    }
    // The same PCM in another lossless container is the same song.
    assert_eq!(analyse("groove4-alac.m4a").song_id, aiff.song_id);
    assert_ne!(analyse("groove4-48k-24bit.flac").song_id, aiff.song_id, "resampled audio is other PCM");
}

#[test]
fn a_file_longer_than_the_spectral_cap_is_measured_whole_and_listened_to_up_to_the_cap() {
    // With the cap at 4 s, groove.wav (10 s) is heard like groove4.aiff, its first 4 s, while
    // its duration and loudness cover all 10 s (ffmpeg's ebur128: −17.2 LUFS).
    let options = AnalyzeOptions { max_spectral_seconds: 4.0, ..AnalyzeOptions::default() };
    let bytes = std::fs::read(fixture("groove.wav")).expect("fixture present");
    let capped = analyze_bytes(bytes, Some("groove.wav"), &options, None).expect("analysed").features;
    let first = analyse("groove4.aiff");
    let whole = analyse("groove.wav");
    assert!((capped.duration_sec - 10.0).abs() < 0.001, "{} s", capped.duration_sec);
    assert_eq!(capped.loudness_lufs, whole.loudness_lufs);
    assert!((capped.loudness_lufs.expect("loudness") + 17.2).abs() <= 0.1);
    let c = cosine(capped.hpcp.as_deref().expect("hpcp"), first.hpcp.as_deref().expect("hpcp"));
    let c_whole = cosine(whole.hpcp.as_deref().expect("hpcp"), first.hpcp.as_deref().expect("hpcp"));
    assert!(c >= 0.9999, "the capped profile is the first 4 s: cosine {c}");
    assert!(c_whole < c, "and not the whole file's ({c_whole} against {c})");
    assert_eq!(capped.key, first.key);
    assert_eq!(capped.song_id, whole.song_id, "the id hashes the whole file");
    eprintln!("capped HPCP cosine with the first 4 s {c:.6}, whole file's {c_whole:.6}");
}

#[test]
fn a_96_khz_track_is_heard_like_the_same_track_at_44_1_khz() {
    use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
    // The same synthesised 12 s groove rendered at 96 kHz and at 44.1 kHz: the analysis
    // resamples both to its own rates, so tempo, key and loudness agree.
    let key = Key { tonic: 9, mode: Mode::Minor };
    let at = |rate: u32| {
        let spec = SynthSpec { seconds: 12.0, sample_rate: rate, ..SynthSpec::new(124.0, key) };
        let bytes = wav_bytes(&render(&spec), rate, 1);
        analyze_bytes(bytes, Some("track.wav"), &AnalyzeOptions::default(), None).expect("analysed").features
    };
    let (high, cd) = (at(96_000), at(44_100));
    assert_eq!(high.sample_rate, 96_000);
    assert!((high.duration_sec - 12.0).abs() < 0.001, "{}", high.duration_sec);
    let (a, b) = (high.bpm.expect("bpm"), cd.bpm.expect("bpm"));
    assert!((a / 124.0 - 1.0).abs() < 0.01 && (a / b - 1.0).abs() < 0.005, "{a} against {b} BPM");
    assert_eq!(high.key, Some(key));
    assert_eq!(high.key, cd.key);
    let (x, y) = (high.loudness_lufs.expect("loudness"), cd.loudness_lufs.expect("loudness"));
    let c = cosine(high.hpcp.as_deref().expect("hpcp"), cd.hpcp.as_deref().expect("hpcp"));
    eprintln!("96 kHz: {a:.2} BPM, {x:.2} LUFS, HPCP cosine {c:.5}; 44.1 kHz: {b:.2} BPM, {y:.2} LUFS");
    // The 96 kHz render keeps the hats' noise above 22 kHz: +0.26 LU measured.
    assert!((x - y).abs() < 0.3, "{x} against {y} LUFS");
    assert!(c >= 0.995, "HPCP cosine {c}");
}

/// WebM (Matroska) holding the very Opus and Vorbis packets of the Ogg fixtures, remuxed
/// without encoding again: the same packets (the same song id, which hashes a lossy stream's
/// packets), no hole put in from Matroska's millisecond timestamps, the same length and
/// features, and the tags from Matroska's own tag elements and track name.
#[test]
fn webm_opus_and_vorbis_decode_to_the_audio_of_their_ogg_twins() {
    for (webm, ogg) in [("groove-opus.webm", "groove.opus"), ("groove-vorbis.webm", "groove.ogg")] {
        let (a, b) = (analyse(webm), analyse(ogg));
        assert_eq!(a.song_id, b.song_id, "{webm}");
        assert_eq!((a.sample_rate, a.channels), (b.sample_rate, b.channels), "{webm}");
        // Ogg trims the encoder's padding after the last sample by the last page's granule
        // position; Matroska keeps Vorbis's last block whole (Opus's end is the same in both).
        let padding = if webm.contains("vorbis") { 0.025 } else { 0.001 };
        let extra = a.duration_sec - b.duration_sec;
        assert!((0.0..padding).contains(&extra.abs()), "{webm}: {} against {} s", a.duration_sec, b.duration_sec);
        let (x, y) = (a.bpm.expect("tempo"), b.bpm.expect("tempo"));
        assert!((x / y - 1.0).abs() < 0.005, "{webm}: {x} against {y} BPM");
        assert_eq!(a.key, b.key, "{webm}");
        assert_eq!(a.metadata.title.as_deref(), Some("Fixture Groove"), "{webm}");
        assert_eq!(a.metadata.artist.as_deref(), Some("Selecta Synth"), "{webm}");
        // ffmpeg writes these under Vorbis-comment names that symphonia's reader leaves unmapped.
        assert_eq!(a.metadata.album.as_deref(), Some("Test Pressings"), "{webm}");
        assert_eq!(a.metadata.year, Some(2024), "{webm}");
        assert_eq!(a.metadata.genre.as_deref(), Some("Techno"), "{webm}");
        assert!(a.damage.is_none(), "{webm}: {:?}", a.damage);
    }
}
