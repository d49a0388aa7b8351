//! The tags of a WAV file, read from its RIFF chunk list.
//!
//! symphonia 0.6.1's WAV reader parses a `LIST`/`INFO` chunk but drops what it read, and it
//! stops at the `data` chunk, so the `id3 ` chunk that taggers and DJ software (rekordbox,
//! Serato, Mp3tag) usually append after the audio is never seen: every WAV file showed no
//! title or artist. This module walks the chunk headers of the file's bytes (skipping the audio
//! by its size) and hands the `INFO` entries and the ID3v2 tag to symphonia's own parsers.

use symphonia::core::io::BufReader;
use symphonia::core::meta::well_known::METADATA_ID_WAVE;
use symphonia::core::meta::{MetadataBuilder, MetadataInfo, MetadataRevision};
use symphonia::default::meta::embedded::riff::{parse_riff_info_chunk, read_riff_id3_chunk};

const INFO_METADATA: MetadataInfo =
    MetadataInfo { metadata: METADATA_ID_WAVE, short_name: "wave", long_name: "RIFF INFO chunk" };

/// Tag chunks read at most. A tagged file holds one or two; a hostile one could hold millions
/// of empty ones, each a parsed revision held until the file is analysed.
const MAX_TAG_CHUNKS: usize = 8;
/// Entries of one `INFO` chunk read at most (a tagger writes a dozen).
const MAX_INFO_ENTRIES: usize = 64;

/// Whether the bytes are a RIFF WAVE file. (symphonia's reader opens no RF64 or BW64 file.)
pub(crate) fn is_wav(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE"
}

/// The metadata revisions of a WAV file's `LIST`/`INFO` chunks, then of its `id3 ` chunks, so
/// that the ID3 tag wins where both name a field (`INFO` fields are often cut short or in a
/// Windows code page). Empty for other files; a damaged chunk list ends the walk, and a chunk
/// that does not parse is left out, since tags never decide whether a file can be analysed.
pub(crate) fn read(bytes: &[u8]) -> Vec<MetadataRevision> {
    let (mut info, mut id3) = (Vec::new(), Vec::new());
    if !is_wav(bytes) {
        return info;
    }
    let mut at = 12usize;
    while let Some(header) = bytes.get(at..at + 8) {
        if info.len() + id3.len() >= MAX_TAG_CHUNKS {
            break;
        }
        let id: [u8; 4] = [header[0], header[1], header[2], header[3]];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let start = at + 8;
        let end = usize::try_from(size).ok().and_then(|s| start.checked_add(s)).unwrap_or(usize::MAX);
        // A chunk cut short by the end of the file still gives what it holds.
        let payload = &bytes[start..end.min(bytes.len())];
        match &id {
            b"LIST" if payload.starts_with(b"INFO") => info.push(info_revision(&payload[4..])),
            b"id3 " | b"ID3 " => match read_riff_id3_chunk(&mut BufReader::new(payload), &mut Vec::new()) {
                Ok(revision) => id3.push(revision),
                Err(e) => tracing::debug!("WAV id3 chunk at byte {at} not read: {e}"),
            },
            _ => {}
        }
        // Chunks are padded to an even length.
        match end.checked_add(end & 1) {
            Some(next) if next < bytes.len() => at = next,
            _ => break,
        }
    }
    info.extend(id3);
    info
}

/// The entries of a `LIST`/`INFO` chunk's payload (after the `INFO` form type).
fn info_revision(mut entries: &[u8]) -> MetadataRevision {
    let mut builder = MetadataBuilder::new(INFO_METADATA);
    for _ in 0..MAX_INFO_ENTRIES {
        if entries.len() < 8 {
            break;
        }
        let id = [entries[0], entries[1], entries[2], entries[3]];
        let size = u32::from_le_bytes([entries[4], entries[5], entries[6], entries[7]]) as usize;
        let value_end = 8usize.saturating_add(size).min(entries.len());
        // Values are NUL-terminated strings, often padded with more NULs.
        let value = &entries[8..value_end];
        let value = value.split(|&b| b == 0).next().unwrap_or_default();
        if let Err(e) = parse_riff_info_chunk(id, info_text(value).as_bytes(), &mut builder) {
            tracing::debug!("WAV INFO entry {:?} not read: {e}", String::from_utf8_lossy(&id));
        }
        let next = value_end.saturating_add(value_end & 1);
        entries = entries.get(next..).unwrap_or_default();
    }
    builder.build()
}

/// An `INFO` value as text. The chunk names no encoding: newer software writes UTF-8, Windows
/// and older tools the ANSI code page, so bytes that are not UTF-8 are read as Windows-1252
/// (where "Beyoncé" is `42 65 79 6f 6e 63 e9`).
fn info_text(value: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(value) {
        Ok(text) => text.into(),
        // A fixed-length field can cut UTF-8 text inside its last character: what precedes the
        // cut is kept when it is evidently UTF-8 (not plain ASCII).
        Err(e) if e.error_len().is_none() && !value[..e.valid_up_to()].is_ascii() => {
            std::str::from_utf8(&value[..e.valid_up_to()]).unwrap_or_default().into()
        }
        Err(_) => value.iter().map(|&b| windows_1252(b)).collect::<String>().into(),
    }
}

