//! Eight-bit copies of the search index's unit-vector columns (embedding, tags), with what
//! bounds their error, so that exact search streams a quarter of the bytes for every track and
//! reads the full-precision rows only for the tracks whose bound says they could enter the top k.
//!
//! A row `x` is kept as codes `c` and a scale `s` (`x̂ = s·c`, `s = max|x| / 127`), with
//! `‖x − x̂‖` and `‖x‖`; a query `q` as 16-bit codes the same way. Then
//! `q·x = q̂·x̂ + q̂·(x − x̂) + (q − q̂)·x`, so by Cauchy–Schwarz
//! `|q·x − q̂·x̂| ≤ ‖q̂‖·‖x − x̂‖ + ‖q − q̂‖·‖x‖`: the coarse dot product and this bound give an
//! interval that holds the exact one, and a track whose best case cannot beat the k-th best
//! result is skipped without changing the answer.
//!
//! `q̂·x̂` is an integer dot product (16 × 8 bits), which both x86 and wasm SIMD do in one
//! multiply-add per pair of lanes.

use super::dot::dot_codes;

/// Codes of one unit-vector column, row-major.
#[derive(Debug, Clone, Default)]
pub struct CoarseColumn {
    width: usize,
    codes: Vec<i8>,
    /// Per row: `(scale, ‖x − x̂‖, ‖x‖)`; `None` for a row the column does not have.
    rows: Vec<Option<RowBound>>,
    /// Rows expected in all (the codes are allocated once at their final size).
    expected_rows: usize,
}

#[derive(Debug, Clone, Copy)]
struct RowBound {
    scale: f32,
    error: f32,
    norm: f32,
}

/// A query's codes for one column.
#[derive(Debug, Clone)]
pub struct CoarseQuery {
    codes: Vec<i16>,
    scale: f32,
    /// `‖q̂‖`.
    norm: f32,
    /// `‖q − q̂‖`.
    error: f32,
}

/// Covers the f32 rounding of the exact dot product, of the norms above and of the integer
/// sum's conversion (each well under 1e-5 for unit vectors of a few hundred dimensions).
const ROUNDING_SLACK: f32 = 1e-4;

fn norm(v: impl Iterator<Item = f32>) -> f32 {
    v.map(|x| x * x).sum::<f32>().sqrt()
}

/// Codes of `v` in `[-limit, limit]`, their scale, and `(‖v̂‖, ‖v − v̂‖)`.
fn quantise(v: &[f32], limit: f32) -> (Vec<i32>, f32, f32, f32) {
    let peak = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if peak > 0.0 && peak.is_finite() { peak / limit } else { 0.0 };
    let codes: Vec<i32> =
        v.iter().map(|x| if scale > 0.0 { (x / scale).round().clamp(-limit, limit) as i32 } else { 0 }).collect();
    let approx_norm = norm(codes.iter().map(|&c| c as f32 * scale));
    let error = norm(v.iter().zip(&codes).map(|(x, &c)| x - c as f32 * scale));
    (codes, scale, approx_norm, error)
}

