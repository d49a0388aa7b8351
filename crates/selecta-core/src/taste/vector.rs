//! The taste model's feature vector of a candidate against a liked set :
//! embedding similarity max / top-5 / top-20 / centroid, Chromaprint SimHash similarity, HPCP
//! correlation, nearest BPM, key, duration and year, bitrate, RMS, loudness, artist/album match,
//! genre Jaccard, TF-IDF text similarity, and a `has_*` flag for every optional field.
//!
//! [`LikedSet`] precomputes everything about the liked tracks once (z-scored embedding matrix,
//! sorted scalars, key-distance table, inverted text index) so that scoring tens of thousands of
//! candidates is a matrix product plus look-ups. Leave-one-out for training is done by building
//! the set without the sample ([`LikedSet::without`]), so a liked track never sees itself.
//! No feature may depend on the size of the set: leave-one-out sets are one smaller than the
//! set candidates are scored against, and the trees would learn that difference as the label.

use std::collections::{HashMap, HashSet};

use ndarray::{Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

use super::profile::TrackProfile;
use super::text::{Idf, TextIndex, TextScratch, TextVector};
use crate::features::Key;
use crate::features::key::Mode;
use crate::similar::dimension_stats;

/// Names of the vector's entries, in order (saved with the model and checked at load).
pub const FEATURE_NAMES: [&str; 34] = [
    "emb_sim_max",
    "emb_sim_top5_mean",
    "emb_sim_top20_mean",
    "emb_sim_centroid",
    "has_embedding",
    "tag_sim_centroid",
    "has_tags",
    "chromaprint_sim_max",
    "has_chromaprint",
    "hpcp_corr_max",
    "has_hpcp",
    "bpm_diff_min",
    "bpm",
    "has_bpm",
    "key_dist_min",
    "has_key",
    "duration_diff_min_log1p",
    "has_duration",
    "bitrate_kbps",
    "has_bitrate",
    "rms_mean",
    "has_rms",
    "loudness_lufs",
    "has_loudness",
    "artist_match_any",
    "has_artist",
    "album_match_any",
    "has_album",
    "genre_jaccard_max",
    "has_genre",
    "year_diff_min",
    "has_year",
    "text_sim_max",
    "has_text",
];

/// Length of the feature vector.
pub const FEATURE_COUNT: usize = FEATURE_NAMES.len();

/// One candidate's features.
pub type FeatureRow = [f32; FEATURE_COUNT];

// Values for a missing comparison; the `has_*` flag beside each tells the trees to ignore it.
const NO_SIM: f32 = -2.0;
const NO_BPM_DIFF: f32 = 300.0;
const NO_KEY_DIST: f32 = 8.0;
const NO_DURATION_DIFF: f32 = 10.0;
const NO_YEAR_DIFF: f32 = 200.0;
const NO_LOUDNESS: f32 = -70.0;

/// Largest top-K mean in the vector.
const TOP_MAX: usize = 20;

/// Candidates scored per matrix product (bounds the similarity block to a few MB).
const BLOCK: usize = 1024;

/// Per-dimension standardisation of one embedding model's vectors (fitted on the training
/// samples and saved with the model): z-scoring makes cosine similarity discriminate on the
/// dimensions that vary in this library rather than on the model's global offsets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingSpace {
    /// Model version whose vectors this space accepts.
    pub model_version: String,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
}

