//! Every fuzz target for a bounded time on stable Rust: the seeds, the regression inputs kept
//! under `fuzz/regressions/<target>/` (crashes found by libFuzzer, fixed since), then random
//! mutations of the seeds (bit flips, special bytes, cuts, duplicated and deleted runs,
//! splices). `SELECTA_FUZZ_SECS` sets the seconds of mutations per target (default 2; CI runs
//! longer), `SELECTA_FUZZ_SEED` their random seed, `SELECTA_FUZZ_TARGETS` (names, comma-separated)
//! the targets to run. A panic names the target, the input's origin and where the input was
//! saved.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use selecta_core::testkit::synth_library::Rng;
use selecta_fuzz::{TARGETS, Target, seeds};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn regressions(target: &Target) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fuzz/regressions").join(target.name);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    files.into_iter().filter_map(|p| std::fs::read(&p).ok().map(|b| (p.display().to_string(), b))).collect()
}

/// One mutation of `input` (with `other` for splices).
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        if out.is_empty() {
            out.push(rng.next_u64() as u8);
            continue;
        }
        let at = rng.below(out.len());
        match rng.below(7) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE][rng.below(6)],
            2 => out.truncate(at),
            3 => {
                let len = rng.below(64).min(out.len() - at);
                let run: Vec<u8> = out[at..at + len].to_vec();
                out.splice(at..at, run);
            }
            4 => {
                let len = rng.below(256).min(out.len() - at);
                out.drain(at..at + len);
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ => {
                let len = rng.below(16).min(out.len() - at);
                for b in &mut out[at..at + len] {
                    *b = rng.next_u64() as u8;
                }
            }
        }
    }
    out
}

/// One input that runs longer than this is reported as a hang (libFuzzer's `-timeout` in
/// `scripts/fuzz.sh` is the same 20 s). Checked after the input returns, so a true endless loop
/// shows as a run that never prints its target's line.
const INPUT_TIME_LIMIT: Duration = Duration::from_secs(20);

fn run_one(target: &Target, origin: &str, input: &[u8]) {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let took = started.elapsed();
    let failure = match outcome {
        Err(_) => "panicked".to_string(),
        Ok(()) if took > INPUT_TIME_LIMIT => format!("ran {:.1} s (a hang)", took.as_secs_f64()),
        Ok(()) => return,
    };
    let dir = repo().join("target/fuzz-failures").join(target.name);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{:016x}", Rng::new(input.len() as u64).next_u64()));
    let _ = std::fs::write(&path, input);
    panic!(
        "{}: {failure} on {origin} ({} bytes, SELECTA_FUZZ_SEED={}), saved to {}",
        target.name,
        input.len(),
        std::env::var("SELECTA_FUZZ_SEED").unwrap_or_default(),
        path.display()
    );
}

#[test]
fn every_target_survives_its_seeds_its_regressions_and_random_mutations() {
    let secs: f64 = std::env::var("SELECTA_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    // A fixed seed by default (the same mutations every run); CI passes a new one each run and
    // the failure names it, so a crash is reproduced with the same value.
    let seed: u64 = std::env::var("SELECTA_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5e1ec7a);
    // A comma-separated list of target names runs only those (a longer hunt on one decoder).
    let only = std::env::var("SELECTA_FUZZ_TARGETS").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|list| list.split(',').any(|n| n.trim() == name));
    let fixtures = repo().join("tests/fixtures/audio");
    for target in TARGETS.iter().filter(|t| wanted(t.name)) {
        let seeds = seeds(target, &fixtures);
        assert!(!seeds.is_empty(), "{}: no seeds", target.name);
        for (i, seed) in seeds.iter().enumerate() {
            run_one(target, &format!("seed {i}"), seed);
        }
        for (origin, input) in regressions(target) {
            run_one(target, &origin, &input);
        }
        let mut rng = Rng::new(seed ^ target.name.len() as u64);
        let started = Instant::now();
        let mut runs = 0u64;
        while started.elapsed() < Duration::from_secs_f64(secs) {
            let seed = &seeds[rng.below(seeds.len())];
            let other = &seeds[rng.below(seeds.len())];
            let input = mutate(&mut rng, seed, other);
            run_one(target, &format!("mutation {runs}"), &input);
            runs += 1;
        }
        eprintln!("{}: {} seeds, {runs} mutations in {secs} s", target.name, seeds.len());
    }
}
