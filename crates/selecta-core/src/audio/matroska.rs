//! What Selecta reads of Matroska (WebM, MKA) itself, beside symphonia's reader: the title,
//! the announced length, and damage handled before the reader opens the file.
//!
//! Muxers such as ffmpeg write a file's title in the segment's Info element or as a track's
//! name, not among its tags, and symphonia's reader parses neither for callers. Its reader also
//! gives up on damage a player plays through: it stops at the first element whose id or size is
//! broken, and it fails to open a cut file, whose SeekHead points past the end. [`repair`]
//! walks the element tree (ids and sizes only) and overwrites each broken stretch with a Void
//! element of the same length, so every offset stays valid; the next cluster's timestamps then
//! show the lost time, which the decoder fills with silence. Written here because no kept crate
//! repairs Matroska in place.

/// Element ids on the way: the EBML header, the Segment, its Info with the Title, its Tracks
/// with each TrackEntry's type and Name, and the first Cluster (the audio, where the search
/// stops).
const EBML: u64 = 0x1A45_DFA3;
const SEGMENT: u64 = 0x1853_8067;
const INFO: u64 = 0x1549_A966;
const TITLE: u64 = 0x7BA9;
const TRACKS: u64 = 0x1654_AE6B;
const TRACK_ENTRY: u64 = 0xAE;
const TRACK_TYPE: u64 = 0x83;
const TRACK_NAME: u64 = 0x536E;
const CODEC_ID: u64 = 0x86;
const CODEC_PRIVATE: u64 = 0x63A2;
const CLUSTER: u64 = 0x1F43_B675;
const CLUSTER_TIMESTAMP: u64 = 0xE7;
const SEEK_HEAD: u64 = 0x114D_9B74;
const SEEK: u64 = 0x4DBB;
const SEEK_POSITION: u64 = 0x53AC;
const DURATION: u64 = 0x4489;
const TIMESTAMP_SCALE: u64 = 0x2A_D7B1;
const VOID: u64 = 0xEC;
/// The elements a Segment holds.
const TOP_LEVEL: [u64; 10] =
    [SEEK_HEAD, INFO, TRACKS, CLUSTER, 0x1C53_BB6B, 0x1254_C367, 0x1043_A770, 0x1941_A469, VOID, 0xBF];
/// The elements a Cluster holds: Timestamp, SimpleBlock, BlockGroup, EncryptedBlock, Position,
/// PrevSize, SilentTracks, Void, CRC-32.
const IN_CLUSTER: [u64; 9] = [0xE7, 0xA3, 0xA0, 0xAF, 0xA7, 0xAB, 0x5854, VOID, 0xBF];
/// Matroska's track type for audio.
const AUDIO_TRACK: u64 = 2;
/// Children of the Segment looked at before giving up (Info and Tracks come before the audio).
const MAX_SEGMENT_CHILDREN: usize = 64;

/// Whether `bytes` start like a Matroska file.
pub(crate) fn is_matroska(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
}

/// The file's title: the segment title, or else the name of its first audio track (where
/// ffmpeg puts a title it takes from a stream's tags).
pub(crate) fn segment_title(bytes: &[u8]) -> Option<String> {
    let mut track_name = None;
    for (id, data, end) in head_elements(bytes) {
        if id == INFO {
            if let Some(title) = children(bytes, data, end).find(|(id, _)| *id == TITLE).and_then(|(_, v)| text(v)) {
                return Some(title);
            }
        } else if id == TRACKS && track_name.is_none() {
            track_name = children(bytes, data, end).filter(|(id, _)| *id == TRACK_ENTRY).find_map(|(_, entry)| {
                let (mut audio, mut name) = (false, None);
                for (id, value) in children(entry, 0, entry.len()) {
                    match id {
                        TRACK_TYPE => audio = be_uint(value) == AUDIO_TRACK,
                        TRACK_NAME => name = text(value),
                        _ => {}
                    }
                }
                if audio { name } else { None }
            });
        }
    }
    track_name
}

/// The Segment: where its element starts, its size (`None` when unknown) and where its
/// children start; `None` when `bytes` do not start with an EBML header and a Segment.
fn segment(bytes: &[u8]) -> Option<(usize, Option<u64>, usize)> {
    let (id, size, at) = element(bytes, 0)?;
    if id != EBML {
        return None;
    }
    let segment_at = at.checked_add(usize::try_from(size?).ok()?)?;
    let (id, size, children_at) = element(bytes, segment_at)?;
    (id == SEGMENT).then_some((segment_at, size, children_at))
}

