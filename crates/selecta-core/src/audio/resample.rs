//! Sample-rate conversion of mono analysis signals with rubato's FFT resampler (fixed ratio,
//! high quality, fast). [`MonoResampler`] takes the signal in blocks as it is decoded;
//! [`resample_mono`] is the same computation over a whole buffer, so both give the very same
//! samples.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use crate::error::AnalysisError;

/// Input frames the FFT resampler takes per call.
const CHUNK_FRAMES: usize = 1024;
/// Calls in a row without output after which the flush gives up: the FFT resampler gathers at
/// most a few chunks before it produces.
const MAX_IDLE_CALLS: usize = 64;

/// Resample a mono signal from `from_hz` to `to_hz`. The output is aligned with the input
/// (the resampler delay is trimmed) and has `len × to / from` samples, rounded up.
pub fn resample_mono(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, AnalysisError> {
    let mut output =
        Vec::with_capacity((input.len() as f64 * f64::from(to_hz) / f64::from(from_hz.max(1))) as usize + 1);
    let mut resampler = MonoResampler::new(from_hz, to_hz)?;
    resampler.push(input, |block| output.extend_from_slice(block))?;
    resampler.finish(|block| output.extend_from_slice(block))?;
    Ok(output)
}

/// A mono signal resampled block by block as it arrives: every output block goes to a callback,
/// aligned with the input (the resampler's delay dropped), and the whole output is
/// `len × to / from` samples, rounded up, equal to what [`resample_mono`] gives for the whole
/// signal.
pub struct MonoResampler {
    /// `None` when the rates are equal: the signal passes through.
    inner: Option<Fft<f32>>,
    ratio: f64,
    /// Input short of a whole chunk, kept for the next block.
    pending: Vec<f32>,
    output: Vec<f32>,
    /// Output frames of the resampler's delay still to drop.
    to_trim: usize,
    frames_in: u64,
    frames_out: u64,
}

impl std::fmt::Debug for MonoResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonoResampler").field("ratio", &self.ratio).field("frames_in", &self.frames_in).finish()
    }
}

