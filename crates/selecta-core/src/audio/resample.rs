//! Sample-rate conversion of mono analysis signals with rubato's FFT resampler (fixed ratio,
//! high quality, fast for whole-buffer work).

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::error::AnalysisError;

/// Resample a mono signal from `from_hz` to `to_hz`. The output is aligned with the input
/// (the resampler delay is trimmed) and has `len × to / from` samples, rounded up.
pub fn resample_mono(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, AnalysisError> {
    if from_hz == to_hz || input.is_empty() {
        return Ok(input.to_vec());
    }
    let mut resampler = Fft::<f32>::new(from_hz as usize, to_hz as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| AnalysisError::Feature(format!("resampler: {e}")))?;
    let needed = resampler.process_all_needed_output_len(input.len());
    let mut output = vec![0.0f32; needed];
    let input_adapter = InterleavedSlice::new(input, 1, input.len())
        .map_err(|e| AnalysisError::Feature(format!("resampler input: {e}")))?;
    let mut output_adapter = InterleavedSlice::new_mut(&mut output, 1, needed)
        .map_err(|e| AnalysisError::Feature(format!("resampler output: {e}")))?;
    let (_, produced) = resampler
        .process_all_into_buffer(&input_adapter, &mut output_adapter, input.len(), None)
        .map_err(|e| AnalysisError::Feature(format!("resampling: {e}")))?;
    output.truncate(produced);
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_keeps_frequency_and_length() {
        let from = 44_100u32;
        let to = 11_025u32;
        let f = 440.0f32;
        let x: Vec<f32> = (0..from).map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / from as f32).sin()).collect();
        let y = resample_mono(&x, from, to).expect("resample");
        assert!((y.len() as i64 - to as i64).abs() <= 2, "len {}", y.len());
        // Phase-aligned: compare with the ideal sine away from the edges.
        let mut err = 0.0f32;
        for (i, v) in y.iter().enumerate().skip(1000).take(5000) {
            let ideal = (2.0 * std::f32::consts::PI * f * i as f32 / to as f32).sin();
            err = err.max((v - ideal).abs());
        }
        assert!(err < 0.02, "max error {err}");
    }
}