/// The Segment's children before its first cluster (where Info and Tracks are), as (id, data
/// start, data end), up to [`MAX_SEGMENT_CHILDREN`] and the first of unknown size.
fn head_elements(bytes: &[u8]) -> impl Iterator<Item = (u64, usize, usize)> + '_ {
    let mut at = segment(bytes).map(|(_, _, children_at)| children_at);
    (0..MAX_SEGMENT_CHILDREN).map_while(move |_| {
        let (id, size, data) = element(bytes, at?)?;
        let end = size.and_then(|s| data.checked_add(usize::try_from(s).ok()?));
        at = end;
        (id != CLUSTER).then_some((id, data, end?.min(bytes.len())))
    })
}

/// A big-endian unsigned integer element's value.
fn be_uint(value: &[u8]) -> u64 {
    value.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

/// The Vorbis setup header of the file's first Vorbis track: the third of the three header
/// packets its CodecPrivate holds in Xiph lacing.
pub(crate) fn vorbis_setup(bytes: &[u8]) -> Option<Vec<u8>> {
    let (_, data, end) = head_elements(bytes).find(|(id, _, _)| *id == TRACKS)?;
    children(bytes, data, end).filter(|(id, _)| *id == TRACK_ENTRY).find_map(|(_, entry)| {
        let fields: Vec<(u64, &[u8])> = children(entry, 0, entry.len()).collect();
        let vorbis = fields.iter().any(|(id, v)| *id == CODEC_ID && *v == b"A_VORBIS");
        let private = fields.iter().find(|(id, _)| *id == CODEC_PRIVATE).map(|(_, v)| *v);
        if vorbis { third_xiph_packet(private?) } else { None }
    })
}

/// The third packet of a Xiph-laced block: a count byte (packets − 1), the lengths of all but
/// the last as runs of 255 plus a remainder, then the packets.
fn third_xiph_packet(laced: &[u8]) -> Option<Vec<u8>> {
    let (&count, mut rest) = laced.split_first()?;
    if count != 2 {
        return None;
    }
    let mut lengths = [0usize; 2];
    for length in &mut lengths {
        loop {
            let (&b, tail) = rest.split_first()?;
            rest = tail;
            *length += usize::from(b);
            if b != 255 {
                break;
            }
        }
    }
    rest.get(lengths[0].checked_add(lengths[1])?..).map(<[u8]>::to_vec)
}

/// The child elements of `bytes[start..end]` as (id, data), up to the first that is damaged or
/// of unknown size.
fn children(bytes: &[u8], start: usize, end: usize) -> impl Iterator<Item = (u64, &[u8])> {
    let mut at = start;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let (id, size, data) = element(bytes, at)?;
        let data_end = data.checked_add(usize::try_from(size?).ok()?)?;
        let value = bytes.get(data..data_end.min(end))?;
        if data_end > end {
            return None;
        }
        at = data_end;
        Some((id, value))
    })
}

