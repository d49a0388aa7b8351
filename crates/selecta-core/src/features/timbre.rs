//! Timbre statistics: 20 MFCCs (c1–c20 of 40 Slaney mel bands, natural log, DCT-II) summarised
//! as their mean and covariance, the single-Gaussian timbre model of Mandel & Ellis that Musly
//! uses; and the symmetric Kullback–Leibler divergence between two such models.
//!
//! Stored layout: 20 means, then the 210 upper-triangle covariance entries (row-major).

use crate::embed::FrontEnd;
use crate::embed::manifest::{FrontEndSpec, LogSpec};

/// Number of MFCCs (c0, the level, is left out).
pub const MFCCS: usize = 20;
const MELS: usize = 40;
/// Length of the stored statistics vector.
pub const TIMBRE_LEN: usize = MFCCS + MFCCS * (MFCCS + 1) / 2;

fn mel_spec(sample_rate: u32) -> FrontEndSpec {
    FrontEndSpec {
        sample_rate,
        n_fft: 512,
        win_length: None,
        hop: 256,
        window: "hann_periodic".into(),
        center: false,
        pad_left: 0,
        pad_right: 0,
        power: 2.0,
        n_mels: MELS,
        mel_scale: "slaney".into(),
        mel_norm: Some("slaney".into()),
        fmin: 0.0,
        fmax: sample_rate as f32 / 2.0,
        log: LogSpec::Log10 { scale: 1.0, offset: 0.0 },
        patch_frames: 1,
        patch_hop: 1,
        window_samples: None,
        input_layout: "N,T,M".into(),
    }
}

/// Mean and covariance of the MFCCs of a mono signal; `None` for silence or very short input.
pub fn timbre_stats(signal: &[f32], sample_rate: u32) -> Option<Vec<f32>> {
    let front = FrontEnd::new(&mel_spec(sample_rate)).ok()?;
    let (mel, frames) = front.mel(signal);
    crate::simd::with_x86_v3(
        #[inline(always)]
        || stats_of(&mel, frames),
    )
}

/// [`timbre_stats`] from the mel frames.
#[inline(always)]
fn stats_of(mel: &[f32], frames: usize) -> Option<Vec<f32>> {
    // DCT-II basis, orthonormal, for c1..c20, mel band by mel band: each coefficient is summed
    // over the bands in order as a dot product would, twenty coefficients side by side.
    let mut basis = [[0.0f32; MFCCS]; MELS];
    for (n, row) in basis.iter_mut().enumerate() {
        for (k, b) in row.iter_mut().enumerate() {
            *b = ((std::f64::consts::PI / MELS as f64 * (n as f64 + 0.5) * (k + 1) as f64).cos()
                * (2.0 / MELS as f64).sqrt()) as f32;
        }
    }
    let mut sum = [0.0f64; MFCCS];
    let mut outer = vec![0.0f64; MFCCS * MFCCS];
    let mut count = 0usize;
    let mut logs = [0.0f32; MELS];
    for t in 0..frames {
        let row = &mel[t * MELS..(t + 1) * MELS];
        if row.iter().sum::<f32>() < 1e-8 {
            continue; // digital silence carries no timbre
        }
        for (l, &v) in logs.iter_mut().zip(row) {
            *l = (v + 1e-10).ln();
        }
        // −0.0 is where a float sum starts: x + −0.0 is x for every x.
        let mut c = [-0.0f32; MFCCS];
        for (b, &l) in basis.iter().zip(&logs) {
            for (ck, &bk) in c.iter_mut().zip(b) {
                *ck += bk * l;
            }
        }
        for i in 0..MFCCS {
            sum[i] += f64::from(c[i]);
            for j in i..MFCCS {
                outer[i * MFCCS + j] += f64::from(c[i]) * f64::from(c[j]);
            }
        }
        count += 1;
    }
    if count < 2 * MFCCS {
        return None;
    }
    let n = count as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let mut out: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    for i in 0..MFCCS {
        for j in i..MFCCS {
            out.push((outer[i * MFCCS + j] / n - mean[i] * mean[j]) as f32);
        }
    }
    Some(out)
}

/// A stored timbre model unpacked for repeated comparisons: the mean, the (regularised)
/// covariance and its inverse, computed once instead of at every pair.
#[derive(Debug, Clone, PartialEq)]
pub struct TimbreModel {
    mean: Vec<f64>,
    cov: Vec<f64>,
    inv: Vec<f64>,
}

