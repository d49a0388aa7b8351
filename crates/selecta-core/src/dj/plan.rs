//! Set planning: from a first track, a whole set whose every transition passes the next-track
//! hard filters and whose energy follows an arc — `warmup` (rising), `peak` (rise, hold at the
//! top, ease off), `journey` (up, a breather, up again to the end) or a custom curve. A beam
//! search over the next-track scores, where each step aims at the arc's energy for that slot
//! instead of a goal; of the sets the beam keeps to the end, the one whose energies follow the
//! arc best (rank correlation) wins. A last pass then replaces single tracks by others, swaps two
//! or moves one elsewhere, wherever every transition still passes the hard rules and the set follows
//! the arc more closely:
//! the beam judges slot by slot and a small tempo family can leave it no good choice at one slot
//! that a later one would have repaired. Deterministic (ties go to the lower index position).

use serde::{Deserialize, Serialize};

use super::{Context, NextOptions, Suggestion, rank_next, score_transition};
use crate::retrieval::SearchIndex;

/// Sets kept alive at each step.
pub const DEFAULT_BEAM: usize = 12;
/// Suggestions each kept set is extended with at each step.
pub const DEFAULT_BRANCH: usize = 8;
/// Longest set planned.
pub const MAX_SET_LENGTH: usize = 200;
/// Passes of the single-track refinement over the whole set.
const REFINE_PASSES: usize = 6;
/// Reordering moves tried after each replacement pass, at most.
const MAX_REORDER_MOVES: usize = 64;
/// Minutes a track counts for when planning by time and its duration is unknown.
const TYPICAL_TRACK_MINUTES: f32 = 5.5;
/// How long a track plays in a mix, as a share of its duration (intros and outros overlap).
const PLAYED_SHARE: f32 = 0.75;

/// The energy shape of a set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnergyArc {
    /// From the first track's energy up to the library's high end.
    Warmup,
    /// Up to the high end by 60 % of the set, held, easing off at the end.
    Peak,
    /// Up, a breather after the middle, then up to the end.
    Journey,
    /// Energies (1–10) spread over the set in order.
    Custom(Vec<f32>),
}

impl EnergyArc {
    /// Parse `warmup`, `peak`, `journey`, or a custom curve `4,5,7,6,8`.
    pub fn parse(text: &str) -> Option<EnergyArc> {
        match text.trim().to_ascii_lowercase().as_str() {
            "warmup" | "warm-up" => Some(EnergyArc::Warmup),
            "peak" => Some(EnergyArc::Peak),
            "journey" => Some(EnergyArc::Journey),
            other => {
                let values: Option<Vec<f32>> = other.split(',').map(|v| v.trim().parse::<f32>().ok()).collect();
                values.filter(|v| v.len() >= 2 && v.iter().all(|x| (1.0..=10.0).contains(x))).map(EnergyArc::Custom)
            }
        }
    }

    /// The target energy of each of `length` slots, given the first track's energy and the
    /// library's high end.
    pub fn targets(&self, length: usize, start: f32, high: f32) -> Vec<f32> {
        let points: Vec<(f32, f32)> = match self {
            EnergyArc::Warmup => vec![(0.0, 0.0), (1.0, 1.0)],
            EnergyArc::Peak => vec![(0.0, 0.0), (0.6, 1.0), (0.85, 1.0), (1.0, 0.7)],
            EnergyArc::Journey => vec![(0.0, 0.0), (0.4, 0.8), (0.65, 0.35), (1.0, 1.0)],
            EnergyArc::Custom(values) => {
                let last = (values.len() - 1).max(1) as f32;
                return (0..length)
                    .map(|i| {
                        interpolate(
                            &values.iter().enumerate().map(|(j, &v)| (j as f32 / last, v)).collect::<Vec<_>>(),
                            slot(i, length),
                        )
                    })
                    .collect();
            }
        };
        let high = high.max(start + 1.0).min(10.0);
        (0..length).map(|i| start + (high - start) * interpolate(&points, slot(i, length))).collect()
    }
}

