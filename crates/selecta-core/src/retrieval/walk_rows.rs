//! Compact copies of every track's prepared views, which the approximate index ([`super::ann`])
//! lays its graph out and walks by: the embedding, the tags and the four blocks of the packed
//! timbre model, each quantised to 8-bit integer codes with a scale of its own, in one
//! contiguous row per track.
//!
//! A graph step compares the query with a neighbour it has not read before, somewhere in
//! memory, and the walk is bound by those reads: a row of 711 bytes in one piece costs a
//! fraction of the three f32 rows (2.8 KB in three places) that the exact score reads. The
//! distance is the full similarity, timbre included, up to the rounding of the codes (1/127 of
//! each block's largest value); what the walk finds is ranked again by the exact score. With
//! `selecta bench --search` at 50 000 tracks, 8-bit codes find the true top 10 as often as
//! 12-bit ones (recall@10 0.9805 at a beam of 64 with either). Walking by the embedding and
//! tags alone lost a tenth of the true top 10 at any beam width: the timbre is a third of the
//! total.

use super::{SearchIndex, ViewRef};
use crate::features::timbre::{MFCCS, PACKED_TIMBRE_LEN};
use crate::similar::PreparedView;

/// Blocks of a row: embedding, tags, then the packed timbre model's precision and covariance
/// blocks and its two linear blocks (see [`crate::features::timbre::pack_timbre`]).
const BLOCKS: usize = 6;
const TIMBRE_MATRIX: usize = MFCCS * (MFCCS + 1) / 2;

/// Codes of one row or query, with a scale per block.
#[derive(Debug, Clone, Copy, Default)]
struct RowMeta {
    scales: [f32; BLOCKS],
    /// The packed timbre model's last entry (its own constant term), kept exactly.
    timbre_constant: f32,
    /// Which of the embedding, timbre and tags the track has.
    present: [bool; 3],
}

/// A query's codes ([`WalkRows::query`]).
#[derive(Debug, Clone)]
pub(crate) struct WalkQuery {
    codes: Vec<i8>,
    meta: RowMeta,
}

/// The rows of every track of one [`SearchIndex`], in its order.
#[derive(Debug, Clone, Default)]
pub(crate) struct WalkRows {
    /// Start of each block in a row, and the row length.
    starts: [usize; BLOCKS + 1],
    codes: Vec<i8>,
    meta: Vec<RowMeta>,
}

/// Largest code.
const CODE_LIMIT: f32 = 127.0;

/// Codes of `v` written into `out` and their scale (0 for a block without a finite peak).
fn quantise_into(v: &[f32], out: &mut [i8]) -> f32 {
    let limit = CODE_LIMIT;
    let peak = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if !(peak > 0.0 && peak.is_finite()) {
        out.fill(0);
        return 0.0;
    }
    let scale = peak / limit;
    for (o, x) in out.iter_mut().zip(v) {
        *o = (x / scale).round().clamp(-limit, limit) as i8;
    }
    scale
}

impl WalkRows {
    /// The rows of every track of `index`.
    pub(crate) fn build(index: &SearchIndex) -> Self {
        let views = &index.views;
        let lengths = [views.embedding.width, views.tags.width, TIMBRE_MATRIX, TIMBRE_MATRIX, MFCCS, MFCCS];
        let mut starts = [0usize; BLOCKS + 1];
        for b in 0..BLOCKS {
            starts[b + 1] = starts[b] + lengths[b];
        }
        let n = index.len();
        let mut rows = Self { starts, codes: vec![0; n * starts[BLOCKS]], meta: Vec::with_capacity(n) };
        for i in 0..n {
            let width = rows.starts[BLOCKS];
            let (starts, codes) = (rows.starts, &mut rows.codes[i * width..(i + 1) * width]);
            rows.meta.push(encode(&starts, views.row(i), codes));
        }
        rows
    }

    /// The codes of a query that is not (or need not be) in the table.
    pub(crate) fn query(&self, view: &PreparedView) -> WalkQuery {
        let mut codes = vec![0i8; self.starts[BLOCKS]];
        let meta = encode(&self.starts, view.into(), &mut codes);
        WalkQuery { codes, meta }
    }

