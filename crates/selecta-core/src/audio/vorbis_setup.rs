//! The codebooks of every Vorbis setup header in an Ogg stream, checked before the stream is
//! opened. The Ogg reader and the Vorbis decoder compute a codebook's lookup-table size with
//! floating point and assert that it came out right; a damaged header (a flipped bit in a
//! codebook's entry count or dimensions) makes the assertion fail, and a panic takes the whole
//! scan down (in wasm32 it aborts the module). A damaged header can also describe codebooks
//! whose tables need gigabytes. Neither reader offers a way to refuse such a header gracefully,
//! so it is read here first, as libvorbis reads it, and a header either would trip over is
//! refused as damaged data.
//!
//! The floors are read too: the decoder divides by the distance between neighbouring floor-1 X
//! positions, so a damaged list that names one position twice (libvorbis refuses such a header)
//! is a division by zero on the first packet. Everything after the floors is parsed by the
//! readers without asserting. The same check runs on a Matroska file's Vorbis setup header.

use super::ogg_pages;

/// Largest codebook libvorbis accepts: `ilog(dimensions) + ilog(entries)` at most this many bits.
const MAX_CODEBOOK_BITS: u32 = 24;
/// Bound on the lookup values of all codebooks of one header together (entries × dimensions
/// summed), so that the decoder's tables stay within tens of megabytes. Encoders write a few
/// hundred thousand at most.
const MAX_HEADER_VALUES: u64 = 1 << 24;
/// The codebook synchronisation pattern, "BCV" read least significant byte first.
const CODEBOOK_SYNC: u32 = 0x56_43_42;

/// `Err(reason)` when a Vorbis setup header in `bytes` (an Ogg stream) is damaged in a way the
/// decoder cannot survive; `Ok` otherwise, including for streams that are not Vorbis and for
/// headers damaged in ways the decoder reports itself.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    for (_, setup) in header_pairs(bytes) {
        check_setup(&setup)?;
    }
    Ok(())
}

/// Whether every Vorbis setup header that `stream` (an Ogg stream's first pages) holds whole is
/// one the decoder accepts: it passes [`check_setup`], and a decoder is made from it and its
/// identification header (codeword lengths that make a whole Huffman tree, floors, residues,
/// mappings and modes within range). What the checksum of a damaged header page cannot tell
/// apart, this can: a flipped codeword length leaves a tree over- or underspecified.
pub(crate) fn headers_sound(stream: &[u8]) -> bool {
    header_pairs(stream).iter().all(|(ident, setup)| check_setup(setup).is_ok() && decoder_accepts(ident, setup))
}

fn decoder_accepts(ident: &[u8], setup: &[u8]) -> bool {
    use symphonia::core::codecs::audio::well_known::CODEC_ID_VORBIS;
    use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoderOptions};
    let mut extra = Vec::with_capacity(ident.len() + setup.len());
    extra.extend_from_slice(ident);
    extra.extend_from_slice(setup);
    let mut params = AudioCodecParameters::new();
    params.for_codec(CODEC_ID_VORBIS).with_extra_data(extra.into_boxed_slice());
    symphonia::default::codecs::VorbisDecoder::try_new(&params, &AudioDecoderOptions::default()).is_ok()
}

/// [`check`] for one setup header packet (`\x05vorbis…`).
pub(crate) fn check_setup(setup: &[u8]) -> Result<(), String> {
    if !setup.starts_with(b"\x05vorbis") {
        return Ok(());
    }
    let mut bits = Bits { data: &setup[7..], at: 0 };
    if check_codebooks(&mut bits)? {
        check_floors(&mut bits)?;
    }
    Ok(())
}

/// Most X positions a floor 1 may list, its two implicit ones included (libvorbis's limit).
const MAX_FLOOR1_POSITIONS: usize = 65;

