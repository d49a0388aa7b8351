#!/usr/bin/env node
// The wasm module's memory with a whole library in it, under Node: what a browser page or a
// sandboxed Electron renderer holds for a library of that size. Two steps, each its own process:
//
//   node scripts/bench_wasm_library.mjs prepare LIBRARY_DIR OUT_DIR
//       the native addon (native/, scripts/build_native.sh) writes LIBRARY_DIR's library as one
//       bundle (`exportLibrary()`) and its song ids to OUT_DIR (e.g. the 50 000-file library
//       scripts/bench_50k.sh lays out under target/bench-50k/library)
//   node scripts/bench_wasm_library.mjs measure OUT_DIR
//       the wasm module (pkg/, scripts/build_pkg.sh) imports the bundle into an in-memory library,
//       then answers similarTracks, nextTracks, trains on 100 liked and 400 disliked songs and
//       predicts the rest; after each step it prints the module's linear memory (it only grows,
//       so it is the peak so far) and the process's peak RSS.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [mode, a, b] = process.argv.slice(2);
const mib = (bytes) => (bytes / 1048576).toFixed(0);

if (mode === "prepare") {
  const { openLibrary } = await import("../pkg/index.js");
  const { library } = await openLibrary(a, { backend: "native" });
  const bytes = await library.exportLibrary();
  mkdirSync(b, { recursive: true });
  writeFileSync(join(b, "library.bundle"), bytes);
  // Page by page: every song's features at once are more than one JS string can hold.
  const ids = new Set();
  for (let offset = 0; ; offset += 2000) {
    const page = await library.listSongs({ offset, limit: 2000 });
    page.forEach((s) => ids.add(s.songId));
    if (page.length < 2000) break;
  }
  writeFileSync(join(b, "ids.json"), JSON.stringify([...ids].sort()));
  console.log(`${ids.size} songs, bundle ${mib(bytes.length)} MiB`);
} else if (mode === "measure") {
  const wasm = await import("../pkg/selecta_wasm.js");
  const exports = await wasm.default({ module_or_path: readFileSync(new URL("../pkg/selecta_wasm_bg.wasm", import.meta.url)) });
  const report = (step, ms) => {
    const rssMiB = process.resourceUsage().maxRSS / 1024;
    console.log(`${step.padEnd(34)} ${ms === undefined ? "" : `${(ms / 1000).toFixed(2)} s`.padStart(8)}  wasm memory ${mib(exports.memory.buffer.byteLength).padStart(5)} MiB, process peak RSS ${rssMiB.toFixed(0)} MiB`);
  };
  const timed = async (step, f) => {
    const t = performance.now();
    const r = await f();
    report(step, performance.now() - t);
    return r;
  };
  report("module loaded");
  const ids = JSON.parse(readFileSync(join(a, "ids.json"), "utf8"));
  let bytes = readFileSync(join(a, "library.bundle"));
  const library = await wasm.Library.open("bench", { inMemory: true });
  const summary = await timed(`importLibrary (${mib(bytes.length)} MiB bundle)`, () => library.importLibrary(bytes));
  bytes = null;
  console.log(`  imported: ${JSON.stringify(summary).slice(0, 200)}`);
  const similar = await timed("similarTracks k=10 (index built)", () => library.similarTracks(ids[0], { k: 10 }));
  console.log(`  ${similar.items?.length ?? 0} similar tracks`);
  await timed("similarTracks k=10 again", () => library.similarTracks(ids[1], { k: 10 }));
  const next = await timed("nextTracks k=10", () => library.nextTracks(ids[0], { k: 10 }));
  console.log(`  ${next.items?.length ?? next.suggestions?.length ?? 0} next tracks`);
  const liked = ids.slice(0, 100);
  const disliked = ids.slice(100, 500);
  await library.setSelectionLabels(liked, "liked");
  await library.setSelectionLabels(disliked, "disliked");
  await timed("trainSelectionGbdt 100 + 400", () => library.trainSelectionGbdt(liked, disliked));
  const predicted = await timed(`predict ${ids.length - 500} candidates`, () => library.predictSelectionCandidates(ids.slice(500), 100));
  console.log(`  status ${predicted.status}, ${predicted.items?.length ?? predicted.predictions?.length ?? 0} returned`);
} else {
  console.error("usage: bench_wasm_library.mjs prepare LIBRARY_DIR OUT_DIR | measure OUT_DIR");
  process.exit(2);
}
