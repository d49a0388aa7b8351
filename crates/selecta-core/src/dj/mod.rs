//! *What do I play next?* The next-track ranking: the playing track's outro embedding against
//! every candidate's intro embedding (through the search index), hard filters a DJ never breaks
//! (already played, tempo out of reach, clashing keys), then a weighted sum of the parts a DJ
//! weighs, each returned so a person can see why. [`session`] keeps what was played;
//! [`plan`] chains the ranking into a whole set that follows an energy arc.
//!
//! With `strictGoal` (the default) the goals `up`, `down` and `peak` are a fourth rule: a track
//! whose energy moves the other way is left out.
//!
//! The score (every part in about −1…1, weights in [`NextWeights`]):
//! - `similarity`: cosine of the outro and intro embeddings (z-scored model space);
//! - `energy`: how the candidate's energy fits the goal: `maintain` (close), `up` (1–2 points
//!   higher), `down` (1–2 lower), `peak` (as high as the library goes);
//! - `lowEnd`: minus the clash of two low ends (outro's + intro's sub and bass share above 1.2);
//! - `mixability`: the candidate intro's mixability;
//! - `key`: 1 for the same key, 0.6 for a Camelot neighbour or the relative key, 0 when either
//!   key is unclear;
//! - `tempo`: 1 at the same tempo, 0 at the tolerance;
//! - `hype`: the change in (energy, onset density, percussive ratio) in the goal's direction;
//! - `diversity`: minus how close the candidate sounds to the nearest of the last 8 played.

pub mod plan;
pub mod session;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

use serde::{Deserialize, Serialize};

use crate::features::DjFeatures;
use crate::features::timbre::dot;
use crate::retrieval::SearchIndex;

/// Results returned when a call does not say.
pub const DEFAULT_NEXT_K: usize = 10;
/// Candidates (best by embedding) the re-ranking looks at.
pub const DEFAULT_POOL: usize = 200;
/// Tempo tolerance: a DJ's pitch fader moves ±6 % without the track sounding wrong.
pub const DEFAULT_BPM_TOLERANCE: f32 = 0.06;
/// Recently played tracks the diversity part compares with.
pub const DIVERSITY_WINDOW: usize = 8;

/// Where the DJ wants the energy to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    /// Keep the energy.
    #[default]
    Maintain,
    /// Lift it a step.
    Up,
    /// Bring it down a step.
    Down,
    /// Go for the most energetic tracks.
    Peak,
}

impl Goal {
    /// Parse `maintain`, `up`, `down` or `peak`.
    pub fn parse(name: &str) -> Option<Goal> {
        match name.trim().to_ascii_lowercase().as_str() {
            "maintain" | "keep" => Some(Goal::Maintain),
            "up" => Some(Goal::Up),
            "down" => Some(Goal::Down),
            "peak" => Some(Goal::Peak),
            _ => None,
        }
    }
}

/// The weights of the score parts; a call may override any of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NextWeights {
    /// Outro → intro embedding similarity.
    pub similarity: f32,
    /// Fit to the energy goal.
    pub energy: f32,
    /// Low-end clash penalty.
    pub low_end: f32,
    /// The intro's mixability.
    pub mixability: f32,
    /// Key relation.
    pub key: f32,
    /// Tempo closeness.
    pub tempo: f32,
    /// Energy, onset density and percussive ratio in the goal's direction.
    pub hype: f32,
    /// Distance from the recently played.
    pub diversity: f32,
}

impl Default for NextWeights {
    fn default() -> Self {
        Self {
            similarity: 1.0,
            energy: 1.5,
            low_end: 0.5,
            mixability: 0.5,
            key: 0.4,
            tempo: 0.3,
            hype: 0.5,
            diversity: 0.5,
        }
    }
}