    /// The walk's distance from `query` to the track at `position` in `index` (+∞ when they
    /// share no part).
    #[inline]
    pub(crate) fn distance(&self, index: &SearchIndex, query: &WalkQuery, position: usize) -> f32 {
        self.distance_codes(index, &query.codes, &query.meta, position)
    }

    /// The walk's distance between two tracks of the table.
    #[inline]
    pub(crate) fn distance_between(&self, index: &SearchIndex, a: usize, b: usize) -> f32 {
        match self.meta.get(a) {
            Some(meta) => self.distance_codes(index, self.row(a), meta, b),
            None => f32::INFINITY,
        }
    }

    /// Ask for the row of the track at `position` from memory ahead of its
    /// [`WalkRows::distance`]: one byte of each cache line is read, and nothing waits for it, so
    /// the reads of a node's neighbours overlap instead of following one another.
    #[inline]
    pub(crate) fn prefetch(&self, position: usize) {
        let width = self.starts[BLOCKS];
        if let Some(row) = self.codes.get(position * width..(position + 1) * width) {
            let touched = row.iter().step_by(64).fold(0i8, |acc, &b| acc.wrapping_add(b));
            std::hint::black_box(touched);
        }
    }

    fn row(&self, i: usize) -> &[i8] {
        let width = self.starts[BLOCKS];
        self.codes.get(i * width..(i + 1) * width).unwrap_or_default()
    }

    fn distance_codes(&self, index: &SearchIndex, q: &[i8], qm: &RowMeta, position: usize) -> f32 {
        let (Some(rm), r) = (self.meta.get(position), self.row(position)) else { return f32::INFINITY };
        if r.len() != q.len() {
            return f32::INFINITY;
        }
        let s = &self.starts;
        let scaled_dot =
            |a: usize, b: usize| dot_i8(&q[s[a]..s[a + 1]], &r[s[b]..s[b + 1]]) as f32 * (qm.scales[a] * rm.scales[b]);
        let cosine = |b: usize, part: usize| (qm.present[part] && rm.present[part]).then(|| 1.0 - scaled_dot(b, b));
        let timbre = (qm.present[1] && rm.present[1]).then(|| {
            let cross = scaled_dot(2, 3) + scaled_dot(3, 2);
            let linear = scaled_dot(4, 5) + scaled_dot(5, 4);
            let kl = 0.5 * (cross - 2.0 * linear + qm.timbre_constant + rm.timbre_constant) - MFCCS as f32;
            // As `packed_divergence`: a divergence is never below 0.
            (1.0 + kl.max(0.0)).ln()
        });
        let timbre = timbre.filter(|t| t.is_finite());
        index.combined([cosine(0, 0), timbre, cosine(1, 2)]).map_or(f32::INFINITY, |(d, _)| d)
    }
}

/// Write the codes of `view` into `codes` (laid out by `starts`) and return their scales.
fn encode(starts: &[usize; BLOCKS + 1], view: ViewRef<'_>, codes: &mut [i8]) -> RowMeta {
    let mut meta = RowMeta::default();
    let mut put = |b: usize, values: &[f32], meta: &mut RowMeta| {
        let out = &mut codes[starts[b]..starts[b + 1]];
        if values.len() == out.len() {
            meta.scales[b] = quantise_into(values, out);
            true
        } else {
            false
        }
    };
    if let Some(e) = view.embedding {
        meta.present[0] = put(0, e, &mut meta);
    }
    if let Some(t) = view.tags {
        meta.present[2] = put(1, t, &mut meta);
    }
    if let Some(t) = view.timbre.filter(|t| t.len() == PACKED_TIMBRE_LEN && t.iter().all(|x| x.is_finite())) {
        let (m, c) = (TIMBRE_MATRIX, MFCCS);
        let ok = put(2, &t[..m], &mut meta)
            && put(3, &t[m..2 * m], &mut meta)
            && put(4, &t[2 * m..2 * m + c], &mut meta)
            && put(5, &t[2 * m + c..2 * m + 2 * c], &mut meta);
        meta.timbre_constant = t[PACKED_TIMBRE_LEN - 1];
        meta.present[1] = ok;
    }
    meta
}

