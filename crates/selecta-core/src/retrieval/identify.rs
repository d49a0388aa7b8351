//! Snippet identification: which library track is this recording, and where in it?
//!
//! Every track's whole-track chromaprint (one 32-bit sub-fingerprint every
//! [`SUB_FINGERPRINT_SECONDS`]) goes into an inverted index: a hash of 20 of the
//! sub-fingerprint's bits ([`KEY_MASK`]) → the (track, position) pairs where it occurs, every
//! [`INDEX_STEP`]th position. A query looks up each of its sub-fingerprints and votes for
//! (track, offset); the best-voted candidates are then verified by bit agreement over the whole
//! snippet against the stored print, at every offset near the vote and at tempo stretches of up
//! to ±4 % (a DJ's key-locked tempo change shifts the alignment as the snippet goes on).
//!
//! A speed change with the pitch (a turntable or CDJ pitch fader, no key lock) moves every
//! chroma bin, so no sub-fingerprint survives it; the query is therefore fingerprinted at
//! several assumed speeds ([`SPEEDS`]), each of which undoes one such change exactly.
//!
//! Whole-file lookups (AcoustID's) compare from the start of the file; here the offset is free,
//! so a 5 s crop from anywhere in a track is found.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::hash::sha256_hex;
use crate::sealed::{SealError, open, seal};
use crate::store::SongVersion;

use crate::features::fingerprint::SUB_FINGERPRINT_SECONDS;

/// Bits of a sub-fingerprint that form the index key: the top 20 (ten of chromaprint's sixteen
/// 2-bit classifiers). Fewer bits than the whole value survive noise in more sub-fingerprints;
/// which bits survive best has not been measured yet.
pub const KEY_MASK: u32 = 0xFFFF_F000;

/// Buckets of the inverted index (a power of two).
const BUCKET_BITS: u32 = 20;

/// Every this many positions of a track are indexed: a snippet's sub-fingerprints are all looked
/// up, so each indexed position still meets one of them, and the index is half the size.
pub const INDEX_STEP: usize = 2;

/// Offsets are voted for in bins this many sub-fingerprints wide (≈1 s), and two neighbouring
/// bins are counted together, so a stretched snippet's drifting alignment still adds up.
const OFFSET_BIN: i64 = 8;

/// A key that occurs more often than this in the index says nothing (silence, a drone); its
/// bucket is skipped, as a text index skips stop words.
const MAX_BUCKET: usize = 4096;

/// Tracks verified per query.
const CANDIDATES: usize = 32;

/// Speeds the snippet may have been played at, relative to the library track (pitch and tempo
/// together), tried in this order.
pub const SPEEDS: [f32; 5] = [1.0, 1.02, 0.98, 1.04, 0.96];

/// Tempo stretches (pitch kept) the verification allows.
const STRETCHES: [f32; 5] = [1.0, 1.02, 0.98, 1.04, 0.96];

/// The share of equal bits a match needs for a query of `sub_fingerprints`. Unrelated audio
/// agrees on about half the bits at a random alignment, but the best of the hundreds of
/// alignments tried against the best-voted tracks reaches 0.70–0.85 on quiet or sparse music;
/// that chance agreement spreads as one over the square root of the bits compared, so a longer
/// query needs less: 0.75 at 5 s, 0.73 at 10 s, 0.71 at 30 s (chosen on half the corpus's
/// packages). The agreement alone cannot decide: see [`MATCH_MARGIN`].
pub fn match_floor(sub_fingerprints: usize) -> f32 {
    0.69 + 0.06 * (40.0 / sub_fingerprints.max(1) as f32).sqrt()
}

/// How far a match must stand above the best candidate that is not the same recording (chosen
/// with [`match_floor`] on half the corpus's packages).
pub const MATCH_MARGIN: f32 = 0.10;

/// Candidates within this much of each other count as the same recording (a track held twice,
/// an album and a compilation copy), so duplicates do not hide each other's margin.
pub const DUPLICATE_SPAN: f32 = 0.03;

/// A snippet needs this many sub-fingerprints (≈2 s) to be identified at all.
pub const MIN_QUERY_SUB_FINGERPRINTS: usize = 16;

