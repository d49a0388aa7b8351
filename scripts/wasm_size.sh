#!/usr/bin/env bash
# Browser bundle size of crates/selecta-wasm (the model is not included): release build for
# wasm32 with LTO and one codegen unit, `wasm-bindgen --target web`, then `wasm-opt -O` from npm
# binaryen@132.0.0 (Debian's binaryen 108 produces broken output, see TOOLCHAIN.md). Prints the
# raw and gzip sizes of the .wasm and the JS glue at each stage, then loads the optimised bundle
# in Node (analyzeFile on a fixture, loadModel + embed) to check that it still works.
#
#   scripts/wasm_size.sh                  # opt-level "z", +simd128
#   OPT_LEVEL=3 SIMD=0 scripts/wasm_size.sh
#
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli of the version in Cargo.lock
# (`cargo install wasm-bindgen-cli --version <it>`), node and npm. Run from anywhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

opt_level="${OPT_LEVEL:-z}"   # z, s, 2 or 3
simd="${SIMD:-1}"             # 1: -C target-feature=+simd128 (tract has wasm SIMD kernels)
npm_prefix="${SELECTA_NPM_PREFIX:-$HOME/.cache/selecta-npm}"
# Its own target folder: these profile settings would otherwise rebuild the shared release one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/selecta-wasm-size-target}"
out="$CARGO_TARGET_DIR/wasm-size/opt-$opt_level-simd$simd"

step() { printf '\n==> %s\n' "$*"; }

# RUSTFLAGS replaces .cargo/config.toml's target rustflags, so repeat its getrandom cfg.
rustflags='--cfg getrandom_backend="unsupported"'
[[ "$simd" == 1 ]] && rustflags+=' -C target-feature=+simd128'
case "$opt_level" in
  z | s) opt_toml="\"$opt_level\"" ;;
  *) opt_toml="$opt_level" ;;
esac

step "cargo build (opt-level $opt_level, simd128 $simd, lto, codegen-units 1)"
RUSTFLAGS="$rustflags" cargo build -p selecta-wasm --target wasm32-unknown-unknown --release \
  --config 'profile.release.lto=true' --config 'profile.release.codegen-units=1' \
  --config "profile.release.opt-level=$opt_toml" --config 'profile.release.debug=0'
raw_wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/selecta_wasm.wasm"

step "wasm-bindgen --target web"
pinned=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $pinned" ]]; then
  echo "wasm-bindgen $pinned is needed: cargo install wasm-bindgen-cli --version $pinned" >&2
  exit 1
fi
rm -rf "$out" && mkdir -p "$out/bindgen" "$out/pkg"
wasm-bindgen --target web --out-dir "$out/bindgen" "$raw_wasm"

step "wasm-opt -O (npm binaryen@132.0.0 in $npm_prefix)"
wasm_opt="$npm_prefix/node_modules/.bin/wasm-opt"
if [[ ! -x "$wasm_opt" ]] || [[ "$("$wasm_opt" --version)" != *"version 132"* ]]; then
  npm install --prefix "$npm_prefix" --no-audit --no-fund binaryen@132.0.0 >/dev/null
fi
"$wasm_opt" --version
# The features rustc enables by default for wasm32 (plus SIMD when built with it).
features=(--enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-reference-types --enable-multivalue)
[[ "$simd" == 1 ]] && features+=(--enable-simd)
cp "$out/bindgen/"* "$out/pkg/"
"$wasm_opt" -O "${features[@]}" "$out/bindgen/selecta_wasm_bg.wasm" -o "$out/pkg/selecta_wasm_bg.wasm"

step "sizes (bytes; gzip -9)"
size() { printf '%-34s %10d raw %10d gzip\n' "$1" "$(wc -c <"$2")" "$(gzip -9 -c "$2" | wc -c)"; }
size "cargo .wasm" "$raw_wasm"
size "after wasm-bindgen .wasm" "$out/bindgen/selecta_wasm_bg.wasm"
size "after wasm-opt -O .wasm" "$out/pkg/selecta_wasm_bg.wasm"
size "JS glue selecta_wasm.js" "$out/pkg/selecta_wasm.js"
cat "$out/pkg/selecta_wasm_bg.wasm" "$out/pkg/selecta_wasm.js" >"$out/bundle.concat"
size "bundle (.wasm + .js)" "$out/bundle.concat"
printf '%-34s %10d raw %10d gzip\n' "bundle, gzipped separately" \
  $(($(wc -c <"$out/pkg/selecta_wasm_bg.wasm") + $(wc -c <"$out/pkg/selecta_wasm.js"))) \
  $(($(gzip -9 -c "$out/pkg/selecta_wasm_bg.wasm" | wc -c) + $(gzip -9 -c "$out/pkg/selecta_wasm.js" | wc -c)))
rm "$out/bundle.concat"

step "smoke test of the optimised bundle in Node"
echo '{"type": "module"}' >"$out/pkg/package.json"
root="$PWD" node --input-type=module -e "
import { readFileSync } from 'node:fs';
const root = process.env.root;
const m = await import('$out/pkg/selecta_wasm.js');
m.initSync({ module: readFileSync('$out/pkg/selecta_wasm_bg.wasm') });
const f = m.analyzeFile(readFileSync(root + '/tests/fixtures/audio/groove.flac'), 'groove.flac');
console.log('analyzeFile(groove.flac): bpm', f.bpm, 'key', f.key, 'songId', f.songId.slice(0, 16));
const dir = root + '/resources/models/musicnn-msd/';
m.loadModel(readFileSync(dir + 'manifest.json'), readFileSync(dir + 'model.onnx'));
const b = readFileSync(dir + 'fixtures/audio.f32');
const audio = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
const ms = [];
let v;
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  v = m.embed(audio, 16000);
  ms.push((performance.now() - t).toFixed(0));
}
console.log('embed(8 s at 16 kHz = 4 patches):', v.length, 'dims,', ms.join(' / '), 'ms (3 calls)');
if (v.length !== 200 || f.key !== 'A minor') process.exit(1);
"
echo "bundle: $out/pkg"
