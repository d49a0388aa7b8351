//! Synthetic feature records of imaginary tracks grouped in style clusters, for the taste
//! model's tests and its speed benchmark (tens of thousands of tracks without decoding audio).
//! Tracks of a cluster share an embedding centre, tag profile, tempo range, genre and artists;
//! `noise` controls how far a track strays from its cluster. Deterministic per seed.

use crate::audio::Tags;
use crate::embed::{SamplingProfile, TrackEmbedding, Window};
use crate::error::StoreError;
use crate::features::dj::{DjFeatures, LowEnd, Section};
use crate::features::key::Mode;
use crate::features::timbre::MFCCS;
use crate::features::{Fingerprint, Key};
use crate::record::SongFeatures;
use crate::store::Store;

/// Embedding width (as musicnn's dense layer).
pub const EMBEDDING_DIM: usize = 200;
/// Tag count (as musicnn MSD).
pub const TAG_COUNT: usize = 50;
/// Model version written into the synthetic embeddings.
pub const MODEL_VERSION: &str = "synthetic-embedding-1";

const GENRES: [&str; 8] = ["house", "techno", "ambient", "rock", "jazz", "hip hop", "classical", "drum and bass"];
const WORDS: [&str; 16] = [
    "night", "drive", "love", "dub", "dream", "city", "fire", "deep", "sun", "rain", "ghost", "gold", "echo", "wild",
    "storm", "light",
];

/// Deterministic generator (SplitMix64 with Box–Muller normals).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0xa076_1d64_78bd_642f)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f32 {
        let u = self.uniform().max(1e-7);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }

    /// Uniform integer below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

fn unit(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
}

/// A library of synthetic tracks in `clusters` styles.
#[derive(Debug, Clone)]
pub struct SyntheticLibrary {
    centres: Vec<Vec<f32>>,
    tag_profiles: Vec<Vec<f32>>,
    seed: u64,
    /// Spread of a track around its cluster centre (0.5 ≈ clearly separable clusters).
    pub noise: f32,
}

/// Recall@10 of `ann` at the default beam against the exact search of `index`, with every
/// `every`-th track as the query. Panics when a returned score is not the one the exact search
/// gives that song (the beam is ranked by the exact score).
pub fn approximate_recall_at_10(
    index: &crate::retrieval::SearchIndex,
    ann: &crate::retrieval::ann::AnnIndex,
    every: usize,
) -> f64 {
    let none = crate::retrieval::SearchFilters::default();
    let (mut found, mut wanted) = (0, 0);
    for q in (0..index.len()).step_by(every.max(1)) {
        let view = index.view_at(q);
        let (exact, _) = index.search(Some(index.id(q)), &view, index.facts_at(q), &none, 10, false);
        let approximate = ann.search(index, &view, Some(q), &|_| true, 10, crate::retrieval::ann::DEFAULT_EF);
        found += approximate.iter().filter(|h| exact.iter().any(|e| e.id == h.id)).count();
        wanted += exact.len();
        for h in &approximate {
            let score = index.score_of(&view, &h.id).map(|(score, _)| score);
            assert_eq!(Some(h.score), score, "{}: not the exact score", h.id);
        }
    }
    found as f64 / wanted.max(1) as f64
}

impl SyntheticLibrary {
    /// Clusters drawn from `seed`.
    pub fn new(clusters: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let centres = (0..clusters)
            .map(|_| {
                let mut c: Vec<f32> = (0..EMBEDDING_DIM).map(|_| rng.normal()).collect();
                unit(&mut c);
                c
            })
            .collect();
        let tag_profiles = (0..clusters).map(|_| (0..TAG_COUNT).map(|_| rng.uniform().powi(3)).collect()).collect();
        Self { centres, tag_profiles, seed, noise: 0.5 }
    }

    /// Number of clusters.
    pub fn clusters(&self) -> usize {
        self.centres.len()
    }

    /// Store tracks `0..n` and return their song ids in order.
    pub fn store_into(&self, store: &mut dyn Store, n: usize) -> Result<Vec<String>, StoreError> {
        (0..n)
            .map(|i| {
                let f = self.track(i);
                store.put_song_features(&f, 0)?;
                Ok(f.song_id)
            })
            .collect()
    }

    /// Track number `index` of the library; its cluster is `index % clusters`.
    /// A search index over the first `n` tracks (their views and filter facts, the default
    /// weights), without a store.
    pub fn search_index(&self, n: usize) -> crate::retrieval::SearchIndex {
        use crate::retrieval::{SearchIndex, TrackFacts, track_view};
        let tracks: Vec<SongFeatures> = (0..n).map(|i| self.track(i)).collect();
        SearchIndex::from_views(
            tracks.iter().map(|t| t.song_id.clone()).collect(),
            tracks.iter().map(track_view).collect(),
            tracks.iter().map(TrackFacts::of).collect(),
            crate::similar::Weights::default(),
        )
    }