impl TimbreModel {
    /// Unpack stored statistics (means, then the covariance's upper triangle); `None` for a
    /// wrong length or a covariance that is not invertible.
    pub fn new(stats: &[f32]) -> Option<Self> {
        if stats.len() != TIMBRE_LEN {
            return None;
        }
        let mean: Vec<f64> = stats[..MFCCS].iter().map(|&x| f64::from(x)).collect();
        let mut cov = vec![0.0f64; MFCCS * MFCCS];
        let mut k = MFCCS;
        for i in 0..MFCCS {
            for j in i..MFCCS {
                cov[i * MFCCS + j] = f64::from(stats[k]);
                cov[j * MFCCS + i] = f64::from(stats[k]);
                k += 1;
            }
            cov[i * MFCCS + i] += 1e-6; // regularise
        }
        let inv = invert(&cov)?;
        Some(Self { mean, cov, inv })
    }

    /// Symmetric KL divergence to another model (smaller = more similar); `None` when it is
    /// not finite.
    pub fn distance(&self, other: &Self) -> Option<f32> {
        // 2·KLs = tr(Σa⁻¹Σb) + tr(Σb⁻¹Σa) + (μa−μb)ᵀ(Σa⁻¹+Σb⁻¹)(μa−μb) − 2d
        let n = MFCCS;
        let (ia, ib, ca, cb) = (&self.inv, &other.inv, &self.cov, &other.cov);
        let mut tr = 0.0f64;
        for i in 0..n {
            for j in 0..n {
                tr += ia[i * n + j] * cb[j * n + i] + ib[i * n + j] * ca[j * n + i];
            }
        }
        let d: Vec<f64> = self.mean.iter().zip(&other.mean).map(|(x, y)| x - y).collect();
        let mut quad = 0.0f64;
        for i in 0..n {
            for j in 0..n {
                quad += d[i] * (ia[i * n + j] + ib[i * n + j]) * d[j];
            }
        }
        let kl = 0.5 * (tr + quad) - n as f64;
        kl.is_finite().then_some(kl.max(0.0) as f32)
    }
}

/// Length of a [`pack_timbre`] vector.
pub const PACKED_TIMBRE_LEN: usize = 2 * COV_LEN + 2 * MFCCS + 1;
const COV_LEN: usize = MFCCS * (MFCCS + 1) / 2;

/// A timbre model packed so that the symmetric KL divergence to another packed model is a few
/// dot products ([`packed_divergence`]) instead of two 20×20 matrix products in f64: a search
/// streams these vectors through the cache once per query, so the layout decides its speed.
///
/// With P = Σ⁻¹ and the mean shifted by `center` (the divergence does not change when both
/// means move together; the shift keeps the f32 sums small), `tr + quad` of the divergence
/// expands to `A_a·B_b + B_a·A_b − 2 c_a·μ_b − 2 μ_a·c_b + s_a + s_b`, where A is P's upper
/// triangle with the off-diagonal entries doubled, B the upper triangle of Σ + μμᵀ, c = Pμ and
/// s = μᵀPμ. Layout: A, B, c, μ, s. `None` when the model is invalid (as [`TimbreModel::new`]).
pub fn pack_timbre(stats: &[f32], center: &[f32]) -> Option<Vec<f32>> {
    let model = TimbreModel::new(stats)?;
    let n = MFCCS;
    let mean: Vec<f64> =
        model.mean.iter().zip(center.iter().chain(std::iter::repeat(&0.0))).map(|(m, c)| m - f64::from(*c)).collect();
    let mut out = Vec::with_capacity(PACKED_TIMBRE_LEN);
    for i in 0..n {
        for j in i..n {
            let p = model.inv[i * n + j];
            out.push((if i == j { p } else { 2.0 * p }) as f32);
        }
    }
    for i in 0..n {
        for j in i..n {
            out.push((model.cov[i * n + j] + mean[i] * mean[j]) as f32);
        }
    }
    let c: Vec<f64> = (0..n).map(|i| (0..n).map(|j| model.inv[i * n + j] * mean[j]).sum()).collect();
    out.extend(c.iter().map(|&x| x as f32));
    out.extend(mean.iter().map(|&x| x as f32));
    out.push(c.iter().zip(&mean).map(|(c, m)| c * m).sum::<f64>() as f32);
    out.iter().all(|x| x.is_finite()).then_some(out)
}

/// Symmetric KL divergence between two [`pack_timbre`] vectors packed with the same center
/// (equal to [`TimbreModel::distance`] up to f32 rounding); `None` for a wrong length or a
/// result that is not finite.
pub fn packed_divergence(a: &[f32], b: &[f32]) -> Option<f32> {
    if a.len() != PACKED_TIMBRE_LEN || b.len() != PACKED_TIMBRE_LEN {
        return None;
    }
    let (t, n) = (COV_LEN, MFCCS);
    let (c, m, s) = (2 * t, 2 * t + n, 2 * t + 2 * n);
    let cross = dot(&a[..t], &b[t..c]) + dot(&a[t..c], &b[..t]);
    let linear = dot(&a[c..m], &b[m..s]) + dot(&a[m..s], &b[c..m]);
    let kl = 0.5 * (cross - 2.0 * linear + a[s] + b[s]) - n as f32;
    kl.is_finite().then_some(kl.max(0.0))
}