/// The snippet's print at one assumed playback speed.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPrint {
    /// The assumed speed relative to the library track (1.04: played 4 % fast).
    pub speed: f32,
    /// Raw sub-fingerprints, in the library track's time.
    pub print: Vec<u32>,
}

/// One verified candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintMatch {
    /// The song.
    pub id: String,
    /// Where the snippet starts in the song, in seconds.
    pub offset_sec: f64,
    /// Share of equal fingerprint bits at the best alignment (0.5 for unrelated audio).
    pub agreement: f32,
    /// The speed it was played at (pitch and tempo together), relative to the song.
    pub speed: f32,
    /// The tempo stretch (pitch kept) on top of that speed.
    pub stretch: f32,
    /// Whether it is the same recording ([`mark_matches`]).
    pub matched: bool,
}

/// Decide which of the candidates of a query of `sub_fingerprints` are the same recording: the
/// best, and any within [`DUPLICATE_SPAN`] of it, when the best reaches [`match_floor`] and
/// stands [`MATCH_MARGIN`] above the best candidate outside that span.
pub fn mark_matches(candidates: &mut [PrintMatch], sub_fingerprints: usize) {
    let Some(best) = candidates.iter().map(|c| c.agreement).reduce(f32::max) else { return };
    let reference =
        candidates.iter().map(|c| c.agreement).filter(|&a| a < best - DUPLICATE_SPAN).reduce(f32::max).unwrap_or(0.5);
    let found = best >= match_floor(sub_fingerprints) && best - reference >= MATCH_MARGIN;
    for c in candidates.iter_mut() {
        c.matched = found && c.agreement >= best - DUPLICATE_SPAN;
    }
}

/// The inverted index over every track's print (compressed sparse rows: bucket → postings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrintIndex {
    ids: Vec<String>,
    bucket_start: Vec<u32>,
    tracks: Vec<u32>,
    /// Position / [`INDEX_STEP`].
    positions: Vec<u16>,
}

fn bucket(sub_fingerprint: u32) -> usize {
    ((sub_fingerprint & KEY_MASK).wrapping_mul(0x9E37_79B1) >> (32 - BUCKET_BITS)) as usize
}

/// Layout of the kept index file; a change makes every kept file stale.
const INDEX_FILE_FORMAT: u32 = 1;
const INDEX_MAGIC: &[u8; 8] = b"SELPRI01";
const INDEX_WHAT: &str = "fingerprint index";

/// What the index was built from: every song's id, file hash and analysis version, and the
/// index's own settings. A kept index with another stamp is stale.
pub fn library_stamp(versions: &[SongVersion]) -> String {
    let mut lines: Vec<String> =
        versions.iter().map(|v| format!("{}:{}:{}", v.song_id, v.file_hash, v.analysis_version)).collect();
    lines.sort_unstable();
    let settings = format!("{INDEX_FILE_FORMAT}:{KEY_MASK:x}:{BUCKET_BITS}:{INDEX_STEP}");
    sha256_hex(format!("{settings}\n{}", lines.join("\n")).as_bytes())
}

#[derive(Serialize, Deserialize)]
struct KeptIndex {
    stamp: String,
    index: PrintIndex,
}

