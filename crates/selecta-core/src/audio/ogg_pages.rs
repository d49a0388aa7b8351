//! Ogg pages with a bad checksum, handled before the stream is opened, the way a player handles
//! them, and better where the checksum allows: a page off by one or two flipped bits, or by one
//! damaged byte, is put back as it was (see [`corrected_page`]); another page whose
//! layout is whole keeps its packets (the decoder decodes or rejects each); a page whose layout
//! is broken is dropped. The Ogg reader drops every page with a bad checksum — a second of
//! audio for one flipped bit — and refuses the whole file when the page is among those it reads
//! while opening the stream (the codec headers and the first audio pages). Written here because
//! the reader offers no option for it; the checksum is symphonia's (CRC-32, polynomial
//! 0x04c11db7, as Ogg defines).

use super::vorbis_setup;
use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

const CAPTURE: &[u8; 4] = b"OggS";
/// Bytes of a page header before its segment table.
pub(crate) const HEADER_LEN: usize = 27;
/// Offset of the checksum in the page header.
const CRC_AT: usize = 22;
/// Page bits the search for flipped bits may examine in one file (each damaged page costs its
/// length; a file with hundreds of damaged pages stays well within it, in a fraction of a
/// second).
const CORRECTION_BUDGET_BITS: u64 = 1 << 26;
/// The longest page: a full segment table of 255 segments of 255 bytes.
const MAX_PAGE_LEN: usize = HEADER_LEN + 255 + 255 * 255;
/// Most corrections of one page weighed against each other (pairs of flipped bits that give the
/// same checksum); a page with more is left as it was.
const MAX_CANDIDATES: usize = 8;
/// Ogg's CRC-32 generator polynomial without its x^32 term.
const CRC_POLYNOMIAL: u32 = 0x04c1_1db7;

/// Whether `bytes` start like an Ogg stream.
pub(crate) fn is_ogg(bytes: &[u8]) -> bool {
    bytes.starts_with(CAPTURE)
}

/// What the page scan did to a stream with damaged pages.
#[derive(Debug)]
pub(crate) struct Repaired {
    /// The stream to open.
    pub bytes: Vec<u8>,
    /// Pages put back exactly as they were: one or two flipped bits or one damaged byte, found by
    /// the checksum (in the data, the segment table, the header or the capture pattern).
    pub corrected: usize,
    /// Stretches of bytes dropped (pages whose layout is broken, junk between pages); a capture
    /// pattern inside a dropped page's data is not counted again.
    pub dropped: usize,
    /// Pages kept with a recomputed checksum: their layout is whole (the next page starts where
    /// their segment table says they end, same stream), so the damage is in the audio data, and
    /// the decoder decodes or rejects their packets one by one, as a player does.
    pub kept_damaged: usize,
    /// Granule position of the last intact page before the first damage (0 when the damage
    /// comes first): where, in the codec's samples, the damage begins.
    pub first_damage_granule: u64,
}

/// The page scan's state: the stream being rebuilt and what it holds so far.
struct Scan {
    /// Built from the first damage on: an intact stream (every file but a damaged one) is only
    /// read, never copied.
    out: Option<Vec<u8>>,
    corrected: usize,
    last_serial: Option<[u8; 4]>,
    last_granule: u64,
    in_damage: bool,
}

impl Scan {
    /// Keep a whole page (intact, or put back exactly).
    fn keep(&mut self, page: &[u8]) {
        if let Some(out) = self.out.as_mut() {
            out.extend_from_slice(page);
        }
        self.last_serial = Some(serial_of(page));
        self.last_granule = granule_of(page);
        self.in_damage = false;
    }

    /// Keep a page whose flipped bits were put back.
    fn keep_corrected(&mut self, page: &[u8]) {
        self.keep(page);
        self.corrected += 1;
    }
}

