// Cross-binding tests under Node (`node --test tests/bindings/`): the wasm module (pkg/, built by
// scripts/build_pkg.sh; in-memory library since Node has no IndexedDB) and the N-API addon
// (native/, built by scripts/build_native.sh) must give the same songId, fileHash and features
// for the same audio, move a library with its labels and trained model both ways through
// exportLibrary/importLibrary, and reject bad input with typed errors without touching the
// store.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { openLibrary, libraryRules, compatibleKeys } from "../../pkg/index.js";
import { cutWav, wav } from "../support/wav.mjs";

const root = new URL("../../", import.meta.url).pathname;
const fixture = (name) => readFileSync(join(root, "tests/fixtures/audio", name));
const model = () => {
  const dir = join(root, "resources/models/musicnn-msd");
  const manifest = readFileSync(join(dir, "manifest.json"));
  // The NNEF archive: both backends read it (the wasm module reads no other form).
  return [manifest, readFileSync(join(dir, JSON.parse(manifest).nnefFile))];
};

async function both(profile = "fast") {
  const dir = mkdtempSync(join(tmpdir(), "selecta-native-"));
  const native = await openLibrary(dir, { backend: "native", profile });
  const wasm = await openLibrary("parity", { backend: "wasm", inMemory: true, profile });
  assert.equal(native.backend, "native");
  assert.equal(wasm.backend, "wasm");
  return { native: native.library, wasm: wasm.library, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function close(a, b, what) {
  if (a === null || b === null) return assert.equal(a, b, what);
  const tol = 1e-4 * Math.max(1, Math.abs(a), Math.abs(b));
  assert.ok(Math.abs(a - b) <= tol, `${what}: native ${a} vs wasm ${b}`);
}

test("the same audio gives the same features natively and in wasm", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    const [manifest, onnx] = model();
    await native.loadModel(manifest, onnx);
    await wasm.loadModel(manifest, onnx);
    for (const name of ["groove.wav", "groove.flac", "groove.mp3", "groove.ogg", "groove.m4a", "groove.opus", "groove-opus.webm"]) {
      const n = await native.analyzeFile(fixture(name), name);
      const w = await wasm.analyzeFile(fixture(name), name);
      const [a, b] = [n.features, w.features];
      // Lossless ids hash the decoded PCM (integer math); lossy ids hash the compressed
      // packets, since lossy decoders' float output differs in the last bits between builds.
      assert.equal(a.songId, b.songId, `${name} songId`);
      assert.equal(n.songId, w.songId, `${name} songId of the result`);
      assert.equal(a.fileHash, b.fileHash, `${name} fileHash`);
      assert.equal(a.key, b.key, `${name} key`);
      for (const k of ["bpm", "loudnessLufs", "rmsMean", "durationSec", "keyStrength"]) close(a[k], b[k], `${name} ${k}`);
      a.hpcp.forEach((x, i) => close(x, b.hpcp[i], `${name} hpcp[${i}]`));
      assert.ok(a.embedding?.length === 200 && b.embedding?.length === 200, `${name}: embeddings present`);
      a.embedding.forEach((x, i) => close(x, b.embedding[i], `${name} embedding[${i}]`));
      assert.deepEqual(a.topTags.map((t) => t.name), b.topTags.map((t) => t.name), `${name} top tags`);
    }
  } finally {
    cleanup();
  }
});

