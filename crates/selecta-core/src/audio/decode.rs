//! Decoding with symphonia from an in-memory byte buffer, block by block (interleaved `f32`),
//! so the caller can hash, meter and downmix in one pass without holding the whole
//! multi-channel track in memory, and can stop or report progress between blocks. The stream's
//! `songId` is derived here (see `SongIdHasher`).
//!
//! Damaged data is decoded the way a player plays it: bad packets are skipped, the readers
//! resynchronise on the next frame or page, a hole in the timeline (found from the packets'
//! timestamps) is filled with silence so that later positions stay where they are in the file,
//! and what was lost is reported as [`Damage`]. A damaged file fails only when too little of it
//! decodes to analyse: under [`MIN_DECODED_SHARE`] of the length the container announces (or,
//! without one, of the length decoded with its holes), or under [`MIN_DAMAGED_SEC`] of audio.
//! A hole is at most [`MAX_HOLE_SEC`] long; a longer jump is a damaged timestamp.

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use symphonia::core::codecs::audio::well_known::{CODEC_ID_FLAC, CODEC_ID_OPUS, CODEC_ID_VORBIS};
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{MetadataOptions, MetadataRevision};

use super::Tags;
use super::matroska;
use super::opus::OpusStream;
use super::{flac_frames, ogg_pages, vorbis_setup, wav_tags};
use crate::error::AnalysisError;
use crate::hash::{PcmHasher, hex};

/// Limits against hostile or broken input.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Shortest decoded duration accepted, in seconds.
    pub min_duration_sec: f64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self { max_file_bytes: 2 * 1024 * 1024 * 1024 - 1, min_duration_sec: 0.5 }
    }
}

impl DecodeLimits {
    /// Refuse a file by its size alone — before reading it, when the caller knows the size.
    pub fn check_size(&self, size: u64) -> Result<(), AnalysisError> {
        if size == 0 {
            return Err(AnalysisError::Empty);
        }
        if size > self.max_file_bytes {
            return Err(AnalysisError::TooLarge { size, limit: self.max_file_bytes });
        }
        Ok(())
    }
}

/// Format of the decoded stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Number of channels.
    pub channels: u16,
}

/// Least share of the announced length a damaged file must decode to be analysed.
pub const MIN_DECODED_SHARE: f64 = 0.8;
/// Least audio, in seconds, a damaged file must decode to be analysed.
pub const MIN_DAMAGED_SEC: f64 = 10.0;
/// Longest hole in the timeline filled with silence. A longer jump between two packets'
/// timestamps is a damaged timestamp, not lost audio: decoding goes on without silence.
pub const MAX_HOLE_SEC: f64 = 60.0;
/// Lost audio (holes) per second decoded beyond which decoding stops early: at the end such a
/// file is under [`MIN_DECODED_SHARE`] of its length anyway, and the silence would only take
/// memory. `MAX_HOLE_SEC` more is allowed, for damage before the first audio.
const MAX_LOST_PER_DECODED: f64 = (1.0 - MIN_DECODED_SHARE) / MIN_DECODED_SHARE;

/// What was lost from a damaged file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Damage {
    /// Seconds that could not be decoded (holes filled with silence, and a missing end when the
    /// container announces its length).
    pub skipped_sec: f64,
    /// Where the first damage is, seconds from the start.
    pub first_at_sec: f64,
    /// The stream breaks off before its end (a cut file).
    pub ends_early: bool,
}

impl Damage {
    /// The warning a batch reports for it.
    pub fn warning(&self) -> String {
        let mut text = format!(
            "damaged audio: {:.2} s could not be decoded, the first damage at {:.2} s",
            self.skipped_sec, self.first_at_sec
        );
        if self.ends_early {
            text.push_str("; the stream breaks off before its end");
        }
        text.push_str(" (the rest was analysed)");
        text
    }
}

