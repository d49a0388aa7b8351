//! Integrated loudness (EBU R128 / ITU-R BS.1770, in LUFS) with the `ebur128` crate, fed block
//! by block during decoding, and the mean short-window RMS level.

use ebur128::{EbuR128, Mode};

/// Streaming integrated-loudness meter.
pub struct LoudnessMeter {
    meter: Option<EbuR128>,
}

impl std::fmt::Debug for LoudnessMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoudnessMeter").field("active", &self.meter.is_some()).finish()
    }
}

impl LoudnessMeter {
    /// A meter for a stream with this format (inactive when the format is not supported).
    pub fn new(sample_rate: u32, channels: u16) -> Self {
        Self { meter: EbuR128::new(u32::from(channels), sample_rate, Mode::I).ok() }
    }

    /// Feed interleaved samples.
    pub fn push(&mut self, interleaved: &[f32]) {
        if let Some(m) = &mut self.meter
            && m.add_frames_f32(interleaved).is_err()
        {
            self.meter = None;
        }
    }

    /// Integrated loudness in LUFS; `None` for silence (everything below the absolute gate).
    pub fn finish(&self) -> Option<f64> {
        self.meter.as_ref().and_then(|m| m.loudness_global().ok()).filter(|l| l.is_finite())
    }
}

/// Mean RMS over consecutive windows of `window` samples of a mono signal (linear, 0–1).
pub fn rms_mean(mono: &[f32], window: usize) -> f32 {
    let window = window.max(1);
    let mut sum = 0.0f64;
    let mut count = 0usize;
    for chunk in mono.chunks(window) {
        if chunk.len() < window / 2 && count > 0 {
            break;
        }
        let ms = chunk.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / chunk.len() as f64;
        sum += ms.sqrt();
        count += 1;
    }
    if count == 0 { 0.0 } else { (sum / count as f64) as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, seconds: f32, peak: f32, channels: u16) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        let mut out = Vec::with_capacity(n * usize::from(channels));
        for i in 0..n {
            let v = peak * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin();
            for _ in 0..channels {
                out.push(v);
            }
        }
        out
    }

    #[test]
    fn minus_20_dbfs_stereo_sine_is_minus_20_lufs() {
        // BS.1770: a 1 kHz sine at −20 dBFS on both channels of a stereo pair reads −20 LUFS.
        let mut m = LoudnessMeter::new(48_000, 2);
        for block in sine(48_000, 10.0, 0.1, 2).chunks(4096) {
            m.push(block);
        }
        let l = m.finish().expect("loudness");
        assert!((l + 20.0).abs() <= 0.5, "measured {l}");
    }

    #[test]
    fn minus_20_dbfs_mono_sine_is_3_db_lower() {
        // One channel carries half the power of the dual-mono pair: −23.01 LUFS.
        let mut m = LoudnessMeter::new(44_100, 1);
        m.push(&sine(44_100, 10.0, 0.1, 1));
        let l = m.finish().expect("loudness");
        assert!((l + 23.01).abs() <= 0.5, "measured {l}");
    }

    #[test]
    fn silence_has_no_loudness() {
        let mut m = LoudnessMeter::new(44_100, 2);
        m.push(&vec![0.0; 44_100 * 2 * 3]);
        assert!(m.finish().is_none());
    }

    #[test]
    fn rms_of_sine() {
        let x = sine(11_025, 2.0, 0.5, 1);
        let r = rms_mean(&x, 1024);
        assert!((r - 0.5 / 2f32.sqrt()).abs() < 0.01, "{r}");
    }
}