test("a labelled, trained library moves wasm → native → wasm with the same scores", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    const liked = [], disliked = [], all = [];
    for (let i = 0; i < 110; i++) {
      const mine = i < 22;
      const bytes = mine ? wav(880 + 7 * i, 170, i + 1) : wav(110 + 3 * i, 70 + (i % 20), i + 1);
      const r = await wasm.analyzeFile(bytes, `gen/t${String(i).padStart(3, "0")}.wav`, { size: bytes.length, mtimeMs: 1 });
      (mine ? liked : disliked).push(r.songId);
      all.push(r.songId);
    }
    await wasm.setSelectionLabels(liked.slice(0, 21), "liked");
    await wasm.setSelectionLabels(disliked.slice(0, 84), "disliked");
    const wasmPhases = new Set();
    const t = await wasm.trainSelectionGbdt(liked.slice(0, 21), disliked.slice(0, 84), { onProgress: (p) => wasmPhases.add(p.phase) });
    assert.equal(t.status, "trained", JSON.stringify(t));
    assert.deepEqual([...wasmPhases], ["prepare", "train", "save"]);
    const scores = await wasm.predictSelectionCandidates(all, 0);
    assert.equal(scores.status, "ok");

    await wasm.sessionNew("moved set");
    await wasm.addPlayed("moved set", all[3]);
    const summary = await native.importLibrary(await wasm.exportLibrary());
    assert.deepEqual(summary, { songs: 110, paths: 110, labels: 105, model: true, sessions: 1, userMetadata: 0 });
    assert.deepEqual(await native.sessionShow("moved set"), await wasm.sessionShow("moved set"), "the DJ session moved with the library");
    assert.deepEqual(await native.getSelectionLabelSnapshot(), await wasm.getSelectionLabelSnapshot());
    for (const id of [all[0], all[50], all[109]]) {
      assert.deepEqual(await native.getSongFeatures(id), await wasm.getSongFeatures(id), `features of ${id}`);
    }
    const moved = await native.predictSelectionCandidates(all, 0);
    assert.deepEqual(moved.items, scores.items, "the trained model moved with the library");
    assert.equal(moved.modelRevision, 1);

    // Training natively reports the same progress phases (from the worker thread) and moves on
    // to revision 2.
    const nativePhases = new Set();
    const t2 = await native.trainSelectionGbdt(liked.slice(0, 21), disliked.slice(0, 84), { onProgress: (p) => nativePhases.add(p.phase) });
    assert.equal(t2.modelRevision, 2);
    assert.deepEqual([...nativePhases], ["prepare", "train", "save"]);

    const back = await openLibrary("back", { backend: "wasm", inMemory: true });
    await back.library.importLibrary(await native.exportLibrary());
    const backScores = await back.library.predictSelectionCandidates(all, 0);
    assert.equal(backScores.modelRevision, 2);
    assert.deepEqual(backScores.items, (await native.predictSelectionCandidates(all, 0)).items);
    assert.deepEqual((await back.library.listSongs()).length, 110);
    // Page by page, on both bindings: the same rows in the same order as the whole listing.
    for (const [backend, lib] of [["native", native], ["wasm", back.library]]) {
      const whole = (await lib.listSongs()).map((s) => s.path);
      const paged = [];
      for (let offset = 0; ; offset += 32) {
        const page = await lib.listSongs({ offset, limit: 32 });
        paged.push(...page.map((s) => s.path));
        if (page.length < 32) break;
      }
      assert.deepEqual(paged, whole, `${backend}: pages`);
      await assert.rejects(lib.listSongs({ offset: -1 }), (e) => e.code === "invalid_input", `${backend}: a negative offset`);
    }

    // The reset methods, on both bindings: the change count goes to 0 and keeps the labels;
    // resetting the labels also drops the model, so prediction is back to needing samples and
    // the next training starts at revision 1 again.
    for (const [backend, lib] of [["native", native], ["wasm", back.library]]) {
      const count = (await lib.getSelectionLabelSnapshot()).sampleChangeCount;
      assert.equal((await lib.setSelectionLabels([all[108]], "disliked")).sampleChangeCount, count + 1, backend);
      assert.equal(await lib.resetSelectionSampleChangeCount(), 0, backend);
      const kept = await lib.getSelectionLabelSnapshot();
      assert.deepEqual([kept.positiveIds.length, kept.negativeIds.length, kept.sampleChangeCount], [21, 85, 0], backend);
      assert.equal(await lib.resetSelectionLabels(), true, backend);
      assert.deepEqual(await lib.getSelectionLabelSnapshot(), { positiveIds: [], negativeIds: [], sampleChangeCount: 0 }, backend);
      assert.deepEqual(await lib.predictSelectionCandidates(all, 0), { status: "insufficient_samples", items: [] }, backend);
      assert.equal((await lib.listSongs()).length, 110, `${backend}: the songs stay`);
      await lib.setSelectionLabels(liked.slice(0, 21), "liked");
      await lib.setSelectionLabels(disliked.slice(0, 84), "disliked");
      const again = await lib.trainSelectionGbdt(liked.slice(0, 21), disliked.slice(0, 84), {});
      assert.equal(again.modelRevision, 1, `${backend}: ${JSON.stringify(again)}`);
    }
  } finally {
    cleanup();
  }
});

