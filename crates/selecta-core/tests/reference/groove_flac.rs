//! Reference analysis of tests/fixtures/audio/groove.flac, asserted natively by
//! tests/groove_reference.rs and in wasm32 by tests/wasm_parity.rs, so that both targets are held
//! to the same values (the wasm test cannot read the native result at run time).

use selecta_core::SongFeatures;

/// `songId`: SHA-256 of the decoded PCM (lossless).
pub const SONG_ID: &str = "ceffc1a7995fca254014c69ee911aa3d34494ce9935cdb9fecbbcc370abd4108";
/// SHA-256 of the file bytes.
pub const FILE_HASH: &str = "6c12687f61a78b028a76a1d14a3b09b779c2387b595bc99b069533e94e1c71a2";
/// Tempo as measured natively (x86_64). The tempo path uses FFTs and libm functions whose last
/// bits may differ between targets (SIMD FFT kernels, Rust's libm in wasm), hence a tolerance.
pub const BPM: f32 = 124.03054;
/// Largest accepted BPM difference: well below the 0.01 step that `selecta show --json` prints.
pub const BPM_TOLERANCE: f32 = 1e-3;
/// `songId` of tests/fixtures/audio/groove.mp3: lossy ids hash the compressed packets, so
/// native and wasm agree although their decoded samples differ in the last bits.
pub const MP3_SONG_ID: &str = "6741cabd0d74b1f30cbe2aaf462d379faf8b005152eb0025b3510ea974e946b8";
/// Key name.
pub const KEY: &str = "A minor";

/// DJ features as measured natively (x86_64), as `selecta show --json` rounds them: energy,
/// sub / bass / low-mid shares, onset density, percussive ratio, first downbeat (s).
pub const DJ: [f32; 7] = [5.70, 0.0578, 0.8125, 0.0355, 2.813, 0.656, 1.921];
/// Largest accepted difference of each: the rounding of the reference plus the last-bit
/// differences of the FFTs between targets.
pub const DJ_TOLERANCE: [f32; 7] = [0.01, 0.001, 0.001, 0.001, 0.01, 0.002, 0.01];

/// Assert that `f` has the reference songId, fileHash, BPM (within [`BPM_TOLERANCE`]), key and
/// DJ features (within [`DJ_TOLERANCE`]).
pub fn assert_matches(f: &SongFeatures) {
    assert_eq!(f.song_id, SONG_ID, "songId");
    assert_eq!(f.file_hash, FILE_HASH, "fileHash");
    let bpm = f.bpm.expect("tempo");
    assert!((bpm - BPM).abs() <= BPM_TOLERANCE, "bpm {bpm} vs {BPM}");
    assert_eq!(f.key.map(|k| k.name()).as_deref(), Some(KEY), "key");
    let dj = f.dj.as_ref().expect("DJ features");
    let got = [
        dj.energy,
        dj.low_end.sub,
        dj.low_end.bass,
        dj.low_end.low_mid,
        dj.onset_density,
        dj.percussive_ratio,
        dj.first_downbeat_sec.expect("a downbeat"),
    ];
    for ((name, (g, want)), tol) in
        ["energy", "sub", "bass", "lowMid", "onsetDensity", "percussiveRatio", "firstDownbeat"]
            .iter()
            .zip(got.iter().zip(DJ))
            .zip(DJ_TOLERANCE)
    {
        assert!((g - want).abs() <= tol, "{name} {g} vs {want}");
    }
    assert_eq!(dj.vocal_presence, 0.0, "vocal presence of a drum groove");
}