/// `nextTracks`' options (every field optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NextOptions {
    /// How many suggestions.
    pub k: usize,
    /// Where the energy should go.
    pub goal: Goal,
    /// Score weights.
    pub weights: NextWeights,
    /// Tempo tolerance as a share (0.06 = ±6 %).
    pub bpm_tolerance: f32,
    /// Count half and double time as the same tempo.
    pub half_double: bool,
    /// Enforce key compatibility (only ever when both keys are clear).
    pub key_rule: bool,
    /// Candidates re-ranked.
    pub pool: usize,
    /// Also return the best candidates the hard filters removed, with the rule.
    pub explain: bool,
    /// Goals `up`, `down` and `peak` are rules, not only preferences: a track whose energy
    /// moves the other way is never suggested (fewer suggestions rather than wrong ones).
    pub strict_goal: bool,
}

impl Default for NextOptions {
    fn default() -> Self {
        Self {
            k: DEFAULT_NEXT_K,
            goal: Goal::Maintain,
            weights: NextWeights::default(),
            bpm_tolerance: DEFAULT_BPM_TOLERANCE,
            half_double: true,
            key_rule: true,
            pool: DEFAULT_POOL,
            explain: false,
            strict_goal: true,
        }
    }
}

/// The hard rule that removed a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NextRule {
    /// The playing track, or one played earlier in the session.
    Played,
    /// Tempo beyond the tolerance (also at half or double time when those count), or none.
    Bpm,
    /// Both keys clear and clashing on the Camelot wheel.
    Key,
    /// With `strictGoal`: the energy moves against the goal (not higher for `up` and `peak`,
    /// not lower for `down`).
    Energy,
}

/// The parts of a suggestion's score (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextParts {
    /// Outro → intro embedding cosine.
    pub similarity: f32,
    /// Fit to the goal.
    pub energy: f32,
    /// Low-end clash (≤ 0).
    pub low_end: f32,
    /// Intro mixability.
    pub mixability: f32,
    /// Key relation.
    pub key: f32,
    /// Tempo closeness.
    pub tempo: f32,
    /// Hype in the goal's direction.
    pub hype: f32,
    /// Distance from the recently played (≤ 0).
    pub diversity: f32,
}

impl NextParts {
    /// The weighted sum.
    pub fn total(&self, w: &NextWeights) -> f32 {
        w.similarity * self.similarity
            + w.energy * self.energy
            + w.low_end * self.low_end
            + w.mixability * self.mixability
            + w.key * self.key
            + w.tempo * self.tempo
            + w.hype * self.hype
            + w.diversity * self.diversity
    }
}

/// One suggestion, by index position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suggestion {
    /// Position in the search index.
    pub position: usize,
    /// Total score.
    pub score: f32,
    /// Its parts.
    pub parts: NextParts,
    /// The tempo factor that matches (1, ½ or 2).
    pub tempo_factor: f32,
}

/// A candidate the hard filters removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Removed {
    /// Position in the search index.
    pub position: usize,
    /// The rule.
    pub rule: NextRule,
}

/// What the ranking compares about the playing track.
#[derive(Debug, Clone, Copy)]
struct Current<'a> {
    outro: Option<&'a [f32]>,
    bpm: Option<f32>,
    dj: Option<&'a DjFeatures>,
}

