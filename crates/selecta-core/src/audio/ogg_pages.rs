//! Ogg pages with a bad checksum, handled before the stream is opened, the way a player handles
//! them: a page whose layout is whole keeps its packets (the decoder decodes or rejects each),
//! a page whose layout is broken is dropped. The Ogg reader drops every page with a bad checksum
//! — a second of audio for one flipped bit — and refuses the whole file when the page is among
//! those it reads while opening the stream (the first audio pages after the codec headers).
//! Written here because the reader offers no option for it; the checksum is symphonia's (CRC-32,
//! polynomial 0x04c11db7, as Ogg defines).

use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

const CAPTURE: &[u8; 4] = b"OggS";
/// Bytes of a page header before its segment table.
pub(crate) const HEADER_LEN: usize = 27;
/// Offset of the checksum in the page header.
const CRC_AT: usize = 22;

/// Whether `bytes` start like an Ogg stream.
pub(crate) fn is_ogg(bytes: &[u8]) -> bool {
    bytes.starts_with(CAPTURE)
}

/// What the page scan did to a stream with damaged pages.
#[derive(Debug)]
pub(crate) struct Repaired {
    /// The stream to open.
    pub bytes: Vec<u8>,
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

/// `bytes` with every page's damage handled (see [`Repaired`]), or `None` when every page is
/// intact.
pub(crate) fn repair(bytes: &[u8]) -> Option<Repaired> {
    // Built from the first damage on: an intact stream (every file but a damaged one) is only
    // read, never copied.
    let mut out: Option<Vec<u8>> = None;
    let (mut dropped, mut kept_damaged) = (0usize, 0usize);
    let mut in_damage = false;
    let mut at = 0usize;
    let mut last_serial: Option<[u8; 4]> = None;
    let mut last_granule = 0u64;
    let mut first_damage_granule: Option<u64> = None;
    while at < bytes.len() {
        let Some(start) = find_capture(bytes, at) else {
            // Trailing bytes that hold no page.
            out.get_or_insert_with(|| bytes[..at].to_vec());
            break;
        };
        if start != at {
            out.get_or_insert_with(|| bytes[..at].to_vec());
            first_damage_granule.get_or_insert(last_granule);
        }
        let Some(len) = page_len(bytes, start) else {
            out.get_or_insert_with(|| bytes[..at].to_vec());
            first_damage_granule.get_or_insert(last_granule);
            at = start + 1;
            continue;
        };
        let page = &bytes[start..start + len];
        let serial: [u8; 4] = [page[14], page[15], page[16], page[17]];
        if checksum_holds(page) {
            if let Some(out) = out.as_mut() {
                out.extend_from_slice(page);
            }
            last_serial = Some(serial);
            last_granule = u64::from_le_bytes(page[6..14].try_into().unwrap_or([0; 8]));
            in_damage = false;
            at = start + len;
            continue;
        }
        let out = out.get_or_insert_with(|| bytes[..at].to_vec());
        first_damage_granule.get_or_insert(last_granule);
        let next = start + len;
        let layout_whole =
            page[4] == 0 && last_serial == Some(serial) && (next == bytes.len() || bytes[next..].starts_with(CAPTURE));
        if layout_whole {
            let mut fixed = page.to_vec();
            fixed[CRC_AT..CRC_AT + 4].copy_from_slice(&[0; 4]);
            let mut crc = Crc32::new(0);
            crc.process_buf_bytes(&fixed);
            fixed[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.crc().to_le_bytes());
            out.extend_from_slice(&fixed);
            kept_damaged += 1;
            in_damage = false;
            at = next;
        } else {
            // A false capture pattern or a page whose layout is broken: look for the next page
            // just after it.
            if !in_damage {
                dropped += 1;
                in_damage = true;
            }
            at = start + 1;
        }
    }
    out.map(|bytes| Repaired { bytes, dropped, kept_damaged, first_damage_granule: first_damage_granule.unwrap_or(0) })
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
    let stored = u32::from_le_bytes([page[CRC_AT], page[CRC_AT + 1], page[CRC_AT + 2], page[CRC_AT + 3]]);
    let mut crc = Crc32::new(0);
    crc.process_buf_bytes(&page[..CRC_AT]);
    crc.process_buf_bytes(&[0; 4]);
    crc.process_buf_bytes(&page[CRC_AT + 4..]);
    crc.crc() == stored
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
        p.push(1);
        p.push(u8::try_from(body.len()).expect("short body"));
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
        // Damage in a page's data: the page is kept with a new checksum.
        let mut damaged = whole.clone();
        let second = pages[0].len();
        damaged[second + HEADER_LEN + 3] ^= 0xff;
        let r = repair(&damaged).expect("a page is damaged");
        assert_eq!((r.dropped, r.kept_damaged), (0, 1));
        assert_eq!(r.bytes.len(), whole.len());
        assert!(repair(&r.bytes).is_none(), "every checksum holds now");
        // Damage in its segment table: the layout is broken, so the page is dropped.
        let mut broken = whole.clone();
        broken[second + HEADER_LEN - 1] ^= 0x02;
        let r = repair(&broken).expect("a page is broken");
        assert_eq!((r.dropped, r.kept_damaged), (1, 0));
        assert_eq!(r.bytes, [pages[0].clone(), pages[2].clone()].concat());
        // A stream cut inside its last page keeps the whole pages before it.
        let r = repair(&whole[..whole.len() - 2]).expect("cut short");
        assert_eq!(r.bytes, [pages[0].clone(), pages[1].clone()].concat());
    }
}
