#!/usr/bin/env python3
"""Damaged-file report on a corpus (e.g. the shared one): are broken copies analysed like a player
plays them, and do their features match the clean file's?

Copies every audio file of CORPUS three times under OUT: as it is (`clean/`), with N random bytes
flipped (`flipped/`, positions drawn uniformly over the file from a fixed seed per file) and cut
to a share of its bytes (`cut/`). A flipped byte has one of its bits inverted (bit rot); with
`--whole-bytes` it takes a random other value instead (a burst of up to eight bits). Analyses each folder with `selecta analyze --json` (DSP
features only: the embedding model is pointed at an empty folder, so the run is quick), then
compares each damaged copy with its clean original: analysed or failed (and why), reported as
damaged, BPM within 2 %, the same key.

    scripts/damage_corpus_report.py CORPUS [--out target/damage-report] [--flips 200] [--keep 0.85]
        [--whole-bytes] [--selecta target/release/selecta] [--json]
"""
import argparse
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

AUDIO = {".mp3", ".flac", ".ogg", ".oga", ".wav", ".m4a", ".aif", ".aiff", ".opus", ".webm", ".mka"}


def analyse(selecta, folder, empty_models):
    out = subprocess.run(
        [selecta, "analyze", str(folder), "--json", "--jobs", "2", "--model-dir", str(empty_models)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def features(selecta, path):
    out = subprocess.run([selecta, "show", "--json", str(path)], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--out", type=Path, default=Path("target/damage-report"))
    ap.add_argument("--flips", type=int, default=200)
    ap.add_argument("--keep", type=float, default=0.85)
    ap.add_argument("--whole-bytes", action="store_true", help="replace each flipped byte by a random other value")
    ap.add_argument("--selecta", default="target/release/selecta")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    files = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in AUDIO and p.is_file())
    if args.out.exists():
        shutil.rmtree(args.out)
    empty_models = args.out / "no-model"
    empty_models.mkdir(parents=True)
    names = {}
    for i, src in enumerate(files):
        name = f"{i:04d}{src.suffix.lower()}"
        names[name] = str(src.relative_to(args.corpus))
        data = src.read_bytes()
        for kind in ("clean", "flipped", "cut"):
            (args.out / kind).mkdir(exist_ok=True)
        (args.out / "clean" / name).write_bytes(data)
        flipped = bytearray(data)
        rng = random.Random(i)
        for _ in range(args.flips):
            at = rng.randrange(len(flipped))
            flipped[at] ^= rng.randrange(1, 256) if args.whole_bytes else 1 << rng.randrange(8)
        (args.out / "flipped" / name).write_bytes(bytes(flipped))
        (args.out / "cut" / name).write_bytes(data[: int(len(data) * args.keep)])

    reports = {kind: analyse(args.selecta, args.out / kind, empty_models) for kind in ("clean", "flipped", "cut")}
    failed_clean = {Path(f["path"]).name for f in reports["clean"]["failed"]}
    result = {"files": len(files), "cleanFailed": len(failed_clean), "flips": args.flips,
              "wholeBytes": args.whole_bytes, "keep": args.keep}
    for kind in ("flipped", "cut"):
        failures = {Path(f["path"]).name: f["error"] for f in reports[kind]["failed"]}
        rows = {"analysed": 0, "warned": 0, "bpmWithin2pc": 0, "bpmCompared": 0, "sameKey": 0, "keyCompared": 0,
                "warnedAndWithin": 0, "failed": [], "unwarned": []}
        for name in names:
            if name in failed_clean:
                continue
            if name in failures:
                rows["failed"].append({"file": names[name], "error": failures[name]})
                continue
            rows["analysed"] += 1
            clean = features(args.selecta, args.out / "clean" / name)
            damaged = features(args.selecta, args.out / kind / name)
            if damaged is None or clean is None:
                continue
            warned = bool(damaged.get("damage"))
            if warned:
                rows["warned"] += 1
            else:
                rows["unwarned"].append(names[name])
            bpm_ok = key_ok = True
            if clean.get("bpm") and damaged.get("bpm"):
                rows["bpmCompared"] += 1
                bpm_ok = abs(damaged["bpm"] / clean["bpm"] - 1) <= 0.02
                rows["bpmWithin2pc"] += bpm_ok
            if clean.get("key"):
                rows["keyCompared"] += 1
                key_ok = damaged.get("key") == clean["key"]
                rows["sameKey"] += key_ok
            # What the goal counts: analysed, reported as damaged, BPM and key as the clean file's.
            rows["warnedAndWithin"] += warned and bpm_ok and key_ok
        result[kind] = rows
    if args.json:
        print(json.dumps(result, indent=2))
        return
    usable = len(files) - len(failed_clean)
    print(f"{len(files)} files, {usable} analysable when clean")
    flip = "bytes replaced by random values" if args.whole_bytes else "bytes with a flipped bit"
    for kind, what in (("flipped", f"{args.flips} {flip}"), ("cut", f"cut to {args.keep:.0%}")):
        r = result[kind]
        print(f"{what}: analysed {r['analysed']}/{usable} ({r['analysed'] / max(usable, 1):.1%}), "
              f"with a damage warning {r['warned']}, BPM within 2 % {r['bpmWithin2pc']}/{r['bpmCompared']}, "
              f"same key {r['sameKey']}/{r['keyCompared']}; warned with BPM and key as clean "
              f"{r['warnedAndWithin']}/{usable} ({r['warnedAndWithin'] / max(usable, 1):.1%})")
        for f in r["failed"]:
            print(f"  failed: {f['file']}: {f['error']}")
        for f in r["unwarned"][:10]:
            print(f"  no warning: {f}")


if __name__ == "__main__":
    sys.exit(main())