/// The tempo factor (1, ½, 2) that brings `candidate` within `tolerance` of `current`, closest
/// first; `None` when none does.
pub fn tempo_match(current: f32, candidate: f32, tolerance: f32, half_double: bool) -> Option<(f32, f32)> {
    let factors: &[f32] = if half_double { &[1.0, 0.5, 2.0] } else { &[1.0] };
    factors
        .iter()
        .map(|&f| (f, (candidate * f / current - 1.0).abs()))
        .filter(|&(_, dev)| dev <= tolerance)
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Energy, onset density and percussive ratio as one 0–1 number.
fn hype(dj: &DjFeatures) -> f32 {
    (dj.energy / 10.0 + (dj.onset_density / 8.0).min(1.0) + dj.percussive_ratio) / 3.0
}

/// How well an energy change fits a goal, in −1…1.
pub fn energy_fit(goal: Goal, current: f32, candidate: f32) -> f32 {
    let d = candidate - current;
    let fit = match goal {
        Goal::Maintain => 1.0 - d.abs() / 1.5,
        Goal::Up if d <= 0.0 => -0.5 + d / 2.0,
        Goal::Up => 1.0 - (d - 1.5).abs() / 2.0,
        Goal::Down if d >= 0.0 => -0.5 - d / 2.0,
        Goal::Down => 1.0 - (d + 1.5).abs() / 2.0,
        Goal::Peak => (candidate - 5.5) / 4.5 + if d < 0.0 { d / 2.0 } else { 0.0 },
    };
    fit.clamp(-1.0, 1.0)
}

/// A heap entry ordered by score, ties by position (deterministic).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ranked {
    score: f32,
    position: usize,
}

impl Eq for Ranked {}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        // A min-heap on score: the worst kept entry sits on top.
        other.score.total_cmp(&self.score).then(self.position.cmp(&other.position))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn push_bounded(heap: &mut BinaryHeap<Ranked>, entry: Ranked, bound: usize) {
    if bound == 0 {
        return;
    }
    if heap.len() < bound {
        heap.push(entry);
    } else if heap.peek().is_some_and(|worst| entry.cmp(worst) == Ordering::Less) {
        heap.pop();
        heap.push(entry);
    }
}

/// What a ranking needs besides the index: the playing track and what was played.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The playing track's position.
    pub current: usize,
    /// Positions played before it in the session, oldest first (never suggested again).
    pub played: &'a [usize],
    /// An energy to aim at instead of the goal (set planning), on the 1–10 scale.
    pub target_energy: Option<f32>,
}

/// Rank the next track after `ctx.current`: the `options.k` best suggestions, and with
/// `explain` the `options.pool` best-by-embedding candidates the hard filters removed.
pub fn rank_next(index: &SearchIndex, ctx: &Context<'_>, options: &NextOptions) -> (Vec<Suggestion>, Vec<Removed>) {
    let outro = index.outro_at(ctx.current);
    let current =
        Current { outro: outro.as_deref(), bpm: index.facts_at(ctx.current).bpm, dj: index.dj_at(ctx.current) };
    let current_key = index.facts_at(ctx.current).clear_key;
    let mut played: HashSet<usize> = ctx.played.iter().copied().collect();
    played.insert(ctx.current);
    let (mut passing, mut rules) = (Vec::new(), Vec::new());
    for p in 0..index.len() {
        let rule = if played.contains(&p) { Some(NextRule::Played) } else { transition_rule(index, ctx, options, p) };
        match rule {
            None => passing.push(p),
            Some(rule) if options.explain => rules.push((p, rule)),
            Some(_) => {}
        }
    }
    let pool = most_similar_intros(index, current.outro, &passing, options.pool.max(options.k));
    let recent = recent_embeddings(index, ctx);
    let mut suggestions: Vec<Suggestion> = pool
        .into_iter()
        .map(|r| {
            let (parts, tempo_factor) =
                parts_of(index, &current, current_key, r.position, r.score, &recent, ctx, options);
            Suggestion { position: r.position, score: parts.total(&options.weights), parts, tempo_factor }
        })
        .collect();
    suggestions.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.position.cmp(&b.position)));
    suggestions.truncate(options.k);
    let removed_positions: Vec<usize> = rules.iter().map(|&(p, _)| p).collect();
    let mut removed = most_similar_intros(index, current.outro, &removed_positions, options.pool);
    removed.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.position.cmp(&b.position)));
    let rule_of: std::collections::HashMap<usize, NextRule> = rules.into_iter().collect();
    let removed = removed
        .into_iter()
        .filter_map(|r| rule_of.get(&r.position).map(|&rule| Removed { position: r.position, rule }))
        .collect();
    (suggestions, removed)
}

