// Selecta engine worker. Every call into the wasm Library happens here, so the page never blocks.
//
// Protocol (page -> worker):  { id, op, args }          one request
//                             { op: 'cancel', target }  abort request `target` (out of band)
// Protocol (worker -> page):  { type: 'ready', embedding, embeddingError, modelVersion, rules,
//                               compatibleKeys }  (the engine's rules, asked once at start)
//                             { type: 'fatal', error }
//                             { type: 'progress', id, progress }
//                             { type: 'result', id, result }
//                             { type: 'error', id, error: { code, message } }
//                             { type: 'log', level, message }
//
// Library calls run one at a time, in arrival order; the page keeps long jobs (a folder of
// files) as one request per file so that a click on "like" waits for at most one file.

import init, {
  Library, libraryRules, compatibleKeys, cancelledError, unavailableError,
} from '../pkg/selecta_wasm.js';

const MODEL_DIR = new URL('../resources/models/musicnn-msd/', import.meta.url);

let lib = null;
let chain = Promise.resolve();
const controllers = new Map(); // request id -> AbortController

function post(msg, transfer) {
  self.postMessage(msg, transfer || []);
}

function log(level, message) {
  post({ type: 'log', level, message: String(message) });
}

// Errors cross postMessage as plain objects: structured clone would drop the `code` property.
function plainError(e) {
  if (e && typeof e === 'object') {
    return {
      code: typeof e.code === 'string' ? e.code : 'internal_error',
      message: String(e.message || e),
      name: e.name || 'Error',
    };
  }
  return { code: 'internal_error', message: String(e), name: 'Error' };
}

async function fileBytes(file) {
  return new Uint8Array(await file.arrayBuffer());
}

const ops = {
  async analyze({ file, path }, ctx) {
    if (ctx.signal.aborted) throw cancelledError(path);
    const bytes = await fileBytes(file);
    if (ctx.signal.aborted) throw cancelledError(path);
    return lib.analyzeFile(bytes, path, {
      size: file.size,
      mtimeMs: file.lastModified,
      onProgress: ctx.progress,
      signal: ctx.signal,
    });
  },
  getSongFeatures: ({ songId }) => lib.getSongFeatures(songId),
  listSongs: () => lib.listSongs(),
  setLabels: ({ ids, label }) => lib.setSelectionLabels(ids, label),
  snapshot: () => lib.getSelectionLabelSnapshot(),
  train({ positiveIds, negativeIds }, ctx) {
    return lib.trainSelectionGbdt(positiveIds, negativeIds, {
      onProgress: ctx.progress,
      signal: ctx.signal,
    });
  },
  predict: ({ ids, topK }) => lib.predictSelectionCandidates(ids, topK || 0),
  similar: ({ songId, k }) => lib.similarTracks(songId, { k: k || 10 }),
  next: ({ songId, session, goal, k }) => lib.nextTracks(songId ?? null, { session, goal, k: k || 10 }),
  played: ({ session, songId }) => lib.addPlayed(session, songId),
  undoPlayed: ({ session }) => lib.undoPlayed(session),
  sessionShow: ({ session }) => lib.sessionShow(session),
  sessionNames: () => lib.sessionNames(),
  plan: ({ songId, length, arc }) => lib.planSet(songId, { length, arc }),
  async searchByAudio({ file, k }) {
    return lib.searchByAudio(await fileBytes(file), { name: file.name, k: k || 5 });
  },
  resetLabels: () => lib.resetSelectionLabels(),
  async exportLibrary() {
    // A private copy, so that transferring it can never detach memory the engine still uses.
    const bytes = (await lib.exportLibrary()).slice();
    return { value: bytes, transfer: [bytes.buffer] };
  },
  async exportRekordbox({ libraryRoot, picks }) {
    // Every kept session becomes a playlist; the picks only when the taste model can score.
    const sessions = await lib.sessionNames();
    try {
      return await lib.exportRekordboxXml({ libraryRoot, picks, sessions });
    } catch (e) {
      if (picks == null) throw e;
      return lib.exportRekordboxXml({ libraryRoot, sessions });
    }
  },
  async importLibrary({ file }) {
    return lib.importLibrary(await fileBytes(file));
  },
};

async function handle(msg) {
  const { id, op, args } = msg;
  const controller = controllers.get(id);
  try {
    const fn = ops[op];
    if (!fn) throw Object.assign(new Error(`unknown operation ${op}`), { code: 'invalid_input' });
    if (!lib) throw unavailableError('the library is not open');
    if (controller.signal.aborted) throw cancelledError(op);
    const ctx = {
      signal: controller.signal,
      progress: (p) => {
        // Never let a progress report throw back into the engine.
        try {
          post({ type: 'progress', id, progress: p });
        } catch {
          try { post({ type: 'progress', id, progress: JSON.parse(JSON.stringify(p)) }); } catch { /* dropped */ }
        }
      },
    };
    let result = await fn(args || {}, ctx);
    let transfer;
    if (result && result.transfer && 'value' in result) {
      transfer = result.transfer;
      result = result.value;
    }
    post({ type: 'result', id, result }, transfer);
  } catch (e) {
    post({ type: 'error', id, error: plainError(e) });
  } finally {
    controllers.delete(id);
  }
}

self.onmessage = (ev) => {
  const msg = ev.data || {};
  if (msg.op === 'cancel') {
    const c = controllers.get(msg.target);
    if (c) c.abort();
    return;
  }
  controllers.set(msg.id, new AbortController());
  chain = chain.then(() => handle(msg));
};

self.addEventListener('error', (ev) => {
  log('error', `worker error: ${ev.message || ev}`);
});
self.addEventListener('unhandledrejection', (ev) => {
  const r = ev.reason;
  log('error', `worker unhandled rejection: ${(r && (r.stack || r.message)) || r}`);
});

async function loadModel() {
  const manifestRes = await fetch(new URL('manifest.json', MODEL_DIR));
  if (!manifestRes.ok) throw new Error(`manifest.json: HTTP ${manifestRes.status}`);
  const manifestBytes = new Uint8Array(await manifestRes.arrayBuffer());
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes));
  // The wasm module reads the model's NNEF archive (it carries no ONNX parser).
  const modelFile = manifest.nnefFile;
  if (!modelFile) throw new Error('manifest.json has no nnefFile');
  const modelRes = await fetch(new URL(modelFile, MODEL_DIR));
  if (!modelRes.ok) throw new Error(`${modelFile}: HTTP ${modelRes.status}`);
  const modelBytes = new Uint8Array(await modelRes.arrayBuffer());
  await lib.loadModel(manifestBytes, modelBytes);
  return manifest.modelVersion || manifest.name || 'model';
}

async function start() {
  try {
    await init();
    lib = await Library.open('default');
  } catch (e) {
    post({ type: 'fatal', error: plainError(e) });
    return;
  }
  let embedding = false;
  let embeddingError = null;
  let modelVersion = null;
  try {
    modelVersion = await loadModel();
    embedding = true;
  } catch (e) {
    embeddingError = plainError(e).message;
    log('warn', `embedding unavailable: ${embeddingError}`);
  }
  // Key compatibility of every Camelot code, so the page can filter without asking per row.
  const keys = {};
  for (let n = 1; n <= 12; n += 1) {
    for (const letter of ['A', 'B']) keys[`${n}${letter}`] = compatibleKeys(`${n}${letter}`);
  }
  post({ type: 'ready', embedding, embeddingError, modelVersion, rules: libraryRules(), compatibleKeys: keys });
}

// Requests that arrive before the library is open wait for it.
chain = start();
