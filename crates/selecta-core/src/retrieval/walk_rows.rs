//! Compact copies of every track's prepared views, which the approximate index ([`super::ann`])
//! lays its graph out and walks by: the embedding, the tags and the four blocks of the packed
//! timbre model, each quantised to 8-bit integer codes with a scale of its own, in one
//! contiguous row per track.
//!
//! A graph step compares the query with a neighbour it has not read before, somewhere in
//! memory, and the walk is bound by those reads: a row of 784 bytes in one piece (711 codes,
//! each block padded to 16) costs a fraction of the three f32 rows (2.8 KB in three places)
//! that the exact score reads. The dot products run on AVX2's 16-bit multiply-add where the
//! processor has it, chosen at run time through `pulp` (the crate holds the unsafe call; ours
//! stays free of it): the same integer sums, so the same graph, on any x86-64. A query is
//! widened to 16 bits once, so each product widens only the row's side. The
//! distance is the full similarity, timbre included, up to the rounding of the codes (1/127 of
//! each block's largest value); what the walk finds is ranked again by the exact score. With
//! `selecta bench --search` at 50 000 tracks, 8-bit codes find the true top 10 as often as
//! 12-bit ones (recall@10 0.9805 at a beam of 64 with either). Walking by the embedding and
//! tags alone lost a tenth of the true top 10 at any beam width: the timbre is a third of the
//! total.

use super::SearchIndex;
#[cfg(target_arch = "x86_64")]
use super::dot::dot_codes_v3;
use super::dot::{Code, LANES, dot_codes};
use super::prefetch::prefetch_slice;
use crate::features::timbre::{MFCCS, PACKED_TIMBRE_LEN};
use crate::similar::{PreparedRef, PreparedView};

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

/// A query's codes ([`WalkRows::query`]), widened to 16 bits once, so that each distance widens
/// only the row's half of every product.
#[derive(Debug, Clone)]
pub(crate) struct WalkQuery {
    codes: Vec<i16>,
    meta: RowMeta,
}

/// The rows of every track of one [`SearchIndex`], in its order.
#[derive(Debug, Clone, Default)]
pub(crate) struct WalkRows {
    /// Start of each block in a row, and the row length. Every block starts on a multiple of
    /// [`LANES`] codes and is padded with zeros to one, so the dot products need no scalar tail
    /// (the tails of six blocks cost as much as a third of their vector work).
    starts: [usize; BLOCKS + 1],
    /// Codes in each block before the padding.
    widths: [usize; BLOCKS],
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
        let (embedding_width, tags_width) = index.rows.widths();
        let widths = [embedding_width, tags_width, TIMBRE_MATRIX, TIMBRE_MATRIX, MFCCS, MFCCS];
        let mut starts = [0usize; BLOCKS + 1];
        for b in 0..BLOCKS {
            starts[b + 1] = starts[b] + widths[b].next_multiple_of(LANES);
        }
        let n = index.len();
        let mut rows = Self { starts, widths, codes: vec![0; n * starts[BLOCKS]], meta: Vec::with_capacity(n) };
        for i in 0..n {
            let width = rows.starts[BLOCKS];
            let codes = &mut rows.codes[i * width..(i + 1) * width];
            rows.meta.push(encode(&starts, &widths, index.rows.row(i, &index.similarity).get(), codes));
        }
        rows
    }

    /// The codes of a query that is not (or need not be) in the table.
    pub(crate) fn query(&self, view: &PreparedView) -> WalkQuery {
        let mut codes = vec![0i8; self.starts[BLOCKS]];
        let meta = encode(&self.starts, &self.widths, view.into(), &mut codes);
        WalkQuery { codes: codes.into_iter().map(i16::from).collect(), meta }
    }

    /// The codes of the track at `position` as a query (empty codes for an unknown position,
    /// which then has no distance to anything).
    pub(crate) fn query_at(&self, position: usize) -> WalkQuery {
        WalkQuery {
            codes: self.row(position).iter().map(|&c| i16::from(c)).collect(),
            meta: self.meta.get(position).copied().unwrap_or_default(),
        }
    }

    /// The walk's distance from `query` to the track at `position` in `index` (+∞ when they
    /// share no part).
    #[inline]
    pub(crate) fn distance(&self, index: &SearchIndex, query: &WalkQuery, position: usize) -> f32 {
        with_widest_simd(Distance { rows: self, index, q: query.codes.as_slice(), qm: &query.meta, position })
    }

    /// The walk's distance between two tracks of the table; equal to [`WalkRows::distance`] from
    /// [`WalkRows::query_at`]`(a)` to `b`.
    #[inline]
    pub(crate) fn distance_between(&self, index: &SearchIndex, a: usize, b: usize) -> f32 {
        match self.meta.get(a) {
            Some(meta) => with_widest_simd(Distance { rows: self, index, q: self.row(a), qm: meta, position: b }),
            None => f32::INFINITY,
        }
    }

    /// Ask for the row of the track at `position` from memory ahead of its
    /// [`WalkRows::distance`], without waiting for it ([`prefetch_slice`]), so the reads of a
    /// node's neighbours overlap instead of following one another.
    #[inline]
    pub(crate) fn prefetch(&self, position: usize) {
        let width = self.starts[BLOCKS];
        if let Some(row) = self.codes.get(position * width..(position + 1) * width) {
            prefetch_slice(row);
        }
    }

    fn row(&self, i: usize) -> &[i8] {
        let width = self.starts[BLOCKS];
        self.codes.get(i * width..(i + 1) * width).unwrap_or_default()
    }

    /// The distance from the query codes `q` with `qm` to the track at `position`.
    #[inline(always)]
    fn distance_codes<Q: QueryCodes + ?Sized>(
        &self,
        index: &SearchIndex,
        q: &Q,
        qm: &RowMeta,
        position: usize,
        dot: impl Fn(&Q, std::ops::Range<usize>, &[i8]) -> i32,
    ) -> f32 {
        let (Some(rm), r) = (self.meta.get(position), self.row(position)) else { return f32::INFINITY };
        let s = &self.starts;
        if r.len() != s[BLOCKS] || q.len() != s[BLOCKS] {
            return f32::INFINITY;
        }
        // Every block's dot product, each in one straight loop (the timbre's cross terms pair
        // blocks of equal lengths).
        let mut scaled = [0.0f32; PAIRS.len()];
        for (out, &(a, b)) in scaled.iter_mut().zip(&PAIRS) {
            *out = dot(q, s[a]..s[a + 1], &r[s[b]..s[b + 1]]) as f32 * (qm.scales[a] * rm.scales[b]);
        }
        let [embedding, tags, cross_ab, cross_ba, linear_ab, linear_ba] = scaled;
        let cosine = |dot: f32, part: usize| (qm.present[part] && rm.present[part]).then_some(1.0 - dot);
        let timbre = (qm.present[1] && rm.present[1]).then(|| {
            let kl = 0.5
                * (cross_ab + cross_ba - 2.0 * (linear_ab + linear_ba) + qm.timbre_constant + rm.timbre_constant)
                - MFCCS as f32;
            // As `packed_divergence`: a divergence is never below 0.
            (1.0 + kl.max(0.0)).ln()
        });
        let timbre = timbre.filter(|t| t.is_finite());
        index.combined([cosine(embedding, 0), timbre, cosine(tags, 2)]).map_or(f32::INFINITY, |(d, _)| d)
    }
}