/// Spearman's rank correlation of two equally long lists (ties get their mean rank); `None` for
/// fewer than 3 values or a list without spread.
pub fn rank_correlation(a: &[f32], b: &[f32]) -> Option<f32> {
    if a.len() != b.len() || a.len() < 3 {
        return None;
    }
    let ranks = |x: &[f32]| {
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
        let mut r = vec![0.0f32; x.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
                j += 1;
            }
            for &k in &order[i..=j] {
                r[k] = (i + j) as f32 / 2.0;
            }
            i = j + 1;
        }
        r
    };
    let (ra, rb) = (ranks(a), ranks(b));
    let mean = (a.len() - 1) as f32 / 2.0;
    let (mut num, mut da, mut db) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in ra.iter().zip(&rb) {
        num += (x - mean) * (y - mean);
        da += (x - mean).powi(2);
        db += (y - mean).powi(2);
    }
    (da > 0.0 && db > 0.0).then(|| num / (da.sqrt() * db.sqrt()))
}

fn slot(i: usize, length: usize) -> f32 {
    if length <= 1 { 0.0 } else { i as f32 / (length - 1) as f32 }
}

fn interpolate(points: &[(f32, f32)], t: f32) -> f32 {
    for w in points.windows(2) {
        let ((t0, v0), (t1, v1)) = (w[0], w[1]);
        if t <= t1 {
            let f = if t1 > t0 { ((t - t0) / (t1 - t0)).clamp(0.0, 1.0) } else { 1.0 };
            return v0 + f * (v1 - v0);
        }
    }
    points.last().map_or(0.0, |p| p.1)
}

/// `planSet`'s options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PlanOptions {
    /// Tracks in the set, the first included.
    pub length: Option<usize>,
    /// Or: minutes of music (tracks counted at three quarters of their duration).
    pub minutes: Option<f32>,
    /// The energy shape.
    pub arc: EnergyArc,
    /// Sets kept at each step.
    pub beam: usize,
    /// The transition rules and weights (`k`, `goal` and `explain` are not used).
    pub next: NextOptions,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self { length: None, minutes: None, arc: EnergyArc::Warmup, beam: DEFAULT_BEAM, next: NextOptions::default() }
    }
}

/// A planned set, by index position.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSet {
    /// Positions, the first track first.
    pub positions: Vec<usize>,
    /// The arc's energy for each slot.
    pub targets: Vec<f32>,
    /// Each transition's suggestion (its score and parts), one fewer than the tracks.
    pub transitions: Vec<Suggestion>,
    /// Sum of the transition scores.
    pub score: f32,
}

#[derive(Debug, Clone)]
struct Beam {
    positions: Vec<usize>,
    transitions: Vec<Suggestion>,
    score: f32,
}

/// How many tracks a plan by minutes needs.
fn length_for_minutes(index: &SearchIndex, start: usize, minutes: f32) -> usize {
    let mean_minutes = {
        let durations: Vec<f64> =
            (0..index.len()).map(|p| index.facts_at(p).duration_sec).filter(|d| *d > 30.0).collect();
        if durations.is_empty() {
            TYPICAL_TRACK_MINUTES
        } else {
            (durations.iter().sum::<f64>() / durations.len() as f64 / 60.0) as f32
        }
    };
    let first = (index.facts_at(start).duration_sec as f32 / 60.0).max(1.0);
    let rest = (minutes - first * PLAYED_SHARE).max(0.0);
    1 + (rest / (mean_minutes * PLAYED_SHARE)).ceil() as usize
}