/// `bytes` with every page's damage handled (see [`Repaired`]), or `None` when every page is
/// intact.
pub(crate) fn repair(bytes: &[u8]) -> Option<Repaired> {
    let mut scan = Scan { out: None, corrected: 0, last_serial: None, last_granule: 0, in_damage: false };
    let (mut dropped, mut kept_damaged) = (0usize, 0usize);
    let mut at = 0usize;
    let mut first_damage_granule: Option<u64> = None;
    let mut budget = CORRECTION_BUDGET_BITS;
    while at < bytes.len() {
        let capture = find_capture(bytes, at);
        let start = capture.unwrap_or(bytes.len());
        if start != at {
            // Bytes that do not start with a capture pattern: a page whose pattern or header
            // took a flip, when putting bits back makes them a whole page; junk otherwise.
            scan.out.get_or_insert_with(|| bytes[..at].to_vec());
            first_damage_granule.get_or_insert(scan.last_granule);
            let sound = |page: &[u8]| headers_sound(scan.out.as_deref().unwrap_or_default(), page);
            if let Some(page) = corrected_page(bytes, at, start, &mut budget, &sound) {
                scan.keep_corrected(&page);
                at = start;
                continue;
            }
            if capture.is_none() {
                // Trailing bytes that hold no page.
                break;
            }
        }
        let next_capture = || find_capture(bytes, start + 1).unwrap_or(bytes.len());
        let Some(len) = page_len(bytes, start) else {
            // The segment table runs past the end: maybe it took the flip.
            scan.out.get_or_insert_with(|| bytes[..at].to_vec());
            first_damage_granule.get_or_insert(scan.last_granule);
            let end = next_capture();
            let sound = |page: &[u8]| headers_sound(scan.out.as_deref().unwrap_or_default(), page);
            match corrected_page(bytes, start, end, &mut budget, &sound) {
                Some(page) => {
                    scan.keep_corrected(&page);
                    at = end;
                }
                None => at = start + 1,
            }
            continue;
        };
        let page = &bytes[start..start + len];
        if checksum_holds(page) {
            scan.keep(page);
            at = start + len;
            continue;
        }
        scan.out.get_or_insert_with(|| bytes[..at].to_vec());
        first_damage_granule.get_or_insert(scan.last_granule);
        // Flipped bits put back, in the page as its header lays it out or, when a flip in the
        // segment table moved its end, as far as the next capture pattern.
        let end = next_capture();
        let sound = |page: &[u8]| headers_sound(scan.out.as_deref().unwrap_or_default(), page);
        let exact = corrected_page(bytes, start, start + len, &mut budget, &sound)
            .map(|page| (page, start + len))
            .or_else(|| {
                (end != start + len)
                    .then(|| corrected_page(bytes, start, end, &mut budget, &sound))
                    .flatten()
                    .map(|p| (p, end))
            });
        if let Some((page, page_end)) = exact {
            scan.keep_corrected(&page);
            at = page_end;
            continue;
        }
        let next = start + len;
        let layout_whole = page[4] == 0
            && scan.last_serial == Some(serial_of(page))
            && (next == bytes.len() || bytes[next..].starts_with(CAPTURE));
        if layout_whole {
            let mut fixed = page.to_vec();
            let recomputed = checksum(&fixed);
            fixed[CRC_AT..CRC_AT + 4].copy_from_slice(&recomputed.to_le_bytes());
            if let Some(out) = scan.out.as_mut() {
                out.extend_from_slice(&fixed);
            }
            kept_damaged += 1;
            scan.in_damage = false;
            at = next;
        } else {
            // A false capture pattern or a page whose layout is broken: look for the next page
            // just after it.
            if !scan.in_damage {
                dropped += 1;
                scan.in_damage = true;
            }
            at = start + 1;
        }
    }
    scan.out.map(|bytes| Repaired {
        bytes,
        corrected: scan.corrected,
        dropped,
        kept_damaged,
        first_damage_granule: first_damage_granule.unwrap_or(0),
    })
}

