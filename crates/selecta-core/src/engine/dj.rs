//! *What do I play next?* through the engine: next-track suggestions, DJ sessions kept in the
//! library, and set planning, in the JSON shapes every front end returns (`selecta next --json`,
//! `nextTracks`, `planSet`, the session calls). The ranking itself is [`crate::dj`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Engine;
use super::similar::Searcher;
use crate::dj::plan::{EnergyArc, PlanOptions, plan_set, rank_correlation};
use crate::dj::session::{Session, check_session_name};
use crate::dj::{Context, NextOptions, NextParts, NextRule, rank_next};
use crate::error::{EngineError, ErrorCode};
use crate::retrieval::SearchIndex;
use crate::store::TasteStore;

/// One suggestion.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextItem {
    /// The song.
    pub id: String,
    /// A path of it in the library.
    pub path: Option<String>,
    /// Total score (the weighted sum of the parts).
    pub score: f32,
    /// The parts.
    pub parts: NextParts,
    /// Its tempo.
    pub bpm: Option<f32>,
    /// The tempo factor that matches the playing track (1, 0.5 or 2).
    pub tempo_factor: f32,
    /// Its key in Camelot notation, when clear.
    pub camelot: Option<String>,
    /// Its energy (1–10).
    pub energy: Option<f32>,
}

/// A candidate a hard rule removed (`explain`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedItem {
    /// The song.
    pub id: String,
    /// The rule.
    pub rule: NextRule,
}

/// `nextTracks`' result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextOutcome {
    /// The playing track.
    pub current: String,
    /// Its energy.
    pub current_energy: Option<f32>,
    /// The goal used.
    pub goal: crate::dj::Goal,
    /// Best first.
    pub items: Vec<NextItem>,
    /// With `explain`: the best candidates the hard rules removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Vec<RemovedItem>>,
}

/// A session as the front ends show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Its name.
    pub name: String,
    /// The playing track.
    pub current: Option<String>,
    /// Played tracks, oldest first, with their paths.
    pub played: Vec<PlayedItem>,
    /// When it was started.
    pub created_ms: i64,
}

/// One played track with its path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayedItem {
    /// The song.
    pub id: String,
    /// A path of it.
    pub path: Option<String>,
    /// When it was marked played.
    pub at_ms: i64,
}

/// One track of a planned set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    /// The song.
    pub id: String,
    /// A path of it.
    pub path: Option<String>,
    /// The arc's energy for this slot.
    pub target_energy: f32,
    /// Its measured energy.
    pub energy: Option<f32>,
    /// Its tempo.
    pub bpm: Option<f32>,
    /// Its key (Camelot), when clear.
    pub camelot: Option<String>,
    /// Duration, seconds.
    pub duration_sec: f64,
    /// The transition into it (absent for the first track).
    pub transition: Option<NextParts>,
    /// The transition's total score.
    pub score: Option<f32>,
}

/// `planSet`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanOutcome {
    /// The set, in order.
    pub items: Vec<PlanItem>,
    /// Tracks asked for.
    pub requested: usize,
    /// Whether the set is as long as asked (else no track passed the rules at some point).
    pub complete: bool,
    /// Spearman rank correlation between the arc's energies and the tracks' measured ones
    /// (`None` for fewer than 3 tracks or a flat arc).
    pub energy_rank_correlation: Option<f32>,
}

/// Options of `nextTracks` from JSON (`{k, goal, weights: {...}, bpmTolerance, halfDouble,
/// keyRule, pool, explain}`, every field optional; `null` for the defaults).
pub fn next_options_from_json(value: serde_json::Value) -> Result<NextOptions, EngineError> {
    if value.is_null() {
        return Ok(NextOptions::default());
    }
    let options: NextOptions =
        serde_json::from_value(value).map_err(|e| EngineError::invalid_input(format!("next-track options: {e}")))?;
    check_next_options(&options)?;
    Ok(options)
}

/// `nextTracks`' second argument: the options plus `session` (a session name).
pub fn next_call_from_json(mut value: serde_json::Value) -> Result<(Option<String>, NextOptions), EngineError> {
    let session = match value.as_object_mut().and_then(|m| m.remove("session")) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(name)) => Some(name),
        Some(other) => return Err(EngineError::invalid_input(format!("session {other}: not a name"))),
    };
    Ok((session, next_options_from_json(value)?))
}

fn check_next_options(o: &NextOptions) -> Result<(), EngineError> {
    if !(0.0..=0.5).contains(&o.bpm_tolerance) {
        return Err(EngineError::invalid_input(format!("bpmTolerance {} is not within 0–0.5", o.bpm_tolerance)));
    }
    if o.k == 0 || o.pool == 0 {
        return Err(EngineError::invalid_input("k and pool must be at least 1"));
    }
    Ok(())
}

