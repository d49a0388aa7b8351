#!/usr/bin/env python3
"""Make the query set of `selecta eval retrieval`: augmented snippets of library tracks.

For every track of a corpus manifest, one snippet per augmentation, cut at a random offset
(seeded, so the set is the same on every run) and transformed the way a recording of the track
reaches Selecta: crops of 5, 10 and 30 s, gain ±6 dB, white and pink noise at SNR 20 and 10 dB,
MP3 re-encoding at 128 kbps (alone and with noise), ±4 % speed (pitch and tempo together, a
pitch fader) and ±4 % tempo with the pitch kept (key lock).

Writes OUT/queries.csv (query, target, augmentation, offset_sec, seconds) and the snippets
under OUT/. Needs ffmpeg and numpy.

    python3 scripts/make_retrieval_queries.py target/corpus/corpus target/retrieval-queries
"""

import csv
import os
import random
import subprocess
import sys

import numpy as np

RATE = 22050

# name: (seconds, speed, tempo, gain_db, noise (colour, snr_db) or None, mp3)
AUGMENTATIONS = {
    "crop5": (5, 1.0, 1.0, 0, None, False),
    "crop10": (10, 1.0, 1.0, 0, None, False),
    "crop30": (30, 1.0, 1.0, 0, None, False),
    "gain+6": (10, 1.0, 1.0, 6, None, False),
    "gain-6": (10, 1.0, 1.0, -6, None, False),
    "white20": (10, 1.0, 1.0, 0, ("white", 20), False),
    "white10": (10, 1.0, 1.0, 0, ("white", 10), False),
    "pink20": (10, 1.0, 1.0, 0, ("pink", 20), False),
    "pink10": (10, 1.0, 1.0, 0, ("pink", 10), False),
    "mp3": (10, 1.0, 1.0, 0, None, True),
    "mp3+noise20-10s": (10, 1.0, 1.0, 0, ("white", 20), True),
    "mp3+noise20-5s": (5, 1.0, 1.0, 0, ("white", 20), True),
    "speed+4": (10, 1.04, 1.0, 0, None, False),
    "speed-4": (10, 0.96, 1.0, 0, None, False),
    "tempo+4": (10, 1.0, 1.04, 0, None, False),
    "tempo-4": (10, 1.0, 0.96, 0, None, False),
}


def decode(path, start, seconds, speed, tempo):
    """Mono float32 at RATE: `seconds` of output starting at `start` in the original."""
    filters = []
    if speed != 1.0:
        # Pitch fader: the samples play faster, so pitch and tempo rise together. The rate is
        # made known first, since asetrate relabels whatever rate the samples have.
        filters.append(f"aresample={RATE},asetrate={RATE * speed:.0f},aresample={RATE}")
    if tempo != 1.0:
        filters.append(f"atempo={tempo}")
    source_seconds = seconds * speed * tempo + 0.5
    cmd = ["ffmpeg", "-v", "error", "-ss", f"{start:.3f}", "-t", f"{source_seconds:.3f}", "-i", path,
           "-ac", "1", "-ar", str(RATE)]
    if filters:
        cmd += ["-af", ",".join(filters)]
    cmd += ["-f", "f32le", "-"]
    pcm = np.frombuffer(subprocess.run(cmd, check=True, capture_output=True).stdout, dtype=np.float32)
    return pcm[: int(seconds * RATE)].copy()


def noise(colour, n, rng):
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    spectrum = np.fft.rfft(white)
    freqs = np.arange(len(spectrum))
    spectrum[1:] /= np.sqrt(freqs[1:])  # 1/f power
    spectrum[0] = 0
    return np.fft.irfft(spectrum, n)


def write(pcm, out_path, mp3):
    pcm = np.clip(pcm, -1.0, 1.0).astype(np.float32)
    codec = ["-c:a", "libmp3lame", "-b:a", "128k"] if mp3 else ["-c:a", "flac"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-"]
                   + codec + [out_path], input=pcm.tobytes(), check=True)


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(corpus, "real_manifest.csv"), newline="") as f:
        tracks = [r for r in csv.DictReader(f)]
    rng = np.random.default_rng(20261203)
    rows = []
    for t, track in enumerate(tracks):
        # The library is the corpus's real/ folder; targets are relative to it.
        target = track["path"].split("real/", 1)[1]
        source = os.path.join(corpus, "real", target)
        duration = float(track["duration_s"])
        for name, (seconds, speed, tempo, gain_db, noisy, mp3) in AUGMENTATIONS.items():
            span = seconds * speed * tempo
            if duration < span + 1:
                continue
            start = random.Random(f"{target}/{name}").uniform(0, duration - span - 0.5)
            query = f"q{t:04d}-{name}.{'mp3' if mp3 else 'flac'}"
            row = {"query": query, "target": target, "augmentation": name, "offset_sec": f"{start:.3f}",
                   "seconds": seconds}
            if os.path.exists(os.path.join(out, query)):
                # Made by an earlier run (the set is deterministic).
                rows.append(row)
                continue
            pcm = decode(source, start, seconds, speed, tempo)
            if len(pcm) < seconds * RATE * 0.9:
                continue
            pcm *= 10 ** (gain_db / 20)
            if noisy:
                colour, snr = noisy
                signal = np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) + 1e-9
                n = noise(colour, len(pcm), rng)
                n *= signal / (np.sqrt(np.mean(n**2)) * 10 ** (snr / 20))
                pcm = pcm + n.astype(np.float32)
            write(pcm, os.path.join(out, query), mp3)
            rows.append(row)
        print(f"{t + 1}/{len(tracks)} {target}", file=sys.stderr)
    with open(os.path.join(out, "queries.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["query", "target", "augmentation", "offset_sec", "seconds"])
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} queries in {out}/queries.csv", file=sys.stderr)


if __name__ == "__main__":
    main()
