//! Search filters: a tempo range (optionally counting half and double time), key compatibility
//! with the query on the Camelot wheel, excluded songs and a duration range. A key rule is
//! enforced only when both keys are clear: an unclear key says too little to exclude a track.

use serde::{Deserialize, Serialize};

use super::TrackFacts;

/// Key strength (correlation with the key profile, 0–1) from which a key counts as clear.
/// Below it the HPCP fits several keys almost equally (percussive or atonal tracks, modulation).
pub const KEY_CLEAR_STRENGTH: f32 = 0.5;

/// Which rule removed a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterRule {
    /// Listed in `exclude`.
    Excluded,
    /// Tempo outside the range (at every allowed tempo relative), or no tempo.
    Bpm,
    /// Both keys clear and not neighbours on the Camelot wheel.
    Key,
    /// Duration outside the range.
    Duration,
}

/// What a search keeps (all optional; the default keeps everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchFilters {
    /// Inclusive BPM range.
    pub bpm: Option<(f32, f32)>,
    /// A candidate passes the BPM range also at half or double its tempo (a DJ mixes 70 into
    /// 140).
    pub half_double: bool,
    /// Keep only keys that mix with the query's (the key, ±1, the relative major/minor), when
    /// both are clear.
    pub key_compatible: bool,
    /// Songs never returned.
    pub exclude: Vec<String>,
    /// Inclusive duration range in seconds.
    pub duration: Option<(f64, f64)>,
}

impl SearchFilters {
    /// Whether `candidate` passes, or the first rule that removes it.
    pub fn check(&self, id: &str, query: &TrackFacts, candidate: &TrackFacts) -> Result<(), FilterRule> {
        if self.exclude.iter().any(|e| e == id) {
            return Err(FilterRule::Excluded);
        }
        if let Some((lo, hi)) = self.bpm {
            let factors: &[f32] = if self.half_double { &[1.0, 0.5, 2.0] } else { &[1.0] };
            let inside = candidate.bpm.is_some_and(|b| factors.iter().any(|f| (lo..=hi).contains(&(b * f))));
            if !inside {
                return Err(FilterRule::Bpm);
            }
        }
        if self.key_compatible
            && let (Some(q), Some(c)) = (query.clear_key, candidate.clear_key)
            && !q.is_compatible_with(&c)
        {
            return Err(FilterRule::Key);
        }
        if let Some((lo, hi)) = self.duration
            && !(lo..=hi).contains(&candidate.duration_sec)
        {
            return Err(FilterRule::Duration);
        }
        Ok(())
    }
}

/// `LO-HI` as an inclusive range (e.g. `120-130` BPM, `180-420` seconds).
pub fn parse_range<T: std::str::FromStr + PartialOrd + Copy>(text: &str) -> Result<(T, T), String> {
    let (lo, hi) = text.split_once('-').ok_or_else(|| format!("{text:?} is not a range LO-HI"))?;
    let number = |s: &str| s.trim().parse::<T>().map_err(|_| format!("{s:?} is not a number"));
    let (lo, hi) = (number(lo)?, number(hi)?);
    if lo > hi {
        return Err(format!("{text:?}: the low end is above the high end"));
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{Key, Mode};

    fn facts(bpm: Option<f32>, key: Option<Key>, duration_sec: f64) -> TrackFacts {
        TrackFacts { bpm, clear_key: key, duration_sec }
    }

    const A_MINOR: Key = Key { tonic: 9, mode: Mode::Minor };
    const D_MINOR: Key = Key { tonic: 2, mode: Mode::Minor };
    const C_MAJOR: Key = Key { tonic: 0, mode: Mode::Major };
    const F_SHARP_MAJOR: Key = Key { tonic: 6, mode: Mode::Major };

    #[test]
    fn each_rule_removes_what_violates_it_and_keeps_the_rest() {
        let query = facts(Some(124.0), Some(A_MINOR), 300.0);
        let f = SearchFilters {
            bpm: Some((120.0, 130.0)),
            key_compatible: true,
            exclude: vec!["gone".into()],
            duration: Some((120.0, 600.0)),
            ..SearchFilters::default()
        };
        let ok = facts(Some(125.0), Some(D_MINOR), 240.0);
        assert_eq!(f.check("x", &query, &ok), Ok(()));
        assert_eq!(f.check("gone", &query, &ok), Err(FilterRule::Excluded));
        assert_eq!(f.check("x", &query, &facts(Some(140.0), Some(C_MAJOR), 240.0)), Err(FilterRule::Bpm));
        assert_eq!(f.check("x", &query, &facts(None, Some(C_MAJOR), 240.0)), Err(FilterRule::Bpm), "no tempo");
        assert_eq!(f.check("x", &query, &facts(Some(125.0), Some(F_SHARP_MAJOR), 240.0)), Err(FilterRule::Key));
        assert_eq!(f.check("x", &query, &facts(Some(125.0), Some(C_MAJOR), 60.0)), Err(FilterRule::Duration));
    }

    #[test]
    fn half_and_double_time_pass_only_when_asked() {
        let query = facts(Some(124.0), None, 300.0);
        let strict = SearchFilters { bpm: Some((120.0, 130.0)), ..SearchFilters::default() };
        let loose = SearchFilters { half_double: true, ..strict.clone() };
        for bpm in [62.0, 250.0] {
            let c = facts(Some(bpm), None, 300.0);
            assert_eq!(strict.check("x", &query, &c), Err(FilterRule::Bpm), "{bpm}");
            assert_eq!(loose.check("x", &query, &c), Ok(()), "{bpm}");
        }
        assert_eq!(loose.check("x", &query, &facts(Some(90.0), None, 300.0)), Err(FilterRule::Bpm));
    }

    #[test]
    fn an_unclear_key_on_either_side_is_not_enforced() {
        let f = SearchFilters { key_compatible: true, ..SearchFilters::default() };
        let clash = facts(Some(124.0), Some(F_SHARP_MAJOR), 300.0);
        assert_eq!(f.check("x", &facts(Some(124.0), Some(A_MINOR), 300.0), &clash), Err(FilterRule::Key));
        assert_eq!(f.check("x", &facts(Some(124.0), None, 300.0), &clash), Ok(()), "unclear query key");
        assert_eq!(f.check("x", &facts(Some(124.0), Some(A_MINOR), 300.0), &facts(Some(124.0), None, 300.0)), Ok(()));
    }
}