/// Options of `planSet` from JSON (`{length, minutes, arc: "warmup" | "peak" | "journey" |
/// [energies], beam, next: {...}}`).
pub fn plan_options_from_json(value: serde_json::Value) -> Result<PlanOptions, EngineError> {
    let mut value = if value.is_null() { serde_json::json!({}) } else { value };
    let arc = match value.get_mut("arc").map(serde_json::Value::take) {
        None | Some(serde_json::Value::Null) => EnergyArc::Warmup,
        Some(serde_json::Value::String(name)) => EnergyArc::parse(&name).ok_or_else(|| {
            EngineError::invalid_input(format!("arc {name:?}: use warmup, peak, journey or energies"))
        })?,
        Some(serde_json::Value::Array(values)) => {
            let text = values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
            EnergyArc::parse(&text)
                .ok_or_else(|| EngineError::invalid_input("a custom arc is 2 or more energies between 1 and 10"))?
        }
        Some(other) => return Err(EngineError::invalid_input(format!("arc {other}: not a name or a list"))),
    };
    if let Some(map) = value.as_object_mut() {
        map.remove("arc");
    }
    let mut options: PlanOptions =
        serde_json::from_value(value).map_err(|e| EngineError::invalid_input(format!("set-plan options: {e}")))?;
    options.arc = arc;
    check_next_options(&NextOptions { k: 1, ..options.next.clone() })?;
    if options.length == Some(0) || options.minutes.is_some_and(|m| !(m > 0.0 && m <= 24.0 * 60.0)) {
        return Err(EngineError::invalid_input("a set needs a length of 1 or more tracks, or 1 minute to 24 hours"));
    }
    Ok(options)
}

fn not_found(song_id: &str) -> EngineError {
    EngineError::new(ErrorCode::NotFound, format!("song {song_id} is not in the library"))
}

impl Searcher {
    fn position_of(&self, song_id: &str) -> Result<usize, EngineError> {
        self.index().position(song_id).ok_or_else(|| not_found(song_id))
    }

    /// `nextTracks`: suggestions after `current`, leaving out `played` (oldest first).
    pub fn next_tracks(
        &self,
        current: &str,
        played: &[String],
        options: &NextOptions,
    ) -> Result<NextOutcome, EngineError> {
        check_next_options(options)?;
        let index = self.index();
        let position = self.position_of(current)?;
        let played: Vec<usize> = played.iter().filter_map(|id| index.position(id)).collect();
        let ctx = Context { current: position, played: &played, target_energy: None };
        let (suggestions, removed) = rank_next(index, &ctx, options);
        let paths = self.paths_of(suggestions.iter().map(|s| index.id(s.position)))?;
        let items = suggestions
            .iter()
            .map(|s| {
                let id = index.id(s.position).to_string();
                NextItem {
                    path: paths.get(&id).cloned(),
                    score: s.score,
                    parts: s.parts,
                    bpm: index.facts_at(s.position).bpm,
                    tempo_factor: s.tempo_factor,
                    camelot: index.facts_at(s.position).clear_key.map(|k| k.camelot()),
                    energy: index.dj_at(s.position).map(|d| d.energy),
                    id,
                }
            })
            .collect();
        let filtered = options.explain.then(|| {
            removed.iter().map(|r| RemovedItem { id: index.id(r.position).to_string(), rule: r.rule }).collect()
        });
        Ok(NextOutcome {
            current: current.to_string(),
            current_energy: index.dj_at(position).map(|d| d.energy),
            goal: options.goal,
            items,
            filtered,
        })
    }

    /// `planSet`: a set from `start` following the options' arc.
    pub fn plan_set(&self, start: &str, options: &PlanOptions) -> Result<PlanOutcome, EngineError> {
        let index: &SearchIndex = self.index();
        let position = self.position_of(start)?;
        let plan = plan_set(index, position, options);
        let requested = match (options.length, options.minutes) {
            (Some(n), _) => n,
            _ => plan.targets.len().max(plan.positions.len()),
        };
        let paths: HashMap<String, String> = self.paths_of(plan.positions.iter().map(|&p| index.id(p)))?;
        let mut items = Vec::with_capacity(plan.positions.len());
        for (i, &p) in plan.positions.iter().enumerate() {
            let id = index.id(p).to_string();
            let transition = i.checked_sub(1).and_then(|t| plan.transitions.get(t));
            items.push(PlanItem {
                path: paths.get(&id).cloned(),
                target_energy: plan.targets.get(i).copied().unwrap_or(0.0),
                energy: index.dj_at(p).map(|d| d.energy),
                bpm: index.facts_at(p).bpm,
                camelot: index.facts_at(p).clear_key.map(|k| k.camelot()),
                duration_sec: index.facts_at(p).duration_sec,
                transition: transition.map(|t| t.parts),
                score: transition.map(|t| t.score),
                id,
            });
        }
        let measured: Vec<f32> = items.iter().map(|i| i.energy.unwrap_or(0.0)).collect();
        let targets: Vec<f32> = items.iter().map(|i| i.target_energy).collect();
        Ok(PlanOutcome {
            complete: items.len() >= requested.min(crate::dj::plan::MAX_SET_LENGTH),
            requested,
            energy_rank_correlation: rank_correlation(&targets, &measured),
            items,
        })
    }
}