impl CoarseColumn {
    /// An empty column for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        Self { expected_rows: rows, rows: Vec::with_capacity(rows), ..Self::default() }
    }

    /// Append a row (`None`: the track lacks this view, or its width differs from the first).
    pub fn push(&mut self, row: Option<&[f32]>) {
        if self.width == 0
            && let Some(r) = row
        {
            self.width = r.len();
            self.codes.reserve_exact(self.expected_rows.max(self.rows.len() + 1) * self.width);
            self.codes.resize(self.rows.len() * self.width, 0);
        }
        match row {
            Some(r) if r.len() == self.width && self.width > 0 => {
                if r.iter().all(|x| x.is_finite()) {
                    let (codes, scale, _, error) = quantise(r, f32::from(i8::MAX));
                    self.codes.extend(codes.into_iter().map(|c| c as i8));
                    self.rows.push(Some(RowBound { scale, error, norm: norm(r.iter().copied()) }));
                } else {
                    // No bound: the exact row decides.
                    self.codes.resize(self.codes.len() + self.width, 0);
                    self.rows.push(Some(RowBound { scale: 0.0, error: f32::INFINITY, norm: f32::INFINITY }));
                }
            }
            _ => {
                self.codes.resize(self.codes.len() + self.width, 0);
                self.rows.push(None);
            }
        }
    }

    /// The query's codes for this column (`None` when its width differs).
    pub fn query(&self, q: &[f32]) -> Option<CoarseQuery> {
        if q.len() != self.width || self.width == 0 {
            return None;
        }
        if !q.iter().all(|x| x.is_finite()) {
            // No bound: the exact rows decide.
            return Some(CoarseQuery {
                codes: vec![0; q.len()],
                scale: 0.0,
                norm: f32::INFINITY,
                error: f32::INFINITY,
            });
        }
        let (codes, scale, norm, error) = quantise(q, f32::from(i16::MAX));
        Some(CoarseQuery { codes: codes.into_iter().map(|c| c as i16).collect(), scale, norm, error })
    }

    /// An interval `(lowest, highest)` that holds the exact `q·x` of row `i` (`None` when the
    /// row is absent).
    #[inline(always)]
    pub fn dot_interval(&self, q: &CoarseQuery, i: usize) -> Option<(f32, f32)> {
        let row = (*self.rows.get(i)?)?;
        let codes = self.codes.get(i * self.width..(i + 1) * self.width)?;
        let approx = dot_codes(&q.codes, codes) as f32 * (q.scale * row.scale);
        let bound = q.norm * row.error + q.error * row.norm + ROUNDING_SLACK;
        if bound.is_finite() {
            Some((approx - bound, approx + bound))
        } else {
            Some((f32::NEG_INFINITY, f32::INFINITY))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::timbre::dot;

    /// Deterministic unit vectors with the skew real embeddings have (a few large dimensions).
    fn vectors(n: usize, width: usize) -> Vec<Vec<f32>> {
        let mut state = 0x9e37_79b9_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32 - 0.5
        };
        (0..n)
            .map(|i| {
                let mut v: Vec<f32> = (0..width).map(|d| next() * if d % 17 == i % 17 { 8.0 } else { 1.0 }).collect();
                let n = norm(v.iter().copied());
                v.iter_mut().for_each(|x| *x /= n);
                v
            })
            .collect()
    }

    #[test]
    fn the_interval_always_holds_the_exact_dot_product_and_is_narrow() {
        for width in [200, 50, 7] {
            let rows = vectors(300, width);
            let mut column = CoarseColumn::default();
            rows.iter().for_each(|r| column.push(Some(r)));
            let mut widest = 0.0f32;
            for q in rows.iter().step_by(13) {
                let coarse = column.query(q).expect("query");
                for (i, r) in rows.iter().enumerate() {
                    let exact = dot(q, r);
                    let (lo, hi) = column.dot_interval(&coarse, i).expect("row");
                    assert!(lo <= exact && exact <= hi, "width {width}, row {i}: {exact} outside {lo}..{hi}");
                    widest = widest.max(hi - lo);
                }
            }
            // Narrow enough to prune: a fraction of the spread of cosine similarities.
            assert!(widest < 0.05, "width {width}: interval {widest}");
        }
    }

    #[test]
    fn absent_rows_and_other_widths_have_no_interval() {
        let rows = vectors(3, 16);
        let mut column = CoarseColumn::default();
        column.push(None);
        column.push(Some(&rows[0]));
        column.push(Some(&rows[1][..8]));
        column.push(Some(&[0.0; 16]));
        column.push(Some(&[f32::NAN; 16]));
        let q = column.query(&rows[2]).expect("query");
        assert!(column.dot_interval(&q, 0).is_none());
        assert!(column.dot_interval(&q, 1).is_some());
        assert!(column.dot_interval(&q, 2).is_none());
        // A zero row has the exact dot product 0.
        let (lo, hi) = column.dot_interval(&q, 3).expect("zero row");
        assert!(lo <= 0.0 && hi >= 0.0);
        // A row that is not finite has no bound: the exact row decides.
        assert_eq!(column.dot_interval(&q, 4), Some((f32::NEG_INFINITY, f32::INFINITY)));
        let unbounded = column.query(&[f32::INFINITY; 16]).expect("query");
        assert_eq!(column.dot_interval(&unbounded, 1), Some((f32::NEG_INFINITY, f32::INFINITY)));
        assert!(column.query(&rows[2][..8]).is_none());
    }
}
