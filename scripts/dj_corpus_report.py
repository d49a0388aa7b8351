#!/usr/bin/env python3
"""DJ next-track report on an analysed library (e.g. the shared corpus).

For every track: `selecta next --goal up` and `--goal down` (top 10). Checks each suggestion
against the hard rules read independently from features.db (tempo within 6 % at x1, x1/2 or x2;
Camelot-compatible keys when both are clear, key strength >= 0.5; never the track itself), and
counts how many suggestions move the energy the goal's way. Then plans 20-track sets
(warmup, peak, journey) from a few low-energy starts and reports the rank correlation between
the arc and the measured energies, and whether every transition passes the tempo rule.

    scripts/dj_corpus_report.py LIBRARY [--selecta target/release/selecta] [--starts 5] [--json]
"""
import argparse
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

CAMELOT = {  # key name -> (number, letter)
    "C": (8, "B"), "G": (9, "B"), "D": (10, "B"), "A": (11, "B"), "E": (12, "B"), "B": (1, "B"),
    "F#": (2, "B"), "C#": (3, "B"), "G#": (4, "B"), "D#": (5, "B"), "A#": (6, "B"), "F": (7, "B"),
    "Am": (8, "A"), "Em": (9, "A"), "Bm": (10, "A"), "F#m": (11, "A"), "C#m": (12, "A"), "G#m": (1, "A"),
    "D#m": (2, "A"), "A#m": (3, "A"), "Fm": (4, "A"), "Cm": (5, "A"), "Gm": (6, "A"), "Dm": (7, "A"),
}


def camelot(key):
    if key is None:
        return None
    name = key.replace(" major", "").replace(" minor", "m").replace("Db", "C#").replace("Eb", "D#")
    name = name.replace("Gb", "F#").replace("Ab", "G#").replace("Bb", "A#")
    return CAMELOT.get(name)


def keys_mix(a, b):
    (na, la), (nb, lb) = a, b
    step = (na - nb) % 12
    return (la == lb and step in (0, 1, 11)) or (la != lb and step == 0)


def tempo_ok(a, b):
    return any(abs(b * f / a - 1) <= 0.06 for f in (1, 0.5, 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("library")
    ap.add_argument("--selecta", default="target/release/selecta")
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    db = sqlite3.connect(Path(args.library) / "features.db")
    tracks = {}
    for song_id, bpm, key, strength, dj in db.execute("SELECT songId, bpm, key, keyStrength, djJson FROM song_features"):
        d = json.loads(dj) if dj else None
        tracks[song_id] = {
            "bpm": bpm,
            "key": camelot(key) if strength is not None and strength >= 0.5 else None,
            "energy": d["energy"] if d else None,
        }

    def run(*cmd):
        out = subprocess.run([args.selecta, *cmd, "--library", args.library, "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)}: {out.stderr.strip()}")
        return json.loads(out.stdout)

    report = {"tracks": len(tracks), "goals": {}, "plans": []}
    violations = []
    for goal in ("up", "down"):
        right = total = 0
        for song_id, t in tracks.items():
            items = run("next", "--id", song_id, "--goal", goal, "-k", "10")["items"]
            for item in items:
                c = tracks[item["id"]]
                total += 1
                if item["id"] == song_id:
                    violations.append((song_id, item["id"], "self"))
                if t["bpm"] and not (c["bpm"] and tempo_ok(t["bpm"], c["bpm"])):
                    violations.append((song_id, item["id"], "bpm"))
                if t["key"] and c["key"] and not keys_mix(t["key"], c["key"]):
                    violations.append((song_id, item["id"], "key"))
                if t["energy"] is not None and c["energy"] is not None:
                    right += (c["energy"] > t["energy"]) if goal == "up" else (c["energy"] < t["energy"])
        report["goals"][goal] = {"suggestions": total, "inGoalDirection": right / max(total, 1)}
    report["hardRuleViolations"] = len(violations)
    report["suggestionsChecked"] = sum(g["suggestions"] for g in report["goals"].values())
    starts = sorted((t["energy"], s) for s, t in tracks.items() if t["energy"] is not None)[: args.starts]
    for _, start in starts:
        for arc in ("warmup", "peak", "journey"):
            plan = run("plan", "--id", start, "--length", "20", "--arc", arc)
            items = plan["items"]
            bpm_ok = all(
                tempo_ok(a["bpm"], b["bpm"]) for a, b in zip(items, items[1:]) if a["bpm"] and b["bpm"]
            )
            report["plans"].append({
                "start": start[:12], "arc": arc, "length": len(items), "complete": plan["complete"],
                "rankCorrelation": plan["energyRankCorrelation"], "transitionsPassTempo": bpm_ok,
            })
    rhos = [p["rankCorrelation"] for p in report["plans"] if p["rankCorrelation"] is not None]
    report["planRankCorrelationMean"] = sum(rhos) / max(len(rhos), 1)
    report["planRankCorrelationMin"] = min(rhos) if rhos else None
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['tracks']} tracks; {report['suggestionsChecked']} suggestions checked, "
              f"{report['hardRuleViolations']} break a hard rule")
        for goal, g in report["goals"].items():
            print(f"goal {goal}: {100 * g['inGoalDirection']:.1f} % of the top 10 move the energy that way")
        for p in report["plans"]:
            print(f"plan {p['arc']:<8} from {p['start']}: {p['length']:>2} tracks, rho {p['rankCorrelation']}, "
                  f"tempo ok {p['transitionsPassTempo']}")
        print(f"plan rank correlation: mean {report['planRankCorrelationMean']:.3f}, min {report['planRankCorrelationMin']}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
