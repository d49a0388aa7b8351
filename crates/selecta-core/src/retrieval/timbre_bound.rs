//! A lower bound of the symmetric KL divergence between two timbre models from a few numbers
//! per model, so that exact search skips the full divergence (two 210-entry dot products and
//! more) for tracks whose best case cannot enter the top k.
//!
//! For Gaussians a, b in d dimensions,
//! `KL(a‖b) + KL(b‖a) = ½(tr(Σb⁻¹Σa) + tr(Σa⁻¹Σb) − 2d) + ½ Δμᵀ(Σa⁻¹ + Σb⁻¹)Δμ`.
//! - With λᵢ the eigenvalues of Σb⁻¹Σa, the trace part is `Σ(λᵢ + 1/λᵢ − 2) ≥ Σ(ln λᵢ)²`
//!   (as `2(cosh x − 1) ≥ x²`) `≥ (ln det Σa − ln det Σb)² / d`.
//! - `Δμᵀ Σ⁻¹ Δμ ≥ ‖D⁻¹Δμ‖² / λmax(D⁻¹ΣD⁻¹)` for any positive diagonal D. D is the library's
//!   typical standard deviation per coefficient, so the scaled covariances are near the identity
//!   and the bound stays close; λmax is bounded from above by the scaled matrix's Gershgorin
//!   discs.
//!
//! The bound is loosened by a margin that covers the f32 rounding of the packed divergence it
//! stands in for, so it never exceeds what [`packed_divergence`](crate::features::timbre::packed_divergence)
//! computes.

use crate::features::timbre::{MFCCS, PACKED_TIMBRE_LEN};

const COV_LEN: usize = MFCCS * (MFCCS + 1) / 2;
/// Where the packed layout keeps `Σ + μμᵀ` (upper triangle) and `μ`.
const SECOND_MOMENTS: usize = COV_LEN;
const MEANS: usize = 2 * COV_LEN + MFCCS;

/// Relative and absolute loosening of the bound (see the module header).
const RELATIVE_MARGIN: f32 = 1e-3;
const ABSOLUTE_MARGIN: f32 = 1e-2;

/// The largest packed entry a summarised model may have (see [`TimbreBounds::summary`]).
const ENTRY_LIMIT: f32 = 1e15;

/// What the bound needs of one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TimbreSummary {
    /// `D⁻¹μ`.
    scaled_mean: [f32; MFCCS],
    /// `ln det Σ`.
    log_det: f64,
    /// `1 / λ` for an upper bound λ of `λmax(D⁻¹ΣD⁻¹)`.
    inverse_spread: f64,
}

/// The library's per-coefficient scale D and the summaries of packed models.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimbreBounds {
    /// `1 / Dᵢ`; empty until fitted.
    inverse_scale: Vec<f64>,
}

/// [`TimbreBounds::fit`] fed one packed model at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimbreBoundsFit {
    sum: Vec<f64>,
    count: usize,
}

impl TimbreBoundsFit {
    /// The next model.
    pub(crate) fn add(&mut self, packed: &[f32]) {
        if let Some((cov, _)) = moments(packed)
            && (0..MFCCS).all(|i| cov[i * MFCCS + i] > 0.0 && cov[i * MFCCS + i].is_finite())
        {
            self.sum.resize(MFCCS, 0.0);
            self.sum.iter_mut().enumerate().for_each(|(i, s)| *s += cov[i * MFCCS + i]);
            self.count += 1;
        }
    }

    /// D from the models added.
    pub(crate) fn finish(self) -> TimbreBounds {
        if self.count == 0 {
            return TimbreBounds::default();
        }
        TimbreBounds { inverse_scale: self.sum.iter().map(|s| (self.count as f64 / s).sqrt()).collect() }
    }
}

/// Σ (full, row-major) and μ of a packed model, in f64.
fn moments(packed: &[f32]) -> Option<(Vec<f64>, Vec<f64>)> {
    if packed.len() != PACKED_TIMBRE_LEN {
        return None;
    }
    let mean: Vec<f64> = packed[MEANS..MEANS + MFCCS].iter().map(|&x| f64::from(x)).collect();
    let mut cov = vec![0.0f64; MFCCS * MFCCS];
    let mut k = SECOND_MOMENTS;
    for i in 0..MFCCS {
        for j in i..MFCCS {
            let c = f64::from(packed[k]) - mean[i] * mean[j];
            cov[i * MFCCS + j] = c;
            cov[j * MFCCS + i] = c;
            k += 1;
        }
    }
    Some((cov, mean))
}

