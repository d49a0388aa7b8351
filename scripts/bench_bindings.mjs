#!/usr/bin/env node
// Analysis time per minute of audio through the two bindings on one thread each: the N-API
// addon (native/, release build: scripts/build_native.sh) and the wasm module (pkg/, built by
// scripts/build_pkg.sh with the shipped settings), on the same files, without and with the
// embedding (profile `fast` and the shipped browser default `club_hifi_150s`).
//
//   node scripts/bench_bindings.mjs [FILES or FOLDERS...]    (default: tests/fixtures/audio)
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { openLibrary } from "../pkg/index.js";

const root = new URL("../", import.meta.url).pathname;
const audio = new Set([".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aif", ".aiff"]);
const walk = (p) => (statSync(p).isDirectory() ? readdirSync(p).sort().flatMap((n) => walk(join(p, n))) : [p]);
const args = process.argv.slice(2);
const files = (args.length ? args : [join(root, "tests/fixtures/audio")]).flatMap(walk).filter((f) => audio.has(extname(f).toLowerCase()));
const dir = join(root, "resources/models/musicnn-msd");
const manifest = readFileSync(join(dir, "manifest.json"));
const model = readFileSync(join(dir, JSON.parse(manifest).modelFile));

async function run(backend, profile, withModel) {
  const tmp = mkdtempSync(join(tmpdir(), "selecta-bench-"));
  try {
    const { library } = await openLibrary(backend === "native" ? tmp : "bench", { backend, profile, inMemory: true });
    if (withModel) await library.loadModel(manifest, model);
    let seconds = 0, audioSec = 0;
    for (const [i, f] of files.entries()) {
      const bytes = readFileSync(f);
      const t = performance.now();
      const r = await library.analyzeFile(bytes, `f${i}${extname(f)}`);
      seconds += (performance.now() - t) / 1000;
      audioSec += r.features.durationSec;
    }
    return { seconds, audioSec, perMinute: seconds / (audioSec / 60) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

console.log(`${files.length} files`);
for (const [label, profile, withModel] of [["DSP features only", "fast", false], ["+ embedding, fast", "fast", true], ["+ embedding, club_hifi_150s", "club_hifi_150s", true]]) {
  const n = await run("native", profile, withModel);
  const w = await run("wasm", profile, withModel);
  console.log(`${label.padEnd(30)} native ${n.perMinute.toFixed(3)} s/min  wasm ${w.perMinute.toFixed(3)} s/min  wasm/native ${(w.perMinute / n.perMinute).toFixed(2)}×  (${(n.audioSec / 60).toFixed(1)} min of audio)`);
}