test("bad input is refused with typed errors and leaves the store unchanged", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    for (const lib of [native, wasm]) {
      await lib.analyzeFile(fixture("groove.flac"), "ok.flac");
      const before = await lib.listSongs();
      const cases = [
        [Buffer.from("this is not audio at all, just text bytes".repeat(20)), "text.mp3", {}, "unsupported_format"],
        [Buffer.alloc(0), "empty.flac", {}, "empty_file"],
        [fixture("groove.wav"), "huge.wav", { size: 2 * 1024 ** 3 }, "too_large"],
        [fixture("groove.wav").subarray(0, 3000), "cut.wav", {}, "invalid_input"],
      ];
      for (const [bytes, name, options, code] of cases) {
        await assert.rejects(lib.analyzeFile(bytes, name, options), (e) => {
          assert.ok(e instanceof Error && typeof e.code === "string" && e.message.includes(name), `${name}: ${e}`);
          assert.equal(e.code, code, `${name}: ${e.message}`);
          if (name === "cut.wav") assert.match(e.message, /truncated/);
          return true;
        });
      }
      await assert.rejects(lib.setSelectionLabels(["x"], "maybe"), (e) => e.code === "invalid_input");
      // An empty string is no label (not "neutral"): refused by the engine on both bindings.
      await assert.rejects(lib.setSelectionLabels(["x"], " "), (e) => e.code === "invalid_input");
      await assert.rejects(lib.importLibrary(Buffer.from("not a library")), (e) => e.code === "invalid_input");
      const aborted = AbortSignal.abort();
      await assert.rejects(lib.analyzeFile(fixture("groove.mp3"), "late.mp3", { signal: aborted }), (e) => e.code === "cancelled");
      assert.deepEqual(await lib.listSongs(), before, "nothing was written");
    }
  } finally {
    cleanup();
  }
});