impl EmbeddingSpace {
    /// Fit on the embeddings of the most common model version among `profiles`.
    pub fn fit<'a>(profiles: impl IntoIterator<Item = &'a TrackProfile>) -> Option<Self> {
        let with: Vec<&TrackProfile> = profiles.into_iter().filter(|p| p.embedding.is_some()).collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for p in &with {
            *counts.entry(p.model_version.as_deref().unwrap_or("")).or_default() += 1;
        }
        let version = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?.0.to_string();
        let vectors: Vec<&[f32]> = with
            .iter()
            .filter(|p| p.model_version.as_deref().unwrap_or("") == version)
            .filter_map(|p| p.embedding.as_deref())
            .collect();
        let dim = vectors.first()?.len();
        let vectors: Vec<&[f32]> = vectors.into_iter().filter(|v| v.len() == dim).collect();
        let (mean, std) = dimension_stats(&vectors)?;
        let inv_std = std.iter().map(|s| if *s > 1e-6 { 1.0 / s } else { 0.0 }).collect();
        Some(Self { model_version: version, mean, inv_std })
    }

    /// The z-scored, L2-normalised vector of a profile whose embedding comes from this model.
    pub fn project(&self, p: &TrackProfile) -> Option<Vec<f32>> {
        if p.model_version.as_deref().unwrap_or("") != self.model_version {
            return None;
        }
        let e = p.embedding.as_deref().filter(|e| e.len() == self.mean.len())?;
        let mut z: Vec<f32> = e.iter().zip(&self.mean).zip(&self.inv_std).map(|((x, m), s)| (x - m) * s).collect();
        normalise(&mut z).then_some(z)
    }
}

fn normalise(v: &mut [f32]) -> bool {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 1e-12 && n.is_finite() {
        v.iter_mut().for_each(|x| *x /= n);
        true
    } else {
        false
    }
}

/// Pearson-ready HPCP: mean removed, unit norm (then correlation is a dot product).
fn centred_hpcp(h: &[f32]) -> Option<Vec<f32>> {
    let mean = h.iter().sum::<f32>() / h.len() as f32;
    let mut c: Vec<f32> = h.iter().map(|x| x - mean).collect();
    normalise(&mut c).then_some(c)
}

/// Circle-of-fifths distance of two keys (0–6) plus one for a change of mode.
pub fn key_distance(a: Key, b: Key) -> u8 {
    let d = (i16::from(a.camelot_number()) - i16::from(b.camelot_number())).unsigned_abs() as u8;
    d.min(12 - d) + u8::from(a.mode != b.mode)
}

fn key_index(k: Key) -> usize {
    usize::from(k.tonic % 12) + if k.mode == Mode::Minor { 12 } else { 0 }
}

fn key_of_index(i: usize) -> Key {
    Key { tonic: (i % 12) as u8, mode: if i >= 12 { Mode::Minor } else { Mode::Major } }
}

/// Smallest |x − v| over a sorted slice.
fn nearest_diff(sorted: &[f32], x: f32) -> Option<f32> {
    let i = sorted.partition_point(|v| *v < x);
    let after = sorted.get(i).map(|v| v - x);
    let before = i.checked_sub(1).map(|j| x - sorted[j]);
    match (before, after) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn sorted(values: impl Iterator<Item = f32>) -> Vec<f32> {
    let mut v: Vec<f32> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f32::total_cmp);
    v
}

fn jaccard(a: &[String], b: &[String]) -> f32 {
    let inter = a.iter().filter(|x| b.contains(x)).count();
    let union = a.len() + b.len() - inter;
    if union == 0 { 0.0 } else { inter as f32 / union as f32 }
}

/// Everything about a liked set that scoring needs, precomputed.
#[derive(Debug)]
pub struct LikedSet<'a> {
    profiles: Vec<&'a TrackProfile>,
    space: Option<&'a EmbeddingSpace>,
    idf: &'a Idf,
    embeddings: Array2<f32>,
    centroid: Option<Vec<f32>>,
    tag_centroid: Option<Vec<f32>>,
    simhashes: Vec<u64>,
    hpcp: Array2<f32>,
    bpms: Vec<f32>,
    durations: Vec<f32>,
    years: Vec<f32>,
    key_dist: Option<[u8; 24]>,
    artists: HashSet<&'a str>,
    albums: HashSet<&'a str>,
    genre_sets: Vec<&'a [String]>,
    text: TextIndex,
}

