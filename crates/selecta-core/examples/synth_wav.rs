//! Writes a synthesised track (drums, bass and a cadence with a known tempo and key) as a 16-bit
//! WAV file; `scripts/make_fixtures.sh` encodes it into the committed audio fixtures.
//!
//! `cargo run -p selecta-core --example synth_wav -- OUT.wav BPM "A minor" SECONDS RATE CHANNELS`

use selecta_core::features::Key;
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, bpm, key, seconds, rate, channels] = args.as_slice() else {
        return Err("usage: synth_wav OUT.wav BPM KEY SECONDS SAMPLE_RATE CHANNELS".into());
    };
    let key = Key::parse(key).ok_or_else(|| format!("not a key: {key:?} (e.g. \"A minor\")"))?;
    let mut spec = SynthSpec::new(bpm.parse()?, key);
    spec.seconds = seconds.parse()?;
    spec.sample_rate = rate.parse()?;
    let channels: u16 = channels.parse()?;
    let mono = render(&spec);
    let interleaved: Vec<f32> = mono.iter().flat_map(|&s| std::iter::repeat_n(s, usize::from(channels))).collect();
    std::fs::write(out, wav_bytes(&interleaved, spec.sample_rate, channels))?;
    Ok(())
}