test("a missing addon and a damaged library file are typed errors, and the loader falls back to wasm", async () => {
  const missing = join(tmpdir(), "no-such-dir", "addon.cjs");
  await assert.rejects(openLibrary("x", { backend: "native", nativeAddon: missing }),
    (e) => e.code === "runtime_unavailable" && e.message.startsWith("native addon unavailable") && e.message.includes(missing));
  const fallback = await openLibrary("fallback", { nativeAddon: missing, inMemory: true });
  assert.equal(fallback.backend, "wasm");
  const dir = mkdtempSync(join(tmpdir(), "selecta-damaged-"));
  try {
    writeFileSync(join(dir, "features.db"), "not a database ".repeat(100));
    await assert.rejects(openLibrary(dir, { backend: "native" }),
      (e) => e.code === "db_error" && e.message.includes("features.db") && /not a database/.test(e.message));
    assert.equal(readFileSync(join(dir, "features.db"), "utf8"), "not a database ".repeat(100), "the file is left as it was");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("two analyses of one path at once give one analysis and one stored song", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    for (const lib of [native, wasm]) {
      const bytes = fixture("groove.wav");
      const [a, b] = await Promise.allSettled([lib.analyzeFile(bytes, "same.wav"), lib.analyzeFile(bytes, "same.wav")]);
      const results = [a, b].map((r) => (r.status === "fulfilled" ? r.value.status : r.reason.code));
      // wasm interleaves the two calls: the second is told `busy`. The addon runs one job at a
      // time: the second finds the file stored and unchanged.
      const expected = lib === wasm ? ["analyzed", "busy"] : ["analyzed", "unchanged"];
      assert.deepEqual(results.sort(), expected, `${lib === wasm ? "wasm" : "native"}: ${JSON.stringify([a, b].map((r) => r.reason?.message))}`);
      const songs = await lib.listSongs();
      assert.deepEqual(songs.map((s) => s.path), ["same.wav"]);
      // Once the first is done, the path is free again.
      assert.equal((await lib.analyzeFile(bytes, "same.wav")).status, "unchanged");
    }
  } finally {
    cleanup();
  }
});

test("analysis reports progress and an abort stops it part-way without writing", async () => {
  const { native, wasm, cleanup } = await both("full");
  try {
    const [manifest, onnx] = model();
    for (const [backend, lib] of [["native", native], ["wasm", wasm]]) {
      await lib.loadModel(manifest, onnx);
      const events = [];
      await lib.analyzeFile(fixture("groove.ogg"), "whole.ogg", { onProgress: (p) => events.push(p) });
      // Every report arrives before the call resolves (native reports cross threads).
      const phases = events.map((e) => e.phase).filter((p, i, all) => p !== all[i - 1]);
      assert.deepEqual(phases, ["decode", "features", "embed"], `${backend}: ${JSON.stringify(events)}`);
      events.forEach((e, i) => assert.ok(i === 0 || e.percent >= events[i - 1].percent, `${backend}: ${JSON.stringify(events)}`));
      assert.ok(events.length >= 5, `${backend}: ${events.length} reports`);

      // Two minutes of audio: ≈80 patches under the `full` profile. Abort at the first
      // embedding report: the analysis stops within a step and nothing is written.
      const before = await lib.listSongs();
      const controller = new AbortController();
      let last = null;
      const onProgress = (p) => {
        last = p;
        if (p.phase === "embed") controller.abort();
      };
      await assert.rejects(lib.analyzeFile(wav(330, 120, 7, 120), "long.wav", { signal: controller.signal, onProgress }),
        (e) => e.code === "cancelled" && e.message.includes("long.wav"));
      assert.ok(last && last.percent < 50, `${backend}: stopped at ${JSON.stringify(last)}`);
      assert.deepEqual(await lib.listSongs(), before, `${backend}: nothing was written`);
    }
  } finally {
    cleanup();
  }
});

test("an abort stops its own call only, also while that call waits behind another", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    for (const [backend, lib] of [["native", native], ["wasm", wasm]]) {
      // The second call is aborted at the first report of the first, while it waits (the addon
      // runs one call at a time) or between its steps (wasm interleaves them).
      const controller = new AbortController();
      const first = lib.analyzeFile(wav(220, 100, 5, 60), "first.wav", { onProgress: () => controller.abort() });
      const second = lib.analyzeFile(fixture("groove.wav"), "second.wav", { signal: controller.signal });
      const [a, b] = await Promise.allSettled([first, second]);
      assert.equal(a.status, "fulfilled", `${backend}: the first call was stopped: ${a.reason?.message}`);
      assert.equal(a.value.status, "analyzed", backend);
      assert.equal(b.status, "rejected", `${backend}: the aborted call ran`);
      assert.equal(b.reason.code, "cancelled", `${backend}: ${b.reason.message}`);
      assert.deepEqual((await lib.listSongs()).map((s) => s.path), ["first.wav"], backend);
    }
  } finally {
    cleanup();
  }
});