/// Write the codes of `view` into `codes` (blocks of `widths` codes at `starts`) and return
/// their scales.
fn encode(starts: &[usize; BLOCKS + 1], widths: &[usize; BLOCKS], view: PreparedRef<'_>, codes: &mut [i8]) -> RowMeta {
    let mut meta = RowMeta::default();
    let mut put = |b: usize, values: &[f32], meta: &mut RowMeta| {
        // The padding after the values stays zero.
        let out = &mut codes[starts[b]..starts[b] + widths[b]];
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

/// The (query block, row block) pairs whose dot products make the distance: the embedding and
/// the tags with themselves, the timbre's precision with the covariance and its two linear
/// blocks with each other, both ways.
const PAIRS: [(usize, usize); 6] = [(0, 0), (1, 1), (2, 3), (3, 2), (4, 5), (5, 4)];

/// A query's codes: a stored row (8-bit) or a query widened to 16 bits.
trait QueryCodes {
    fn len(&self) -> usize;
    /// Dot product of the codes in `range` with `row` (of the same length).
    fn dot(&self, range: std::ops::Range<usize>, row: &[i8]) -> i32;
    /// [`QueryCodes::dot`] with AVX2.
    #[cfg(target_arch = "x86_64")]
    fn dot_v3(&self, simd: pulp::x86::V3, range: std::ops::Range<usize>, row: &[i8]) -> i32;
}

impl<A: Code> QueryCodes for [A] {
    #[inline(always)]
    fn len(&self) -> usize {
        <[A]>::len(self)
    }
    #[inline(always)]
    fn dot(&self, range: std::ops::Range<usize>, row: &[i8]) -> i32 {
        dot_codes(&self[range], row)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn dot_v3(&self, simd: pulp::x86::V3, range: std::ops::Range<usize>, row: &[i8]) -> i32 {
        dot_codes_v3(simd, &self[range], row)
    }
}

/// One walk distance, to be computed by [`with_widest_simd`].
struct Distance<'a, Q: ?Sized> {
    rows: &'a WalkRows,
    index: &'a SearchIndex,
    q: &'a Q,
    qm: &'a RowMeta,
    position: usize,
}

/// `d` computed with AVX2's 16-bit multiply-add where the processor has it (found once, at run
/// time), and with the baseline's SIMD otherwise: the same integer sums, so the same distance.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn with_widest_simd<Q: QueryCodes + ?Sized>(d: Distance<'_, Q>) -> f32 {
    let Distance { rows, index, q, qm, position } = d;
    match crate::simd::x86_v3() {
        // Inlined whole into pulp's function compiled for AVX2, so the intrinsics inline too.
        Some(simd) => simd.vectorize(
            #[inline(always)]
            move || rows.distance_codes(index, q, qm, position, |q, range, row| q.dot_v3(simd, range, row)),
        ),
        None => rows.distance_codes(index, q, qm, position, |q, range, row| q.dot(range, row)),
    }
}

/// `d` computed: wasm32 builds choose their SIMD at compile time.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn with_widest_simd<Q: QueryCodes + ?Sized>(d: Distance<'_, Q>) -> f32 {
    let Distance { rows, index, q, qm, position } = d;
    rows.distance_codes(index, q, qm, position, |q, range, row| q.dot(range, row))
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
}
