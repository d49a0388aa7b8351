#!/usr/bin/env node
// Analysis time per minute of audio through the two bindings on one thread each: the N-API
// addon (native/, release build: scripts/build_native.sh) and the wasm module (pkg/, built by
// scripts/build_pkg.sh with the shipped settings), on the same files, without and with the
// embedding (profile `fast` and the shipped browser default `club_hifi_150s`). With the
// embedding it also prints the time per model patch (the embedding phase over its patches).
//
// The two backends take turns file by file, so that both see the same machine: on a shared
// virtual machine a run can be 30 % slower than the next one. Each backend first analyses the
// first file once, uncounted: V8 compiles hot wasm functions again with its optimising tier
// while they run, and a library analyses many files.
//
//   node scripts/bench_bindings.mjs [--rounds N] [FILES or FOLDERS...]    (default: tests/fixtures/audio, 1 round)
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { openLibrary } from "../pkg/index.js";

const root = new URL("../", import.meta.url).pathname;
const audio = new Set([".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aif", ".aiff"]);
const walk = (p) => (statSync(p).isDirectory() ? readdirSync(p).sort().flatMap((n) => walk(join(p, n))) : [p]);
const args = process.argv.slice(2);
let rounds = 1;
const roundsAt = args.indexOf("--rounds");
if (roundsAt >= 0) rounds = Math.max(1, Number(args.splice(roundsAt, 2)[1]) || 1);
const files = (args.length ? args : [join(root, "tests/fixtures/audio")]).flatMap(walk).filter((f) => audio.has(extname(f).toLowerCase()));
const dir = join(root, "resources/models/musicnn-msd");
const manifest = readFileSync(join(dir, "manifest.json"));
// The NNEF archive, which both backends read (the wasm module reads no other form).
const model = readFileSync(join(dir, JSON.parse(manifest).nnefFile));

/** One analysis: seconds, audio seconds, and the embedding phase's time and patch count. */
async function analyse(library, bytes, name) {
  let embedStart = null;
  let embedReports = 0;
  const onProgress = (p) => {
    if (p.phase !== "embed") return;
    // The first report ends the step that prepares the model input; each later one, a patch.
    if (embedStart === null) embedStart = performance.now();
    embedReports++;
  };
  const t = performance.now();
  const r = await library.analyzeFile(bytes, name, { onProgress });
  const end = performance.now();
  return {
    seconds: (end - t) / 1000,
    audioSec: r.features.durationSec,
    embedMs: embedStart === null ? 0 : end - embedStart,
    patches: Math.max(0, embedReports - 1),
  };
}

/** Analyse the first file once with each backend in a throwaway library. */
async function warmUp() {
  const tmp = mkdtempSync(join(tmpdir(), "selecta-warm-up-"));
  try {
    for (const backend of ["native", "wasm"]) {
      const { library } = await openLibrary(backend === "native" ? tmp : "warm-up", { backend, profile: "fast", inMemory: true });
      await library.loadModel(manifest, model);
      await analyse(library, readFileSync(files[0]), `warm-up${extname(files[0])}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function compare(profile, withModel) {
  const totals = { native: { seconds: 0, audioSec: 0, embedMs: 0, patches: 0 }, wasm: { seconds: 0, audioSec: 0, embedMs: 0, patches: 0 } };
  // A fresh library each round: a library skips bytes it already holds.
  for (let round = 0; round < rounds; round++) {
    const tmp = mkdtempSync(join(tmpdir(), "selecta-bench-"));
    try {
      const libraries = {};
      for (const backend of ["native", "wasm"]) {
        const { library } = await openLibrary(backend === "native" ? tmp : `bench-${round}`, { backend, profile, inMemory: true });
        if (withModel) await library.loadModel(manifest, model);
        libraries[backend] = library;
      }
      for (const [i, f] of files.entries()) {
        const bytes = readFileSync(f);
        for (const backend of ["native", "wasm"]) {
          const r = await analyse(libraries[backend], bytes, `f${i}${extname(f)}`);
          for (const k of Object.keys(r)) totals[backend][k] += r[k];
        }
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return totals;
}

console.log(`${files.length} files, ${rounds} round(s)`);
await warmUp();
for (const [label, profile, withModel] of [["DSP features only", "fast", false], ["+ embedding, fast", "fast", true], ["+ embedding, club_hifi_150s", "club_hifi_150s", true]]) {
  const { native: n, wasm: w } = await compare(profile, withModel);
  const perMinute = (t) => t.seconds / (t.audioSec / 60);
  let line = `${label.padEnd(30)} native ${perMinute(n).toFixed(3)} s/min  wasm ${perMinute(w).toFixed(3)} s/min  wasm/native ${(perMinute(w) / perMinute(n)).toFixed(2)}×`;
  if (withModel && n.patches > 0 && w.patches > 0) {
    const perPatch = (t) => t.embedMs / t.patches;
    line += `  | per patch native ${perPatch(n).toFixed(1)} ms  wasm ${perPatch(w).toFixed(1)} ms  ${(perPatch(w) / perPatch(n)).toFixed(2)}× (${w.patches} patches)`;
  }
  console.log(`${line}  (${(n.audioSec / 60).toFixed(1)} min of audio)`);
}