test("a cancel during training or after the last analysis step leaves a consistent library", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    for (const [backend, lib] of [["native", native], ["wasm", wasm]]) {
      const ids = [];
      for (let i = 0; i < 110; i++) {
        const bytes = i < 22 ? wav(880 + 7 * i, 170, i + 1) : wav(110 + 3 * i, 70 + (i % 20), i + 1);
        ids.push((await lib.analyzeFile(bytes, `c/t${i}.wav`)).songId);
      }
      const [liked, disliked] = [ids.slice(0, 21), ids.slice(22, 106)];
      await lib.setSelectionLabels(liked, "liked");
      await lib.setSelectionLabels(disliked, "disliked");
      assert.equal((await lib.trainSelectionGbdt(liked, disliked, {})).modelRevision, 1, backend);
      const scores = await lib.predictSelectionCandidates(ids, 0);

      // Aborted once the trees are being grown: cancelled, and revision 1 still scores.
      const controller = new AbortController();
      const phases = [];
      const onProgress = (p) => {
        phases.push(p.phase);
        if (p.phase === "train") controller.abort();
      };
      const t = await lib.trainSelectionGbdt(liked, disliked, { signal: controller.signal, onProgress });
      assert.equal(t.status, "cancelled", `${backend}: ${JSON.stringify(t)}`);
      assert.ok(!phases.includes("save"), `${backend}: the model was saved: ${phases}`);
      assert.deepEqual(await lib.predictSelectionCandidates(ids, 0), scores, `${backend}: the old model still scores`);

      // Aborted at the analysis' last progress report (its steps are done, the commit is not):
      // whatever the call answers, the library agrees with it. wasm checks the signal once more
      // before it commits; the addon's worker may have committed before the abort reaches it.
      const last = new AbortController();
      const outcome = await lib.analyzeFile(wav(300, 100, 999), "late-cancel.wav", {
        signal: last.signal,
        onProgress: (p) => { if (p.percent >= 60) last.abort(); },
      }).then((r) => r.status, (e) => e.code);
      const stored = (await lib.listSongs()).some((song) => song.path === "late-cancel.wav");
      assert.equal(stored, outcome === "analyzed", `${backend}: answered ${outcome}, stored: ${stored}`);
      if (backend === "wasm") assert.equal(outcome, "cancelled");
      else assert.ok(["analyzed", "cancelled"].includes(outcome), `${backend}: ${outcome}`);
    }
  } finally {
    cleanup();
  }
});

test("both bindings answer the engine's rules and key compatibility", async () => {
  await openLibrary("rules", { backend: "wasm", inMemory: true }); // initialises the wasm module
  const native = createRequire(import.meta.url)(join(root, "native/index.cjs"));
  const rules = libraryRules();
  assert.deepEqual(native.libraryRules(), rules);
  assert.equal(rules.minPositives, 20);
  assert.equal(rules.negativesPerPositive, 4);
  for (const ext of ["mp3", "flac", "wav", "aiff", "ogg", "m4a", "opus"]) assert.ok(rules.audioExtensions.includes(ext), ext);
  assert.ok(rules.errorCodes.includes("db_error") && rules.errorCodes.includes("cancelled"));
  // Written out from the Camelot wheel: 8A (A minor) mixes with 7A, 9A and its relative 8B.
  assert.deepEqual(compatibleKeys("8A"), ["8A", "7A", "9A", "8B"]);
  assert.deepEqual(native.compatibleKeys("12b"), ["12B", "11B", "1B", "12A"]);
  assert.equal(compatibleKeys("13A") ?? null, null);
  assert.equal(native.compatibleKeys("x") ?? null, null);
});

