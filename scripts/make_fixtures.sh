#!/usr/bin/env bash
# Regenerate the committed audio fixtures in tests/fixtures/audio/ from synthesised music:
# one 10 s track (124 BPM, A minor, stereo 44.1 kHz) encoded as WAV, FLAC, MP3, OGG/Vorbis and
# M4A/AAC and Ogg Opus with tags, plus the reference `fpcalc -raw` output of the FLAC.
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
ls -l "$out"

# Longer mono tracks (24 s, 128 BPM, D minor, 22.05 kHz) that the damaged-input tests break in
# code (flipped bytes, zeroed stretches, cut tails): long enough that 80 % of them is over 10 s.
cargo run -q -p selecta-core --example synth_wav -- "$tmp/long.wav" 128 "D minor" 24 22050 1
fl() { ffmpeg -hide_banner -loglevel error -y -i "$tmp/long.wav" -metadata title="Long Groove" "$@"; }
fl -c:a flac -compression_level 8 "$out/long.flac"
fl -c:a libmp3lame -b:a 48k "$out/long.mp3"
fl -c:a libvorbis -q:a 0 "$out/long.ogg"
ls -l "$out"/long.*