/// Walk the time-domain placeholders and the floors after the codebooks; a floor 1 whose X
/// positions repeat one is refused.
fn check_floors(bits: &mut Bits<'_>) -> Result<(), String> {
    let Some(times) = bits.read(6) else { return Ok(()) };
    if !bits.skip(u64::from(times + 1) * 16) {
        return Ok(());
    }
    let Some(floors) = bits.read(6) else { return Ok(()) };
    for floor in 0..=floors {
        match bits.read(16) {
            Some(0) => {
                // Order, rate, bark map size, amplitude bits and offset, then the book list.
                if !bits.skip(8 + 16 + 16 + 6 + 8) {
                    return Ok(());
                }
                let Some(books) = bits.read(4) else { return Ok(()) };
                if !bits.skip(u64::from(books + 1) * 8) {
                    return Ok(());
                }
            }
            Some(1) => {
                let Some(partitions) = bits.read(5) else { return Ok(()) };
                let mut classes_of = Vec::with_capacity(partitions as usize);
                for _ in 0..partitions {
                    let Some(class) = bits.read(4) else { return Ok(()) };
                    classes_of.push(class as usize);
                }
                let class_count = classes_of.iter().max().map_or(0, |m| m + 1);
                let mut dimensions = Vec::with_capacity(class_count);
                for _ in 0..class_count {
                    let (Some(dims), Some(subclasses)) = (bits.read(3), bits.read(2)) else { return Ok(()) };
                    dimensions.push(dims as usize + 1);
                    let master = if subclasses > 0 { 8 } else { 0 };
                    if !bits.skip(master + (1u64 << subclasses) * 8) {
                        return Ok(());
                    }
                }
                let (Some(_multiplier), Some(range_bits)) = (bits.read(2), bits.read(4)) else { return Ok(()) };
                let mut positions = vec![0u32, 1 << range_bits];
                for class in classes_of {
                    for _ in 0..dimensions[class] {
                        let Some(x) = bits.read(range_bits) else { return Ok(()) };
                        positions.push(x);
                    }
                }
                if positions.len() > MAX_FLOOR1_POSITIONS {
                    return Err(format!("floor {floor} lists {} positions", positions.len()));
                }
                positions.sort_unstable();
                if let Some(pair) = positions.windows(2).find(|w| w[0] == w[1]) {
                    return Err(format!("floor {floor} lists the position {} twice", pair[0]));
                }
            }
            // The decoder refuses other floor types itself.
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// The identification header (first packet) and the setup header (third packet) of every Vorbis
/// logical stream, reassembled from its pages.
fn header_pairs(bytes: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    /// A logical stream's header packets read so far.
    struct Stream {
        serial: [u8; 4],
        packets_done: usize,
        partial: Vec<u8>,
        ident: Vec<u8>,
    }
    let mut streams: Vec<Stream> = Vec::new();
    let mut setups = Vec::new();
    let mut at = 0;
    while let Some(start) = ogg_pages::find_capture(bytes, at) {
        let Some(len) = ogg_pages::page_len(bytes, start) else {
            at = start + 1;
            continue;
        };
        at = start + len;
        let page = &bytes[start..start + len];
        let serial: [u8; 4] = [page[14], page[15], page[16], page[17]];
        let beginning = page[5] & 0x02 != 0;
        let continued = page[5] & 0x01 != 0;
        let index = match streams.iter().position(|s| s.serial == serial) {
            // A new stream of a chained file may reuse a serial: its beginning page starts over.
            Some(i) if beginning => {
                streams[i] = Stream { serial, packets_done: 0, partial: Vec::new(), ident: Vec::new() };
                i
            }
            Some(i) => i,
            None if beginning => {
                streams.push(Stream { serial, packets_done: 0, partial: Vec::new(), ident: Vec::new() });
                streams.len() - 1
            }
            None => continue,
        };
        let stream = &mut streams[index];
        if stream.packets_done >= 3 {
            continue;
        }
        if !continued {
            stream.partial.clear();
        }
        let segments = usize::from(page[ogg_pages::HEADER_LEN - 1]);
        let table = &page[ogg_pages::HEADER_LEN..ogg_pages::HEADER_LEN + segments];
        let mut data_at = ogg_pages::HEADER_LEN + segments;
        for &lace in table {
            let lace = usize::from(lace);
            stream.partial.extend_from_slice(&page[data_at..data_at + lace]);
            data_at += lace;
            if lace == 255 {
                continue;
            }
            let packet = std::mem::take(&mut stream.partial);
            stream.packets_done += 1;
            match stream.packets_done {
                1 if packet.starts_with(b"\x01vorbis") => stream.ident = packet,
                1 => {
                    // Not Vorbis: no header of this stream is read.
                    stream.packets_done = 3;
                    break;
                }
                3 => {
                    if !stream.ident.is_empty() && packet.starts_with(b"\x05vorbis") {
                        setups.push((std::mem::take(&mut stream.ident), packet));
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    setups
}

/// Walk the codebooks of one setup header the way the decoder does: `Ok(true)` when they were
/// read whole (the floors follow), `Ok(false)` when the header ends or loses its sync first
/// (the decoder refuses it itself).
fn check_codebooks(bits: &mut Bits<'_>) -> Result<bool, String> {
    let Some(count) = bits.read(8) else { return Ok(false) };
    let mut header_values = 0u64;
    for book in 0..=count {
        // A header that ends early or loses its sync is refused by the decoder itself.
        if bits.read(24) != Some(CODEBOOK_SYNC) {
            return Ok(false);
        }
        let (Some(dimensions), Some(entries), Some(ordered)) = (bits.read(16), bits.read(24), bits.read(1)) else {
            return Ok(false);
        };
        if ilog(dimensions) + ilog(entries) > MAX_CODEBOOK_BITS {
            return Err(format!("codebook {book} claims {entries} entries of {dimensions} dimensions"));
        }
        header_values += u64::from(entries) * u64::from(dimensions.max(1));
        if header_values > MAX_HEADER_VALUES {
            return Err(format!("its codebooks claim {header_values} lookup values in all"));
        }
        if !skip_codeword_lengths(bits, entries, ordered == 1).map_err(|e| format!("codebook {book}: {e}"))? {
            return Ok(false);
        }
        let Some(lookup_type) = bits.read(4) else { return Ok(false) };
        let values = match lookup_type {
            0 => continue,
            1 => match decoders_lookup1_values(entries, dimensions) {
                Some(values) => values,
                None => {
                    return Err(format!(
                        "codebook {book}'s lookup table ({entries} entries of {dimensions} dimensions) has no size"
                    ));
                }
            },
            2 => entries * dimensions,
            // The decoder refuses other lookup types itself.
            _ => return Ok(false),
        };
        // Minimum, delta, value width, sequence flag, then the multiplicands.
        let (Some(_), Some(_), Some(width), Some(_)) = (bits.read(32), bits.read(32), bits.read(4), bits.read(1))
        else {
            return Ok(false);
        };
        if !bits.skip(u64::from(values) * u64::from(width + 1)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Skip a codebook's codeword lengths: `Ok(false)` when the header ends or the list is
/// inconsistent (the decoder reports both), an error for lengths the decoder would panic on.
fn skip_codeword_lengths(bits: &mut Bits<'_>, entries: u32, ordered: bool) -> Result<bool, String> {
    if ordered {
        // Runs of entries with lengths first, first + 1, …: a codeword is at most 32 bits
        // long, and symphonia's decoder asserts (or indexes past its table) on a longer one
        // instead of refusing it.
        let Some(first) = bits.read(5) else { return Ok(false) };
        let mut length = first + 1;
        let mut entry = 0u32;
        while entry < entries {
            let Some(run) = bits.read(ilog(entries - entry)) else { return Ok(false) };
            if run > 0 && length > 32 {
                return Err(format!("{run} codewords are {length} bits long (at most 32)"));
            }
            entry += run;
            length += 1;
        }
        return Ok(entry == entries);
    }
    let Some(sparse) = bits.read(1) else { return Ok(false) };
    if sparse == 0 {
        return Ok(bits.skip(u64::from(entries) * 5));
    }
    for _ in 0..entries {
        let Some(used) = bits.read(1) else { return Ok(false) };
        if used == 1 && bits.read(5).is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Lookup values of a type-1 codebook as the Ogg reader and the Vorbis decoder compute them
/// (single-precision root, rounded down), or `None` when they would find their own result wrong
/// (the greatest `v` with `v^dimensions <= entries` is what the format defines) and panic.
fn decoders_lookup1_values(entries: u32, dimensions: u32) -> Option<u32> {
    if dimensions == 0 {
        return None;
    }
    let value = (entries as f32).powf(1.0 / dimensions as f32).floor() as u32;
    // A power too large for 32 bits wraps around in the readers, so it must not occur at all.
    let at_most = value.checked_pow(dimensions)?;
    let next = value.checked_add(1)?.checked_pow(dimensions)?;
    (at_most <= entries && next > entries).then_some(value)
}

/// Number of bits needed to hold `x` (0 for 0), as the Vorbis format defines `ilog`.
fn ilog(x: u32) -> u32 {
    32 - x.leading_zeros()
}

/// Bits of a packet, read least significant bit first, as Vorbis packs them.
struct Bits<'a> {
    data: &'a [u8],
    at: u64,
}

impl Bits<'_> {
    fn read(&mut self, count: u32) -> Option<u32> {
        if self.at + u64::from(count) > self.data.len() as u64 * 8 {
            return None;
        }
        let mut value = 0u32;
        for i in 0..count {
            let at = self.at + u64::from(i);
            let bit = (self.data[(at / 8) as usize] >> (at % 8)) & 1;
            value |= u32::from(bit) << i;
        }
        self.at += u64::from(count);
        Some(value)
    }

    fn skip(&mut self, count: u64) -> bool {
        if self.at.saturating_add(count) > self.data.len() as u64 * 8 {
            return false;
        }
        self.at += count;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The setup headers of `bytes`, without their identification headers.
    fn setup_headers(bytes: &[u8]) -> Vec<Vec<u8>> {
        header_pairs(bytes).into_iter().map(|(_, setup)| setup).collect()
    }

    const GROOVE_OGG: &[u8] = include_bytes!("../../../../tests/fixtures/audio/groove.ogg");
    const LONG_OGG: &[u8] = include_bytes!("../../../../tests/fixtures/audio/long.ogg");

    fn field(bits: &mut Bits<'_>, count: u32) -> u32 {
        bits.read(count).expect("a whole header")
    }

    /// Offsets (in bits, from the start of the packet's codebook data) of each codebook's
    /// dimensions field, with its lookup type, found by walking the header like the check does.
    fn codebook_fields(setup: &[u8]) -> Vec<(u64, u32)> {
        let mut bits = Bits { data: &setup[7..], at: 0 };
        let count = bits.read(8).expect("codebook count");
        let mut fields = Vec::new();
        for _ in 0..=count {
            assert_eq!(bits.read(24), Some(CODEBOOK_SYNC));
            let dimensions_at = bits.at;
            let (dimensions, entries, ordered) = (field(&mut bits, 16), field(&mut bits, 24), field(&mut bits, 1));
            assert_eq!(skip_codeword_lengths(&mut bits, entries, ordered == 1), Ok(true));
            let lookup_type = field(&mut bits, 4);
            fields.push((dimensions_at, lookup_type));
            let values = match lookup_type {
                0 => continue,
                1 => decoders_lookup1_values(entries, dimensions).expect("an encoder's codebook"),
                _ => entries * dimensions,
            };
            field(&mut bits, 32);
            field(&mut bits, 32);
            let width = field(&mut bits, 4);
            field(&mut bits, 1);
            assert!(bits.skip(u64::from(values) * u64::from(width + 1)));
        }
        fields
    }

    #[test]
    fn ordered_codeword_lengths_over_32_bits_are_refused() {
        let lengths = |data: &[u8], entries| skip_codeword_lengths(&mut Bits { data, at: 0 }, entries, true);
        // Two entries of length 1: the first length 0 + 1, one run of 2.
        assert_eq!(lengths(&[0x40], 2), Ok(true));
        // First length 32, an empty run, then three entries of length 33, which symphonia's
        // decoder asserts on (a fuzzed Ogg file found it).
        assert!(lengths(&[0x9f, 0x01], 3).is_err());
        // An empty run past 32 bits alone is harmless.
        assert_eq!(lengths(&[0x1f], 1), Ok(false), "the header ends");
    }

    #[test]
    fn headers_written_by_an_encoder_pass() {
        for (name, bytes) in [("groove.ogg", GROOVE_OGG), ("long.ogg", LONG_OGG)] {
            let setups = setup_headers(bytes);
            assert_eq!(setups.len(), 1, "{name}: one Vorbis stream");
            assert!(codebook_fields(&setups[0]).iter().any(|&(_, t)| t == 1), "{name}: has type-1 codebooks");
            assert_eq!(check(bytes), Ok(()), "{name}");
        }
        // A stream that is not Vorbis has no setup header to check.
        assert!(header_pairs(b"OggS not really a page").is_empty());
    }

    #[test]
    fn lookup_values_match_the_definition_or_are_refused() {
        // The greatest v with v^dimensions <= entries.
        for (entries, dimensions, values) in [(361, 2, 19), (360, 2, 18), (81, 4, 3), (625, 4, 5), (1, 1, 1), (0, 3, 0)]
        {
            assert_eq!(decoders_lookup1_values(entries, dimensions), Some(values), "{entries} {dimensions}");
        }
        // No dimensions, and powers that do not fit in 32 bits, would trip the readers' asserts.
        assert_eq!(decoders_lookup1_values(5, 0), None);
        assert_eq!(decoders_lookup1_values(3, 40), None);
        // Single precision rounds this cube root up to 125, and 125^3 = 1 953 125: the readers'
        // value is wrong, and they assert.
        assert_eq!(decoders_lookup1_values(1_953_124, 3), None);
        assert_eq!(decoders_lookup1_values(1_953_125, 3), Some(125));
    }

    /// The setup packet of `bytes` rewritten by `edit`, written back into its pages (the damaged
    /// page's checksum is left stale, as a flipped bit leaves it).
    fn with_edited_setup(bytes: &[u8], edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let setup = setup_headers(bytes).remove(0);
        let mut edited = setup.clone();
        edit(&mut edited);
        // Encoders put the setup packet in one page, so its bytes lie in the file as they are.
        let start = bytes.windows(setup.len()).position(|w| w == setup).expect("setup packet in one page");
        let mut out = bytes.to_vec();
        out[start..start + setup.len()].copy_from_slice(&edited);
        out
    }

    /// Set the bits `at..at+count` (from the codebook data's start) of `packet` to `value`.
    fn write_bits(packet: &mut [u8], at: u64, count: u32, value: u32) {
        for i in 0..count {
            let bit = 7 * 8 + at + u64::from(i);
            let (byte, shift) = ((bit / 8) as usize, bit % 8);
            packet[byte] = (packet[byte] & !(1 << shift)) | ((((value >> i) & 1) as u8) << shift);
        }
    }

    #[test]
    fn a_flipped_codeword_length_makes_the_headers_unsound() {
        assert!(headers_sound(GROOVE_OGG));
        let setup_at = GROOVE_OGG.windows(7).position(|w| w == b"\x05vorbis").expect("a setup header") + 7;
        let (dimensions_at, _) = codebook_fields(&setup_headers(GROOVE_OGG)[0])[0];
        // Past dimensions (16 bits), entries (24), the ordered and sparse flags: the first bit
        // of the codeword lengths (read least significant bit first).
        let length_bit = dimensions_at + 16 + 24 + 2;
        let mut damaged = GROOVE_OGG.to_vec();
        damaged[setup_at + (length_bit / 8) as usize] ^= 1 << (length_bit % 8);
        assert_eq!(check(&damaged), Ok(()), "nothing the decoder would trip over");
        assert!(!headers_sound(&damaged), "but not a whole codebook");
    }

    #[test]
    fn a_damaged_codebook_is_refused_before_the_readers_see_it() {
        let bytes = GROOVE_OGG;
        let fields = codebook_fields(&setup_headers(bytes)[0]);
        let (type1_at, _) = *fields.iter().find(|&&(_, t)| t == 1).expect("a type-1 codebook");
        // Zero dimensions on a type-1 codebook.
        let zeroed = with_edited_setup(bytes, |p| write_bits(p, type1_at, 16, 0));
        let reason = check(&zeroed).expect_err("zero dimensions");
        assert!(reason.contains("has no size"), "{reason}");
        // An entry count no decoder could hold.
        let huge = with_edited_setup(bytes, |p| write_bits(p, fields[0].0 + 16, 24, 0xff_ffff));
        let reason = check(&huge).expect_err("huge codebook");
        assert!(reason.contains("16777215 entries"), "{reason}");
    }
}