/// Plan a set from `start`. The set is shorter than asked when no track passes the hard filters
/// after some point (the caller reports it).
pub fn plan_set(index: &SearchIndex, start: usize, options: &PlanOptions) -> PlannedSet {
    let length = match (options.length, options.minutes) {
        (Some(n), _) => n,
        (None, Some(m)) => length_for_minutes(index, start, m),
        (None, None) => 12,
    }
    .clamp(1, MAX_SET_LENGTH);
    let start_energy = index.dj_at(start).map_or(5.0, |d| d.energy);
    let high = {
        let mut energies: Vec<f32> = (0..index.len()).filter_map(|p| index.dj_at(p).map(|d| d.energy)).collect();
        energies.sort_by(f32::total_cmp);
        energies.get(energies.len() * 9 / 10).copied().unwrap_or(start_energy)
    };
    let targets = options.arc.targets(length, start_energy, high);
    let mut beams = vec![Beam { positions: vec![start], transitions: Vec::new(), score: 0.0 }];
    let branch = DEFAULT_BRANCH.max(1);
    for &target in targets.iter().skip(1) {
        let mut grown: Vec<Beam> = Vec::new();
        for beam in &beams {
            let (current, played) = beam.positions.split_last().map_or((start, &[][..]), |(c, p)| (*c, p));
            let ctx = Context { current, played, target_energy: Some(target) };
            let (suggestions, _) = rank_next(index, &ctx, &arc_options(&options.next, branch));
            for s in suggestions {
                let mut positions = beam.positions.clone();
                positions.push(s.position);
                let mut transitions = beam.transitions.clone();
                transitions.push(s);
                grown.push(Beam { positions, transitions, score: beam.score + s.score });
            }
        }
        if grown.is_empty() {
            break;
        }
        grown.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.positions.cmp(&b.positions)));
        // Two sets ending on the same track continue alike: keep the better one.
        let mut seen_last = std::collections::HashSet::new();
        grown.retain(|b| seen_last.insert(*b.positions.last().unwrap_or(&start)));
        grown.truncate(options.beam.max(1));
        beams = grown;
    }
    // Of the sets left, the one whose energies follow the arc best (rank correlation), then the
    // best-scored: the transitions' scores weigh the arc slot by slot, this weighs it whole.
    let follows =
        |b: &Beam| rank_correlation(&targets[..b.positions.len()], &energies_of(index, &b.positions)).unwrap_or(-1.0);
    let longest = beams.iter().map(|b| b.positions.len()).max().unwrap_or(1);
    let best = beams
        .into_iter()
        .filter(|b| b.positions.len() == longest)
        .map(|b| (follows(&b), b))
        .max_by(|(fa, a), (fb, b)| {
            fa.total_cmp(fb).then(a.score.total_cmp(&b.score)).then_with(|| b.positions.cmp(&a.positions))
        })
        .map(|(_, b)| b)
        .unwrap_or(Beam { positions: vec![start], transitions: Vec::new(), score: 0.0 });
    let targets = targets[..best.positions.len()].to_vec();
    let best = refine(index, &targets, &arc_options(&options.next, 0), best);
    PlannedSet { targets, positions: best.positions, transitions: best.transitions, score: best.score }
}

/// The transition rules and weights a plan scores with: the arc is the point of a plan, so its
/// energy weighs twice what a single suggestion's goal does.
fn arc_options(next: &NextOptions, k: usize) -> NextOptions {
    let mut options = NextOptions { k, explain: false, ..next.clone() };
    options.weights.energy *= 2.0;
    options
}

fn energies_of(index: &SearchIndex, positions: &[usize]) -> Vec<f32> {
    positions.iter().map(|&p| index.dj_at(p).map_or(0.0, |d| d.energy)).collect()
}