impl<'a> LikedSet<'a> {
    /// Precompute the set of `liked` tracks in `space` with the text weights `idf`.
    pub fn new(liked: &[&'a TrackProfile], space: Option<&'a EmbeddingSpace>, idf: &'a Idf) -> Self {
        let projected: Vec<Vec<f32>> =
            space.map(|s| liked.iter().filter_map(|p| s.project(p)).collect()).unwrap_or_default();
        let embeddings = rows_to_matrix(&projected);
        let centroid = (!projected.is_empty())
            .then(|| {
                let mut c = embeddings.mean_axis(Axis(0))?.to_vec();
                normalise(&mut c).then_some(c)
            })
            .flatten();
        let tag_rows: Vec<&[f32]> = liked
            .iter()
            .filter(|p| space.is_some_and(|s| p.model_version.as_deref() == Some(s.model_version.as_str())))
            .filter_map(|p| p.tags.as_deref())
            .collect();
        let tag_centroid = mean_direction(&tag_rows);
        let hpcp_rows: Vec<Vec<f32>> = liked.iter().filter_map(|p| p.hpcp.as_deref().and_then(centred_hpcp)).collect();
        let key_dist = {
            let keys: Vec<Key> = liked.iter().filter_map(|p| p.key).collect();
            (!keys.is_empty()).then(|| {
                std::array::from_fn(|i| keys.iter().map(|k| key_distance(key_of_index(i), *k)).min().unwrap_or(0))
            })
        };
        let mut genre_sets: Vec<&[String]> =
            liked.iter().map(|p| p.genres.as_slice()).filter(|g| !g.is_empty()).collect();
        genre_sets.sort();
        genre_sets.dedup();
        let text_vectors: Vec<TextVector> = liked.iter().map(|p| idf.vector(&p.words)).collect();
        Self {
            profiles: liked.to_vec(),
            space,
            idf,
            embeddings,
            centroid,
            tag_centroid,
            simhashes: liked.iter().filter_map(|p| p.simhash).collect(),
            hpcp: rows_to_matrix(&hpcp_rows),
            bpms: sorted(liked.iter().filter_map(|p| p.bpm)),
            durations: sorted(liked.iter().filter_map(|p| p.duration_sec)),
            years: sorted(liked.iter().filter_map(|p| p.year.map(|y| y as f32))),
            key_dist,
            artists: liked.iter().filter_map(|p| p.artist.as_deref()).collect(),
            albums: liked.iter().filter_map(|p| p.album.as_deref()).collect(),
            genre_sets,
            text: TextIndex::new(&text_vectors),
        }
    }

    /// The same set without the track `song_id` (leave-one-out for a liked training sample).
    pub fn without(&self, song_id: &str) -> LikedSet<'a> {
        let rest: Vec<&'a TrackProfile> = self.profiles.iter().copied().filter(|p| p.song_id != song_id).collect();
        LikedSet::new(&rest, self.space, self.idf)
    }

    /// Number of liked tracks.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Feature rows of `candidates` against this set.
    pub fn features(&self, candidates: &[&TrackProfile]) -> Vec<FeatureRow> {
        let mut out = Vec::with_capacity(candidates.len());
        let mut scratch = TextScratch::default();
        for block in candidates.chunks(BLOCK) {
            let projected: Vec<Option<Vec<f32>>> =
                block.iter().map(|p| self.space.and_then(|s| s.project(p))).collect();
            let hpcps: Vec<Option<Vec<f32>>> = block.iter().map(|p| p.hpcp.as_deref().and_then(centred_hpcp)).collect();
            let emb = similarity_block(&projected, &self.embeddings);
            let hpcp = similarity_block(&hpcps, &self.hpcp);
            for (i, c) in block.iter().enumerate() {
                let emb_sims = emb.as_ref().and_then(|(rows, m)| rows[i].map(|r| m.row(r)));
                let hpcp_sims = hpcp.as_ref().and_then(|(rows, m)| rows[i].map(|r| m.row(r)));
                let projected = projected[i].as_deref();
                out.push(self.row(c, emb_sims.zip(projected), hpcp_sims, &mut scratch));
            }
        }
        out
    }