/// `ln det` of a symmetric positive definite matrix by Cholesky; `None` when it is not.
fn log_det(m: &[f64], n: usize) -> Option<f64> {
    let mut l = vec![0.0f64; n * n];
    let mut sum_log = 0.0;
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = m[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 || s.is_infinite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
                sum_log += s.ln();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(sum_log)
}

impl TimbreBounds {
    /// Fit D to a library's packed models: the root of the mean variance per coefficient.
    pub(crate) fn fit<'a>(packed: impl Iterator<Item = &'a [f32]>) -> Self {
        let mut fit = TimbreBoundsFit::default();
        packed.for_each(|p| fit.add(p));
        fit.finish()
    }

    /// The summary of a packed model (`None` when the bound cannot use it: not fitted, a wrong
    /// length, a covariance that is not positive definite, or entries so large that a
    /// divergence could overflow). The divergence of two models that both have a summary is
    /// always finite: no product of two entries, nor a sum of a few hundred, reaches f32's limit.
    pub(crate) fn summary(&self, packed: &[f32]) -> Option<TimbreSummary> {
        if self.inverse_scale.len() != MFCCS || !packed.iter().all(|x| x.abs() < ENTRY_LIMIT) {
            return None;
        }
        let (cov, mean) = moments(packed)?;
        let log_det = log_det(&cov, MFCCS)?;
        let w = &self.inverse_scale;
        // Gershgorin: every eigenvalue of D⁻¹ΣD⁻¹ lies within a row's absolute sum.
        let spread = (0..MFCCS)
            .map(|i| (0..MFCCS).map(|j| (cov[i * MFCCS + j] * w[i] * w[j]).abs()).sum::<f64>())
            .fold(0.0f64, f64::max);
        if spread.is_nan() || spread <= 0.0 || spread.is_infinite() {
            return None;
        }
        let mut scaled_mean = [0.0f32; MFCCS];
        for (s, (m, w)) in scaled_mean.iter_mut().zip(mean.iter().zip(w)) {
            *s = (m * w) as f32;
        }
        Some(TimbreSummary { scaled_mean, log_det, inverse_spread: 1.0 / spread })
    }
}

/// A lower bound of the symmetric KL divergence of two models (never above the packed
/// divergence of the same models).
#[inline]
pub(crate) fn divergence_lower_bound(a: &TimbreSummary, b: &TimbreSummary) -> f32 {
    let mean_gap: f32 = a.scaled_mean.iter().zip(&b.scaled_mean).map(|(x, y)| (x - y) * (x - y)).sum();
    let det_gap = a.log_det - b.log_det;
    let bound = 0.5 * det_gap * det_gap / MFCCS as f64
        + 0.5 * f64::from(mean_gap) * (a.inverse_spread + b.inverse_spread) * (1.0 - 1e-6);
    ((bound as f32) * (1.0 - RELATIVE_MARGIN) - ABSOLUTE_MARGIN).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::timbre::{TIMBRE_LEN, pack_timbre, packed_divergence};

    /// Timbre statistics like real MFCC models: falling variances, correlated neighbours,
    /// spread means.
    fn models(n: usize) -> Vec<Vec<f32>> {
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32
        };
        (0..n)
            .map(|t| {
                let mut stats: Vec<f32> = (0..MFCCS).map(|i| (next() - 0.5) * 12.0 / (1 + i) as f32).collect();
                let level = 0.3 + 3.0 * next();
                let variance: Vec<f32> =
                    (0..MFCCS).map(|i| level * (0.2 + next()) * 30.0 / (1 + i + t % 3) as f32).collect();
                for i in 0..MFCCS {
                    for j in i..MFCCS {
                        let c = if i == j {
                            variance[i]
                        } else if j == i + 1 {
                            0.4 * (variance[i] * variance[j]).sqrt() * (next() - 0.3)
                        } else {
                            0.0
                        };
                        stats.push(c);
                    }
                }
                assert_eq!(stats.len(), TIMBRE_LEN);
                stats
            })
            .collect()
    }

    #[test]
    fn the_bound_never_exceeds_the_packed_divergence_and_is_not_trivial() {
        let raw = models(60);
        let center: Vec<f32> = raw[0][..MFCCS].to_vec();
        let packed: Vec<Vec<f32>> = raw.iter().filter_map(|m| pack_timbre(m, &center)).collect();
        assert_eq!(packed.len(), raw.len(), "every model packs");
        let bounds = TimbreBounds::fit(packed.iter().map(Vec::as_slice));
        let summaries: Vec<TimbreSummary> = packed.iter().map(|p| bounds.summary(p).expect("summary")).collect();
        let (mut share, mut pairs) = (0.0f64, 0usize);
        for (a, pa) in summaries.iter().zip(&packed) {
            for (b, pb) in summaries.iter().zip(&packed) {
                let exact = packed_divergence(pa, pb).expect("divergence");
                let lowest = divergence_lower_bound(a, b);
                assert!(lowest <= exact, "bound {lowest} above the divergence {exact}");
                if exact > 1.0 {
                    share += f64::from(lowest / exact);
                    pairs += 1;
                }
            }
        }
        // It must carry information to be worth its cost.
        let mean_share = share / pairs as f64;
        assert!(mean_share > 0.1, "the bound is {mean_share:.3} of the divergence on average");
    }

    #[test]
    fn models_the_bound_cannot_use_have_no_summary() {
        let raw = models(3);
        let center: Vec<f32> = raw[0][..MFCCS].to_vec();
        let packed = pack_timbre(&raw[1], &center).expect("pack");
        assert!(TimbreBounds::default().summary(&packed).is_none(), "not fitted");
        let bounds = TimbreBounds::fit(std::iter::once(packed.as_slice()));
        assert!(bounds.summary(&packed[..10]).is_none());
        let mut broken = packed.clone();
        broken[SECOND_MOMENTS] = -1e6; // a negative variance
        assert!(bounds.summary(&broken).is_none());
        let mut huge = packed.clone();
        huge[0] = 1e20;
        assert!(bounds.summary(&huge).is_none(), "a divergence with it could overflow");
    }
}