/// What a complete decode found.
#[derive(Debug, Clone)]
pub struct DecodeSummary {
    /// Stream format.
    pub info: StreamInfo,
    /// Decoded frames (samples per channel).
    pub frames: u64,
    /// File tags.
    pub tags: Tags,
    /// Packets the decoder rejected and skipped.
    pub skipped_packets: u64,
    /// What was lost, when the data is damaged.
    pub damage: Option<Damage>,
    /// The `songId` (see [`Decoder`]).
    pub song_id: String,
}

impl DecodeSummary {
    /// Decoded duration in seconds.
    pub fn duration_sec(&self) -> f64 {
        self.frames as f64 / f64::from(self.info.sample_rate.max(1))
    }
}

/// Decode `bytes` completely, calling `on_block` with each block of interleaved samples.
///
/// `file_name` only serves as a format hint (its extension). Errors name what is wrong with the
/// data; truncated streams whose header announces a length are reported as
/// [`AnalysisError::Truncated`].
pub fn decode(
    bytes: Vec<u8>,
    file_name: Option<&str>,
    limits: &DecodeLimits,
    mut on_block: impl FnMut(&[f32], &StreamInfo),
) -> Result<DecodeSummary, AnalysisError> {
    let mut decoder = Decoder::open(bytes, file_name, limits)?;
    while let Some((block, info)) = decoder.next_block()? {
        on_block(block, info);
    }
    decoder.finish()
}

/// The decoder of a stream: symphonia's, or Opus (which symphonia lacks).
enum Codec {
    Symphonia(Box<dyn AudioDecoder>),
    Opus(Box<OpusStream>),
}

/// An open stream, decoded one block at a time ([`decode`] in steps), so that a caller can
/// report progress and stop between blocks. It also derives the track's `songId`.
pub struct Decoder {
    format: Box<dyn FormatReader>,
    codec: Codec,
    track_id: u32,
    announced_frames: Option<u64>,
    limits: DecodeLimits,
    song_id: SongIdHasher,
    info: Option<StreamInfo>,
    frames: u64,
    skipped: u64,
    decoded_packets: u64,
    block: Vec<f32>,
    /// Decoded samples of the current packet, before a hole's silence is put in front of them.
    scratch: Vec<f32>,
    io_error: Option<String>,
    ended: bool,
    /// Timestamp → frames: `numer / denom` seconds per tick (none: holes cannot be located).
    time_base: Option<(u64, u64)>,
    /// Where, in frames, the last decoded packet ended on the stream's timeline.
    timeline_end: Option<u64>,
    /// The track's first timestamp.
    start_ts: i64,
    /// Frames of silence put in holes.
    filled_frames: u64,
    /// Frame position of the first damage seen.
    first_damage_frame: Option<u64>,
    /// A title the container holds outside its tags (Matroska's segment title).
    container_title: Option<String>,
    /// Tags symphonia's WAV reader does not give (see [`wav_tags`]).
    wav_tags: Vec<MetadataRevision>,
    /// The most frames a packet without a duration has decoded to.
    longest_packet: u64,
    /// Where a container repair found damage (the start of the Matroska cluster it was in):
    /// the damage reported when decoding shows none itself (a cluster header put back exactly).
    repaired_damage_frame: Option<u64>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("info", &self.info).field("frames", &self.frames).finish_non_exhaustive()
    }
}