    fn row(
        &self,
        c: &TrackProfile,
        emb: Option<(ArrayView1<'_, f32>, &[f32])>,
        hpcp_sims: Option<ArrayView1<'_, f32>>,
        scratch: &mut TextScratch,
    ) -> FeatureRow {
        let mut f = [0.0f32; FEATURE_COUNT];
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        // Embedding.
        match emb {
            Some((sims, v)) => {
                // Only the best 20 matter: partial selection, then a sort of those 20.
                let mut s: Vec<f32> = sims.to_vec();
                if s.len() > TOP_MAX {
                    s.select_nth_unstable_by(TOP_MAX - 1, |a, b| b.total_cmp(a));
                    s.truncate(TOP_MAX);
                }
                s.sort_unstable_by(|a, b| b.total_cmp(a));
                let mean_top = |k: usize| s.iter().take(k).sum::<f32>() / k.min(s.len()) as f32;
                f[0] = s[0];
                f[1] = mean_top(5);
                f[2] = mean_top(20);
                f[3] = self.centroid.as_ref().map_or(NO_SIM, |m| dot(m, v));
                f[4] = 1.0;
            }
            None => f[..4].fill(NO_SIM),
        }
        // Tag probabilities against the liked tags' mean direction.
        let tag_sim =
            self.tag_centroid.as_ref().zip(c.tags.as_deref()).filter(|(m, t)| m.len() == t.len()).and_then(|(m, t)| {
                let mut t = t.to_vec();
                normalise(&mut t).then(|| dot(m, &t))
            });
        let same_model = self.space.is_some_and(|s| c.model_version.as_deref() == Some(s.model_version.as_str()));
        let tag_sim = tag_sim.filter(|_| same_model);
        f[5] = tag_sim.unwrap_or(NO_SIM);
        f[6] = flag(tag_sim.is_some());
        // Chromaprint SimHash: share of equal bits.
        let chroma = c
            .simhash
            .filter(|_| !self.simhashes.is_empty())
            .map(|h| self.simhashes.iter().map(|l| 1.0 - (h ^ l).count_ones() as f32 / 64.0).fold(0.0, f32::max));
        f[7] = chroma.unwrap_or(NO_SIM);
        f[8] = flag(chroma.is_some());
        let hpcp = hpcp_sims.map(|s| s.iter().copied().fold(f32::MIN, f32::max));
        f[9] = hpcp.unwrap_or(NO_SIM);
        f[10] = flag(hpcp.is_some());
        let bpm_diff = c.bpm.and_then(|b| nearest_diff(&self.bpms, b));
        f[11] = bpm_diff.unwrap_or(NO_BPM_DIFF);
        f[12] = c.bpm.unwrap_or(0.0);
        f[13] = flag(bpm_diff.is_some());
        let key = c.key.zip(self.key_dist.as_ref()).map(|(k, table)| f32::from(table[key_index(k)]));
        f[14] = key.unwrap_or(NO_KEY_DIST);
        f[15] = flag(key.is_some());
        let duration = c.duration_sec.and_then(|d| nearest_diff(&self.durations, d)).map(f32::ln_1p);
        f[16] = duration.unwrap_or(NO_DURATION_DIFF);
        f[17] = flag(duration.is_some());
        f[18] = c.bitrate_kbps.unwrap_or(0.0);
        f[19] = flag(c.bitrate_kbps.is_some());
        f[20] = c.rms_mean.unwrap_or(0.0);
        f[21] = flag(c.rms_mean.is_some());
        f[22] = c.loudness_lufs.unwrap_or(NO_LOUDNESS);
        f[23] = flag(c.loudness_lufs.is_some());
        let artist = c.artist.as_deref().filter(|_| !self.artists.is_empty());
        f[24] = flag(artist.is_some_and(|a| self.artists.contains(a)));
        f[25] = flag(artist.is_some());
        let album = c.album.as_deref().filter(|_| !self.albums.is_empty());
        f[26] = flag(album.is_some_and(|a| self.albums.contains(a)));
        f[27] = flag(album.is_some());
        let genre = (!c.genres.is_empty() && !self.genre_sets.is_empty())
            .then(|| self.genre_sets.iter().map(|g| jaccard(&c.genres, g)).fold(0.0, f32::max));
        f[28] = genre.unwrap_or(0.0);
        f[29] = flag(genre.is_some());
        let year = c.year.and_then(|y| nearest_diff(&self.years, y as f32));
        f[30] = year.unwrap_or(NO_YEAR_DIFF);
        f[31] = flag(year.is_some());
        let text = (!c.words.is_empty() && !self.text.is_empty())
            .then(|| self.text.max_cosine(&self.idf.vector(&c.words), scratch));
        f[32] = text.unwrap_or(0.0);
        f[33] = flag(text.is_some());
        f
    }
}

/// Similarities of `vectors` to every row of `liked`: for each input, its row in the result
/// matrix, or `None` when it has no vector (or one of another length).
#[allow(clippy::type_complexity)]
fn similarity_block(vectors: &[Option<Vec<f32>>], liked: &Array2<f32>) -> Option<(Vec<Option<usize>>, Array2<f32>)> {
    if liked.nrows() == 0 {
        return None;
    }
    let mut rows = Vec::with_capacity(vectors.len());
    let mut present = Vec::new();
    for v in vectors {
        match v.as_ref().filter(|v| v.len() == liked.ncols()) {
            Some(v) => {
                rows.push(Some(present.len()));
                present.push(v.clone());
            }
            None => rows.push(None),
        }
    }
    let flat: Vec<f32> = present.iter().flat_map(|r| r.iter().copied()).collect();
    let queries = Array2::from_shape_vec((present.len(), liked.ncols()), flat).ok()?;
    Some((rows, queries.dot(&liked.t())))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn mean_direction(rows: &[&[f32]]) -> Option<Vec<f32>> {
    let dim = rows.first()?.len();
    let mut m = vec![0.0f32; dim];
    for r in rows.iter().filter(|r| r.len() == dim) {
        for (a, x) in m.iter_mut().zip(r.iter()) {
            *a += x;
        }
    }
    normalise(&mut m).then_some(m)
}

fn rows_to_matrix(rows: &[Vec<f32>]) -> Array2<f32> {
    let cols = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Array2::from_shape_vec((rows.len(), cols), flat).unwrap_or_else(|_| Array2::zeros((0, cols)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_distance_follows_the_wheel() {
        let c = Key { tonic: 0, mode: Mode::Major };
        let g = Key { tonic: 7, mode: Mode::Major };
        let a_min = Key { tonic: 9, mode: Mode::Minor };
        let fs = Key { tonic: 6, mode: Mode::Major };
        assert_eq!(key_distance(c, c), 0);
        assert_eq!(key_distance(c, g), 1);
        assert_eq!(key_distance(c, a_min), 1, "relative minor: same wheel number, mode change");
        assert_eq!(key_distance(c, fs), 6);
    }

    #[test]
    fn nearest_diff_finds_the_closest_value() {
        let v = [90.0, 120.0, 128.0];
        assert_eq!(nearest_diff(&v, 125.0), Some(3.0));
        assert_eq!(nearest_diff(&v, 60.0), Some(30.0));
        assert_eq!(nearest_diff(&v, 200.0), Some(72.0));
        assert_eq!(nearest_diff(&[], 1.0), None);
    }
}