test("similar tracks: the same ranking, scores and filters on both bindings", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    const [manifest, onnx] = model();
    const outcomes = [];
    for (const lib of [native, wasm]) {
      await lib.loadModel(manifest, onnx);
      for (const name of ["groove.flac", "groove.mp3", "groove.ogg", "groove.m4a"]) await lib.analyzeFile(fixture(name), name);
      for (const [i, [hz, bpm]] of [[220, 90], [330, 128], [440, 140], [550, 174]].entries()) {
        await lib.analyzeFile(wav(hz, bpm, i + 1, 6), `synth/t${i}.wav`);
      }
      const songs = await lib.listSongs();
      const query = songs.find((s) => s.path === "groove.flac").songId;
      const all = await lib.similarTracks(query, { k: 50 });
      // Every other analysed song, best first, never the query itself.
      assert.equal(all.items.length, new Set(songs.map((s) => s.songId)).size - 1);
      assert.ok(all.items.every((it) => it.id !== query));
      all.items.forEach((it, i) => assert.ok(i === 0 || it.score <= all.items[i - 1].score, JSON.stringify(all.items)));
      // The other encodings of the same groove are its nearest neighbours.
      const top3 = all.items.slice(0, 3).map((it) => it.path).sort();
      assert.deepEqual(top3, ["groove.m4a", "groove.mp3", "groove.ogg"], JSON.stringify(all.items.map((i) => [i.path, i.score])));
      const slow = await lib.similarTracks(query, { k: 50, bpm: [80, 100], explain: true });
      assert.deepEqual(slow.items.map((it) => it.path), ["synth/t0.wav"], JSON.stringify(slow.items));
      assert.ok(slow.filtered.every((f) => f.rule === "bpm"), JSON.stringify(slow.filtered));
      const halfDouble = await lib.similarTracks(query, { k: 50, bpm: [80, 100], halfDouble: true });
      assert.ok(halfDouble.items.some((it) => it.path === "synth/t3.wav"), "174 BPM passes at half time");
      await assert.rejects(lib.similarTracks("no-such-song", {}), (e) => e.code === "not_found");
      await assert.rejects(lib.similarTracks(query, { bpm: "fast" }), (e) => e.code === "invalid_input");
      outcomes.push(all);
    }
    const [n, w] = outcomes;
    assert.deepEqual(n.items.map((i) => i.id), w.items.map((i) => i.id), "same ranking");
    n.items.forEach((it, i) => close(it.score, w.items[i].score, `score of ${it.path}`));
  } finally {
    cleanup();
  }
});

test("next track, sessions and set plans: the same JSON on both bindings", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    const outcomes = [];
    for (const lib of [native, wasm]) {
      // Same tempo family (124 ≈ 128 − 3 %, 62 at double time), one far off (90).
      for (const [i, [hz, bpm]] of [[220, 124], [330, 128], [440, 62], [550, 90], [262, 126]].entries()) {
        await lib.analyzeFile(wav(hz, bpm, i + 1, 12), `set/t${i}.wav`);
      }
      const songs = await lib.listSongs();
      const id = (p) => songs.find((s) => s.path === p).songId;
      const features = await lib.getSongFeatures(id("set/t0.wav"));
      assert.ok(features.dj && features.dj.energy >= 1 && features.dj.energy <= 10, JSON.stringify(features.dj));
      const next = await lib.nextTracks(id("set/t0.wav"), { k: 10, explain: true, keyRule: false });
      const paths = next.items.map((it) => it.path).sort();
      assert.ok(!paths.includes("set/t3.wav") && !paths.includes("set/t0.wav"), JSON.stringify(paths));
      assert.ok(paths.includes("set/t1.wav"), JSON.stringify(paths));
      assert.ok(next.items.every((it) => typeof it.parts.similarity === "number" && typeof it.parts.lowEnd === "number"));
      assert.ok(next.filtered.some((f) => f.id === id("set/t3.wav") && f.rule === "bpm"), JSON.stringify(next.filtered));
      // Sessions: played tracks are left out, undo brings one back, errors carry codes.
      await lib.sessionNew("Friday – main room");
      await lib.addPlayed("Friday – main room", id("set/t0.wav"));
      await lib.addPlayed("Friday – main room", id("set/t1.wav"));
      const inSession = await lib.nextTracks(null, { session: "Friday – main room", keyRule: false });
      assert.equal(inSession.current, id("set/t1.wav"));
      assert.ok(inSession.items.every((it) => it.id !== id("set/t0.wav")), "a played track came back");
      assert.deepEqual(await lib.undoPlayed("Friday – main room"), { id: id("set/t1.wav"), played: 1 });
      const shown = await lib.sessionShow("Friday – main room");
      assert.deepEqual(shown.played.map((p) => p.path), ["set/t0.wav"]);
      assert.deepEqual(await lib.sessionNames(), ["Friday – main room"]);
      await assert.rejects(lib.sessionShow("nobody"), (e) => e.code === "not_found");
      await assert.rejects(lib.sessionNew("../escape"), (e) => e.code === "invalid_input");
      await assert.rejects(lib.nextTracks(id("set/t0.wav"), { goal: "sideways" }), (e) => e.code === "invalid_input");
      const plan = await lib.planSet(id("set/t0.wav"), { length: 4, arc: "warmup", next: { keyRule: false } });
      assert.equal(plan.items[0].id, id("set/t0.wav"));
      assert.ok(plan.items.every((it) => it.path !== "set/t3.wav"), JSON.stringify(plan.items.map((i) => i.path)));
      await assert.rejects(lib.planSet(id("set/t0.wav"), { arc: [4, 11] }), (e) => e.code === "invalid_input");
      outcomes.push({ next, plan, features });
    }
    const [n, w] = outcomes;
    assert.deepEqual(n.next.items.map((i) => i.id), w.next.items.map((i) => i.id), "same ranking");
    n.next.items.forEach((it, i) => close(it.score, w.next.items[i].score, `next score of ${it.path}`));
    assert.deepEqual(n.plan.items.map((i) => i.id), w.plan.items.map((i) => i.id), "same plan");
    close(n.features.dj.energy, w.features.dj.energy, "energy");
    close(n.features.dj.percussiveRatio, w.features.dj.percussiveRatio, "percussive ratio");
  } finally {
    cleanup();
  }
});

