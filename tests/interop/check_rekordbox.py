#!/usr/bin/env python3
"""Read a rekordbox XML written by `selecta export rekordbox` with pyrekordbox (an independent
reader of the format) and compare it with what the library holds.

    check_rekordbox.py EXPORT.xml EXPECTED.json

EXPECTED.json: {"tracks": [{"path", "name", "artist", "bpm", "tonality", "totalTime"}],
"playlists": {"Selecta/<name>": [path, ...]}}, written by the CLI test from the library's own
records. Exits 1 with every difference listed.
"""
import json
import sys

from pyrekordbox.rbxml import RekordboxXml


def located(location):
    """pyrekordbox drops the `/` that rekordbox's `file://localhost/` prefix absorbed."""
    return location if location[1:3] == ":/" or location.startswith("/") else "/" + location


def find_node(xml, names):
    """The node at `names` under ROOT, walking the tree (pyrekordbox's own lookup builds an
    XPath predicate from the name, which quotes in a name break)."""
    node = xml.get_playlist()
    for name in names:
        children = [c for c in node.get_playlists() if c.name == name]
        if len(children) != 1:
            return None
        node = children[0]
    return node


def main():
    xml = RekordboxXml(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        expected = json.load(f)
    problems = []
    tracks = xml.get_tracks()
    if xml.num_tracks != len(expected["tracks"]) or len(tracks) != len(expected["tracks"]):
        problems.append(f"{len(tracks)} tracks (Entries {xml.num_tracks}), expected {len(expected['tracks'])}")
    by_path = {}
    for t in tracks:
        by_path[located(t["Location"])] = t
    for want in expected["tracks"]:
        got = by_path.get(want["path"])
        if got is None:
            problems.append(f"no track at {want['path']!r}")
            continue
        for key, attr in (("name", "Name"), ("artist", "Artist"), ("tonality", "Tonality"), ("totalTime", "TotalTime")):
            if got[attr] != want[key]:
                problems.append(f"{want['path']!r}: {attr} {got[attr]!r}, expected {want[key]!r}")
        if abs(got["AverageBpm"] - want["bpm"]) > 0.005:
            problems.append(f"{want['path']!r}: AverageBpm {got['AverageBpm']}, expected {want['bpm']}")
    path_of_id = {t["TrackID"]: located(t["Location"]) for t in tracks}
    for name, paths in expected["playlists"].items():
        node = find_node(xml, name.split("/"))
        if node is None:
            problems.append(f"no playlist {name!r}")
            continue
        got = [path_of_id.get(int(k)) for k in node.get_tracks()]
        if node.key_type != "TrackID" or got != paths:
            problems.append(f"playlist {name!r}: {got}, expected {paths}")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"pyrekordbox read {len(tracks)} tracks and {len(expected['playlists'])} playlists as expected")


if __name__ == "__main__":
    main()