/// The cosine of the playing track's `outro` and the intro of the track at `p` (0 when either
/// is missing or they differ in length).
fn intro_similarity(index: &SearchIndex, outro: Option<&[f32]>, p: usize) -> f32 {
    match (outro, outro.and_then(|_| index.intro_at(p))) {
        (Some(a), Some(b)) if a.len() == b.len() => dot(a, &b),
        _ => 0.0,
    }
}

/// The `keep` candidates whose intro is most similar to `outro`, with that similarity (ties to
/// the lower position), in no order.
///
/// Where the index keeps only 8-bit intros, each candidate first gets an interval that holds its
/// similarity; a candidate whose highest is below the `keep`-th highest lowest cannot be among
/// the `keep` (that many candidates are surely above it), and only the others are read
/// exactly: the same candidates as reading all of them.
fn most_similar_intros(index: &SearchIndex, outro: Option<&[f32]>, candidates: &[usize], keep: usize) -> Vec<Ranked> {
    let mut heap = BinaryHeap::new();
    if keep == 0 {
        return Vec::new();
    }
    let mut offer = |p: usize| {
        push_bounded(&mut heap, Ranked { score: intro_similarity(index, outro, p), position: p }, keep);
    };
    match outro.and_then(|o| index.intro_codes(o)) {
        None => candidates.iter().for_each(|&p| offer(p)),
        Some((codes, query)) => {
            // A row the codes do not hold (no intro nor embedding, another width) is read.
            let unbounded = (f32::NEG_INFINITY, f32::INFINITY);
            let intervals: Vec<(f32, f32)> =
                candidates.iter().map(|&p| codes.dot_interval(&query, p).unwrap_or(unbounded)).collect();
            let mut lowest: Vec<f32> = intervals.iter().map(|&(lo, _)| lo).collect();
            let threshold = if lowest.len() > keep {
                let (_, &mut kth, _) = lowest.select_nth_unstable_by(keep - 1, |a, b| b.total_cmp(a));
                kth
            } else {
                f32::NEG_INFINITY
            };
            for (&p, &(_, highest)) in candidates.iter().zip(&intervals) {
                if highest >= threshold || highest.is_nan() {
                    offer(p);
                }
            }
        }
    }
    heap.into_vec()
}

/// The prepared embeddings of the tracks the diversity part compares against: the playing one
/// and those played before it, newest first.
fn recent_embeddings<'a>(index: &'a SearchIndex, ctx: &Context<'_>) -> Vec<Cow<'a, [f32]>> {
    ctx.played
        .iter()
        .copied()
        .chain(std::iter::once(ctx.current))
        .rev()
        .take(DIVERSITY_WINDOW)
        .filter_map(|r| index.embedding_at(r))
        .collect()
}

/// The hard rule (other than "played") that keeps `p` from following `ctx.current`, if any.
fn transition_rule(index: &SearchIndex, ctx: &Context<'_>, options: &NextOptions, p: usize) -> Option<NextRule> {
    let current = index.facts_at(ctx.current);
    let facts = index.facts_at(p);
    let tempo_ok = match (current.bpm, facts.bpm) {
        (None, _) => true,
        (Some(c), Some(b)) => tempo_match(c, b, options.bpm_tolerance, options.half_double).is_some(),
        (Some(_), None) => false,
    };
    let goal_rule = if options.strict_goal && ctx.target_energy.is_none() { Some(options.goal) } else { None };
    let energies = (index.dj_at(ctx.current).map(|d| d.energy), index.dj_at(p).map(|d| d.energy));
    let against_goal = match (goal_rule, energies) {
        (Some(Goal::Up | Goal::Peak), (Some(cur), Some(e))) => e <= cur,
        (Some(Goal::Down), (Some(cur), Some(e))) => e >= cur,
        _ => false,
    };
    if !tempo_ok {
        Some(NextRule::Bpm)
    } else if options.key_rule
        && let (Some(a), Some(b)) = (current.clear_key, facts.clear_key)
        && !a.is_compatible_with(&b)
    {
        Some(NextRule::Key)
    } else if against_goal {
        Some(NextRule::Energy)
    } else {
        None
    }
}

