//! `selecta next`, `selecta session` and `selecta plan`: what to play next, the DJ sessions kept
//! in the library, and planned sets (printed, as JSON, or as an M3U8 playlist). The ranking,
//! the session rules and the planning are the engine's.

use std::path::Path;

use anyhow::{Result, anyhow};
use selecta_core::dj::plan::{EnergyArc, PlanOptions};
use selecta_core::dj::{Goal, NextOptions};

use crate::files::{now_ms, open_library, song_of};

/// Settings of one `next` call.
#[derive(Debug)]
pub struct NextArgs<'a> {
    pub file: Option<&'a Path>,
    pub id: Option<&'a str>,
    pub goal: Goal,
    pub k: usize,
    pub session: Option<&'a str>,
    pub explain: bool,
    pub library: Option<&'a Path>,
    pub json: bool,
    pub m3u: Option<&'a Path>,
}

/// The song of FILE or --id, when either is given.
fn song_arg(
    root: &Path,
    engine: &selecta_core::Engine<selecta_sqlite::SqliteStore>,
    file: Option<&Path>,
    id: Option<&str>,
) -> Result<Option<String>> {
    Ok(match (file, id) {
        (Some(file), _) => Some(song_of(root, engine, file).map_err(|e| anyhow!("{}: {e}", file.display()))?),
        (None, Some(id)) => Some(id.to_string()),
        (None, None) => None,
    })
}

pub fn next(args: NextArgs<'_>) -> Result<()> {
    let (root, mut engine) = open_library(args.library, args.file)?;
    let song = song_arg(&root, &engine, args.file, args.id)?;
    let options = NextOptions { k: args.k, goal: args.goal, explain: args.explain, ..NextOptions::default() };
    let outcome = engine.next_tracks(song.as_deref(), args.session, &options)?;
    if let Some(out) = args.m3u {
        let songs: Vec<String> = outcome.items.iter().map(|i| i.id.clone()).collect();
        crate::interop::write_m3u(&root, &engine, &songs, out)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&outcome)?);
        return Ok(());
    }
    let name =
        |id: &str, path: Option<&str>| path.map_or_else(|| id.to_string(), |p| root.join(p).display().to_string());
    let current_path = engine.path_of(&outcome.current)?;
    println!(
        "after {} (energy {}), goal {:?}:",
        name(&outcome.current, current_path.as_deref()),
        outcome.current_energy.map_or("–".into(), |e| format!("{e:.1}")),
        outcome.goal
    );
    println!(
        "{:>6} {:>6} {:>4} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}  track",
        "score", "bpm", "key", "enrgy", "simil", "goal", "low", "mix", "hype", "divrs"
    );
    for i in &outcome.items {
        let p = &i.parts;
        println!(
            "{:>6.2} {:>6} {:>4} {:>5} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2}  {}",
            i.score,
            i.bpm.map_or("–".into(), |b| format!("{b:.1}")),
            i.camelot.as_deref().unwrap_or("–"),
            i.energy.map_or("–".into(), |e| format!("{e:.1}")),
            p.similarity,
            p.energy,
            p.low_end,
            p.mixability,
            p.hype,
            p.diversity,
            name(&i.id, i.path.as_deref())
        );
    }
    for f in outcome.filtered.iter().flatten() {
        println!("  filtered ({}): {}", serde_json::to_value(f.rule)?.as_str().unwrap_or(""), f.id);
    }
    Ok(())
}

/// `session new|played|undo|show|list NAME [FILE|--id ID]`.
pub fn session(
    action: &str,
    name: Option<&str>,
    file: Option<&Path>,
    id: Option<&str>,
    library: Option<&Path>,
    json: bool,
) -> Result<()> {
    let (root, mut engine) = open_library(library, file)?;
    let need_name = || name.ok_or_else(|| anyhow!("session {action} needs a NAME"));
    let value = match action {
        "new" => serde_json::to_value(engine.session_new(need_name()?, now_ms())?)?,
        "played" => {
            let song =
                song_arg(&root, &engine, file, id)?.ok_or_else(|| anyhow!("session played needs FILE or --id"))?;
            serde_json::to_value(engine.session_played(need_name()?, &song, now_ms())?)?
        }
        "undo" => serde_json::to_value(engine.session_undo(need_name()?)?)?,
        "show" => serde_json::to_value(engine.session_show(need_name()?)?)?,
        "list" => serde_json::to_value(engine.session_names()?)?,
        other => return Err(anyhow!("unknown session action {other:?}: use new, played, undo, show or list")),
    };
    if json {
        println!("{}", serde_json::to_string(&value)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

/// Settings of one `plan` call.
#[derive(Debug)]
pub struct PlanArgs<'a> {
    pub file: Option<&'a Path>,
    pub id: Option<&'a str>,
    pub length: Option<usize>,
    pub minutes: Option<f32>,
    pub arc: EnergyArc,
    pub library: Option<&'a Path>,
    pub json: bool,
    pub m3u: Option<&'a Path>,
}

pub fn plan(args: PlanArgs<'_>) -> Result<()> {
    let (root, mut engine) = open_library(args.library, args.file)?;
    let start = song_arg(&root, &engine, args.file, args.id)?.ok_or_else(|| anyhow!("give a FILE or --id ID"))?;
    let length = if args.length.is_none() && args.minutes.is_none() { Some(12) } else { args.length };
    let options = PlanOptions { length, minutes: args.minutes, arc: args.arc, ..PlanOptions::default() };
    let outcome = engine.plan_set(&start, &options)?;
    if let Some(out) = args.m3u {
        let songs: Vec<String> = outcome.items.iter().map(|i| i.id.clone()).collect();
        crate::interop::write_m3u(&root, &engine, &songs, out)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&outcome)?);
        return Ok(());
    }
    println!("{:>3} {:>6} {:>6} {:>4} {:>6} {:>6}  track", "#", "target", "energy", "key", "bpm", "score");
    for (n, i) in outcome.items.iter().enumerate() {
        let name = i.path.as_deref().map_or_else(|| i.id.clone(), |p| root.join(p).display().to_string());
        println!(
            "{:>3} {:>6.1} {:>6} {:>4} {:>6} {:>6}  {name}",
            n + 1,
            i.target_energy,
            i.energy.map_or("–".into(), |e| format!("{e:.1}")),
            i.camelot.as_deref().unwrap_or("–"),
            i.bpm.map_or("–".into(), |b| format!("{b:.1}")),
            i.score.map_or("".into(), |s| format!("{s:.2}")),
        );
    }
    if !outcome.complete {
        println!(
            "only {} of {} tracks: no further track passes the mixing rules",
            outcome.items.len(),
            outcome.requested
        );
    }
    if let Some(r) = outcome.energy_rank_correlation {
        println!("energy follows the arc with rank correlation {r:.2}");
    }
    Ok(())
}
