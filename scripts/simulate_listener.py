#!/usr/bin/env python3
"""Simulated listener for `selecta eval taste` (issue 4): reads the corpus manifest
(`real_manifest.csv` from ../shared/corpus/build.sh), likes every track of the given families,
dislikes the rest, flips a share of the labels to model human noise, and writes a labels CSV
(`path,label,truth`, paths relative to the output file's folder; `truth` is the label before
flipping, which `selecta eval taste` scores against when present).

    python3 scripts/simulate_listener.py CORPUS/real_manifest.csv labels.csv --like orchestral
"""
import argparse
import csv
import os
import random


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    ap.add_argument("out")
    ap.add_argument("--like", action="append", required=True, help="a family the listener likes (repeatable)")
    ap.add_argument("--flip", type=float, default=0.10, help="share of labels flipped (default 0.10)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    manifest_dir = os.path.dirname(os.path.abspath(args.manifest))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    rng = random.Random(args.seed)
    rows = []
    with open(args.manifest, newline="") as f:
        for r in csv.DictReader(f):
            # Manifest paths are relative to the manifest's folder or to its parent.
            path = os.path.join(manifest_dir, r["path"])
            if not os.path.exists(path):
                path = os.path.join(os.path.dirname(manifest_dir), r["path"])
            truth = r["family"] in args.like
            liked = not truth if rng.random() < args.flip else truth
            name = lambda b: "liked" if b else "disliked"
            rows.append((os.path.relpath(path, out_dir), name(liked), name(truth)))
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "truth"])
        w.writerows(rows)
    liked = sum(1 for _, l, _ in rows if l == "liked")
    print(f"{len(rows)} labels: {liked} liked, {len(rows) - liked} disliked -> {args.out}")


if __name__ == "__main__":
    main()