impl PrintIndex {
    /// The index as a sealed (checksummed) file, stamped with [`library_stamp`].
    pub fn to_file(&self, stamp: &str) -> Result<Vec<u8>, SealError> {
        #[derive(Serialize)]
        struct KeptRef<'a> {
            stamp: &'a str,
            index: &'a PrintIndex,
        }
        seal(INDEX_MAGIC, INDEX_WHAT, &KeptRef { stamp, index: self })
    }

    /// A kept index, if `bytes` holds one stamped `stamp`: `Ok(None)` when it is stale, an
    /// error when it is damaged (never trusted either way).
    pub fn from_file(bytes: &[u8], stamp: &str) -> Result<Option<Self>, SealError> {
        let kept: KeptIndex = open(INDEX_MAGIC, INDEX_WHAT, bytes)?;
        Ok((kept.stamp == stamp).then_some(kept.index))
    }

    /// Index the prints `print_of` gives for `ids` (each read once; a song without a print is
    /// kept out).
    pub fn build<E>(
        ids: impl IntoIterator<Item = String>,
        mut print_of: impl FnMut(&str) -> Result<Vec<u32>, E>,
    ) -> Result<Self, E> {
        let buckets = 1usize << BUCKET_BITS;
        let mut counts = vec![0u32; buckets + 1];
        // (bucket, track, position / step), placed by a counting sort afterwards.
        let mut entries: Vec<(u32, u32, u16)> = Vec::new();
        let mut kept = Vec::new();
        for id in ids {
            let print = print_of(&id)?;
            if print.is_empty() {
                continue;
            }
            let track = kept.len() as u32;
            kept.push(id);
            for (step, &v) in print.iter().step_by(INDEX_STEP).enumerate().take(usize::from(u16::MAX) + 1) {
                let b = bucket(v);
                counts[b + 1] += 1;
                entries.push((b as u32, track, step as u16));
            }
        }
        for b in 0..buckets {
            counts[b + 1] += counts[b];
        }
        let bucket_start = counts.clone();
        let mut next = counts;
        let (mut tracks, mut positions) = (vec![0u32; entries.len()], vec![0u16; entries.len()]);
        for (b, track, position) in entries {
            let slot = next[b as usize] as usize;
            next[b as usize] += 1;
            tracks[slot] = track;
            positions[slot] = position;
        }
        Ok(Self { ids: kept, bucket_start, tracks, positions })
    }

    /// Tracks indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no track is indexed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Postings held.
    pub fn postings(&self) -> usize {
        self.tracks.len()
    }

    /// Bytes the index holds in memory (excluding the song ids).
    pub fn memory_bytes(&self) -> usize {
        self.bucket_start.len() * 4 + self.tracks.len() * 4 + self.positions.len() * 2
    }

    /// The best-voted (track, offset) per track for one query print, most votes first.
    fn vote(&self, query: &[u32]) -> Vec<(u32, i64, u32)> {
        let mut votes: HashMap<(u32, i64), u32> = HashMap::new();
        for (j, &v) in query.iter().enumerate() {
            let b = bucket(v);
            let Some(range) = self.bucket_start.get(b..=b + 1) else { continue };
            let (from, to) = (range[0] as usize, range[1] as usize);
            if to - from > MAX_BUCKET {
                continue;
            }
            for slot in from..to {
                let offset = self.positions[slot] as i64 * INDEX_STEP as i64 - j as i64;
                *votes.entry((self.tracks[slot], offset.div_euclid(OFFSET_BIN))).or_default() += 1;
            }
        }
        let mut best: HashMap<u32, (i64, u32)> = HashMap::new();
        for (&(track, bin), &count) in &votes {
            let together = count + votes.get(&(track, bin + 1)).copied().unwrap_or(0);
            let entry = best.entry(track).or_insert((bin, 0));
            if together > entry.1 || (together == entry.1 && bin < entry.0) {
                *entry = (bin, together);
            }
        }
        let mut ranked: Vec<(u32, i64, u32)> = best.into_iter().map(|(t, (bin, n))| (t, bin, n)).collect();
        ranked.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        ranked
    }

    /// The tracks that best explain the snippet, best agreement first (ties by song id): up to
    /// `limit`, each verified against its stored print (`print_of`) and marked when it is the
    /// same recording ([`mark_matches`]).
    pub fn identify<E>(
        &self,
        queries: &[QueryPrint],
        limit: usize,
        mut print_of: impl FnMut(&str) -> Result<Vec<u32>, E>,
    ) -> Result<Vec<PrintMatch>, E> {
        // The best-voted offset bin of each track, over every assumed speed.
        let mut candidates: HashMap<u32, (u32, usize, i64)> = HashMap::new();
        for (q, query) in queries.iter().enumerate() {
            if query.print.len() < MIN_QUERY_SUB_FINGERPRINTS {
                continue;
            }
            for (track, bin, n) in self.vote(&query.print).into_iter().take(CANDIDATES) {
                let entry = candidates.entry(track).or_insert((n, q, bin));
                if n > entry.0 {
                    *entry = (n, q, bin);
                }
            }
        }
        let mut ranked: Vec<Candidate> = candidates
            .into_iter()
            .map(|(track, (votes, query, bin))| Candidate { track, votes, query, offset_guess: Some(bin * OFFSET_BIN) })
            .collect();
        ranked.sort_by(|a, b| b.votes.cmp(&a.votes).then(a.track.cmp(&b.track)));
        ranked.truncate(CANDIDATES);
        // Too few voted tracks to tell a match from chance: other tracks, aligned the same way
        // at their middle, show how well this query agrees with music it is not.
        let voted: std::collections::HashSet<u32> = ranked.iter().map(|c| c.track).collect();
        let fillers = (0..self.ids.len() as u32).filter(|t| !voted.contains(t)).take(CANDIDATES - ranked.len());
        let fillers: Vec<Candidate> =
            fillers.map(|track| Candidate { track, votes: 0, query: 0, offset_guess: None }).collect();
        ranked.extend(fillers);
        let mut matches = Vec::new();
        for Candidate { track, query: q, offset_guess, .. } in ranked {
            let id = &self.ids[track as usize];
            let stored = print_of(id)?;
            let Some(query) = queries.get(q).filter(|q| q.print.len() >= MIN_QUERY_SUB_FINGERPRINTS) else { continue };
            let guess = offset_guess.unwrap_or((stored.len() as i64 - query.print.len() as i64) / 2 - OFFSET_BIN / 2);
            if let Some((agreement, offset, stretch)) = best_alignment(&query.print, &stored, guess) {
                matches.push(PrintMatch {
                    id: id.clone(),
                    offset_sec: offset as f64 * SUB_FINGERPRINT_SECONDS,
                    agreement,
                    speed: query.speed,
                    stretch,
                    matched: false,
                });
            }
        }
        matches.sort_by(|a, b| b.agreement.total_cmp(&a.agreement).then_with(|| a.id.cmp(&b.id)));
        let longest = queries.iter().map(|q| q.print.len()).max().unwrap_or(0);
        mark_matches(&mut matches, longest);
        matches.truncate(limit);
        Ok(matches)
    }
}