/// `bytes[start..end]` as a whole page after putting back flipped bits or a damaged byte, when
/// one way of doing so that makes its checksum hold, its capture pattern right, its segment
/// table end it at `end` and `sound` accept it (the codec headers it completes are whole)
/// changes fewer bytes than every other such way.
fn corrected_page(
    bytes: &[u8],
    start: usize,
    end: usize,
    budget: &mut u64,
    sound: &dyn Fn(&[u8]) -> bool,
) -> Option<Vec<u8>> {
    let len = end.checked_sub(start)?;
    // Only a stretch that starts within two bits or one byte of a capture pattern can be a page,
    // and the search has a budget: junk full of near-captures must not make a file take minutes.
    let capture = bytes.get(start..start + 4)?;
    let capture_flips: u32 = capture.iter().zip(CAPTURE).map(|(a, b)| (a ^ b).count_ones()).sum();
    let capture_bytes_off = capture.iter().zip(CAPTURE).filter(|(a, b)| a != b).count();
    let bits = len as u64 * 8;
    if len > MAX_PAGE_LEN || (capture_flips > 2 && capture_bytes_off > 1) || *budget < bits {
        return None;
    }
    *budget -= bits;
    let page = bytes.get(start..end)?;
    if page.len() < HEADER_LEN {
        return None;
    }
    let holds = |candidate: &Vec<u8>| {
        candidate.starts_with(CAPTURE) && page_len(candidate, 0) == Some(candidate.len()) && sound(candidate)
    };
    // Corrections that change one byte first, pairs of bits in two bytes only when none of those
    // holds: a byte that took another value explains the syndrome by chance at odds of about
    // 255 · len in 2^32 (one page in 4 000 at 4 KB), a pair of bits in two bytes about one page
    // in eight. Within a tier, two that hold are a tie and the page is left as it was.
    let syndrome = checksum(page) ^ stored_checksum(page);
    let one_byte = one_byte_corrections(page, syndrome);
    let mut holding = one_byte.into_iter().filter(holds);
    match (holding.next(), holding.next()) {
        (Some(page), None) => return Some(page),
        (Some(_), Some(_)) => return None,
        _ => {}
    }
    let mut holding = two_bit_corrections(page, syndrome)?.into_iter().filter(holds);
    match (holding.next(), holding.next()) {
        (Some(page), None) => Some(page),
        _ => None,
    }
}

/// The ways of putting back one damaged byte (one flipped bit among them) that make the checksum
/// of `page`, off by `syndrome`, hold: the page itself when it already holds, a byte of the
/// stored checksum, or a byte of the rest.
/// CRC-32 as Ogg uses it (no initial value, no final mask) is linear: the stored checksum XOR
/// the one computed (the syndrome) is the checksum of the error pattern alone. An error within
/// one byte (a burst of up to eight bits, which the checksum always detects) has its own
/// syndrome at each byte of a page (the polynomial's period, 2^32 − 1 bits, is far longer than a
/// page, at most 65 307 bytes), so a single damaged byte has exactly one correction, found by
/// [`damaged_byte_corrections`]; a false match from damage elsewhere is a chance of 255 in 2^32
/// per byte of the page.
fn one_byte_corrections(page: &[u8], syndrome: u32) -> Vec<Vec<u8>> {
    if syndrome == 0 {
        return vec![page.to_vec()];
    }
    let mut corrections = Vec::new();
    // The damage may be in the stored checksum itself when the syndrome lies within one of its
    // bytes (a byte error in the data gives such a syndrome only by the same chance as above,
    // and then the two tie).
    if (0..4).any(|lane| syndrome & !(0xff << (8 * lane)) == 0) {
        let mut fixed = page.to_vec();
        fixed[CRC_AT..CRC_AT + 4].copy_from_slice(&(stored_checksum(page) ^ syndrome).to_le_bytes());
        corrections.push(fixed);
    }
    for (at, mask) in damaged_byte_corrections(page.len(), syndrome) {
        let mut fixed = page.to_vec();
        fixed[at] ^= mask;
        corrections.push(fixed);
    }
    corrections
}

