//! `selecta show FILE`: the stored features of one file, as JSON or a short human summary.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use selecta_core::Store;

use crate::files::{open_library, relative_to};

pub fn run(file: &Path, library: Option<&Path>, model_dir: Option<&Path>, json: bool) -> Result<()> {
    let abs = std::fs::canonicalize(file).with_context(|| format!("{}: cannot open", file.display()))?;
    let (root, mut engine) = open_library(library, Some(&abs))?;
    if let Ok(manifest) = crate::model::manifest_bytes(model_dir) {
        engine.use_manifest_tags(&manifest)?;
    }
    let song_id = engine
        .song_for_path(&relative_to(&root, &abs)?)?
        .ok_or_else(|| anyhow!("{}: not analysed yet; run `selecta analyze {}`", file.display(), root.display()))?;
    let features = engine
        .song_features(&song_id)?
        .ok_or_else(|| anyhow!("{}: the library has no features for song {song_id}", file.display()))?;
    let value = engine
        .song_json(&song_id, Some(&abs.display().to_string()))?
        .ok_or_else(|| anyhow!("{}: the library has no features for song {song_id}", file.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let opt = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    let tags = &features.metadata;
    println!("{}", abs.display());
    println!("  title/artist  {} / {}", opt(tags.title.clone()), opt(tags.artist.clone()));
    println!(
        "  duration      {:.2} s, {} Hz, {} ch, {:.0} kbps",
        features.duration_sec, features.sample_rate, features.channels, features.bitrate_kbps
    );
    println!(
        "  tempo         {} BPM (confidence {})",
        opt(features.bpm.map(|b| format!("{b:.2}"))),
        opt(features.bpm_confidence.map(|c| format!("{c:.2}")))
    );
    if !features.bpm_alternatives.is_empty() {
        let alternatives: Vec<String> =
            features.bpm_alternatives.iter().map(|a| format!("{:.2} BPM ({:.2})", a.bpm, a.confidence)).collect();
        println!("  or            {}", alternatives.join(", "));
    }
    if let Some(user) = engine.store().user_metadata(&song_id)? {
        let genre = [user.genre.clone(), user.subgenre.clone()].into_iter().flatten().collect::<Vec<_>>().join(" / ");
        println!(
            "  {:<13} {} {}",
            user.source,
            genre,
            if user.tags.is_empty() { String::new() } else { format!("[{}]", user.tags.join(", ")) }
        );
    }
    if let Some(d) = &features.damage {
        println!("  damaged       {}", d.warning());
    }
    println!(
        "  key           {} ({} / {}, strength {})",
        opt(features.key.map(|k| k.name())),
        opt(features.key.map(|k| k.camelot())),
        opt(features.key.map(|k| k.open_key())),
        opt(features.key_strength.map(|s| format!("{s:.2}")))
    );
    println!(
        "  loudness      {} LUFS, RMS {:.4}",
        opt(features.loudness_lufs.map(|l| format!("{l:.2}"))),
        features.rms_mean
    );
    if let Some(dj) = &features.dj {
        println!(
            "  DJ            energy {:.1}, {:.1} onsets/s, centroid {:.0} Hz, vocal {:.2}, percussive {:.2}",
            dj.energy, dj.onset_density, dj.brightness_hz, dj.vocal_presence, dj.percussive_ratio
        );
        println!(
            "  low end       sub {:.2}, bass {:.2}, low-mid {:.2}; first downbeat {}",
            dj.low_end.sub,
            dj.low_end.bass,
            dj.low_end.low_mid,
            opt(dj.first_downbeat_sec.map(|s| format!("{s:.2} s")))
        );
        for (name, section) in [("intro", dj.intro), ("outro", dj.outro)] {
            if let Some(s) = section {
                println!(
                    "  {name:<13} {:.1}–{:.1} s ({} bars{}), mixability {:.2}",
                    s.start_sec,
                    s.end_sec,
                    s.bars,
                    if s.boundary { "" } else { ", no clear boundary" },
                    s.mixability
                );
            }
        }
    }
    if let Some(e) = &features.embedding {
        let tags: Vec<String> = value["topTags"]
            .as_array()
            .map(|a| a.iter().take(5).filter_map(|t| t["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        println!(
            "  embedding     {} ({}-d, profile {}), tags: {}",
            e.model_version,
            e.vector.len(),
            e.profile.name(),
            tags.join(", ")
        );
    }
    println!("  songId        {}", features.song_id);
    println!("  fileHash      {}", features.file_hash);
    Ok(())
}