/// A track to verify.
struct Candidate {
    track: u32,
    votes: u32,
    /// Which assumed speed's print voted for it.
    query: usize,
    /// Where the votes put the query's start; `None` for a track that got no vote.
    offset_guess: Option<i64>,
}

/// The best (agreement, offset, stretch) of `query` inside `track` near `offset_guess`.
fn best_alignment(query: &[u32], track: &[u32], offset_guess: i64) -> Option<(f32, i64, f32)> {
    let mut best: Option<(f32, i64, f32)> = None;
    for &stretch in &STRETCHES {
        for offset in offset_guess - 2..=offset_guess + 2 * OFFSET_BIN + 2 {
            let Some(agreement) = agreement_at(query, track, offset, stretch) else { continue };
            if best.is_none_or(|b| agreement > b.0) {
                best = Some((agreement, offset, stretch));
            }
        }
    }
    best
}

/// Share of equal bits when query sub-fingerprint `j` sits at `offset + j × stretch` in the
/// track; `None` when less than three quarters of the query falls inside the track.
fn agreement_at(query: &[u32], track: &[u32], offset: i64, stretch: f32) -> Option<f32> {
    let (mut equal, mut compared) = (0u64, 0u64);
    for (j, &q) in query.iter().enumerate() {
        let at = offset + (j as f32 * stretch).round() as i64;
        if let Some(&t) = usize::try_from(at).ok().and_then(|i| track.get(i)) {
            equal += u64::from(32 - (q ^ t).count_ones());
            compared += 1;
        }
    }
    (compared * 4 >= query.len() as u64 * 3 && compared > 0).then(|| equal as f32 / (compared * 32) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random print (chromaprint values look random bit by bit).
    fn print(seed: u64, len: usize) -> Vec<u32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 32) as u32
            })
            .collect()
    }

    fn index(prints: &[Vec<u32>]) -> PrintIndex {
        PrintIndex::build((0..prints.len()).map(|i| format!("song{i:02}")), |id: &str| {
            let i: usize = id[4..].parse().map_err(|_| ())?;
            Ok::<_, ()>(prints[i].clone())
        })
        .expect("built")
    }

    fn identify(index: &PrintIndex, prints: &[Vec<u32>], query: Vec<u32>) -> Vec<PrintMatch> {
        index
            .identify(&[QueryPrint { speed: 1.0, print: query }], 3, |id: &str| {
                let i: usize = id[4..].parse().map_err(|_| ())?;
                Ok::<_, ()>(prints[i].clone())
            })
            .expect("identified")
    }

    #[test]
    fn finds_a_crop_at_its_offset_despite_flipped_bits() {
        let prints: Vec<Vec<u32>> = (0..20).map(|i| print(i, 1500)).collect();
        let index = index(&prints);
        // 5 s from 1000 positions into song07, with 4 of 32 bits flipped in every value and
        // the key bits intact in only one value of three, as with noise.
        let query: Vec<u32> = prints[7][1000..1040]
            .iter()
            .enumerate()
            .map(|(j, v)| v ^ if j % 3 == 0 { 0x0000_0F00 } else { 0x0101_0101 << (j % 4) })
            .collect();
        let found = identify(&index, &prints, query);
        assert_eq!(found[0].id, "song07");
        assert!(found[0].matched, "{found:?}");
        assert!((found[0].offset_sec - 1000.0 * SUB_FINGERPRINT_SECONDS).abs() < 0.01, "{found:?}");
        assert!(found.get(1).is_none_or(|m| !m.matched), "only one track matches: {found:?}");
    }

    #[test]
    fn follows_a_stretched_alignment() {
        let prints: Vec<Vec<u32>> = (0..10).map(|i| print(i, 2000)).collect();
        let index = index(&prints);
        // 30 s of song03 played 4 % slower with the key kept: query j sits at 500 + j × 1.04.
        let query: Vec<u32> = (0..240).map(|j| prints[3][500 + (j as f32 * 1.04).round() as usize]).collect();
        let found = identify(&index, &prints, query);
        assert_eq!(found[0].id, "song03");
        assert_eq!(found[0].stretch, 1.04);
        assert!(found[0].agreement > 0.99, "{found:?}");
    }

    fn candidate(id: &str, agreement: f32) -> PrintMatch {
        PrintMatch { id: id.into(), offset_sec: 0.0, agreement, speed: 1.0, stretch: 1.0, matched: false }
    }

    #[test]
    fn a_match_must_stand_out_unless_it_is_a_duplicate() {
        let marked = |agreements: &[f32]| {
            let mut c: Vec<PrintMatch> = agreements.iter().map(|&a| candidate("x", a)).collect();
            mark_matches(&mut c, 40);
            c.iter().map(|c| c.matched).collect::<Vec<_>>()
        };
        assert_eq!(marked(&[0.90, 0.72, 0.70]), [true, false, false]);
        // Enough for 30 s of audio, not for 5 s.
        let mut long = vec![candidate("x", 0.73), candidate("y", 0.6)];
        mark_matches(&mut long, 240);
        assert!(long[0].matched);
        assert_eq!(marked(&[0.73, 0.6]), [false, false]);
        // A quiet track's impostors: high, but none stands out.
        assert_eq!(marked(&[0.80, 0.78, 0.74]), [false, false, false]);
        // The same recording held twice: both match.
        assert_eq!(marked(&[0.93, 0.92, 0.71]), [true, true, false]);
        // Standing out is not enough below the floor.
        assert_eq!(marked(&[0.70, 0.50]), [false, false]);
    }

    #[test]
    fn an_unknown_snippet_matches_nothing() {
        let prints: Vec<Vec<u32>> = (0..10).map(|i| print(i, 1000)).collect();
        let index = index(&prints);
        let found = identify(&index, &prints, print(99, 80));
        assert!(found.iter().all(|m| !m.matched), "{found:?}");
    }
}
