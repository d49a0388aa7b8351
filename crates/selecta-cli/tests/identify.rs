//! `selecta identify` and `selecta index` through the real binary: snippets cut from analysed
//! tracks are named with their offset, a file that is not audio is reported by name while the
//! others go on, and the index is kept, read back, rebuilt when deleted or asked.

mod support;

use std::path::{Path, PathBuf};

use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use support::{run_json, selecta};

const RATE: u32 = 22_050;

fn track(bpm: f32, tonic: u8, seed: u64) -> Vec<f32> {
    render(&SynthSpec::library_track(bpm, Key { tonic, mode: Mode::Major }, 30.0, seed))
}

fn write(path: &Path, audio: &[f32]) -> PathBuf {
    std::fs::write(path, wav_bytes(audio, RATE, 1)).expect("written");
    path.to_path_buf()
}

#[test]
fn identify_names_snippets_and_the_index_is_kept_and_rebuilt() {
    let lib = tempfile::tempdir().expect("tmp");
    let tracks = [track(98.0, 2, 1), track(121.0, 7, 2), track(136.0, 11, 3)];
    for (i, t) in tracks.iter().enumerate() {
        write(&lib.path().join(format!("track {i}.wav")), t);
    }
    let analysed = selecta().args(["analyze", "--json", "--profile", "fast"]).arg(lib.path()).output().expect("run");
    assert!(analysed.status.success(), "{}", String::from_utf8_lossy(&analysed.stderr));

    // Snippets live outside the library folder: they are recordings, not library files.
    let out = tempfile::tempdir().expect("tmp");
    let clip = write(&out.path().join("clip from a set.wav"), &tracks[2][11 * RATE as usize..21 * RATE as usize]);
    let junk = out.path().join("notes.wav");
    std::fs::write(&junk, b"these are not audio samples").expect("written");
    let result = selecta()
        .args(["identify", "--json", "--library"])
        .arg(lib.path())
        .arg(&clip)
        .arg(&junk)
        .output()
        .expect("run");
    assert_eq!(result.status.code(), Some(1), "one snippet failed");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("notes.wav") && stderr.contains("not a supported audio file"), "{stderr}");
    let line: serde_json::Value = serde_json::from_slice(&result.stdout).expect("one JSON line for the clip");
    let found = &line["outcome"]["identified"];
    assert_eq!(found["path"], "track 2.wav", "{line}");
    // The arrangement repeats every 4 bars (7.06 s at 136 BPM): the offset is 11 s up to that.
    let period = 16.0 * 60.0 / 136.0;
    let off = (found["offsetSec"].as_f64().expect("offset") - 11.0).rem_euclid(period);
    assert!(off.min(period - off) < 0.35, "{line}");

    let lib_arg = [lib.path().to_path_buf()];
    let stats = run_json(&["index", "stats", "--json", "--library"], &lib_arg);
    assert_eq!((stats["tracks"].as_u64(), stats["source"].as_str()), (Some(3), Some("kept_file")), "{stats}");
    std::fs::remove_file(lib.path().join("indexes/fingerprints.bin")).expect("removed");
    let stats = run_json(&["index", "stats", "--json", "--library"], &lib_arg);
    assert_eq!(stats["source"], "built", "{stats}");
    assert!(lib.path().join("indexes/fingerprints.bin").is_file(), "kept again");
    let rebuilt = run_json(&["index", "rebuild", "--json", "--library"], &lib_arg);
    assert_eq!((rebuilt["source"].as_str(), rebuilt["postings"].clone()), (Some("built"), stats["postings"].clone()));
}