/// The ways of putting back two flipped bits in two bytes that make the checksum of `page`, off
/// by `syndrome`, hold; `None` when there are more than [`MAX_CANDIDATES`]. Both bits may be in
/// the stored checksum, one there and one in the data, or both in the data: a pair of
/// single-bit syndromes that XOR to the syndrome. At page lengths the polynomial's minimum distance is 4, so other pairs can
/// share it (about one page in four for a 6 KB page), and the caller decides between them by
/// the page's layout and content. A page off by more rarely matches; when it does, it was
/// damaged data anyway, and the caller's layout checks or the decoder treat it as such.
fn two_bit_corrections(page: &[u8], syndrome: u32) -> Option<Vec<Vec<u8>>> {
    let stored = stored_checksum(page);
    // Each candidate is (data bits to flip, checksum bits to flip).
    let mut candidates: Vec<([Option<usize>; 2], u32)> = Vec::new();
    if syndrome.count_ones() == 2 {
        candidates.push(([None, None], syndrome));
    }
    let singles = single_bit_syndromes(page.len());
    let by_syndrome: std::collections::HashMap<u32, usize> = singles.iter().map(|&(bit, s)| (s, bit)).collect();
    for &(q, s_q) in &singles {
        let rest = syndrome ^ s_q;
        if rest.count_ones() == 1 {
            candidates.push(([Some(q), None], rest));
        }
        if let Some(&p) = by_syndrome.get(&rest)
            && p > q
        {
            candidates.push(([Some(p), Some(q)], 0));
        }
        if candidates.len() > MAX_CANDIDATES {
            return None;
        }
    }
    let corrections = candidates
        .into_iter()
        .map(|(bits, field)| {
            let mut fixed = page.to_vec();
            for bit in bits.into_iter().flatten() {
                fixed[bit / 8] ^= 0x80 >> (bit % 8);
            }
            fixed[CRC_AT..CRC_AT + 4].copy_from_slice(&(stored ^ field).to_le_bytes());
            fixed
        })
        .collect();
    Some(corrections)
}

/// Every byte of a page of `len` bytes (outside the stored checksum) where one damaged byte
/// explains `syndrome`, as (byte, the bits to flip in it). A byte error `m` at byte `p` has the
/// syndrome x^(8·(len − 1 − p)) · (m · x^32 mod P): the walk multiplies the syndrome by x^−8 for
/// each byte back from the last and looks it up among the 255 values of `m · x^32 mod P`.
fn damaged_byte_corrections(len: usize, syndrome: u32) -> Vec<(usize, u8)> {
    // x^−1 exists modulo P, whose constant term is 1: add P when the constant term is set, so
    // that the polynomial divides by x (P's x^32 term becomes bit 31).
    let over_x = |v: u32| if v & 1 != 0 { ((v ^ CRC_POLYNOMIAL) >> 1) | 0x8000_0000 } else { v >> 1 };
    let mut by_syndrome: Vec<(u32, u8)> =
        (1..=255u8).map(|m| ((0..32).fold(u32::from(m), |v, _| times_x(v)), m)).collect();
    by_syndrome.sort_unstable();
    let mut found = Vec::new();
    let mut walked = syndrome;
    for at in (0..len).rev() {
        if !(CRC_AT..CRC_AT + 4).contains(&at)
            && let Ok(i) = by_syndrome.binary_search_by_key(&walked, |&(s, _)| s)
        {
            found.push((at, by_syndrome[i].1));
        }
        walked = (0..8).fold(walked, |v, _| over_x(v));
    }
    found
}

/// `v · x` modulo the polynomial.
fn times_x(v: u32) -> u32 {
    if v & 0x8000_0000 != 0 { (v << 1) ^ CRC_POLYNOMIAL } else { v << 1 }
}