    pub fn track(&self, index: usize) -> SongFeatures {
        let cluster = index % self.centres.len();
        let mut rng = Rng::new(self.seed.wrapping_mul(31).wrapping_add(index as u64 + 1));
        let scale = self.noise / (EMBEDDING_DIM as f32).sqrt();
        let mut vector: Vec<f32> = self.centres[cluster].iter().map(|c| c + scale * rng.normal()).collect();
        unit(&mut vector);
        let tags: Vec<f32> =
            self.tag_profiles[cluster].iter().map(|p| (p + 0.1 * self.noise * rng.normal()).clamp(0.0, 1.0)).collect();
        let hpcp: Vec<f32> = (0..12).map(|_| rng.uniform()).collect();
        let bpm = 80.0 + 12.0 * (cluster % 8) as f32 + 4.0 * rng.normal();
        let words: Vec<&str> = (0..3).map(|_| WORDS[(cluster * 3 + rng.below(5)) % WORDS.len()]).collect();
        let duration = 150.0 + 120.0 * rng.uniform();
        let mut features = SongFeatures {
            song_id: format!("{:016x}{:016x}", self.seed, index),
            file_hash: format!("{:032x}", rng.next_u64()),
            analysis_version: crate::ANALYSIS_VERSION,
            duration_sec: f64::from(duration),
            sample_rate: 44_100,
            channels: 2,
            bitrate_kbps: 128.0 + 64.0 * rng.below(4) as f64,
            bpm: Some(bpm),
            bpm_confidence: Some(0.8),
            bpm_alternatives: Vec::new(),
            key: Some(Key {
                tonic: rng.below(12) as u8,
                mode: if rng.uniform() < 0.5 { Mode::Major } else { Mode::Minor },
            }),
            key_strength: Some(0.6),
            rms_mean: 0.05 + 0.1 * rng.uniform(),
            loudness_lufs: Some(f64::from(-14.0 - 6.0 * rng.uniform())),
            hpcp: Some(hpcp),
            chromaprint: Some(Fingerprint {
                raw: Vec::new(),
                encoded: String::new(),
                simhash: rng.next_u64(),
                track: Vec::new(),
            }),
            metadata: Tags {
                title: Some(words.join(" ")),
                artist: Some(format!("Artist {cluster}-{}", rng.below(8))),
                album: Some(format!("Album {cluster}-{}", rng.below(20))),
                genre: Some(GENRES[cluster % GENRES.len()].to_string()),
                year: Some(1990 + (cluster as i32 * 3) + rng.below(6) as i32),
                comment: None,
            },
            timbre: Some(timbre(cluster, &mut rng, self.noise)),
            embedding: Some(TrackEmbedding {
                model_version: MODEL_VERSION.to_string(),
                profile: SamplingProfile::Full,
                vector: vector.clone(),
                tags,
                windows: vec![Window { start: 0.0, end: duration }],
                intro: None,
                outro: None,
            }),
            dj: None,
            damage: None,
        };
        // Drawn after everything else, so the other fields stay what they were before tracks
        // had DJ features.
        let energy = (2.0 + 0.8 * (cluster % 9) as f32 + 0.8 * rng.normal()).clamp(1.0, 10.0);
        let section = |start: f32, rng: &mut Rng| Section {
            start_sec: start,
            end_sec: start + 30.0,
            bars: 16,
            boundary: true,
            mixability: 0.4 + 0.6 * rng.uniform(),
            low_share: 0.2 + 0.6 * rng.uniform(),
            vocal_presence: 0.3 * rng.uniform(),
            energy: (energy + rng.normal()).clamp(1.0, 10.0),
        };
        let (intro, outro) = (section(0.0, &mut rng), section(duration - 30.0, &mut rng));
        features.dj = Some(DjFeatures {
            energy,
            low_end: LowEnd { sub: 0.1 + 0.2 * rng.uniform(), bass: 0.2 + 0.2 * rng.uniform(), low_mid: 0.1 },
            onset_density: 1.0 + 7.0 * rng.uniform(),
            brightness_hz: 800.0 + 2000.0 * rng.uniform(),
            vocal_presence: rng.uniform(),
            percussive_ratio: 0.3 + 0.6 * rng.uniform(),
            first_downbeat_sec: Some(0.1),
            intro: Some(intro),
            outro: Some(outro),
        });
        let near = |rng: &mut Rng| {
            let mut v: Vec<f32> = vector.iter().map(|c| c + 2.0 * scale * rng.normal()).collect();
            unit(&mut v);
            v
        };
        let (intro_vector, outro_vector) = (near(&mut rng), near(&mut rng));
        if let Some(e) = features.embedding.as_mut() {
            e.intro = Some(intro_vector);
            e.outro = Some(outro_vector);
        }
        features
    }
}

/// MFCC statistics of a style: per-cluster means with noise, a diagonal covariance (a valid,
/// invertible timbre model).
fn timbre(cluster: usize, rng: &mut Rng, noise: f32) -> Vec<f32> {
    let mut stats: Vec<f32> = (0..MFCCS).map(|i| ((cluster * 7 + i) % 5) as f32 + noise * rng.normal()).collect();
    for i in 0..MFCCS {
        for j in i..MFCCS {
            stats.push(if i == j { 0.5 + rng.uniform() } else { 0.0 });
        }
    }
    stats
}