/// `p` scored as the track after `ctx.current`; `None` when a hard rule removes it.
pub fn score_transition(index: &SearchIndex, ctx: &Context<'_>, options: &NextOptions, p: usize) -> Option<Suggestion> {
    if p == ctx.current || ctx.played.contains(&p) || transition_rule(index, ctx, options, p).is_some() {
        return None;
    }
    let outro = index.outro_at(ctx.current);
    let current =
        Current { outro: outro.as_deref(), bpm: index.facts_at(ctx.current).bpm, dj: index.dj_at(ctx.current) };
    let similarity = intro_similarity(index, current.outro, p);
    let recent = recent_embeddings(index, ctx);
    let current_key = index.facts_at(ctx.current).clear_key;
    let (parts, tempo_factor) = parts_of(index, &current, current_key, p, similarity, &recent, ctx, options);
    Some(Suggestion { position: p, score: parts.total(&options.weights), parts, tempo_factor })
}

#[allow(clippy::too_many_arguments)]
fn parts_of(
    index: &SearchIndex,
    current: &Current<'_>,
    current_key: Option<crate::features::Key>,
    p: usize,
    similarity: f32,
    recent: &[Cow<'_, [f32]>],
    ctx: &Context<'_>,
    options: &NextOptions,
) -> (NextParts, f32) {
    let facts = index.facts_at(p);
    let (tempo, factor) = match (current.bpm, facts.bpm) {
        (Some(c), Some(b)) => tempo_match(c, b, options.bpm_tolerance, options.half_double)
            .map_or((0.0, 1.0), |(f, dev)| (1.0 - dev / options.bpm_tolerance.max(1e-6), f)),
        _ => (0.0, 1.0),
    };
    let key = match (current_key, facts.clear_key) {
        (Some(a), Some(b)) if a == b => 1.0,
        (Some(a), Some(b)) if a.is_compatible_with(&b) => 0.6,
        _ => 0.0,
    };
    let candidate = index.dj_at(p);
    let (energy, low_end, mixability, hype_part) = match (current.dj, candidate) {
        (Some(cur), Some(cand)) => {
            let energy = match ctx.target_energy {
                Some(target) => (1.0 - (cand.energy - target).abs()).clamp(-1.0, 1.0),
                None => energy_fit(options.goal, cur.energy, cand.energy),
            };
            let low_out = cur.outro.map_or(cur.low_end.low(), |s| s.low_share);
            let low_in = cand.intro.map_or(cand.low_end.low(), |s| s.low_share);
            let low_end = -((low_out + low_in - 1.2).max(0.0) * 2.5).min(1.0);
            let mixability = cand.intro.map_or(0.5, |s| s.mixability);
            let change = 3.0 * (hype(cand) - hype(cur));
            let direction = match (ctx.target_energy, options.goal) {
                (Some(target), _) => (target - cur.energy).signum(),
                (None, Goal::Up | Goal::Peak) => 1.0,
                (None, Goal::Down) => -1.0,
                (None, Goal::Maintain) => 0.0,
            };
            let hype_part = if direction == 0.0 { -change.abs() } else { direction * change };
            (energy, low_end, mixability, hype_part.clamp(-1.0, 1.0))
        }
        _ => (0.0, 0.0, 0.0, 0.0),
    };
    let diversity = match index.embedding_at(p) {
        Some(e) => {
            let nearest = recent.iter().filter(|r| r.len() == e.len()).map(|r| dot(r, &e)).fold(f32::MIN, f32::max);
            if nearest == f32::MIN { 0.0 } else { -((nearest - 0.5).max(0.0) * 2.0).min(1.0) }
        }
        None => 0.0,
    };
    (NextParts { similarity, energy, low_end, mixability, key, tempo, hype: hype_part, diversity }, factor)
}