/// A UTF-8 string element's text, without padding; `None` when empty.
fn text(value: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(value);
    let text = text.trim_matches('\0').trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// What [`repair`] did.
#[derive(Debug)]
pub(crate) struct Repaired {
    /// The file with its broken stretches overwritten by Void elements.
    pub bytes: Vec<u8>,
    /// Stretches overwritten.
    pub voided: usize,
    /// The file ends inside its last element (a cut file).
    pub cut: bool,
    /// Where the first stretch put back or voided starts, in bytes.
    pub first_damage_at: Option<usize>,
}

/// `bytes` with every broken stretch of the segment overwritten by a Void element, or `None`
/// when nothing is broken (or the file is not Matroska, or its headers are unreadable: then
/// the reader's own error says so).
pub(crate) fn repair(bytes: &[u8]) -> Option<Repaired> {
    let (segment_at, segment_size, segment_start) = segment(bytes)?;
    let declared_end = segment_size.and_then(|s| segment_start.checked_add(usize::try_from(s).ok()?));
    let end = declared_end.map_or(bytes.len(), |e| e.min(bytes.len()));
    let mut cut = declared_end.is_some_and(|e| e > bytes.len());
    let mut out: Option<Vec<u8>> = None;
    let mut voided = 0;
    let mut first_damage_at = None;
    if cut {
        // A segment announced longer than the file will not open: its size becomes unknown, as
        // a live stream's is, and the reader stops where the data stops.
        let size_at = segment_at + 4;
        let size_len = segment_start - size_at;
        let out = out.get_or_insert_with(|| bytes.to_vec());
        out[size_at] = 0x80 >> (size_len - 1);
        out[size_at..segment_start].iter_mut().skip(1).for_each(|b| *b = 0xFF);
        out[size_at] |= 0xFFu8.checked_shr(size_len as u32).unwrap_or(0);
    }
    let mut at = segment_start;
    while at < end {
        let parsed = element(bytes, at).filter(|(id, _, _)| TOP_LEVEL.contains(id));
        let Some((id, size, data)) = parsed else {
            // A broken element: a cluster whose header took the damage when its children run
            // exactly to the next cluster (its header is written again); otherwise everything
            // up to the next cluster is lost.
            let next = find_cluster(bytes, at + 1, end).unwrap_or(end);
            let out = out.get_or_insert_with(|| bytes.to_vec());
            first_damage_at.get_or_insert(at);
            if !rewrite_cluster_header(out, at, next) {
                voided += void(out, at, next);
            }
            at = next;
            continue;
        };
        let mut element_end = size.and_then(|s| data.checked_add(usize::try_from(s).ok()?));
        if id == CLUSTER && element_end.is_none_or(|e| e > end || !children_fill(bytes, data, e)) {
            // A cluster whose size took the damage: its children show where it ends.
            let next = find_cluster(bytes, data, end).unwrap_or(end);
            if next < end || !cut {
                let out = out.get_or_insert_with(|| bytes.to_vec());
                if rewrite_cluster_header(out, at, next) {
                    first_damage_at.get_or_insert(at);
                    element_end = Some(next);
                }
            }
        }
        let Some(element_end) = element_end.filter(|&e| e <= end) else {
            // Unknown size (a live stream's cluster) or past the end of the file: the reader
            // goes on into it and stops where the data stops.
            cut |= element_end.is_some_and(|e| e > bytes.len());
            if id == CLUSTER {
                voided += repair_cluster(bytes, &mut out, data, end, &mut first_damage_at);
            }
            break;
        };
        if id == CLUSTER {
            voided += repair_cluster(bytes, &mut out, data, element_end, &mut first_damage_at);
        } else if id == SEEK_HEAD && !seek_targets_hold(bytes, segment_start, data, element_end) {
            // The reader seeks to each target while opening: one past the end or damaged fails
            // the whole file. Without the SeekHead it reads what comes before the audio.
            voided += void(out.get_or_insert_with(|| bytes.to_vec()), at, element_end);
        }
        at = element_end;
    }
    // A cut end is the decoder's to place: where the audio stops.
    (out.is_some() || cut).then(|| Repaired {
        bytes: out.unwrap_or_else(|| bytes.to_vec()),
        voided,
        cut,
        first_damage_at,
    })
}

/// The time, in seconds, of the last cluster that starts at or before byte `offset` (0 before
/// the first): where damage at `offset` begins, near enough for a report.
pub(crate) fn seconds_at(bytes: &[u8], offset: usize) -> f64 {
    let Some((scale, segment_start)) = timestamp_scale(bytes) else { return 0.0 };
    let mut at = segment_start;
    let mut last = 0u64;
    while at <= offset {
        let Some((id, size, data)) = element(bytes, at) else { break };
        if id == CLUSTER {
            let end = size.and_then(|s| data.checked_add(usize::try_from(s).ok()?)).unwrap_or(bytes.len());
            if let Some((_, value)) =
                children(bytes, data, end.min(bytes.len())).find(|(id, _)| *id == CLUSTER_TIMESTAMP)
            {
                last = be_uint(value);
            }
        }
        let Some(next) = size.and_then(|s| data.checked_add(usize::try_from(s).ok()?)) else { break };
        at = next;
    }
    last as f64 * scale / 1e9
}

/// The segment's timestamp scale (nanoseconds per tick, 1 000 000 unless Info says otherwise)
/// and where the segment's children start.
fn timestamp_scale(bytes: &[u8]) -> Option<(f64, usize)> {
    let (_, _, children_at) = segment(bytes)?;
    let scale = head_elements(bytes)
        .find(|(id, _, _)| *id == INFO)
        .and_then(|(_, data, end)| {
            children(bytes, data, end).find(|(id, v)| *id == TIMESTAMP_SCALE && (1..=8).contains(&v.len()))
        })
        .map(|(_, v)| be_uint(v) as f64);
    Some((scale.unwrap_or(1_000_000.0), children_at))
}

/// Void the broken children of the cluster whose data is `data..end`: from a broken child to
/// the next position from which the children run exactly to the cluster's end. Returns the
/// stretches voided.
fn repair_cluster(
    bytes: &[u8],
    out: &mut Option<Vec<u8>>,
    data: usize,
    end: usize,
    first_damage_at: &mut Option<usize>,
) -> usize {
    let mut voided = 0;
    let mut at = data;
    while at < end {
        if let Some(next) = cluster_child_end(bytes, at, end) {
            at = next;
            continue;
        }
        first_damage_at.get_or_insert(at);
        let resume = (at + 2..end).find(|&p| children_run_to(bytes, p, end)).unwrap_or(end);
        voided += void(out.get_or_insert_with(|| bytes.to_vec()), at, resume);
        at = resume;
    }
    voided
}

/// The end of the cluster child at `at`, when it is one that fits before `end`.
fn cluster_child_end(bytes: &[u8], at: usize, end: usize) -> Option<usize> {
    let (id, size, data) = element(bytes, at)?;
    let child_end = data.checked_add(usize::try_from(size?).ok()?)?;
    (IN_CLUSTER.contains(&id) && child_end <= end).then_some(child_end)
}

/// Write a cluster header at `at` for a cluster ending at `end`, keeping the header's length:
/// when, for some size length, the children after it run exactly to `end`. Returns whether it
/// did.
fn rewrite_cluster_header(out: &mut [u8], at: usize, end: usize) -> bool {
    for size_len in 1..=8usize {
        let data = at + 4 + size_len;
        if data >= end || !children_fill(out, data, end) {
            continue;
        }
        let size = (end - data) as u64;
        if size >= (1u64 << (7 * size_len)) - 1 {
            continue;
        }
        out[at..at + 4].copy_from_slice(&[0x1F, 0x43, 0xB6, 0x75]);
        let marked = size | (1u64 << (7 * size_len));
        out[at + 4..data].copy_from_slice(&marked.to_be_bytes()[8 - size_len..]);
        return true;
    }
    false
}

/// Whether cluster children parse from `at` exactly to `end`, every one of them.
fn children_fill(bytes: &[u8], mut at: usize, end: usize) -> bool {
    while at < end {
        match cluster_child_end(bytes, at, end) {
            Some(next) => at = next,
            None => return false,
        }
    }
    at == end
}

/// Whether cluster children parse from `at` exactly to `end` (checked for up to 16 children,
/// enough to tell a real block from a chance byte pattern).
fn children_run_to(bytes: &[u8], mut at: usize, end: usize) -> bool {
    for _ in 0..16 {
        if at == end {
            return true;
        }
        match cluster_child_end(bytes, at, end) {
            Some(next) => at = next,
            None => return false,
        }
    }
    true
}

/// The next cluster at or after `from` whose size fits before `end` (or runs to the end of a
/// cut file).
fn find_cluster(bytes: &[u8], from: usize, end: usize) -> Option<usize> {
    let pattern = [0x1F, 0x43, 0xB6, 0x75];
    (from..end.saturating_sub(3)).find(|&p| {
        bytes[p..].starts_with(&pattern)
            && element(bytes, p).is_some_and(|(_, size, data)| {
                size.and_then(|s| data.checked_add(usize::try_from(s).ok()?))
                    .is_none_or(|e| e <= end || end == bytes.len())
            })
    })
}

/// Whether every SeekHead entry points inside the file at an element that fits in it.
fn seek_targets_hold(bytes: &[u8], segment_start: usize, data: usize, end: usize) -> bool {
    children(bytes, data, end).filter(|(id, _)| *id == SEEK).all(|(_, seek)| {
        let position = children(seek, 0, seek.len()).find(|(id, _)| *id == SEEK_POSITION).map(|(_, v)| be_uint(v));
        position.and_then(|p| segment_start.checked_add(usize::try_from(p).ok()?)).is_some_and(|target| {
            element(bytes, target).is_some_and(|(_, size, data)| {
                size.and_then(|s| data.checked_add(usize::try_from(s).ok()?)).is_some_and(|e| e <= bytes.len())
            })
        })
    })
}

/// Overwrite `out[from..to]` with one Void element of that length (a stretch of one byte joins
/// the next byte). Returns 1.
fn void(out: &mut [u8], from: usize, to: usize) -> usize {
    let to = if to - from < 2 { (from + 2).min(out.len()) } else { to };
    let len = to - from;
    if len < 2 {
        return 0;
    }
    out[from] = VOID as u8;
    if len >= 9 {
        // An eight-byte size: 0x01 marker, then seven bytes.
        let size = (len - 9) as u64;
        out[from + 1] = 0x01;
        out[from + 2..from + 9].copy_from_slice(&size.to_be_bytes()[1..]);
    } else {
        out[from + 1] = 0x80 | (len - 2) as u8;
    }
    1
}

/// The length the segment's Info announces, in seconds.
pub(crate) fn duration_sec(bytes: &[u8]) -> Option<f64> {
    let (_, data, end) = head_elements(bytes).find(|(id, _, _)| *id == INFO)?;
    let mut duration = None;
    for (id, value) in children(bytes, data, end) {
        match (id, value.len()) {
            (DURATION, 4) => duration = Some(f64::from(f32::from_be_bytes(value.try_into().ok()?))),
            (DURATION, 8) => duration = Some(f64::from_be_bytes(value.try_into().ok()?)),
            _ => {}
        }
    }
    let (scale, _) = timestamp_scale(bytes)?;
    duration.map(|d| d * scale / 1e9).filter(|d| d.is_finite() && *d > 0.0)
}

/// The element at `at`: its id (marker bits kept), its size (`None` when unknown) and where
/// its data starts.
fn element(bytes: &[u8], at: usize) -> Option<(u64, Option<u64>, usize)> {
    let (id, id_len) = vint(bytes, at, true)?;
    let (size, size_len) = vint(bytes, at + id_len, false)?;
    let all_ones = (1u64 << (7 * size_len)) - 1;
    Some((id, (size != all_ones).then_some(size), at + id_len + size_len))
}

/// An EBML variable-length integer at `at` and its length in bytes; ids keep their marker bit.
fn vint(bytes: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut value = u64::from(if keep_marker { first } else { first & 0xFFu8.checked_shr(len as u32).unwrap_or(0) });
    for &b in bytes.get(at + 1..at + len)? {
        value = (value << 8) | u64::from(b);
    }
    Some((value, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An element with a one-byte size.
    fn el(id: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x80 | u8::try_from(data.len()).expect("short"));
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn the_title_is_read_from_the_segment_info_or_the_audio_track_and_damage_gives_none() {
        let header = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        let info = el(
            &[0x15, 0x49, 0xA9, 0x66],
            &[el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]), el(&[0x7B, 0xA9], b"Night Drive \xF0\x9F\x8C\x99")]
                .concat(),
        );
        let seek_head = el(&[0x11, 0x4D, 0x9B, 0x74], &[0; 8]);
        // A Segment of unknown size, as live muxers write it.
        let mut file = header.clone();
        file.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        file.extend_from_slice(&seek_head);
        file.extend_from_slice(&info);
        assert!(is_matroska(&file));
        assert_eq!(segment_title(&file).as_deref(), Some("Night Drive 🌙"));
        // Cut inside the title, no Info before the first cluster, not Matroska: no title.
        assert_eq!(segment_title(&file[..file.len() - 3]), None);
        let mut clusters_first = header;
        clusters_first.extend_from_slice(&el(
            &[0x18, 0x53, 0x80, 0x67],
            &[el(&[0x1F, 0x43, 0xB6, 0x75], &[0; 4]), info].concat(),
        ));
        assert_eq!(segment_title(&clusters_first), None);
        assert_eq!(segment_title(b"OggS and more bytes"), None);
        // No segment title: the audio track's name (a video track's is not the song's).
        let video = el(&[0xAE], &[el(&[0x83], &[1]), el(&[0x53, 0x6E], b"Video")].concat());
        let audio = el(&[0xAE], &[el(&[0x83], &[2]), el(&[0x53, 0x6E], b"Track Name")].concat());
        let tracks = el(&[0x16, 0x54, 0xAE, 0x6B], &[video, audio].concat());
        let mut by_track = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        by_track.extend_from_slice(&el(&[0x18, 0x53, 0x80, 0x67], &tracks));
        assert_eq!(segment_title(&by_track).as_deref(), Some("Track Name"));
    }
}