/// What a session call changed (`session played`, `session undo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionChange {
    /// The song added or taken back (`None` when undo found nothing).
    pub id: Option<String>,
    /// Tracks played now.
    pub played: usize,
}

impl<S: TasteStore> Engine<S> {
    fn load_session(&self, name: &str) -> Result<Session, EngineError> {
        check_session_name(name)?;
        let bytes = self
            .store
            .dj_session(name)?
            .ok_or_else(|| EngineError::new(ErrorCode::NotFound, format!("no session named {name:?}")))?;
        Session::from_bytes(name, &bytes)
    }

    fn keep_session(&mut self, session: &Session) -> Result<(), EngineError> {
        Ok(self.store.put_dj_session(&session.name, &session.to_bytes())?)
    }

    /// `sessionNew`: start (or restart) a session.
    pub fn session_new(&mut self, name: &str, now_ms: i64) -> Result<SessionView, EngineError> {
        let session = Session::new(name, now_ms)?;
        self.keep_session(&session)?;
        self.session_view(&session)
    }

    /// `addPlayed`: mark a song played in a session (started when it does not exist yet).
    pub fn session_played(&mut self, name: &str, song_id: &str, now_ms: i64) -> Result<SessionChange, EngineError> {
        if self.store.song_features(song_id)?.is_none() {
            return Err(not_found(song_id));
        }
        let mut session = match self.load_session(name) {
            Ok(s) => s,
            Err(e) if e.code == ErrorCode::NotFound => Session::new(name, now_ms)?,
            Err(e) => return Err(e),
        };
        session.add_played(song_id, now_ms)?;
        self.keep_session(&session)?;
        Ok(SessionChange { id: Some(song_id.to_string()), played: session.played.len() })
    }

    /// `undo`: take the last played track of a session back.
    pub fn session_undo(&mut self, name: &str) -> Result<SessionChange, EngineError> {
        let mut session = self.load_session(name)?;
        let undone = session.undo();
        self.keep_session(&session)?;
        Ok(SessionChange { id: undone.map(|p| p.id), played: session.played.len() })
    }

    /// `sessionShow`: a session with its paths.
    pub fn session_show(&self, name: &str) -> Result<SessionView, EngineError> {
        self.session_view(&self.load_session(name)?)
    }

    /// The kept sessions' names.
    pub fn session_names(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.store.dj_session_names()?)
    }

    fn session_view(&self, session: &Session) -> Result<SessionView, EngineError> {
        let paths = self.song_paths()?;
        Ok(SessionView {
            name: session.name.clone(),
            current: session.current().map(str::to_string),
            played: session
                .played
                .iter()
                .map(|p| PlayedItem { id: p.id.clone(), path: paths.get(&p.id).cloned(), at_ms: p.at_ms })
                .collect(),
            created_ms: session.created_ms,
        })
    }

    /// `nextTracks`: suggestions after a song, or after a session's playing track (the session's
    /// history is left out and feeds the diversity part).
    pub fn next_tracks(
        &mut self,
        song_id: Option<&str>,
        session: Option<&str>,
        options: &NextOptions,
    ) -> Result<NextOutcome, EngineError> {
        let history: Vec<String> = match session {
            // A session named before anything was played in it has no history yet.
            Some(name) => match self.load_session(name) {
                Ok(s) => s.played.into_iter().map(|p| p.id).collect(),
                Err(e) if e.code == ErrorCode::NotFound && song_id.is_some() => Vec::new(),
                Err(e) => return Err(e),
            },
            None => Vec::new(),
        };
        let current = match (song_id, history.last()) {
            (Some(id), _) => id.to_string(),
            (None, Some(last)) => last.clone(),
            (None, None) => {
                return Err(EngineError::invalid_input("name the playing track, or a session where one was played"));
            }
        };
        let played: Vec<String> = history.into_iter().filter(|id| *id != current).collect();
        self.searcher()?.next_tracks(&current, &played, options)
    }

    /// `planSet`: a set from a song following an energy arc.
    pub fn plan_set(&mut self, start: &str, options: &PlanOptions) -> Result<PlanOutcome, EngineError> {
        self.searcher()?.plan_set(start, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_matches_hand_computed_values() {
        assert_eq!(rank_correlation(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]), Some(1.0));
        assert_eq!(rank_correlation(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]), Some(-1.0));
        // d = (0, 1, -1, 0): 1 - 6·2 / (4·15) = 0.8.
        let r = rank_correlation(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).expect("defined");
        assert!((r - 0.8).abs() < 1e-6, "{r}");
        assert_eq!(rank_correlation(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None, "a flat list has no ranks");
    }
}
