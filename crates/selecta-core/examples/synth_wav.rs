//! Write a synthesised track (see `selecta_core::synth`) as a 16-bit WAV file.
//! Usage: `synth_wav OUT.wav BPM "A minor" SECONDS SAMPLE_RATE CHANNELS`

use selecta_core::features::Key;
use selecta_core::synth::{SynthSpec, render, wav_bytes};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, out, bpm, key, seconds, rate, channels] = args.as_slice() else {
        return Err("usage: synth_wav OUT.wav BPM KEY SECONDS SAMPLE_RATE CHANNELS".into());
    };
    let key = Key::parse(key).ok_or("bad key name")?;
    let mut spec = SynthSpec::new(bpm.parse()?, key);
    spec.seconds = seconds.parse()?;
    spec.sample_rate = rate.parse()?;
    let channels: u16 = channels.parse()?;
    let mono = render(&spec);
    // Stereo: a slightly delayed, quieter right channel so the channels differ.
    let interleaved: Vec<f32> = if channels == 2 {
        mono.iter().enumerate().flat_map(|(i, &l)| [l, 0.8 * mono[i.saturating_sub(11)]]).collect()
    } else {
        mono
    };
    std::fs::write(out, wav_bytes(&interleaved, spec.sample_rate, channels))?;
    Ok(())
}