test("rekordbox XML, M3U8 and Bandcamp CSV: the same bytes on both bindings, imports label and annotate", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    const exports = [];
    for (const lib of [native, wasm]) {
      for (const [i, [hz, bpm]] of [[220, 124], [330, 128], [440, 62], [550, 90]].entries()) {
        const bytes = wav(hz, bpm, i + 1, 12);
        await lib.analyzeFile(bytes, `crate & co/t${i} “ü”.wav`, { size: bytes.length, mtimeMs: 1_764_892_800_000 });
      }
      const songs = await lib.listSongs();
      const first = songs[0].songId;
      await lib.addPlayed("Warm-up", first);
      const xml = await lib.exportRekordboxXml({ libraryRoot: "/music", similarTo: [first], sessions: ["Warm-up"] });
      assert.equal(xml.tracks, 4);
      assert.deepEqual(xml.playlists.map((p) => p.tracks), [4, 1], JSON.stringify(xml.playlists));
      assert.ok(xml.xml.includes('Location="file://localhost/music/crate%20%26%20co/t0%20%E2%80%9C%C3%BC%E2%80%9D.wav"'), xml.xml);
      assert.equal((await lib.exportRekordboxXml({ libraryRoot: "/music", similarTo: [first], sessions: ["Warm-up"] })).xml, xml.xml);
      const m3u = await lib.exportM3u(songs.map((s) => s.songId), { libraryRoot: "/music", playlistDir: "/music/lists" });
      assert.equal(m3u.split("\n").filter((l) => l && !l.startsWith("#"))[0], "../crate & co/t0 “ü”.wav", m3u);
      // The export read back: the session's playlist labels its track.
      const imported = await lib.importRekordboxXml(new TextEncoder().encode(xml.xml), {
        libraryRoot: "/music", likedPlaylists: ["Selecta/Session Warm-up"], noAutoTrain: true,
      });
      assert.equal(imported.matched.length, 4, JSON.stringify(imported.unmatched));
      assert.equal(imported.liked, 1);
      assert.deepEqual((await lib.getSelectionLabelSnapshot()).positiveIds, [first]);
      await assert.rejects(lib.importRekordboxXml(new TextEncoder().encode("<DJ_PLAYLISTS><COLLECTION>"), {}),
        (e) => e.code === "invalid_input" && /line 1/.test(e.message));
      await assert.rejects(lib.exportRekordboxXml({ keyNotation: "solfege" }), (e) => e.code === "invalid_input");
      // Bandcamp: a row matches a file by its name (no tags); the genre is kept beside it.
      const rain = await lib.analyzeFile(wav(300, 120, 9, 12), "bought/Kerri Chandler - Rain.wav");
      const csv = "Band Name,Title,Genre,Tags\nKERRI CHANDLER feat. X,Rain (Original Mix),Dub,\"deep, night\"\nnobody,nothing,,\n";
      const bc = await lib.importBandcampCsv(new TextEncoder().encode(csv), { map: { "Band Name": "artist" } });
      assert.deepEqual([bc.rows, bc.matched.map((m) => m.songIds), bc.unmatched.map((u) => u.line)], [2, [[rain.songId]], [3]], JSON.stringify(bc));
      const kept = (await lib.getSongFeatures(rain.songId)).userMetadata;
      assert.deepEqual(kept, { genre: "Dub", subgenre: null, tags: ["deep", "night"], source: "bandcamp" });
      await assert.rejects(lib.importBandcampCsv(new TextEncoder().encode("artist,title\n1\n"), {}),
        (e) => e.code === "invalid_input" && /line 2/.test(e.message));
      exports.push(xml.xml);
    }
    assert.equal(exports[0], exports[1], "native and wasm write the same file");
  } finally {
    cleanup();
  }
});