/// Dot product with independent partial sums, so that the compiler vectorises it (a single
/// running f32 sum cannot be reordered). The summation order is fixed, so native and wasm
/// builds give the same bits.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum = 0.0f32;
    for half in [8, 4, 2, 1] {
        for i in 0..half {
            acc[i] += acc[i + half];
        }
    }
    sum += acc[0];
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

/// Symmetric KL divergence between two timbre models (smaller = more similar). `None` when a
/// covariance is not positive definite.
pub fn timbre_distance(a: &[f32], b: &[f32]) -> Option<f32> {
    TimbreModel::new(a)?.distance(&TimbreModel::new(b)?)
}

/// Gauss–Jordan inverse of a small symmetric matrix; `None` when singular.
fn invert(m: &[f64]) -> Option<Vec<f64>> {
    let n = (m.len() as f64).sqrt() as usize;
    let mut a = m.to_vec();
    let mut inv = vec![0.0f64; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| a[x * n + col].abs().total_cmp(&a[y * n + col].abs()))?;
        if a[pivot * n + col].abs() < 1e-12 {
            return None;
        }
        for k in 0..n {
            a.swap(col * n + k, pivot * n + k);
            inv.swap(col * n + k, pivot * n + k);
        }
        let p = a[col * n + col];
        for k in 0..n {
            a[col * n + k] /= p;
            inv[col * n + k] /= p;
        }
        for r in 0..n {
            if r != col {
                let f = a[r * n + col];
                if f != 0.0 {
                    for k in 0..n {
                        a[r * n + k] -= f * a[col * n + k];
                        inv[r * n + k] -= f * inv[col * n + k];
                    }
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ|terms| of [`packed_divergence`]: what its f32 rounding scales with.
    fn rounding_scale(a: &[f32], b: &[f32]) -> f32 {
        let (t, n) = (COV_LEN, MFCCS);
        let (c, m, s) = (2 * t, 2 * t + n, 2 * t + 2 * n);
        let abs_dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(x, y)| (x * y).abs()).sum::<f32>();
        abs_dot(&a[..t], &b[t..c])
            + abs_dot(&a[t..c], &b[..t])
            + 2.0 * (abs_dot(&a[c..m], &b[m..s]) + abs_dot(&a[m..s], &b[c..m]))
            + a[s].abs()
            + b[s].abs()
    }

    #[test]
    fn packed_divergence_equals_the_matrix_form() {
        let models: Vec<Vec<f32>> = [(220.0, 0.05), (440.0, 0.2), (1500.0, 0.6), (300.0, 0.0)]
            .iter()
            .filter_map(|&(f, noise)| timbre_stats(&tone(f, noise), 11_025))
            .collect();
        assert!(models.len() >= 3, "too few models");
        let center: Vec<f32> = models[1][..MFCCS].to_vec();
        for a in &models {
            for b in &models {
                let want = timbre_distance(a, b).expect("matrix form");
                let packed = (pack_timbre(a, &center).expect("a"), pack_timbre(b, &center).expect("b"));
                let got = packed_divergence(&packed.0, &packed.1).expect("packed form");
                // Equal up to f32 rounding, which scales with the terms the packed form sums
                // (up to 1e5 for a near-pure tone, whose inverse covariance is large), not with
                // the result: a model's distance to itself cancels to 0 only within that.
                let terms = rounding_scale(&packed.0, &packed.1);
                assert!((got - want).abs() <= 1e-3 * want.max(1.0) + 1e-6 * terms, "{got} vs {want} (terms {terms})");
            }
        }
    }

    #[test]
    fn dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..45).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..45).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    fn tone(freq: f32, noise: f32) -> Vec<f32> {
        let mut x: u32 = 9;
        (0..11_025 * 4)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let n = (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                0.3 * (2.0 * std::f32::consts::PI * freq * i as f32 / 11_025.0).sin() + noise * n
            })
            .collect()
    }

    #[test]
    fn same_timbre_is_closer_than_different_timbre() {
        let a = timbre_stats(&tone(220.0, 0.05), 11_025).expect("a");
        let a2 = timbre_stats(&tone(230.0, 0.05), 11_025).expect("a2");
        let b = timbre_stats(&tone(220.0, 0.8), 11_025).expect("b");
        assert_eq!(a.len(), TIMBRE_LEN);
        let near = timbre_distance(&a, &a2).expect("d");
        let far = timbre_distance(&a, &b).expect("d");
        assert!(near < far, "{near} vs {far}");
        assert!(timbre_distance(&a, &a).expect("self") < 1e-3);
    }

    #[test]
    fn silence_has_no_timbre() {
        assert!(timbre_stats(&vec![0.0; 44_100], 11_025).is_none());
    }
}
