#!/usr/bin/env bash
# Library-scale measurements at 50 000 files (issue: library scale and DJ-software interop).
# Lays out a library of links to the shared corpus's audio with synthetic records
# (`selecta bench --layout`), then measures with /usr/bin/time: a rescan with nothing changed,
# the rekordbox export, similar / next / predict from the CLI (each a fresh process: opening the
# library and building what it needs included), features.db's size; then the ingest of 100 real
# new tracks with club_hifi_150s, killed with SIGKILL part-way and run again (nothing lost,
# nothing analysed twice).
#
#   scripts/bench_50k.sh CORPUS_AUDIO_DIR [WORK_DIR] [TRACKS]
set -euo pipefail
corpus=${1:?corpus audio folder (e.g. target/corpus/corpus/real)}
work=${2:-target/bench-50k}
tracks=${3:-50000}
selecta=${SELECTA_BIN:-target/release/selecta}
lib="$work/library"
rm -rf "$work"
mkdir -p "$work"
measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "$name: %e s, peak %M KB" "$@" > "$work/$name.out" 2>> "$work/times.txt" || { echo "$name failed"; tail -5 "$work/$name.out"; }
  tail -1 "$work/times.txt"
}
"$selecta" bench --layout "$lib" --from "$corpus" --tracks "$tracks"
measure rescan "$selecta" analyze "$lib" --profile club_hifi_150s --json
python3 -c "import json,sys; r=json.load(open('$work/rescan.out')); print('  scanned', r['scanned'], 'unchanged', r['unchanged'], 'analyzed', r['analyzed'])"
echo "features.db: $(du -h "$lib/features.db" | cut -f1)"
measure export "$selecta" export rekordbox "$work/export.xml" --library "$lib" --json
first=$(find "$lib" -name '00001 *' -print -quit)
measure similar "$selecta" similar "$first" -k 10 --json
measure next "$selecta" next "$first" -k 10 --json
# 100 liked, 400 disliked synthetic records, then training and prediction over the rest.
find "$lib" -path "$lib/Artist *" -type f | sort > "$work/all.txt"
head -500 "$work/all.txt" > "$work/labelled.txt"
head -100 "$work/labelled.txt" | tr '\n' '\0' | xargs -0 "$selecta" label liked --library "$lib" --no-auto-train --json > /dev/null
tail -400 "$work/labelled.txt" | tr '\n' '\0' | xargs -0 "$selecta" label disliked --library "$lib" --no-auto-train --json > /dev/null
measure train "$selecta" train --library "$lib" --json
measure predict "$selecta" predict --library "$lib" --top-k 100 --json
# 100 real new tracks (distinct corpus files copied, so their bytes are new to the library).
copy_new() { # folder, skip, count
  mkdir -p "$lib/$1"
  find "$corpus" -type f \( -name '*.flac' -o -name '*.ogg' -o -name '*.mp3' \) | sort > "$work/corpus.txt"
  tail -n +"$(( $2 + 1 ))" "$work/corpus.txt" > "$work/corpus-rest.txt"
  head -"$3" "$work/corpus-rest.txt" | while read -r f; do cp "$f" "$lib/$1/$(basename "$f")"; done
}
copy_new new 0 100
measure ingest "$selecta" analyze "$lib" --profile club_hifi_150s --json
python3 -c "
import json; r=json.load(open('$work/ingest.out'))
print('  analyzed', r['analyzed'], 'unchanged', r['unchanged'], 'failed', len(r['failed']))"
# SIGKILL part-way through another ingest, then a rerun: what was committed stays, the rest is
# analysed once.
copy_new new2 100 40
"$selecta" analyze "$lib" --profile club_hifi_150s --json > "$work/killed.out" 2>/dev/null &
pid=$!
sleep "${SELECTA_KILL_AFTER:-20}"
kill -9 "$pid" || true
wait "$pid" 2>/dev/null || true
count_new2() {
  python3 - "$lib" <<'PY'
import sqlite3, sys
con = sqlite3.connect(f"{sys.argv[1]}/selection_path_index.db")
print(con.execute("SELECT COUNT(*) FROM path_index WHERE filePath LIKE 'new2/%'").fetchone()[0])
PY
}
before=$(count_new2)
echo "killed after ${SELECTA_KILL_AFTER:-20} s: $before of the new2 tracks committed"
measure rerun "$selecta" analyze "$lib" --profile club_hifi_150s --json
python3 -c "
import json; r=json.load(open('$work/rerun.out'))
print('  rerun: analyzed', r['analyzed'], 'failed', len(r['failed']), '; committed before the kill + analysed now =', r['analyzed'] + $before)"
echo "new2 tracks in the library now: $(count_new2)"