test("search by audio: the same identification and similar tracks on both bindings", async () => {
  const { native, wasm, cleanup } = await both();
  try {
    const outcomes = [];
    // 5 s from 3 s into the groove, as a separate recording of it.
    const snippet = cutWav(fixture("groove.wav"), 3, 5);
    for (const lib of [native, wasm]) {
      await lib.analyzeFile(fixture("groove.flac"), "groove.flac");
      for (const [i, [hz, bpm]] of [[220, 90], [330, 128], [440, 140]].entries()) {
        await lib.analyzeFile(wav(hz, bpm, i + 1, 6), `synth/t${i}.wav`);
      }
      const id = await lib.identify(snippet, { name: "clip.wav" });
      assert.equal(id.identified?.path, "groove.flac", JSON.stringify(id));
      assert.ok(Math.abs(id.identified.offsetSec - 3) < 0.3, `offset ${id.identified.offsetSec}`);
      assert.ok(id.identified.matched && id.candidates[0].id === id.identified.id);
      const found = await lib.searchByAudio(snippet, { name: "clip.wav", k: 2 });
      assert.equal(found.identified?.path, "groove.flac");
      assert.equal(found.items.length, 2);
      assert.ok(found.items.every((it) => it.id !== found.identified.id), "the identified track is not repeated");
      // A recording of none of them is not identified.
      const stranger = await lib.identify(wav(610, 100, 9, 8), {});
      assert.equal(stranger.identified, null, JSON.stringify(stranger));
      await assert.rejects(lib.identify(new Uint8Array(0), {}), (e) => e.code === "empty_file");
      await assert.rejects(lib.searchByAudio(new Uint8Array(4096).fill(90), {}), (e) => e.code === "unsupported_format");
      await assert.rejects(lib.searchByAudio(snippet, { k: "many" }), (e) => e.code === "invalid_input");
      outcomes.push(found);
    }
    const [n, w] = outcomes;
    assert.equal(n.identified.id, w.identified.id);
    close(n.identified.parts.fingerprint, w.identified.parts.fingerprint, "fingerprint agreement");
    assert.deepEqual(n.items.map((i) => i.id), w.items.map((i) => i.id), "same similar tracks");
  } finally {
    cleanup();
  }
});

