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
    // DCT-II basis, orthonormal, for c1..c20.
    let basis: Vec<f32> = (1..=MFCCS)
        .flat_map(|k| {
            (0..MELS).map(move |n| {
                ((std::f64::consts::PI / MELS as f64 * (n as f64 + 0.5) * k as f64).cos() * (2.0 / MELS as f64).sqrt())
                    as f32
            })
        })
        .collect();
    let mut sum = [0.0f64; MFCCS];
    let mut outer = vec![0.0f64; MFCCS * MFCCS];
    let mut count = 0usize;
    let mut c = [0.0f32; MFCCS];
    for t in 0..frames {
        let row = &mel[t * MELS..(t + 1) * MELS];
        if row.iter().sum::<f32>() < 1e-8 {
            continue; // digital silence carries no timbre
        }
        let logs: Vec<f32> = row.iter().map(|&v| (v + 1e-10).ln()).collect();
        for (k, ck) in c.iter_mut().enumerate() {
            *ck = basis[k * MELS..(k + 1) * MELS].iter().zip(&logs).map(|(b, l)| b * l).sum();
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