impl Decoder {
    /// Recognise the container and codec (no audio decoded yet).
    pub fn open(bytes: Vec<u8>, file_name: Option<&str>, limits: &DecodeLimits) -> Result<Self, AnalysisError> {
        limits.check_size(bytes.len() as u64)?;
        let is_matroska = matroska::is_matroska(&bytes);
        let container_title = if is_matroska { matroska::segment_title(&bytes) } else { None };
        let wav_tags = wav_tags::read(&bytes);
        let (bytes, ogg_damage, flac_damage) = repair_container(bytes);
        // A repaired or cut Matroska file is held to the length its Info announces (an intact
        // one is not: some muxers write a rough one).
        let (bytes, matroska_length_sec, matroska_damage_sec) =
            match is_matroska.then(|| matroska::repair(&bytes)).flatten() {
                Some(repaired) => {
                    tracing::debug!("Matroska: {} broken stretches voided, cut: {}", repaired.voided, repaired.cut);
                    let length = matroska::duration_sec(&repaired.bytes);
                    let damage = repaired.first_damage_at.map(|at| matroska::seconds_at(&repaired.bytes, at));
                    (repaired.bytes, length, damage)
                }
                None => (bytes, None, None),
            };
        let setup_check = if ogg_pages::is_ogg(&bytes) {
            vorbis_setup::check(&bytes)
        } else if is_matroska {
            matroska::vorbis_setup(&bytes).map_or(Ok(()), |setup| vorbis_setup::check_setup(&setup))
        } else {
            Ok(())
        };
        setup_check
            .map_err(|reason| AnalysisError::Corrupt(format!("the Vorbis setup header is damaged: {reason}")))?;
        let dropped_pages = ogg_damage.map_or(0, |(dropped, _)| dropped);
        let mut hint = Hint::new();
        if let Some(ext) = file_name.and_then(|n| n.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase()) {
            hint.with_extension(&ext);
        }
        let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
        let format = symphonia::default::get_probe()
            .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
            .map_err(|e| match e {
                // Damaged pages and what is left cannot be opened: the codec headers were among
                // them.
                _ if ogg_damage.is_some() => {
                    AnalysisError::Corrupt(format!("the stream's header pages are damaged (bad Ogg checksums; {e})"))
                }
                // The EBML header was read: a Matroska file that will not open is damaged.
                _ if is_matroska => AnalysisError::Corrupt(format!("the Matroska headers are damaged ({e})")),
                SymError::Unsupported(_) => {
                    AnalysisError::UnsupportedFormat("no decoder recognises this container".into())
                }
                SymError::IoError(_) => AnalysisError::UnsupportedFormat(
                    "the data ends before any audio container could be recognised".into(),
                ),
                // The container was recognised; its data is what is wrong.
                SymError::DecodeError(msg) => {
                    AnalysisError::Corrupt(format!("the stream's headers are damaged ({msg})"))
                }
                other => AnalysisError::UnsupportedFormat(other.to_string()),
            })?;
        let track = format.default_track(TrackType::Audio).ok_or(AnalysisError::NoAudioTrack)?;
        let track_id = track.id;
        let rate = track.codec_params.as_ref().and_then(|p| p.audio()).and_then(|a| a.sample_rate);
        let announced_frames = track
            .num_frames
            .or_else(|| Some((matroska_length_sec? * f64::from(rate?)).round() as u64).filter(|&f| f > 0));
        let time_base = track.time_base.map(|tb| (u64::from(tb.numer.get()), u64::from(tb.denom.get())));
        // The timeline starts where the track does. Pages dropped at the start move the start
        // the reader sees to the first page kept, so then it starts at 0 and the lost start is
        // a hole too.
        let start_ts = if dropped_pages > 0 { 0 } else { track.start_ts.get() };
        let params = track.codec_params.as_ref().and_then(|p| p.audio()).ok_or(AnalysisError::NoAudioTrack)?.clone();
        // Where the first damaged page begins, from the granule position of the page before it.
        let matroska_damage_frame = matroska_damage_sec.zip(rate).map(|(sec, rate)| (sec * f64::from(rate)) as u64);
        let first_damage_frame = flac_damage.or(ogg_damage.map(|(_, granule)| {
            ticks_to_frames(time_base, granule, params.sample_rate.unwrap_or(1)).saturating_sub(ticks_to_frames(
                time_base,
                start_ts.max(0) as u64,
                params.sample_rate.unwrap_or(1),
            ))
        }));
        let codec = make_codec(&params, ogg_damage.is_some())?;
        Ok(Self {
            format,
            codec,
            track_id,
            announced_frames,
            limits: *limits,
            song_id: SongIdHasher::for_codec(params.codec),
            info: None,
            frames: 0,
            skipped: 0,
            decoded_packets: 0,
            block: Vec::new(),
            scratch: Vec::new(),
            io_error: None,
            ended: false,
            time_base,
            timeline_end: None,
            start_ts,
            filled_frames: 0,
            first_damage_frame,
            container_title,
            wav_tags,
            longest_packet: 0,
            repaired_damage_frame: matroska_damage_frame,
        })
    }

