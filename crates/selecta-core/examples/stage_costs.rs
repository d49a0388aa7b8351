//! What each stage of the DSP analysis costs, as a share of the decoding time, on the files
//! given: `cargo run --release -p selecta-core --example stage_costs -- FILES`. Each stage runs
//! alone on the decoded signal, so the shares say where `selecta bench`'s analysis/decode ratio
//! goes. The loudness meter reads the mono downmix on both channels of a stereo stream (the same
//! work as the file's own channels); the songId's hash is left out, as decoding includes it.

use std::time::Instant;

use selecta_core::features::{self, AnalysisSignalBuilder, FingerprintBuilder, LoudnessMeter};
use selecta_core::{AnalyzeOptions, decode_mono, decode_only};

fn main() {
    let options = AnalyzeOptions::default();
    let stages = [
        "resample + print",
        "print alone",
        "onsets",
        "tempo",
        "hpcp",
        "dj",
        "timbre",
        "rms",
        "loudness",
        "file SHA-256",
    ];
    let mut totals = vec![0.0f64; stages.len()];
    let mut decode_total = 0.0;
    for path in std::env::args().skip(1) {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let t = Instant::now();
        if decode_only(bytes.clone(), Some(&path), &options.limits).is_err() {
            continue;
        }
        decode_total += t.elapsed().as_secs_f64();
        let t = Instant::now();
        std::hint::black_box(selecta_core::hash::sha256_hex(&bytes));
        totals[9] += t.elapsed().as_secs_f64();
        let Ok((_, mono, rate)) = decode_mono(bytes, Some(&path), &options) else { continue };
        let mut time = |stage: usize, f: &mut dyn FnMut()| {
            let t = Instant::now();
            f();
            totals[stage] += t.elapsed().as_secs_f64();
        };
        let mut analysis = Vec::new();
        time(0, &mut || {
            let mut builder = AnalysisSignalBuilder::new(rate, mono.len(), Some(mono.len()));
            for block in mono.chunks(4096) {
                builder.push(block);
            }
            analysis = builder.finish().map(|a| a.signal).unwrap_or_default();
        });
        time(1, &mut || {
            let mut print = FingerprintBuilder::new();
            print.push(&analysis);
            std::hint::black_box(print.finish());
        });
        let mut onsets = None;
        time(2, &mut || onsets = Some(features::tempo::onsets(&analysis)));
        let Some(onsets) = onsets else { continue };
        let mut tempo = None;
        time(3, &mut || tempo = features::tempo::estimate_tempo(&onsets, options.tempo_range));
        time(4, &mut || {
            std::hint::black_box(features::key::hpcp(&analysis));
        });
        time(5, &mut || {
            let bpm = tempo.as_ref().map(|t| t.bpm);
            std::hint::black_box(features::dj::dj_features(&analysis, &onsets.full, onsets.fps, bpm, Some(-10.0)));
        });
        time(6, &mut || {
            std::hint::black_box(features::timbre::timbre_stats(&analysis, features::tempo::ONSET_SAMPLE_RATE));
        });
        time(7, &mut || {
            std::hint::black_box(features::rms_mean(&mono, (rate / 20) as usize));
        });
        let stereo: Vec<f32> = mono.iter().flat_map(|&x| [x, x]).collect();
        time(8, &mut || {
            let mut meter = LoudnessMeter::new(rate, 2);
            for block in stereo.chunks(8192) {
                meter.push(block);
            }
            std::hint::black_box(meter.finish());
        });
    }
    println!("decode {decode_total:.3} s");
    for (stage, total) in stages.iter().zip(&totals) {
        println!("{stage:18} {:.3} × decode", total / decode_total.max(1e-9));
    }
}