/// `Σ aᵢ·bᵢ` of 8-bit codes with independent partial sums, so that the compiler vectorises it
/// into multiply-adds of 16-bit lanes. A product is at most 2^14, so a block sums far below
/// 2^31.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    const LANES: usize = 16;
    let mut acc = [0i32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        // Widened to 16 bits first: the pattern the compiler turns into `pmaddwd` (a product of
        // 8-bit lanes widened straight to 32 bits becomes a 32-bit multiply, which SSE2 lacks).
        let x: [i16; LANES] = std::array::from_fn(|i| i16::from(x[i]));
        let y: [i16; LANES] = std::array::from_fn(|i| i16::from(y[i]));
        for i in 0..LANES {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let tail: i32 = ra.iter().zip(rb).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
    acc.iter().sum::<i32>() + tail
}

/// The same sum with wasm SIMD's 16-bit dot product (`i32x4.dot_i16x8_s`) on codes widened to
/// 16 bits.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    use core::arch::wasm32::{i16x8, i32x4_add, i32x4_dot_i16x8, i32x4_extract_lane, i32x4_splat};
    const LANES: usize = 8;
    let mut acc = i32x4_splat(0);
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let wide = |v: &[i8]| {
        i16x8(v[0].into(), v[1].into(), v[2].into(), v[3].into(), v[4].into(), v[5].into(), v[6].into(), v[7].into())
    };
    for (x, y) in ca.zip(cb) {
        acc = i32x4_add(acc, i32x4_dot_i16x8(wide(x), wide(y)));
    }
    let tail: i32 = ra.iter().zip(rb).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
    i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc)
        + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::synth_library::SyntheticLibrary;

    #[test]
    fn the_walk_distance_orders_tracks_as_the_exact_one_does() {
        let index = SyntheticLibrary::new(6, 3).search_index(300);
        let rows = WalkRows::build(&index);
        let (mut worst, mut total, mut pairs, mut worst_rank) = (0.0f32, 0.0f32, 0usize, 0usize);
        for a in 0..40 {
            let query = index.view_at(a);
            let q = rows.query(&query);
            let mut exact = Vec::new();
            let mut walk = Vec::new();
            for b in (0..index.len()).filter(|&b| b != a) {
                let (e, w) = (index.distance(&query, b), rows.distance(&index, &q, b));
                assert_eq!(w, rows.distance_between(&index, a, b), "{a} → {b}: the row is the query");
                worst = worst.max((w - e).abs());
                total += (w - e).abs();
                pairs += 1;
                exact.push((e, b));
                walk.push((w, b));
            }
            exact.sort_by(|x, y| x.0.total_cmp(&y.0));
            walk.sort_by(|x, y| x.0.total_cmp(&y.0));
            // Where the walk's order puts the exact 10 nearest.
            for &(_, b) in &exact[..10] {
                let rank = walk.iter().position(|&(_, w)| w == b).unwrap_or(usize::MAX);
                worst_rank = worst_rank.max(rank);
            }
        }
        let mean = total / pairs as f32;
        // Distances are in standard deviations of the library's pairs; measured: mean 0.006,
        // largest 0.04, and the exact 10 nearest all within the walk's 11 nearest.
        assert!(mean < 0.02 && worst < 0.1, "mean {mean}, largest {worst}");
        assert!(worst > 0.0, "codes are rounded: some difference is expected");
        assert!(worst_rank < 15, "an exact top-10 track is {}th by the walk", worst_rank + 1);
    }

    #[test]
    fn the_code_dot_product_is_the_integer_one() {
        let a: Vec<i8> = (0..211).map(|i| ((i * 37) % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..211).map(|i| ((i * 91 + 5) % 255 - 127) as i8).collect();
        let expected: i32 = a.iter().zip(&b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
        assert_eq!(dot_i8(&a, &b), expected);
        let extreme = vec![-127i8; 512];
        assert_eq!(dot_i8(&extreme, &extreme), 127 * 127 * 512);
    }
}