/// The syndrome of a single flipped bit at each bit of a page of `len` bytes outside the stored
/// checksum, as (bit index, most significant bit of each byte first; syndrome). The last bit's
/// is x^32 mod the polynomial; each bit before it multiplies by x.
fn single_bit_syndromes(len: usize) -> Vec<(usize, u32)> {
    let mut out = Vec::with_capacity(len * 8);
    let mut single = CRC_POLYNOMIAL;
    for bit in (0..len * 8).rev() {
        if !(CRC_AT * 8..(CRC_AT + 4) * 8).contains(&bit) {
            out.push((bit, single));
        }
        single = times_x(single);
    }
    out
}

/// Whether the codec headers that a corrected header `page` completes, read after the stream's
/// pages `before`, are whole (see [`vorbis_setup::headers_sound`]). A page of audio (its granule
/// position past 0) is not judged: its packets are the decoder's to accept or reject.
fn headers_sound(before: &[u8], page: &[u8]) -> bool {
    if granule_of(page) != 0 {
        return true;
    }
    let mut stream = Vec::with_capacity(before.len() + page.len());
    stream.extend_from_slice(before);
    stream.extend_from_slice(page);
    vorbis_setup::headers_sound(&stream)
}

fn serial_of(page: &[u8]) -> [u8; 4] {
    [page[14], page[15], page[16], page[17]]
}

fn granule_of(page: &[u8]) -> u64 {
    u64::from_le_bytes([page[6], page[7], page[8], page[9], page[10], page[11], page[12], page[13]])
}

pub(crate) fn find_capture(bytes: &[u8], from: usize) -> Option<usize> {
    bytes.get(from..)?.windows(CAPTURE.len()).position(|w| w == CAPTURE).map(|p| from + p)
}

/// Length of the page at `start` from its header, when it fits in `bytes`.
pub(crate) fn page_len(bytes: &[u8], start: usize) -> Option<usize> {
    let header = bytes.get(start..start + HEADER_LEN)?;
    let segments = usize::from(header[HEADER_LEN - 1]);
    let table = bytes.get(start + HEADER_LEN..start + HEADER_LEN + segments)?;
    let len = HEADER_LEN + segments + table.iter().map(|&s| usize::from(s)).sum::<usize>();
    (start + len <= bytes.len()).then_some(len)
}

fn checksum_holds(page: &[u8]) -> bool {
    checksum(page) == stored_checksum(page)
}

fn stored_checksum(page: &[u8]) -> u32 {
    u32::from_le_bytes([page[CRC_AT], page[CRC_AT + 1], page[CRC_AT + 2], page[CRC_AT + 3]])
}