/// Swap single tracks of `set` for ones that follow the arc better (higher rank correlation)
/// while every transition still passes the hard rules; among equal gains the better-scored
/// transition wins. The transitions are scored again at the end.
fn refine(index: &SearchIndex, targets: &[f32], options: &NextOptions, set: Beam) -> Beam {
    let mut positions = set.positions.clone();
    let n = positions.len();
    if n < 3 {
        return set;
    }
    let follows = |positions: &[usize]| rank_correlation(targets, &energies_of(index, positions)).unwrap_or(-1.0);
    let candidates = NextOptions { k: options.pool.max(1), ..options.clone() };
    for _ in 0..REFINE_PASSES {
        let mut improved = false;
        for i in 1..n {
            let mut best_follow = follows(&positions);
            let others: Vec<usize> =
                positions.iter().enumerate().filter(|&(j, _)| j != i && j != i - 1).map(|(_, &p)| p).collect();
            let ctx = Context { current: positions[i - 1], played: &others, target_energy: Some(targets[i]) };
            let mut choice: Option<(f32, f32, usize)> = None;
            for s in rank_next(index, &ctx, &candidates).0 {
                let fits_next = i + 1 >= n || {
                    let before = &positions[..i];
                    let next_ctx = Context { current: s.position, played: before, target_energy: Some(targets[i + 1]) };
                    score_transition(index, &next_ctx, options, positions[i + 1]).is_some()
                };
                if !fits_next {
                    continue;
                }
                let mut trial = positions.clone();
                trial[i] = s.position;
                let follow = follows(&trial);
                let better = follow > best_follow + 1e-6
                    || choice.is_some_and(|(f, score, _)| (follow - f).abs() <= 1e-6 && s.score > score);
                if better {
                    best_follow = follow;
                    choice = Some((follow, s.score, s.position));
                }
            }
            if let Some((_, _, position)) = choice {
                positions[i] = position;
                improved = true;
            }
        }
        // Then the best reordering by one move — two tracks swapped, or one taken out and put
        // back elsewhere — the first track staying first.
        let holds = |trial: &[usize]| {
            (1..n).all(|i| {
                let ctx = Context { current: trial[i - 1], played: &trial[..i - 1], target_energy: Some(targets[i]) };
                score_transition(index, &ctx, options, trial[i]).is_some()
            })
        };
        // Reordering costs no search: it goes on until no move helps.
        for _ in 0..MAX_REORDER_MOVES {
            let mut best_order: Option<Vec<usize>> = None;
            let mut best_follow = follows(&positions);
            for i in 1..n {
                for j in 1..n {
                    if i == j {
                        continue;
                    }
                    let mut moved = positions.clone();
                    let track = moved.remove(i);
                    moved.insert(j, track);
                    let mut swapped = positions.clone();
                    swapped.swap(i, j);
                    for trial in [moved, swapped] {
                        let follow = follows(&trial);
                        if follow > best_follow + 1e-6 && holds(&trial) {
                            best_follow = follow;
                            best_order = Some(trial);
                        }
                    }
                }
            }
            match best_order {
                Some(order) => {
                    positions = order;
                    improved = true;
                }
                None => break,
            }
        }
        if !improved {
            break;
        }
    }
    let transitions: Option<Vec<Suggestion>> = (1..n)
        .map(|i| {
            let ctx =
                Context { current: positions[i - 1], played: &positions[..i - 1], target_energy: Some(targets[i]) };
            score_transition(index, &ctx, options, positions[i])
        })
        .collect();
    match transitions {
        // Every swap was checked against both neighbours, so the chain holds; the original set
        // stands should it not.
        Some(transitions) => {
            let score = transitions.iter().map(|s| s.score).sum();
            Beam { positions, transitions, score }
        }
        None => set,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcs_have_their_shape() {
        let warm = EnergyArc::Warmup.targets(5, 4.0, 8.0);
        assert_eq!(warm, vec![4.0, 5.0, 6.0, 7.0, 8.0]);
        let peak = EnergyArc::Peak.targets(11, 4.0, 8.0);
        let top = peak.iter().cloned().fold(f32::MIN, f32::max);
        assert!((top - 8.0).abs() < 1e-4 && peak[10] < top && peak[0] == 4.0, "{peak:?}");
        let journey = EnergyArc::Journey.targets(21, 3.0, 9.0);
        assert!(journey[8] > journey[13] && journey[20] > journey[8], "{journey:?}");
        let custom = EnergyArc::parse("4, 8, 6").expect("a curve");
        assert_eq!(custom.targets(5, 1.0, 10.0), vec![4.0, 6.0, 8.0, 7.0, 6.0]);
        assert_eq!(EnergyArc::parse("4,11"), None, "energies are 1–10");
        assert_eq!(EnergyArc::parse("sideways"), None);
    }
}
