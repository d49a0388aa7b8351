#!/usr/bin/env bash
# Build the N-API addon (native/) and place it as native/selecta.node, which native/index.cjs
# loads. The addon resolves N-API symbols at load time, so no Node headers are needed.
#
#   scripts/build_native.sh            # release
#   PROFILE=dev scripts/build_native.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile="${PROFILE:-release}"
# Built with the whole workspace: cargo unifies dependency features per invocation, and a
# `-p selecta-native` build would enable fewer (e.g. of `log`) and recompile tract and symphonia
# that `cargo test --workspace` already built.
cargo build --workspace --profile "$profile"
dir="${CARGO_TARGET_DIR:-target}/$([[ "$profile" == dev ]] && echo debug || echo "$profile")"
case "$(uname -s)" in
  Darwin) lib="$dir/libselecta_native.dylib" ;;
  MINGW* | MSYS* | CYGWIN*) lib="$dir/selecta_native.dll" ;;
  *) lib="$dir/libselecta_native.so" ;;
esac
cp "$lib" native/selecta.node
echo "native/selecta.node ($(wc -c <native/selecta.node) bytes)"