/// The page's checksum, computed with its checksum field as zeros.
fn checksum(page: &[u8]) -> u32 {
    let mut crc = Crc32::new(0);
    crc.process_buf_bytes(&page[..CRC_AT]);
    crc.process_buf_bytes(&[0; 4]);
    crc.process_buf_bytes(&page[CRC_AT + 4..]);
    crc.crc()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with `body` and a correct checksum.
    fn page(body: &[u8], sequence: u32) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(CAPTURE);
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&0u64.to_le_bytes());
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(&sequence.to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        // Lacing: 255 for each full segment, then the remainder (a packet ending in the page).
        let lacing: Vec<u8> = std::iter::repeat_n(255u8, body.len() / 255).chain([(body.len() % 255) as u8]).collect();
        p.push(u8::try_from(lacing.len()).expect("body under 65 025 bytes"));
        p.extend_from_slice(&lacing);
        p.extend_from_slice(body);
        let mut crc = Crc32::new(0);
        crc.process_buf_bytes(&p);
        p[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.crc().to_le_bytes());
        p
    }

    #[test]
    fn intact_streams_are_left_alone_and_damaged_pages_kept_or_dropped() {
        let pages = [page(b"first", 0), page(b"second OggS inside", 1), page(b"third", 2)];
        let whole = pages.concat();
        assert!(repair(&whole).is_none());
        // Damage in a page's data beyond two bits or one byte: the page is kept with a new
        // checksum.
        let mut damaged = whole.clone();
        let second = pages[0].len();
        damaged[second + HEADER_LEN + 3] ^= 0xff;
        damaged[second + HEADER_LEN + 6] ^= 0x5a;
        let r = repair(&damaged).expect("a page is damaged");
        assert_eq!((r.dropped, r.kept_damaged), (0, 1));
        assert_eq!(r.bytes.len(), whole.len());
        assert!(repair(&r.bytes).is_none(), "every checksum holds now");
        // Its segment table damaged in two bytes: the layout is broken, so the page is dropped.
        let mut broken = whole.clone();
        broken[second + HEADER_LEN - 1] ^= 0x07;
        broken[second + HEADER_LEN] ^= 0x30;
        let r = repair(&broken).expect("a page is broken");
        assert_eq!((r.dropped, r.kept_damaged), (1, 0));
        assert_eq!(r.bytes, [pages[0].clone(), pages[2].clone()].concat());
        // A stream cut inside its last page keeps the whole pages before it.
        let r = repair(&whole[..whole.len() - 2]).expect("cut short");
        assert_eq!(r.bytes, [pages[0].clone(), pages[1].clone()].concat());
    }

    #[test]
    fn one_flipped_bit_or_damaged_byte_anywhere_in_a_page_is_put_back() {
        let body: Vec<u8> = (0..600u32).map(|i| (i * 7 + 3) as u8).collect();
        let pages = [page(b"first", 0), page(&body, 1), page(b"third", 2)];
        let whole = pages.concat();
        let second = pages[0].len();
        // Every byte of the middle page (capture pattern, header, segment table, stored checksum
        // and data): each of its bits flipped, and the byte replaced by values several bits away.
        let masks = (0..8).map(|bit| 1u8 << bit).chain([0xff, 0xa5, 0x3c, 0x81, 0x0e]);
        for mask in masks {
            for byte in second..second + pages[1].len() {
                let mut damaged = whole.clone();
                damaged[byte] ^= mask;
                let r = repair(&damaged).unwrap_or_else(|| panic!("byte {byte} ^ {mask:#x}: damage unseen"));
                assert_eq!((r.corrected, r.dropped, r.kept_damaged), (1, 0, 0), "byte {byte} ^ {mask:#x}");
                assert!(r.bytes == whole, "byte {byte} ^ {mask:#x}: not restored");
            }
            // One in each of two pages: both put back.
            let mut damaged = whole.clone();
            damaged[second + 100] ^= mask;
            damaged[second + pages[1].len() + HEADER_LEN + 2] ^= mask.rotate_left(3);
            let r = repair(&damaged).expect("damaged");
            assert_eq!((r.corrected, r.bytes == whole), (2, true), "{mask:#x} in two pages");
        }
        // Three flips in one page's data are beyond what the checksum can place: the page is
        // kept as damaged data.
        let mut damaged = whole.clone();
        damaged[second + 100] ^= 0x10;
        damaged[second + 400] ^= 0x02;
        damaged[second + 500] ^= 0x40;
        let r = repair(&damaged).expect("damaged");
        assert_eq!((r.corrected, r.kept_damaged), (0, 1));
    }

    #[test]
    fn a_damaged_byte_in_a_long_page_wins_over_pairs_of_bits_that_share_its_checksum() {
        // In a 6 KB page about one damaged byte in six also matches some pair of flipped bits in
        // two other bytes; the byte is put back.
        let body: Vec<u8> = (0..6000u32).map(|i| (i * 13 + i / 7) as u8).collect();
        let whole = page(&body, 1);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        for _ in 0..120 {
            let (at, mask) = (next() % whole.len(), (next() % 255 + 1) as u8);
            let mut damaged = whole.clone();
            damaged[at] ^= mask;
            let r = repair(&damaged).unwrap_or_else(|| panic!("byte {at} ^ {mask:#x}: damage unseen"));
            assert_eq!((r.corrected, r.bytes == whole), (1, true), "byte {at} ^ {mask:#x}");
        }
    }

    #[test]
    fn the_damaged_byte_walk_finds_the_checksum_of_each_byte_error() {
        let body: Vec<u8> = (0..80u32).map(|i| (i * 29) as u8).collect();
        let p = page(&body, 3);
        for at in (0..p.len()).filter(|at| !(CRC_AT..CRC_AT + 4).contains(at)) {
            for mask in [0x01u8, 0x80, 0xff, 0x96] {
                let mut e = vec![0u8; p.len()];
                e[at] = mask;
                assert_eq!(damaged_byte_corrections(p.len(), checksum(&e)), vec![(at, mask)], "byte {at} ^ {mask:#x}");
            }
        }
    }

    #[test]
    fn two_flipped_bits_in_a_page_are_put_back_or_left_never_miscorrected() {
        let body: Vec<u8> = (0..3000u32).map(|i| (i * 31 + 7) as u8).collect();
        let pages = [page(b"first", 0), page(&body, 1), page(b"third", 2)];
        let whole = pages.concat();
        let (second, len) = (pages[0].len(), pages[1].len());
        let mut rng = crate::testkit::synth_library::Rng::new(0x9e37_79b9);
        let mut restored = 0;
        let trials = 400;
        for _ in 0..trials {
            // Anywhere in the page except the capture pattern and the segment table (a flip
            // there moves the page's end: the span then runs to the next capture pattern, tested
            // with one bit above).
            let pick = |rng: &mut crate::testkit::synth_library::Rng| {
                let in_page = 4 + (rng.uniform() * (len - 4) as f32) as usize % (len - 4);
                if (HEADER_LEN - 1..HEADER_LEN + 12).contains(&in_page) { second + 10 } else { second + in_page }
            };
            let (a, b) = (pick(&mut rng), pick(&mut rng));
            let (bit_a, bit_b) = ((rng.uniform() * 8.0) as u32 % 8, (rng.uniform() * 8.0) as u32 % 8);
            if a == b && bit_a == bit_b {
                continue;
            }
            let mut damaged = whole.clone();
            damaged[a] ^= 1 << bit_a;
            damaged[b] ^= 1 << bit_b;
            let r = repair(&damaged).expect("damaged");
            if r.corrected == 1 {
                assert!(r.bytes == whole, "bytes {a}:{bit_a} and {b}:{bit_b} put back wrongly");
                restored += 1;
            } else {
                assert_eq!(r.kept_damaged, 1, "bytes {a}:{bit_a} and {b}:{bit_b}");
            }
        }
        assert!(restored >= trials * 9 / 10, "{restored} of {trials} restored");
    }

    #[test]
    fn the_single_bit_syndromes_are_those_of_the_checksum() {
        // The checksum is linear, and the syndrome walk agrees with the checksum of each
        // single-bit error pattern, skipping the stored checksum's bits.
        let body: Vec<u8> = (0..64u32).map(|i| (i * 13) as u8).collect();
        let p = page(&body, 5);
        let singles = single_bit_syndromes(p.len());
        assert_eq!(singles.len(), (p.len() - 4) * 8);
        for (bit, syndrome) in singles {
            assert!(!(CRC_AT * 8..(CRC_AT + 4) * 8).contains(&bit));
            let mut e = vec![0u8; p.len()];
            e[bit / 8] = 0x80 >> (bit % 8);
            assert_eq!(checksum(&e), syndrome, "bit {bit}");
            let mut flipped = p.clone();
            flipped[bit / 8] ^= 0x80 >> (bit % 8);
            assert_eq!(checksum(&flipped) ^ checksum(&p), syndrome, "bit {bit}");
        }
    }
}