/// The character of one Windows-1252 byte. It is Latin-1 but for 0x80–0x9F, which hold
/// typographic marks instead of control codes; its five unassigned bytes stay as Latin-1 does.
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Tags;
    use crate::testkit::synth::id3v23_text_tag;

    fn chunk(id: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn info_list(entries: &[(&[u8; 4], &str)]) -> Vec<u8> {
        let mut payload = b"INFO".to_vec();
        for (id, value) in entries {
            let mut v = value.as_bytes().to_vec();
            v.push(0);
            payload.extend(chunk(id, &v));
        }
        chunk(b"LIST", &payload)
    }

    fn wav(form: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = form.to_vec();
        out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        out.extend_from_slice(b"WAVE");
        out.extend(body);
        out
    }

    fn fmt_chunk() -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&16000u32.to_le_bytes());
        fmt.extend_from_slice(&2u16.to_le_bytes());
        fmt.extend_from_slice(&16u16.to_le_bytes());
        chunk(b"fmt ", &fmt)
    }

    fn tags_of(bytes: &[u8]) -> Tags {
        let mut tags = Tags::default();
        for revision in read(bytes) {
            tags.absorb(&revision);
        }
        tags
    }

    #[test]
    fn info_before_the_audio_and_id3_after_it_are_both_read() {
        let bytes = wav(
            b"RIFF",
            &[
                fmt_chunk(),
                info_list(&[
                    (b"INAM", "Info Title"),
                    (b"IART", "Info Artist"),
                    (b"IGNR", "Deep House"),
                    (b"ICRD", "2019-05-01"),
                ]),
                // An odd-sized audio chunk: the walk must step over its pad byte.
                chunk(b"data", &[0u8; 301]),
                chunk(b"id3 ", &id3v23_text_tag(&[(b"TIT2", "Id3 Title"), (b"TALB", "Id3 Album")])),
            ],
        );
        let tags = tags_of(&bytes);
        assert_eq!(tags.title.as_deref(), Some("Id3 Title"), "the ID3 tag wins");
        assert_eq!(tags.artist.as_deref(), Some("Info Artist"));
        assert_eq!(tags.album.as_deref(), Some("Id3 Album"));
        assert_eq!(tags.genre.as_deref(), Some("Deep House"));
        assert_eq!(tags.year, Some(2019));
    }

    #[test]
    fn info_values_that_are_not_utf8_are_read_as_windows_1252() {
        let mut payload = b"INFO".to_vec();
        payload.extend(chunk(b"IART", b"Beyonc\xe9 \x96 Caf\xe9 \x80\0"));
        payload.extend(chunk(b"INAM", "Déjà Vu".as_bytes()));
        let bytes = wav(b"RIFF", &[fmt_chunk(), chunk(b"LIST", &payload), chunk(b"data", &[0u8; 8])]);
        let tags = tags_of(&bytes);
        assert_eq!(tags.artist.as_deref(), Some("Beyoncé – Café €"));
        assert_eq!(tags.title.as_deref(), Some("Déjà Vu"), "UTF-8 stays UTF-8");
    }

    #[test]
    fn an_id3_chunk_wins_over_info_wherever_each_sits_and_cut_utf8_keeps_its_prefix() {
        // The field ends after the first byte of a two-byte character.
        let cut = ["Mañana Ünïc".as_bytes(), &[0xc3]].concat();
        let mut info_payload = b"INFO".to_vec();
        info_payload.extend(chunk(b"INAM", "Info Title\0".as_bytes()));
        info_payload.extend(chunk(b"IART", &cut));
        let bytes = wav(
            b"RIFF",
            &[
                fmt_chunk(),
                chunk(b"data", &[0u8; 8]),
                chunk(b"id3 ", &id3v23_text_tag(&[(b"TIT2", "Id3 Title")])),
                chunk(b"LIST", &info_payload),
            ],
        );
        let tags = tags_of(&bytes);
        assert_eq!(tags.title.as_deref(), Some("Id3 Title"));
        assert_eq!(tags.artist.as_deref(), Some("Mañana Ünïc"));
        // Not evidently UTF-8: a Windows-1252 'Ã' at the end stays.
        assert_eq!(info_text(b"CAF\xc3"), "CAFÃ");
    }

    #[test]
    fn hostile_chunk_lists_are_read_only_so_far() {
        let empty_info = chunk(b"LIST", b"INFO");
        let mut chunks = vec![fmt_chunk(), chunk(b"data", &[0u8; 4])];
        chunks.extend(std::iter::repeat_n(empty_info, 10_000));
        assert_eq!(read(&wav(b"RIFF", &chunks)).len(), MAX_TAG_CHUNKS);
        let mut entries = b"INFO".to_vec();
        for _ in 0..10_000 {
            entries.extend(chunk(b"IART", b""));
        }
        entries.extend(chunk(b"INAM", b"Too Late\0"));
        let bytes = wav(b"RIFF", &[fmt_chunk(), chunk(b"LIST", &entries)]);
        assert_eq!(tags_of(&bytes).title, None, "entries past the cap are not read");
    }

    #[test]
    fn damaged_chunk_lists_give_what_they_hold_and_never_panic() {
        let good = wav(b"RIFF", &[fmt_chunk(), info_list(&[(b"IART", "Kept Artist")]), chunk(b"data", &[0u8; 64])]);
        assert_eq!(tags_of(&good).artist.as_deref(), Some("Kept Artist"));
        // Every truncation, and a size field claiming 4 GiB, end the walk quietly.
        for cut in 0..good.len() {
            let _ = tags_of(&good[..cut]);
        }
        let mut huge = good.clone();
        let data_at = huge.windows(4).position(|w| w == b"data").unwrap_or_default();
        huge[data_at + 4..data_at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(tags_of(&huge).artist.as_deref(), Some("Kept Artist"));
        // A tag chunk that is not an ID3 tag is left out.
        let junk = wav(b"RIFF", &[fmt_chunk(), chunk(b"data", &[0u8; 4]), chunk(b"id3 ", b"not a tag at all")]);
        assert_eq!(tags_of(&junk), Tags::default());
        assert!(read(b"not a wav file at all").is_empty());
    }
}