impl MonoResampler {
    /// A resampler from `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, AnalysisError> {
        let inner = if from_hz == to_hz {
            None
        } else {
            Some(
                Fft::<f32>::new(from_hz as usize, to_hz as usize, CHUNK_FRAMES, 1, FixedSync::Input)
                    .map_err(|e| AnalysisError::Feature(format!("resampler: {e}")))?,
            )
        };
        let to_trim = inner.as_ref().map_or(0, |r| r.output_delay());
        let output = vec![0.0; inner.as_ref().map_or(0, |r| r.output_frames_max())];
        Ok(Self {
            inner,
            ratio: f64::from(to_hz) / f64::from(from_hz.max(1)),
            pending: Vec::with_capacity(CHUNK_FRAMES),
            output,
            to_trim,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Feed the next samples; whatever output they complete goes to `emit`.
    pub fn push(&mut self, mut input: &[f32], mut emit: impl FnMut(&[f32])) -> Result<(), AnalysisError> {
        self.frames_in += input.len() as u64;
        if self.inner.is_none() {
            self.frames_out += input.len() as u64;
            emit(input);
            return Ok(());
        }
        if !self.pending.is_empty() {
            let take = (CHUNK_FRAMES - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < CHUNK_FRAMES {
                return Ok(());
            }
            let chunk = std::mem::take(&mut self.pending);
            let produced = self.process(&chunk, None);
            self.pending = chunk;
            self.pending.clear();
            emit(&self.output[produced?]);
        }
        while input.len() >= CHUNK_FRAMES {
            let produced = self.process(&input[..CHUNK_FRAMES], None)?;
            emit(&self.output[produced]);
            input = &input[CHUNK_FRAMES..];
        }
        self.pending.extend_from_slice(input);
        Ok(())
    }

    /// The input ended: flush what the resampler holds (zeros after the end, as for a whole
    /// buffer) until the whole output's length has come out.
    pub fn finish(mut self, mut emit: impl FnMut(&[f32])) -> Result<(), AnalysisError> {
        if self.inner.is_none() {
            return Ok(());
        }
        let expected = (self.ratio * self.frames_in as f64).ceil() as u64;
        let mut pending = Some(std::mem::take(&mut self.pending)).filter(|p| !p.is_empty());
        // Whole chunks never give more than `expected`; the last, partial one and the zeros
        // pumped after it (until the delay's worth has come out) can.
        let mut idle_calls = 0;
        while self.frames_out < expected {
            let before = self.frames_out;
            let produced = match pending.take() {
                Some(last) => self.process(&last, Some(last.len()))?,
                None => self.process(&[], Some(0))?,
            };
            // A call can produce nothing while the resampler gathers a whole FFT block; many in
            // a row would mean it never will.
            idle_calls = if produced.end == 0 { idle_calls + 1 } else { 0 };
            if idle_calls > MAX_IDLE_CALLS {
                return Err(AnalysisError::Feature("the resampler stopped producing output".into()));
            }
            let room = usize::try_from(expected - before).unwrap_or(usize::MAX);
            let block = &self.output[produced];
            emit(&block[..block.len().min(room)]);
        }
        Ok(())
    }

    /// One call of the resampler: the range of `self.output` it produced, the delay dropped.
    fn process(&mut self, input: &[f32], partial: Option<usize>) -> Result<std::ops::Range<usize>, AnalysisError> {
        let Some(resampler) = self.inner.as_mut() else { return Ok(0..0) };
        let input_adapter = InterleavedSlice::new(input, 1, input.len())
            .map_err(|e| AnalysisError::Feature(format!("resampler input: {e}")))?;
        let capacity = self.output.len();
        let mut output_adapter = InterleavedSlice::new_mut(&mut self.output, 1, capacity)
            .map_err(|e| AnalysisError::Feature(format!("resampler output: {e}")))?;
        let indexing = partial.map(|len| Indexing { partial_len: Some(len), ..Indexing::default() });
        let (_, produced) = resampler
            .process_into_buffer(&input_adapter, &mut output_adapter, indexing.as_ref())
            .map_err(|e| AnalysisError::Feature(format!("resampling: {e}")))?;
        let trim = self.to_trim.min(produced);
        self.to_trim -= trim;
        self.frames_out += (produced - trim) as u64;
        Ok(trim..produced)
    }
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

    /// rubato's own whole-buffer call: what the block-by-block resampler must equal.
    fn whole_buffer(input: &[f32], from: u32, to: u32) -> Vec<f32> {
        let mut resampler =
            Fft::<f32>::new(from as usize, to as usize, CHUNK_FRAMES, 1, FixedSync::Input).expect("resampler");
        let needed = resampler.process_all_needed_output_len(input.len());
        let mut output = vec![0.0f32; needed];
        let input_adapter = InterleavedSlice::new(input, 1, input.len()).expect("input");
        let mut output_adapter = InterleavedSlice::new_mut(&mut output, 1, needed).expect("output");
        let (_, produced) =
            resampler.process_all_into_buffer(&input_adapter, &mut output_adapter, input.len(), None).expect("run");
        output.truncate(produced);
        output
    }

    #[test]
    fn blocks_of_any_size_give_what_the_whole_buffer_gives() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for (from, to) in [(44_100, 11_025), (48_000, 11_025), (8_000, 11_025), (96_000, 11_025), (22_050, 11_025)] {
            for len in [1usize, 1023, 1024, 1025, 4096, 70_001] {
                let input: Vec<f32> = (0..len).map(|_| (next() as f32 / u32::MAX as f32) - 0.5).collect();
                let expected = whole_buffer(&input, from, to);
                assert_eq!(resample_mono(&input, from, to).expect("whole"), expected, "{from}→{to}, {len}");
                let mut resampler = MonoResampler::new(from, to).expect("resampler");
                let mut streamed = Vec::new();
                let mut rest = input.as_slice();
                while !rest.is_empty() {
                    let take = (next() as usize % 3000).min(rest.len());
                    resampler.push(&rest[..take], |b| streamed.extend_from_slice(b)).expect("push");
                    rest = &rest[take..];
                }
                resampler.finish(|b| streamed.extend_from_slice(b)).expect("finish");
                assert_eq!(streamed, expected, "{from}→{to}, {len} in blocks");
            }
        }
    }

    #[test]
    fn equal_rates_pass_the_signal_through() {
        let input = [0.5f32, -0.25, 0.125];
        assert_eq!(resample_mono(&input, 11_025, 11_025).expect("same"), input);
        assert!(resample_mono(&[], 44_100, 11_025).expect("empty").is_empty());
    }
}