    /// Frames (samples per channel) the container announces, when it does.
    pub fn announced_frames(&self) -> Option<u64> {
        self.announced_frames
    }

    /// Frames decoded so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The next block of interleaved samples with the stream format; `None` at the end.
    pub fn next_block(&mut self) -> Result<Option<(&[f32], &StreamInfo)>, AnalysisError> {
        if self.advance()? { Ok(self.info.as_ref().map(|info| (self.block.as_slice(), info))) } else { Ok(None) }
    }

    /// Decode packets until one yields samples (`true`, they are in `self.block`) or the stream
    /// ends (`false`).
    fn advance(&mut self) -> Result<bool, AnalysisError> {
        while !self.ended {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) | Err(SymError::ResetRequired) => break,
                Err(SymError::IoError(e)) => {
                    self.io_error = Some(e.to_string());
                    break;
                }
                Err(SymError::DecodeError(msg)) => {
                    self.skip(msg)?;
                    continue;
                }
                Err(e) => return Err(AnalysisError::Corrupt(e.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoded = match &mut self.codec {
                Codec::Symphonia(decoder) => decoder.decode(&packet).map(|buf| {
                    let spec = buf.spec();
                    buf.copy_to_vec_interleaved(&mut self.scratch);
                    StreamInfo {
                        sample_rate: spec.rate(),
                        channels: u16::try_from(spec.channels().count()).unwrap_or(u16::MAX),
                    }
                }),
                Codec::Opus(opus) => opus.decode(&packet.data, &mut self.scratch).map_err(|e| {
                    tracing::debug!("{e}");
                    SymError::DecodeError("opus: a packet could not be decoded")
                }),
            };
            match decoded {
                Ok(this) => {
                    let (channels, rate) = (usize::from(this.channels), this.sample_rate);
                    match &self.info {
                        None => self.info = Some(this),
                        Some(first) if *first != this => {
                            return Err(AnalysisError::FormatChanged(format!(
                                "{} Hz × {} ch became {} Hz × {} ch",
                                first.sample_rate, first.channels, this.sample_rate, this.channels
                            )));
                        }
                        Some(_) => {}
                    }
                    let decoded_frames = self.scratch.len() / channels.max(1);
                    if decoded_frames == 0 {
                        continue;
                    }
                    let room = self.announced_frames.map_or(u64::MAX, |a| a.saturating_sub(self.frames));
                    if self.timeline_end.is_none() {
                        self.timeline_end = Some(ticks_to_frames(self.time_base, self.start_ts.max(0) as u64, rate));
                    }
                    // Packets without a duration are placed by their timestamp alone (Matroska),
                    // which leads or lags what a Vorbis packet decodes to by up to a block, so
                    // only a gap longer than a packet is a hole there.
                    let slack = if packet.dur.get() == 0 {
                        self.longest_packet = self.longest_packet.max(decoded_frames as u64);
                        self.longest_packet
                    } else {
                        0
                    };
                    let mut hole = hole_before(
                        &mut self.timeline_end,
                        self.time_base,
                        (packet.pts.get(), packet.dur.get()),
                        (decoded_frames as u64, slack),
                        rate,
                    );
                    if hole as f64 > MAX_HOLE_SEC * f64::from(rate) {
                        // More than a damaged stretch loses: the timestamp itself is damaged.
                        // Play on without silence, as a player does.
                        self.first_damage_frame.get_or_insert(self.frames);
                        hole = 0;
                    }
                    let hole = hole.min(room);
                    let audio_frames = (self.frames - self.filled_frames) as f64;
                    let filled_sec = (self.filled_frames + hole) as f64 / f64::from(rate);
                    if hole > 0 && filled_sec > audio_frames / f64::from(rate) * MAX_LOST_PER_DECODED + MAX_HOLE_SEC {
                        return Err(AnalysisError::Corrupt(format!(
                            "{filled_sec:.1} s of the stream are lost against {:.1} s decoded, too little to analyse",
                            audio_frames / f64::from(rate)
                        )));
                    }
                    self.block.clear();
                    if hole > 0 {
                        // Silence where packets were lost keeps every later position (beats,
                        // intro, outro) where it is in the file.
                        self.first_damage_frame.get_or_insert(self.frames);
                        self.block.resize(hole as usize * channels, 0.0);
                        self.filled_frames += hole;
                        self.frames += hole;
                    }
                    self.block.extend_from_slice(&self.scratch);
                    self.frames += decoded_frames as u64;
                    self.decoded_packets += 1;
                    self.song_id.update(&packet.data, &self.block);
                    return Ok(true);
                }
                Err(SymError::DecodeError(msg)) => self.skip(msg)?,
                // The decoder reads from the packet alone: running out of it means the packet is
                // damaged, not that the stream ended; a damaged packet can also read as a feature
                // the decoder lacks. A stream where most packets fail still fails (`skip`).
                Err(e @ (SymError::IoError(_) | SymError::Unsupported(_))) => self.skip(&e.to_string())?,
                Err(e) => return Err(AnalysisError::Corrupt(e.to_string())),
            }
        }
        self.ended = true;
        Ok(false)
    }

    /// Count a bad packet. Many decoders skip a bad frame and go on; a stream that is mostly
    /// bad frames is not audio (random bytes often carry MP3 sync words).
    fn skip(&mut self, msg: &str) -> Result<(), AnalysisError> {
        self.first_damage_frame.get_or_insert(self.frames);
        self.skipped += 1;
        if self.skipped > 64 && self.skipped > self.decoded_packets {
            return Err(AnalysisError::Corrupt(msg.to_string()));
        }
        Ok(())
    }

    /// Check what was decoded (truncation, minimum length) and collect the tags. Call after
    /// [`Decoder::next_block`] returned `None`.
    pub fn finish(mut self) -> Result<DecodeSummary, AnalysisError> {
        let mut tags = Tags::default();
        // Tags may sit before (probe) or inside the container; gather every revision.
        {
            let mut meta = self.format.metadata();
            while let Some(rev) = meta.pop() {
                tags.absorb(&rev);
            }
            if let Some(rev) = meta.current() {
                tags.absorb(rev);
            }
        }
        for rev in &self.wav_tags {
            tags.absorb(rev);
        }
        if tags.title.is_none() {
            tags.title = self.container_title.take();
        }
        let info = self.info.ok_or_else(|| match &self.io_error {
            Some(e) => AnalysisError::Corrupt(format!("no audio could be decoded ({e})")),
            None => AnalysisError::Corrupt("no audio could be decoded".into()),
        })?;
        let rate = f64::from(info.sample_rate.max(1));
        let decoded_sec = self.frames as f64 / rate;
        let audio_sec = (self.frames - self.filled_frames) as f64 / rate;
        let mut skipped_sec = self.filled_frames as f64 / rate;
        let mut ends_early = false;
        let announced_sec = self.announced_frames.map(|a| a as f64 / rate);
        if let Some(expected_sec) = announced_sec {
            // Decoders may drop a final partial frame; more than 1 % or 50 ms missing is damage.
            let missing = (expected_sec - decoded_sec).max(0.0);
            if missing > 0.05f64.max(expected_sec * 0.01) {
                skipped_sec += missing;
                ends_early = true;
                self.first_damage_frame.get_or_insert(self.frames);
            }
        } else if self.io_error.is_some() {
            ends_early = true;
            self.first_damage_frame.get_or_insert(self.frames);
        }
        let damage = self.first_damage_frame.or(self.repaired_damage_frame).map(|first| Damage {
            skipped_sec,
            first_at_sec: first as f64 / rate,
            ends_early,
        });
        // Damage that lost nothing (pages and headers put back exactly, data decoded despite a
        // bad checksum) leaves the whole length to analyse.
        if damage.is_some_and(|d| d.skipped_sec > 0.0 || d.ends_early) {
            // The length is the announced one, or, without one, what decoded with its holes.
            let length_sec = announced_sec.unwrap_or(decoded_sec);
            let too_little = audio_sec < MIN_DECODED_SHARE * length_sec || audio_sec < MIN_DAMAGED_SEC;
            if too_little {
                return Err(match (announced_sec, self.filled_frames, &self.io_error) {
                    (Some(expected_sec), 0, _) => AnalysisError::Truncated { expected_sec, decoded_sec },
                    (None, 0, Some(e)) if skipped_sec == 0.0 => AnalysisError::Corrupt(format!(
                        "stream ends unexpectedly after {decoded_sec:.2} s ({e}); too little to analyse"
                    )),
                    _ => AnalysisError::Corrupt(format!(
                        "{audio_sec:.2} s could be decoded{}, too little to analyse (a damaged file needs {:.0} % of its \
                         length and {MIN_DAMAGED_SEC:.0} s)",
                        announced_sec.map(|a| format!(" of {a:.2} s")).unwrap_or_default(),
                        MIN_DECODED_SHARE * 100.0
                    )),
                });
            }
        }
        if decoded_sec < self.limits.min_duration_sec {
            return Err(AnalysisError::TooShort { decoded_sec, min_sec: self.limits.min_duration_sec });
        }
        Ok(DecodeSummary {
            info,
            frames: self.frames,
            tags,
            skipped_packets: self.skipped,
            damage,
            song_id: self.song_id.finish(),
        })
    }
}

/// Handle damaged pages (Ogg) and frames (FLAC) before the stream is opened (see
/// [`ogg_pages`] and [`flac_frames`]): the bytes to open, with the Ogg damage (stretches dropped,
/// granule position where it begins) and the sample where the first damaged FLAC frame begins.
fn repair_container(bytes: Vec<u8>) -> (Vec<u8>, Option<(usize, u64)>, Option<u64>) {
    if ogg_pages::is_ogg(&bytes) {
        if let Some(repaired) = ogg_pages::repair(&bytes) {
            tracing::debug!(
                "Ogg pages: {} put back (one flipped bit), {} kept with damaged data, {} damaged stretches dropped",
                repaired.corrected,
                repaired.kept_damaged,
                repaired.dropped
            );
            return (repaired.bytes, Some((repaired.dropped, repaired.first_damage_granule)), None);
        }
    } else if flac_frames::is_flac(&bytes)
        && let Some(repaired) = flac_frames::repair(&bytes)
    {
        tracing::debug!("FLAC: {} frames with damaged data kept", repaired.fixed);
        return (repaired.bytes, None, Some(repaired.first_fixed_sample));
    }
    (bytes, None, None)
}

/// The decoder of a stream's codec: Opus here, every other codec from symphonia.
fn make_codec(params: &AudioCodecParameters, ogg_damaged: bool) -> Result<Codec, AnalysisError> {
    if params.codec == CODEC_ID_OPUS {
        let head = params.extra_data.as_deref().unwrap_or_default();
        return Ok(Codec::Opus(Box::new(OpusStream::new(head)?)));
    }
    let decoder =
        symphonia::default::get_codecs().make_audio_decoder(params, &AudioDecoderOptions::default()).map_err(|e| {
            match e {
                // A codec this build decodes whose setup data is unreadable.
                SymError::DecodeError(msg) => {
                    AnalysisError::Corrupt(format!("the codec's setup data is damaged ({msg})"))
                }
                _ if ogg_damaged => {
                    AnalysisError::Corrupt(format!("the stream's header pages are damaged (bad Ogg checksums; {e})"))
                }
                _ => AnalysisError::UnsupportedFormat(
                    "its audio codec cannot be decoded (supported: MP3, AAC, ALAC, FLAC, Vorbis, Opus, PCM)".into(),
                ),
            }
        })?;
    Ok(Codec::Symphonia(decoder))
}

/// Frames missing between the packet that ended the timeline at `timeline_end` and one at
/// `(pts, dur)` (in the track's time base: `numer / denom` seconds per tick) that decoded to
/// `decoded_frames`, and move the timeline on. Shifts under 10 ms plus `slack` frames are the
/// codec's own rounding, not damage.
fn hole_before(
    timeline_end: &mut Option<u64>,
    time_base: Option<(u64, u64)>,
    (pts, dur): (i64, u64),
    (decoded_frames, slack): (u64, u64),
    rate: u32,
) -> u64 {
    if time_base.is_none() {
        return 0;
    }
    let to_frames = |ticks: u64| ticks_to_frames(time_base, ticks, rate);
    let start = to_frames(pts.max(0) as u64);
    // A duration of 0 is unknown (Matroska blocks carry only their timestamp): the packet then
    // lasts what it decoded to.
    let end = start + if dur == 0 { decoded_frames } else { to_frames(dur) };
    let hole = match *timeline_end {
        Some(expected) if start > expected + u64::from(rate / 100) + slack => start - expected,
        _ => 0,
    };
    *timeline_end = Some(end.max(timeline_end.unwrap_or(0)));
    hole
}

/// `ticks` of the time base `numer / denom` seconds as frames at `rate` (0 without a time base).
fn ticks_to_frames(time_base: Option<(u64, u64)>, ticks: u64, rate: u32) -> u64 {
    time_base.map_or(0, |(numer, denom)| {
        (u128::from(ticks) * u128::from(numer) * u128::from(rate) / u128::from(denom.max(1))) as u64
    })
}

/// The `songId` of a stream. Lossless and PCM codecs decode to exact integers, so their id is
/// the hash of the decoded PCM (the same audio in WAV, FLAC or ALAC has one id). Lossy decoders
/// compute in floating point, and the last bits differ between builds (native libm vs wasm), so
/// a PCM hash would give one file two ids; for them the id is the hash of the compressed audio
/// packets the decoder accepted — still independent of tags, file name and container layout.
enum SongIdHasher {
    Pcm(PcmHasher),
    Packets(Sha256),
}

impl SongIdHasher {
    fn for_codec(codec: AudioCodecId) -> Self {
        // symphonia numbers lossy codecs from Vorbis (0x1000) up to the lossless ones (FLAC, 0x2000).
        if (CODEC_ID_VORBIS..CODEC_ID_FLAC).contains(&codec) {
            let mut hasher = Sha256::new();
            hasher.update(b"selecta-packets-v1");
            Self::Packets(hasher)
        } else {
            Self::Pcm(PcmHasher::default())
        }
    }

    fn update(&mut self, packet: &[u8], decoded: &[f32]) {
        match self {
            Self::Pcm(h) => h.update(decoded),
            Self::Packets(h) => {
                // Length-prefixed, so that packet boundaries are part of the id.
                h.update((packet.len() as u64).to_le_bytes());
                h.update(packet);
            }
        }
    }

    fn finish(self) -> String {
        match self {
            Self::Pcm(h) => h.finish(),
            Self::Packets(h) => hex(&h.finalize()),
        }
    }
}
