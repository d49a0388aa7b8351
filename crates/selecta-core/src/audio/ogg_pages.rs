//! Ogg pages with a bad checksum, dropped before the stream is opened, the way a player skips
//! them. The Ogg reader skips a damaged page in the middle of a stream, but not one among the
//! pages it reads while opening the stream (the first audio pages after the codec headers), and
//! a file then failed as a whole for a few flipped bytes. Written here because the reader offers
//! no option for it; the checksum is symphonia's (CRC-32, polynomial 0x04c11db7, as Ogg defines).

use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

const CAPTURE: &[u8; 4] = b"OggS";
/// Bytes of a page header before its segment table.
const HEADER_LEN: usize = 27;
/// Offset of the checksum in the page header.
const CRC_AT: usize = 22;

/// Whether `bytes` start like an Ogg stream.
pub(crate) fn is_ogg(bytes: &[u8]) -> bool {
    bytes.starts_with(CAPTURE)
}

/// `bytes` without the pages whose checksum fails (and without bytes between pages that belong to
/// none), or `None` when every page is intact. The second value counts the damaged stretches
/// (runs of bad pages between good ones; a capture pattern inside a bad page's data is not
/// counted again).
pub(crate) fn without_damaged_pages(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut kept: Vec<(usize, usize)> = Vec::new();
    let mut dropped = 0usize;
    let mut in_damage = false;
    let mut at = 0usize;
    let mut clean = true;
    while at < bytes.len() {
        let Some(start) = find_capture(bytes, at) else {
            // Trailing bytes that hold no page.
            clean = false;
            break;
        };
        if start != at {
            clean = false;
        }
        match page_len(bytes, start) {
            Some(len) if checksum_holds(&bytes[start..start + len]) => {
                kept.push((start, len));
                at = start + len;
                in_damage = false;
            }
            // A false capture pattern or a damaged page: look for the next one just after it.
            _ => {
                clean = false;
                if !in_damage && page_len(bytes, start).is_some() {
                    dropped += 1;
                    in_damage = true;
                }
                at = start + 1;
            }
        }
    }
    if clean {
        return None;
    }
    let mut out = Vec::with_capacity(kept.iter().map(|(_, len)| len).sum());
    for (start, len) in kept {
        out.extend_from_slice(&bytes[start..start + len]);
    }
    Some((out, dropped))
}

fn find_capture(bytes: &[u8], from: usize) -> Option<usize> {
    bytes.get(from..)?.windows(CAPTURE.len()).position(|w| w == CAPTURE).map(|p| from + p)
}

/// Length of the page at `start` from its header, when it fits in `bytes`.
fn page_len(bytes: &[u8], start: usize) -> Option<usize> {
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
    fn intact_streams_are_left_alone_and_damaged_pages_dropped() {
        let pages = [page(b"first", 0), page(b"second OggS inside", 1), page(b"third", 2)];
        let whole = pages.concat();
        assert!(without_damaged_pages(&whole).is_none());
        let mut damaged = whole.clone();
        let second = pages[0].len();
        damaged[second + HEADER_LEN + 3] ^= 0xff;
        let (repaired, dropped) = without_damaged_pages(&damaged).expect("a page is damaged");
        assert_eq!(dropped, 1);
        assert_eq!(repaired, [pages[0].clone(), pages[2].clone()].concat());
        // A stream cut inside its last page keeps the whole pages before it.
        let (cut, _) = without_damaged_pages(&whole[..whole.len() - 2]).expect("cut short");
        assert_eq!(cut, [pages[0].clone(), pages[1].clone()].concat());
    }
}
