#!/usr/bin/env bash
# Regenerate the committed audio fixtures in tests/fixtures/audio/ from synthesised music:
# one 10 s track (124 BPM, A minor, stereo 44.1 kHz) encoded as WAV, FLAC, MP3, OGG/Vorbis and
# M4A/AAC and Ogg Opus with tags (the Opus and Vorbis streams also remuxed into WebM), plus the
# reference `fpcalc -raw` output of the FLAC.
# Needs: ffmpeg with libopus, fpcalc (Debian: ffmpeg libchromaprint-tools). Run from the repository root.
set -euo pipefail
out=tests/fixtures/audio
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo run -q -p selecta-core --example synth_wav -- "$tmp/track.wav" 124 "A minor" 10 44100 2
meta=(-metadata title="Fixture Groove" -metadata artist="Selecta Synth" -metadata album="Test Pressings"
      -metadata genre="Techno" -metadata date="2024" -metadata comment="synthesised for tests")
ff() { ffmpeg -hide_banner -loglevel error -y -i "$tmp/track.wav" "${meta[@]}" "$@"; }
ff -c:a pcm_s16le "$out/groove.wav"
ff -c:a flac "$out/groove.flac"
ff -c:a libmp3lame -b:a 128k "$out/groove.mp3"
ff -c:a libvorbis -q:a 3 "$out/groove.ogg"
ff -c:a aac -b:a 128k "$out/groove.m4a"
ff -c:a libopus -b:a 64k "$out/groove.opus"
fpcalc -raw -plain "$out/groove.flac" > "$out/groove.flac.fpcalc-raw.txt"
# The same Opus and Vorbis packets in WebM (Matroska), as downloaded audio often comes: remuxed,
# not encoded again, so each decodes to exactly the audio of its Ogg twin.
ffmpeg -hide_banner -loglevel error -y -i "$out/groove.opus" -c:a copy "$out/groove-opus.webm"
ffmpeg -hide_banner -loglevel error -y -i "$out/groove.ogg" -c:a copy "$out/groove-vorbis.webm"
ls -l "$out"

# Longer mono tracks (24 s, 128 BPM, D minor, 22.05 kHz) that the damaged-input tests break in
# code (flipped bytes, zeroed stretches, cut tails): long enough that 80 % of them is over 10 s.
cargo run -q -p selecta-core --example synth_wav -- "$tmp/long.wav" 128 "D minor" 24 22050 1
fl() { ffmpeg -hide_banner -loglevel error -y -i "$tmp/long.wav" -metadata title="Long Groove" "$@"; }
fl -c:a flac -compression_level 8 "$out/long.flac"
fl -c:a libmp3lame -b:a 48k "$out/long.mp3"
fl -c:a libvorbis -q:a 0 "$out/long.ogg"
# Its Vorbis packets in WebM too, for the damaged-Matroska tests (five clusters of about 5 s).
ffmpeg -hide_banner -loglevel error -y -i "$out/long.ogg" -c:a copy "$out/long-vorbis.webm"
ls -l "$out"/long.*

# More containers and stream layouts, from the first 4 s of groove.wav: AIFF (big-endian
# PCM), ALAC (lossless, so its song id equals the AIFF's), 48 kHz / 24-bit FLAC, and a 5.1 WAV
# (WAVE_FORMAT_EXTENSIBLE; front pair = the stereo track, centre = their mean, LFE silent,
# surrounds 6 dB down) at 22.05 kHz to stay small.
fx() { ffmpeg -hide_banner -loglevel error -y -i "$out/groove.wav" -t 4 "${meta[@]}" "$@"; }
fx -c:a pcm_s16be "$out/groove4.aiff"
fx -c:a alac "$out/groove4-alac.m4a"
fx -ar 48000 -sample_fmt s32 -bits_per_raw_sample 24 -c:a flac "$out/groove4-48k-24bit.flac"
fx -af "pan=5.1|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|LFE=0*c0|BL=0.5*c0|BR=0.5*c1" -ar 22050 -c:a pcm_s16le \
  "$out/groove4-5.1.wav"
ls -l "$out"/groove4*
