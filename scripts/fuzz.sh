#!/usr/bin/env bash
# Run every libFuzzer target (fuzz/, cargo-fuzz on nightly) for SECONDS each, seeded from the
# committed fixtures and from files made in code (crates/selecta-fuzz), with memory capped per
# input. Crashes land in target/fuzz-artifacts/<target>/; copy a fixed one to
# fuzz/regressions/<target>/ so the test suite replays it for ever.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Needs: rustup toolchain nightly, cargo install cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(decode_mp3 decode_flac decode_ogg decode_wav decode_mp4 decode_webm decode_aiff bundle_import taste_model rekordbox_xml bandcamp_csv http_request)
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/fuzz}"
corpus="$PWD/target/fuzz-corpus"
cargo run --quiet -p selecta-fuzz --example write_seeds -- "$corpus"
cargo +nightly fuzz build -a
for t in "${targets[@]}"; do
  mkdir -p "target/fuzz-artifacts/$t"
  # -rss_limit_mb / -malloc_limit_mb: an input that makes a reader allocate more than 2 GiB is
  # a crash (unbounded allocation); -timeout: one input running over 20 s is a hang.
  cargo +nightly fuzz run -a "$t" "$corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 \
    -artifact_prefix="$PWD/target/fuzz-artifacts/$t/" -print_final_stats=1 2>&1 |
    grep -E "^(#[0-9]+ +DONE|stat::|==|SUMMARY|artifact|Done)" || true
  echo "$t: done"
done
