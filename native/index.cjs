// Thin JS face of the N-API addon: the same methods and results as the wasm module's Library.
// The addon returns JSON as strings (parsed here) and rejects with "[code] message" errors (the
// code moves to error.code here); an AbortSignal in `options.signal` cancels that call.
"use strict";
const path = require("node:path");

const addonPath = process.env.SELECTA_NATIVE_BINARY ?? path.join(__dirname, "selecta.node");
const addon = require(addonPath);

function typed(e) {
  const m = /^\[([a-z_]+)\] ([\s\S]*)$/.exec(e?.message ?? "");
  if (!m) return e;
  return Object.assign(new Error(m[2]), { code: m[1] });
}

async function call(lib, options, run) {
  const signal = options?.signal;
  if (signal?.aborted) throw typed(new Error(addon.cancelledError("the call")));
  // The id of the call `run` makes synchronously below: an abort stops that call only, also
  // while it still waits behind another call on the library.
  const job = lib.nextJobId();
  const onAbort = () => lib.cancelJob(job);
  signal?.addEventListener?.("abort", onAbort);
  try {
    return await run();
  } catch (e) {
    throw typed(e);
  } finally {
    signal?.removeEventListener?.("abort", onAbort);
  }
}

const json = (s) => JSON.parse(s);

// The addon's progress callback for `onProgress`, and a promise that settles once the addon's
// end marker arrived after the last report: a call resolves only after every report was seen.
function progress(onProgress) {
  if (!onProgress) return { callback: undefined, ended: Promise.resolve() };
  let end;
  const ended = new Promise((resolve) => (end = resolve));
  const callback = (text) => (text === "end" ? end() : onProgress(JSON.parse(text)));
  return { callback, ended };
}

class Library {
  #lib;
  constructor(lib) {
    this.#lib = lib;
  }
  static async open(dir, options = {}) {
    try {
      const opts = { ...options };
      delete opts.signal;
      return new Library(addon.Library.open(dir, JSON.parse(JSON.stringify(opts))));
    } catch (e) {
      throw typed(e);
    }
  }
  loadModel(manifest, model) {
    return call(this.#lib, {}, async () => json(await this.#lib.loadModel(Buffer.from(manifest), Buffer.from(model))));
  }
  analyzeFile(bytes, filePath, options = {}) {
    const { size, mtimeMs } = options;
    const { callback, ended } = progress(options.onProgress);
    const buffer = Buffer.from(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength ?? bytes.length);
    return call(this.#lib, options, async () => {
      try {
        return json(await this.#lib.analyzeFile(buffer, filePath, { size, mtimeMs }, callback));
      } finally {
        await ended;
      }
    });
  }
  getSongFeatures(songId) {
    return call(this.#lib, {}, async () => json(await this.#lib.getSongFeatures(songId)));
  }
  listSongs(options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.listSongs(opts)));
  }
  setSelectionLabels(songIds, label) {
    return call(this.#lib, {}, async () => json(await this.#lib.setSelectionLabels(songIds, label)));
  }
  getSelectionLabelSnapshot() {
    return call(this.#lib, {}, async () => json(await this.#lib.getSelectionLabelSnapshot()));
  }
  resetSelectionSampleChangeCount() {
    return call(this.#lib, {}, async () => json(await this.#lib.resetSelectionSampleChangeCount()));
  }
  resetSelectionLabels() {
    return call(this.#lib, {}, async () => json(await this.#lib.resetSelectionLabels()));
  }
  trainSelectionGbdt(positiveIds, negativeIds, options = {}) {
    const { callback, ended } = progress(options.onProgress);
    return call(this.#lib, options, async () => {
      try {
        return json(await this.#lib.trainSelectionGbdt(positiveIds, negativeIds, callback));
      } finally {
        await ended;
      }
    });
  }
  predictSelectionCandidates(candidateIds, topK = 100, options = {}) {
    return call(this.#lib, options, async () => json(await this.#lib.predictSelectionCandidates(candidateIds, topK)));
  }
  similarTracks(songId, options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.similarTracks(songId, opts)));
  }
  nextTracks(songId, options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.nextTracks(songId ?? null, opts)));
  }
  planSet(startId, options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.planSet(startId, opts)));
  }
  sessionNew(name) {
    return call(this.#lib, {}, async () => json(await this.#lib.sessionNew(name)));
  }
  addPlayed(name, songId) {
    return call(this.#lib, {}, async () => json(await this.#lib.addPlayed(name, songId)));
  }
  undoPlayed(name) {
    return call(this.#lib, {}, async () => json(await this.#lib.undoPlayed(name)));
  }
  sessionShow(name) {
    return call(this.#lib, {}, async () => json(await this.#lib.sessionShow(name)));
  }
  sessionNames() {
    return call(this.#lib, {}, async () => json(await this.#lib.sessionNames()));
  }
  searchByAudio(bytes, options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.searchByAudio(Buffer.from(bytes), opts)));
  }
  identify(bytes, options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.identify(Buffer.from(bytes), opts)));
  }
  exportRekordboxXml(options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.exportRekordboxXml(opts)));
  }
  exportM3u(songIds, options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.exportM3u(songIds, opts)));
  }
  importRekordboxXml(bytes, options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.importRekordboxXml(Buffer.from(bytes), opts)));
  }
  importBandcampCsv(bytes, options = {}) {
    const opts = JSON.parse(JSON.stringify(options ?? {}));
    return call(this.#lib, {}, async () => json(await this.#lib.importBandcampCsv(Buffer.from(bytes), opts)));
  }
  async exportLibrary() {
    return call(this.#lib, {}, async () => new Uint8Array(await this.#lib.exportLibrary()));
  }
  importLibrary(bytes) {
    return call(this.#lib, {}, async () => json(await this.#lib.importLibrary(Buffer.from(bytes))));
  }
  close() {}
}

const libraryRules = () => json(addon.libraryRules());
const compatibleKeys = (camelot) => addon.compatibleKeys(camelot);

module.exports = { Library, libraryRules, compatibleKeys };
