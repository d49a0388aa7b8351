//! FLAC frames whose data fails their checksum, handled before the stream is opened the way a
//! player handles them: decoded anyway. The FLAC reader takes a frame whose CRC-16 fails for a
//! false frame start and drops it with the next, so every flipped bit cost a frame (about 0.1 s)
//! and 200 of them a fifth of a minute-long track. Here each frame is found from its header
//! (sync code, a header CRC-8 that holds, and the frame or sample number that follows the one
//! before), and a frame whose CRC-16 fails gets a recomputed one, so the decoder decodes it (a
//! short glitch where the bit flipped) or rejects it alone. Written here because the reader offers
//! no option for it; the checksums are FLAC's (CRC-8 poly 0x07 from symphonia, CRC-16 poly 0x8005 from
//! the `crc` crate).

use crc::{CRC_16_UMTS, Crc, Table};
use symphonia::core::checksum::Crc8Ccitt;
use symphonia::core::io::Monitor;

/// FLAC's frame CRC-16 (polynomial 0x8005, no reflection; the catalogue's name is UMTS), with
/// sixteen tables: every byte of the file passes through it, so it runs several times faster than a
/// byte-at-a-time table.
const FRAME_CRC: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_UMTS);

const MAGIC: &[u8; 4] = b"fLaC";
/// How far ahead of the last frame a frame number may jump (frames whose header was destroyed).
const MAX_FRAME_GAP: u64 = 64;

/// What the frame scan did.
#[derive(Debug)]
pub(crate) struct Repaired {
    /// The stream to open.
    pub bytes: Vec<u8>,
    /// Frames given a recomputed CRC-16.
    pub fixed: usize,
    /// Sample position of the first frame fixed.
    pub first_fixed_sample: u64,
}

/// Whether `bytes` start like a FLAC stream.
pub(crate) fn is_flac(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// A frame header found at some offset.
#[derive(Debug, Clone, Copy)]
struct Header {
    at: usize,
    /// Frame number (fixed block size) or sample number (variable).
    sequence: u64,
    variable: bool,
    block_size: u64,
}

/// `bytes` with every frame's CRC-16 holding (see the module notes), or `None` when nothing was
/// fixed.
pub(crate) fn repair(bytes: &[u8]) -> Option<Repaired> {
    let first_frame = first_frame_offset(bytes)?;
    let mut frames: Vec<Header> = Vec::new();
    let mut i = first_frame;
    while i + 1 < bytes.len() {
        let Some(ff) = memchr::memchr(0xff, &bytes[i..bytes.len() - 1]) else { break };
        i += ff;
        if bytes[i + 1] & 0xfe == 0xf8
            && let Some(h) = read_header(bytes, i)
        {
            let follows = match frames.last() {
                None => h.sequence == 0,
                Some(last) if last.variable != h.variable => false,
                Some(last) if h.variable => {
                    h.sequence > last.sequence && h.sequence <= last.sequence + MAX_FRAME_GAP * last.block_size
                }
                Some(last) => h.sequence > last.sequence && h.sequence <= last.sequence + MAX_FRAME_GAP,
            };
            if follows {
                frames.push(h);
                i += 2;
                continue;
            }
        }
        i += 1;
    }
    let mut out: Option<Vec<u8>> = None;
    let (mut fixed, mut first_fixed_sample) = (0usize, 0u64);
    // The last frame is left alone: what follows it (a tag, padding) is not known.
    for pair in frames.windows(2) {
        let (frame, next) = (pair[0], pair[1]);
        let whole = if frame.variable {
            next.sequence == frame.sequence + frame.block_size
        } else {
            next.sequence == frame.sequence + 1
        };
        // A frame whose successor's header was lost has no known end.
        if !whole || next.at < frame.at + 4 {
            continue;
        }
        let body = &bytes[frame.at..next.at - 2];
        let stored = u16::from_be_bytes([bytes[next.at - 2], bytes[next.at - 1]]);
        let computed = FRAME_CRC.checksum(body);
        if computed != stored {
            let out = out.get_or_insert_with(|| bytes.to_vec());
            out[next.at - 2..next.at].copy_from_slice(&computed.to_be_bytes());
            if fixed == 0 {
                first_fixed_sample = if frame.variable { frame.sequence } else { frame.sequence * frame.block_size };
            }
            fixed += 1;
        }
    }
    out.map(|bytes| Repaired { bytes, fixed, first_fixed_sample })
}

/// Offset of the first frame: after the magic and the metadata blocks.
fn first_frame_offset(bytes: &[u8]) -> Option<usize> {
    let mut at = MAGIC.len();
    loop {
        let header = bytes.get(at..at + 4)?;
        let len = (usize::from(header[1]) << 16) | (usize::from(header[2]) << 8) | usize::from(header[3]);
        at += 4 + len;
        if header[0] & 0x80 != 0 {
            return (at < bytes.len()).then_some(at);
        }
    }
}

/// The frame header at `at`, when its fields are valid and its CRC-8 holds.
fn read_header(bytes: &[u8], at: usize) -> Option<Header> {
    let variable = bytes[at + 1] & 1 == 1;
    let desc = bytes.get(at + 2..at + 4)?;
    let (block_code, rate_code) = (desc[0] >> 4, desc[0] & 0x0f);
    let (channels, sample_size, reserved) = (desc[1] >> 4, (desc[1] >> 1) & 0x07, desc[1] & 1);
    if block_code == 0 || rate_code == 0x0f || channels > 0x0a || sample_size == 0x03 || reserved != 0 {
        return None;
    }
    let mut p = at + 4;
    let (sequence, used) = utf8_number(bytes.get(p..)?)?;
    p += used;
    let block_size = match block_code {
        0x1 => 192,
        0x2..=0x5 => 576 << (block_code - 2),
        0x6 => {
            p += 1;
            u64::from(*bytes.get(p - 1)?) + 1
        }
        0x7 => {
            p += 2;
            u64::from(u16::from_be_bytes([*bytes.get(p - 2)?, *bytes.get(p - 1)?])) + 1
        }
        _ => 256 << (block_code - 8),
    };
    p += match rate_code {
        0x0c => 1,
        0x0d | 0x0e => 2,
        _ => 0,
    };
    let stored = *bytes.get(p)?;
    let mut crc = Crc8Ccitt::new(0);
    crc.process_buf_bytes(&bytes[at..p]);
    (crc.crc() == stored).then_some(Header { at, sequence, variable, block_size })
}

/// A FLAC "UTF-8" coded number and how many bytes it took.
fn utf8_number(bytes: &[u8]) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = match first.leading_ones() {
        0 => return Some((u64::from(first), 1)),
        n @ 2..=7 => n as usize,
        _ => return None,
    };
    let mut value = u64::from(first & (0x7f >> len));
    for &b in bytes.get(1..len)? {
        if b & 0xc0 != 0x80 {
            return None;
        }
        value = (value << 6) | u64::from(b & 0x3f);
    }
    Some((value, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_numbers_read_as_flac_codes_them() {
        assert_eq!(utf8_number(&[0x05]), Some((5, 1)));
        assert_eq!(utf8_number(&[0xc2, 0x80]), Some((0x80, 2)));
        assert_eq!(utf8_number(&[0xe0, 0xa0, 0x80]), Some((0x800, 3)));
        assert_eq!(utf8_number(&[0x80]), None, "a continuation byte cannot start a number");
        assert_eq!(utf8_number(&[0xc2, 0x00]), None);
    }
}
